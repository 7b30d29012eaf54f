package indexd

import (
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

var hashPatterns = map[string]*regexp.Regexp{
	"md5":    regexp.MustCompile(`^[0-9a-f]{32}$`),
	"sha1":   regexp.MustCompile(`^[0-9a-f]{40}$`),
	"sha256": regexp.MustCompile(`^[0-9a-f]{64}$`),
	"sha512": regexp.MustCompile(`^[0-9a-f]{128}$`),
	"crc":    regexp.MustCompile(`^[0-9a-f]{8}$`),
	"etag":   regexp.MustCompile(`^[0-9a-f]{32}(-[0-9]+)?$`),
}

// HashTypes lists the accepted hash types, sorted.
func HashTypes() []string {
	out := make([]string, 0, len(hashPatterns))
	for k := range hashPatterns {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ValidateHash checks one hash value against the format of its type.
func ValidateHash(typ, value string) error {
	re, ok := hashPatterns[typ]
	if !ok {
		return Invalidf("hash type %q is not supported (use one of %s)", typ, strings.Join(HashTypes(), ", "))
	}
	if !re.MatchString(value) {
		return Invalidf("hash %s value %q is malformed", typ, value)
	}
	return nil
}

// ValidateHashes checks every hash; required demands at least one.
func ValidateHashes(h map[string]string, required bool) error {
	if required && len(h) == 0 {
		return Invalidf("hashes must hold at least one of %s", strings.Join(HashTypes(), ", "))
	}
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := ValidateHash(k, h[k]); err != nil {
			return err
		}
	}
	return nil
}

// ParseHashTerm parses a "type:value" list filter.
func ParseHashTerm(s string) (KV, error) {
	typ, val, ok := strings.Cut(s, ":")
	if !ok {
		return KV{}, Invalidf("hash filter %q must be type:value", s)
	}
	if err := ValidateHash(typ, val); err != nil {
		return KV{}, err
	}
	return KV{typ, val}, nil
}

var reservedSegments = map[string]bool{"versions": true, "latest": true, "aliases": true}

// ValidateID checks a did, alias or baseid: 1..256 bytes of printable ASCII
// without spaces or URL-special characters; "/" separates non-empty segments,
// none of which may be a route word (versions, latest, aliases).
func ValidateID(id string) error {
	if id == "" {
		return Invalidf("id must not be empty")
	}
	if len(id) > MaxIDLength {
		return Invalidf("id is longer than %d bytes", MaxIDLength)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("._~:@+=-/", c) >= 0
		if !ok {
			return Invalidf("id %q contains a character that is not allowed (%q)", safeShow(id), c)
		}
	}
	for _, seg := range strings.Split(id, "/") {
		if seg == "" {
			return Invalidf("id %q has an empty path segment", id)
		}
		if seg == "." || seg == ".." {
			return Invalidf("id %q has a relative path segment", id)
		}
		if reservedSegments[seg] {
			return Invalidf("id %q contains the reserved segment %q", id, seg)
		}
	}
	return nil
}

// ValidateAlias checks an alias with the rules of ValidateID. Aliases may
// hold "/" (ADD_PREFIX_ALIAS makes "dg.XXXX/<did>"): no segment may be a
// route word, so /index/{id}/aliases/{alias} still splits unambiguously.
func ValidateAlias(a string) error {
	if err := ValidateID(a); err != nil {
		return Invalidf("alias: %s", Message(err))
	}
	return nil
}

func safeShow(s string) string {
	if !utf8.ValidString(s) {
		return strings.ToValidUTF8(s, "?")
	}
	return s
}

// ValidateStrings checks a list of strings (urls, acl, authz): non-empty,
// valid UTF-8, bounded.
func ValidateStrings(field string, list []string) error {
	if len(list) > 1000 {
		return Invalidf("%s holds more than 1000 entries", field)
	}
	for _, s := range list {
		if s == "" {
			return Invalidf("%s must not contain empty strings", field)
		}
		if len(s) > 4096 {
			return Invalidf("%s entry is longer than 4096 bytes", field)
		}
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			return Invalidf("%s entry is not valid UTF-8 text", field)
		}
	}
	return nil
}

// ValidateAuthz checks resource paths: each starts with "/" and has no empty
// segment (Arborist rejects "//" and trailing slashes).
func ValidateAuthz(list []string) error {
	if err := ValidateStrings("authz", list); err != nil {
		return err
	}
	for _, p := range list {
		if !strings.HasPrefix(p, "/") {
			return Invalidf("authz path %q must start with '/'", p)
		}
		if p != "/" && (strings.HasSuffix(p, "/") || strings.Contains(p, "//")) {
			return Invalidf("authz path %q has an empty segment", p)
		}
	}
	return nil
}

// ValidateURLsMetadata checks that every urls_metadata key is one of urls.
func ValidateURLsMetadata(urls []string, um map[string]map[string]string) error {
	set := make(map[string]bool, len(urls))
	for _, u := range urls {
		set[u] = true
	}
	keys := make([]string, 0, len(um))
	for k := range um {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !set[k] {
			return Invalidf("urls_metadata key %q is not one of urls", k)
		}
	}
	return nil
}

// ValidateNew checks a record to create. blank relaxes form/size/hashes/urls.
func ValidateNew(n *NewRecord, blank bool) error {
	if n.DID != "" {
		if err := ValidateID(n.DID); err != nil {
			return err
		}
	}
	if n.BaseID != "" {
		if err := ValidateID(n.BaseID); err != nil {
			return Invalidf("baseid: %s", Message(err))
		}
	}
	if !blank {
		if n.Form == nil {
			return Invalidf("form is required (object, container or multipart)")
		}
		if n.Size == nil {
			return Invalidf("size is required")
		}
		if n.URLs == nil {
			return Invalidf("urls is required")
		}
	}
	if n.Form != nil {
		switch *n.Form {
		case FormObject, FormContainer, FormMultipart:
		default:
			return Invalidf("form %q must be object, container or multipart", *n.Form)
		}
	}
	if n.Size != nil && *n.Size < 0 {
		return Invalidf("size must be >= 0")
	}
	if n.ContentUpdatedDate != nil && n.ContentCreatedDate == nil {
		return Invalidf("content_updated_date needs content_created_date")
	}
	if err := ValidateHashes(n.Hashes, !blank); err != nil {
		return err
	}
	return validateCommon(n.URLs, n.URLsMetadata, n.ACL, n.Authz, n.ContentCreatedDate, n.ContentUpdatedDate)
}

// ValidateUpdate checks an update against the record it applies to.
func ValidateUpdate(u *RecordUpdate, current *Record) error {
	urls := current.URLs
	if u.URLs != nil {
		urls = *u.URLs
	}
	um := map[string]map[string]string{}
	if u.URLsMetadata != nil {
		um = *u.URLsMetadata
	}
	var acl, authz []string
	if u.ACL != nil {
		acl = *u.ACL
	}
	if u.Authz != nil {
		authz = *u.Authz
	}
	if u.Size != nil && *u.Size < 0 {
		return Invalidf("size must be >= 0")
	}
	if u.Hashes != nil {
		if err := ValidateHashes(*u.Hashes, false); err != nil {
			return err
		}
	}
	cc, cu := current.ContentCreatedDate, current.ContentUpdatedDate
	if u.ContentCreatedDate != nil {
		cc = u.ContentCreatedDate
	}
	if u.ContentUpdatedDate != nil {
		cu = u.ContentUpdatedDate
	}
	return validateCommon(urls, um, acl, authz, cc, cu)
}

func validateCommon(urls []string, um map[string]map[string]string, acl, authz []string, cc, cu *time.Time) error {
	if cc != nil && cu != nil && cu.Before(*cc) {
		return Invalidf("content_updated_date must not be before content_created_date")
	}
	if err := ValidateStrings("urls", urls); err != nil {
		return err
	}
	if err := ValidateStrings("acl", acl); err != nil {
		return err
	}
	if err := ValidateAuthz(authz); err != nil {
		return err
	}
	return ValidateURLsMetadata(urls, um)
}
