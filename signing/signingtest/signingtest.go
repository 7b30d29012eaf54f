// Package signingtest runs the storage the signing tests fetch bytes from,
// in process, on the loopback interface: an S3 (github.com/rclone/gofakes3,
// which verifies SigV4 signatures, presigned URLs and their expiry
// included) and a GCS (github.com/fsouza/fake-gcs-server behind a front
// that verifies GCS V4 signatures with VerifyGCS, since the fake does not).
// No real S3-compatible server can run here (docs/drs.md says why).
package signingtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/rclone/gofakes3"
	"github.com/rclone/gofakes3/s3mem"
)

// S3 is an in-process S3 that accepts only requests signed with its key.
type S3 struct {
	URL         string // http://127.0.0.1:port (path-style endpoint)
	KeyID       string
	Secret      string
	backend     *s3mem.Backend
	srv         *httptest.Server
	credentials string
}

// NewS3 starts an S3 with a fresh random key; it stops when tb ends.
func NewS3(tb testing.TB) *S3 {
	tb.Helper()
	s := &S3{KeyID: "AKIA" + randomHex(tb, 8), Secret: randomHex(tb, 20), backend: s3mem.New()}
	fake := gofakes3.New(s.backend, gofakes3.WithV4Auth(map[string]string{s.KeyID: s.Secret}),
		gofakes3.WithLogger(gofakes3.DiscardLog()))
	s.srv = httptest.NewServer(fake.Server())
	tb.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	return s
}

// Put stores body at bucket/key (creating the bucket).
func (s *S3) Put(tb testing.TB, bucket, key string, body []byte) {
	tb.Helper()
	ctx := context.Background()
	if ok, _ := s.backend.BucketExists(ctx, bucket); !ok {
		if err := s.backend.CreateBucket(ctx, bucket); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := s.backend.PutObject(ctx, bucket, key, map[string]string{}, bytes.NewReader(body), int64(len(body))); err != nil {
		tb.Fatal(err)
	}
}

// CredentialsFile writes the S3's key as a credentials file (source file)
// and returns its path.
func (s *S3) CredentialsFile(tb testing.TB) string {
	tb.Helper()
	if s.credentials == "" {
		s.credentials = writeJSON(tb, "s3-keys.json", map[string]string{"access_key_id": s.KeyID, "secret_access_key": s.Secret})
	}
	return s.credentials
}

// GCS is an in-process GCS XML API serving GETs only with a valid V4
// signature of its service account.
type GCS struct {
	URL     string // http://127.0.0.1:port (path-style endpoint)
	Email   string
	Key     *rsa.PrivateKey
	KeyFile string // service-account JSON key
	fake    *fakestorage.Server
	srv     *httptest.Server
	// Now is the verifier's clock (default time.Now).
	Now func() time.Time
}

// NewGCS starts a GCS with a fresh service-account key; it stops when tb ends.
func NewGCS(tb testing.TB) *GCS {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	fake, err := fakestorage.NewServerWithOptions(fakestorage.Options{NoListener: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(fake.Stop)
	g := &GCS{Email: "indexd-test@example-project.iam.gserviceaccount.com", Key: key, fake: fake, Now: time.Now}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	g.KeyFile = writeJSON(tb, "service-account.json", map[string]string{
		"type": "service_account", "client_email": g.Email,
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
	})
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	tb.Cleanup(g.srv.Close)
	g.URL = g.srv.URL
	return g
}

// serve verifies the signature, then lets fake-gcs-server answer as the
// XML API host.
func (g *GCS) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if err := VerifyGCS(r, g.Email, &g.Key.PublicKey, g.Now()); err != nil {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("<Error><Code>SignatureDoesNotMatch</Code><Message>" + xmlEscape(err.Error()) + "</Message></Error>"))
		return
	}
	r2 := r.Clone(r.Context())
	r2.Host = "storage.googleapis.com"
	g.fake.HTTPHandler().ServeHTTP(w, r2)
}

// Put stores body at bucket/key (creating the bucket).
func (g *GCS) Put(bucket, key string, body []byte) {
	g.fake.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: bucket})
	g.fake.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: bucket, Name: key}, Content: body})
}

func writeJSON(tb testing.TB, name string, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(tb.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

func randomHex(tb testing.TB, n int) string {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	const hex = "0123456789ABCDEF"
	out := make([]byte, 0, 2*n)
	for _, c := range b {
		out = append(out, hex[c>>4], hex[c&15])
	}
	return string(out)
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
