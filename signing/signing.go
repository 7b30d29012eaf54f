// Package signing turns a stored object location (s3://bucket/key,
// gs://bucket/key) into a URL a DRS client can fetch: a short-lived HTTPS
// URL signed for GET by the bucket's provider (AWS SigV4 presigned GET, GCS
// V4 signed URL). Buckets come from the storage configuration file
// (INDEXD_STORAGE_CONFIG); the signer of each bucket is chosen once, at
// start-up, never per request. Public locations (http, https, ftp) are
// answered as stored. A location in a bucket without an entry is refused
// (ErrNotSignable) or passed through as stored, as configured.
//
// Signing needs no network call: credentials are loaded at start-up and,
// where they expire, refreshed in the background. A signed URL is a
// credential: this package never logs one, and Redact strips the query
// string of any URL that must appear in a log line.
package signing

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/datacommons/indexd"
)

// ErrNotSignable: the location is in no configured bucket (or of a scheme
// this package cannot sign) and the configuration says refuse.
var ErrNotSignable = errors.New("signing: location not signable here")

// Location is a parsed object location: provider scheme, bucket and key
// (the key exactly as stored, not decoded).
type Location struct {
	Scheme string // "s3", "gs"
	Bucket string
	Key    string
}

func (l Location) String() string { return l.Scheme + "://" + l.Bucket + "/" + l.Key }

// Signer signs GET URLs for objects of the buckets it was built for: one
// implementation per provider. SignGET returns an HTTPS (or, for a test
// endpoint, HTTP) URL that lets its holder GET loc for lifetime, without
// any other credential; it makes no network call.
type Signer interface {
	SignGET(ctx context.Context, loc Location, lifetime time.Duration) (string, error)
}

// Storage answers the access URL of a stored location. Build it with New
// or Load; the zero value is not usable.
type Storage struct {
	unsigned Unsigned
	buckets  map[bucketKey]*bucket
	stop     context.CancelFunc
	done     chan struct{}
}

type bucketKey struct{ scheme, name string }

type bucket struct {
	signer   Signer
	lifetime time.Duration
}

// Unsigned is what happens to a location in a bucket without an entry.
type Unsigned string

const (
	// UnsignedRefuse: the access route answers 404 naming the reason.
	UnsignedRefuse Unsigned = "refuse"
	// UnsignedPassthrough: the stored URL is answered as is.
	UnsignedPassthrough Unsigned = "passthrough"
)

// publicSchemes are answered as stored: anyone who has the URL can fetch it.
var publicSchemes = map[string]bool{"http": true, "https": true, "ftp": true}

// ParseLocation splits scheme://bucket/key. ok is false when stored is not
// of that shape (no bucket or no key).
func ParseLocation(stored string) (Location, bool) {
	scheme := indexd.URLScheme(stored)
	if scheme == "" {
		return Location{}, false
	}
	// The scheme as stored may differ in length from its lower-case form
	// (invalid UTF-8 lowers to U+FFFD): cut at the separator itself.
	rest := stored[strings.Index(stored, "://")+len("://"):]
	b, key, found := strings.Cut(rest, "/")
	if !found || b == "" || key == "" {
		return Location{}, false
	}
	return Location{Scheme: scheme, Bucket: b, Key: key}, true
}

// AccessURL returns the URL to hand a client for the stored location:
// signed when its bucket is configured; as stored when it is a public
// location (http, https, ftp) or unsigned is passthrough. Otherwise an
// error of kind indexd.ErrNotFound whose message names the reason. A
// signing failure (credentials could not be refreshed) is of kind
// indexd.ErrUnavailable. Errors never contain the signed URL. A refused
// location is also ErrNotSignable.
func (s *Storage) AccessURL(ctx context.Context, stored string) (string, error) {
	scheme := indexd.URLScheme(stored)
	if publicSchemes[scheme] {
		return stored, nil
	}
	loc, ok := ParseLocation(stored)
	if ok {
		if b := s.buckets[bucketKey{loc.Scheme, loc.Bucket}]; b != nil {
			u, err := b.signer.SignGET(ctx, loc, b.lifetime)
			if err != nil {
				return "", fmt.Errorf("%w: sign %s://%s: %w", indexd.ErrUnavailable, loc.Scheme, loc.Bucket, err)
			}
			return u, nil
		}
	}
	if s.unsigned == UnsignedPassthrough {
		return stored, nil
	}
	what := fmt.Sprintf("%s location", scheme)
	if ok {
		what = fmt.Sprintf("bucket %q (%s)", loc.Bucket, loc.Scheme)
	}
	return "", fmt.Errorf("%w: %w", ErrNotSignable, &indexd.Error{Kind: indexd.ErrNotFound, Message: fmt.Sprintf(
		"no signed URL can be made for this access method: %s has no entry in the storage configuration, which refuses unsigned locations", what)})
}

// Configured reports whether stored is in a configured bucket (it would be
// signed).
func (s *Storage) Configured(stored string) bool {
	loc, ok := ParseLocation(stored)
	return ok && s.buckets[bucketKey{loc.Scheme, loc.Bucket}] != nil
}

// Close stops the background credential refreshers.
func (s *Storage) Close() {
	if s.stop != nil {
		s.stop()
		<-s.done
		s.stop = nil
	}
}

// Redact returns u without its query string and fragment (a signed URL's
// signature and credential live there), for log lines. A string that is not
// a URL is cut at the first '?'.
func Redact(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i] + "?REDACTED"
	}
	return u
}

// urlInText finds URLs in free text (error messages, log values).
var urlInText = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s"'<>]+`)

// RedactText redacts the query string of every URL in s.
func RedactText(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	return urlInText.ReplaceAllStringFunc(s, Redact)
}
