package integration

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datacommons/indexd/internal/app"
	"github.com/datacommons/indexd/repository"
	"github.com/datacommons/indexd/signing/signingtest"
)

// syncBuffer is a log sink safe for the service's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func md5Hex(b []byte) string {
	h := md5.Sum(b)
	return hex.EncodeToString(h[:])
}

// signedFixture is a service whose storage configuration names an S3 and a
// GCS bucket held by in-process servers that verify signatures, and
// records whose size and md5 are those of the stored bytes.
type signedFixture struct {
	e        *Env
	s3       *signingtest.S3
	gcs      *signingtest.GCS
	log      *syncBuffer
	reader   string // read and read-storage on /programs/sig
	outsider string // read on /programs/sig, no read-storage
	ids      map[string]string
	content  map[string][]byte
}

func startSigned(t *testing.T, unsigned string) *signedFixture {
	t.Helper()
	f := &signedFixture{s3: signingtest.NewS3(t), gcs: signingtest.NewGCS(t), log: &syncBuffer{}, ids: map[string]string{}, content: map[string][]byte{}}
	cfg := fmt.Sprintf(`unsigned: %s
lifetime: 30m
buckets:
- provider: s3
  bucket: sig-data
  region: us-west-2
  endpoint: %q
  path_style: true
  credentials: {source: file, file: %q}
- provider: s3
  bucket: sig-short
  endpoint: %q
  path_style: true
  lifetime: 1s
  credentials: {source: file, file: %q}
- provider: gs
  bucket: sig-gcs
  endpoint: %q
  path_style: true
  credentials: {source: file, file: %q}
`, unsigned, f.s3.URL, f.s3.CredentialsFile(t), f.s3.URL, f.s3.CredentialsFile(t), f.gcs.URL, f.gcs.KeyFile)
	f.e = StartLogged(t, f.log, WithFiltering(), WithStorage(t, cfg))
	writer := f.e.Writer()
	set := func(name string, grants map[string][]string) string {
		tok := Tok(name)
		f.e.Policy.SetUser(tok, name, grants)
		return Bearer(tok)
	}
	f.reader = set("sig-reader", map[string][]string{"/programs/sig": {"read", "read-storage"}})
	f.outsider = set("sig-outsider", map[string][]string{"/programs/sig": {"read"}})
	add := func(name string, body []byte, urls ...string) {
		did := "dg.SIG/" + repository.NewUUID()
		f.ids[name], f.content[name] = did, body
		rec := Rec(did, "/programs/sig")
		rec["size"], rec["hashes"], rec["urls"] = len(body), map[string]string{"md5": md5Hex(body)}, urls
		f.e.Create(writer, rec)
	}
	s3Bytes := bytes.Repeat([]byte("s3 object bytes, "), 1000)
	gsBytes := []byte("gcs object bytes\n")
	f.s3.Put(t, "sig-data", "dir/one file.bin", s3Bytes)
	f.s3.Put(t, "sig-data", "other.bin", []byte("another object, not this record's"))
	f.s3.Put(t, "sig-short", "short.bin", []byte("short-lived"))
	f.gcs.Put("sig-gcs", "obj/two.bin", gsBytes)
	add("s3", s3Bytes, "s3://sig-data/dir/one file.bin", "https://example.org/public.bin", "s3://unlisted-bucket/x.bin", "gs://sig-gcs/obj/two.bin")
	add("gs", gsBytes, "gs://sig-gcs/obj/two.bin")
	add("short", []byte("short-lived"), "s3://sig-short/short.bin")
	return f
}

func (f *signedFixture) access(auth, name, accessID string) *Response {
	return f.e.Do(http.MethodGet, drsBase+"/objects/"+f.ids[name]+"/access/"+accessID, auth, nil)
}

func fetch(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("fetch: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestDRSSignedDownload: the access route answers URLs signed for GET
// that fetch exactly the record's bytes (size and md5 as registered) from
// an S3 and a GCS that verify signatures. The storage side refuses a URL
// altered to another key, an altered signature and an expired URL. A
// public location is answered as stored, an unconfigured bucket is 404
// naming the reason. No signed URL, signature or key reaches the log.
func TestDRSSignedDownload(t *testing.T) {
	t.Parallel()
	f := startSigned(t, "refuse")
	for _, tc := range []struct{ name, accessID, prefix string }{
		{"s3", "s3", f.s3.URL + "/sig-data/dir/one%20file.bin?"},
		{"s3", "gs", f.gcs.URL + "/sig-gcs/obj/two.bin?"},
		{"gs", "gs", f.gcs.URL + "/sig-gcs/obj/two.bin?"},
	} {
		r := f.access(f.reader, tc.name, tc.accessID).MustStatus(t, 200)
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s/%s: Cache-Control %q", tc.name, tc.accessID, r.Header.Get("Cache-Control"))
		}
		u, _ := r.Map(t)["url"].(string)
		if !strings.HasPrefix(u, tc.prefix) {
			t.Fatalf("%s/%s: url %.80s…, want prefix %s", tc.name, tc.accessID, u, tc.prefix)
		}
		status, got := fetch(t, u)
		want := f.content[tc.name]
		if tc.accessID == "gs" {
			want = f.content["gs"]
		}
		if status != 200 || len(got) != len(want) || md5Hex(got) != md5Hex(want) {
			t.Errorf("%s/%s: fetched %d, %d bytes md5 %s; want %d bytes md5 %s", tc.name, tc.accessID, status, len(got), md5Hex(got), len(want), md5Hex(want))
		}
		if tc.name == "s3" && tc.accessID == "s3" {
			if !strings.Contains(u, "%2Fus-west-2%2Fs3%2Faws4_request") || !strings.Contains(u, "X-Amz-Expires=1800") {
				t.Errorf("s3 URL not signed for the bucket's region and the file's lifetime: %.200s", u)
			}
			// The same signature for another object of the bucket.
			if status, _ := fetch(t, strings.Replace(u, "dir/one%20file.bin", "other.bin", 1)); status != 403 {
				t.Errorf("URL altered to another key: %d, want 403", status)
			}
			i := strings.Index(u, "X-Amz-Signature=") + len("X-Amz-Signature=")
			alt := map[bool]string{true: "1", false: "0"}[u[i] == '0']
			if status, _ := fetch(t, u[:i]+alt+u[i+1:]); status != 403 {
				t.Errorf("altered signature: %d, want 403", status)
			}
		}
	}
	// Every caller gets a fresh URL: nothing is cached across callers.
	other := Tok("sig-reader-2")
	f.e.Policy.SetUser(other, "sig-reader-2", map[string][]string{"/programs/sig": {"read", "read-storage"}})
	a := f.access(f.reader, "gs", "gs").MustStatus(t, 200).Map(t)["url"]
	time.Sleep(1100 * time.Millisecond) // signatures are per second: a new second, a new URL unless cached
	b := f.access(Bearer(other), "gs", "gs").MustStatus(t, 200).Map(t)["url"]
	if a == b {
		t.Errorf("two callers got the same signed URL")
	}
	// A 1 s lifetime: fetchable at once, refused by the S3 once expired.
	u := f.access(f.reader, "short", "s3").MustStatus(t, 200).Map(t)["url"].(string)
	if !strings.Contains(u, "X-Amz-Expires=1&") {
		t.Fatalf("short URL lifetime: %.200s", u)
	}
	time.Sleep(2100 * time.Millisecond)
	if status, _ := fetch(t, u); status != 403 {
		t.Errorf("expired URL: %d, want 403", status)
	}
	// Public and unconfigured locations; read without read-storage.
	if m := f.access(f.reader, "s3", "https").MustStatus(t, 200).Map(t); m["url"] != "https://example.org/public.bin" {
		t.Errorf("public location: %v", m)
	}
	r := f.access(f.reader, "s3", "s3-2")
	drsErr(t, r, 404)
	if !strings.Contains(string(r.Body), `bucket \"unlisted-bucket\" (s3) has no entry in the storage configuration`) {
		t.Errorf("refusal does not name the bucket: %s", r.Body)
	}
	drsErr(t, f.access(f.outsider, "s3", "s3"), 403)
	drsErr(t, f.access("", "s3", "s3"), 401)

	// Bulk: signed URLs too; the unconfigured access id unresolves its object.
	var bulk struct {
		Resolved []struct {
			DrsObjectID string `json:"drs_object_id"`
			URL         string `json:"url"`
		} `json:"resolved_drs_object_access_urls"`
		Unresolved []map[string]any `json:"unresolved_drs_objects"`
	}
	f.e.Do(http.MethodPost, drsBase+"/objects/access", f.reader, map[string]any{"bulk_object_access_ids": []map[string]any{
		{"bulk_object_id": f.ids["gs"], "bulk_access_ids": []string{"gs"}},
		{"bulk_object_id": f.ids["s3"], "bulk_access_ids": []string{"s3", "s3-2"}},
	}}).MustStatus(t, 200).JSON(t, &bulk)
	if len(bulk.Resolved) != 1 || bulk.Resolved[0].DrsObjectID != f.ids["gs"] || fmt.Sprint(bulk.Unresolved) != fmt.Sprintf("[map[access_ids:[s3-2] error_code:404 object_ids:[%s]]]", f.ids["s3"]) {
		t.Fatalf("bulk: %+v", bulk)
	}
	if status, got := fetch(t, bulk.Resolved[0].URL); status != 200 || md5Hex(got) != md5Hex(f.content["gs"]) {
		t.Errorf("bulk URL fetch: %d", status)
	}

	// Nothing secret in the service's log (every level was on).
	logged := f.log.String()
	if !strings.Contains(logged, "/access/") {
		t.Fatalf("the log holds no access request line; is it wired? %.300s", logged)
	}
	for _, secret := range []string{"X-Amz-Signature", "X-Goog-Signature", "X-Amz-Credential", f.s3.KeyID, f.s3.Secret} {
		if strings.Contains(logged, secret) {
			t.Errorf("the service log contains %q", secret)
		}
	}
}

// TestDRSUnsignedPassthrough: with unsigned: passthrough, a location in a
// bucket without an entry is answered as stored; configured ones are
// still signed.
func TestDRSUnsignedPassthrough(t *testing.T) {
	t.Parallel()
	f := startSigned(t, "passthrough")
	if m := f.access(f.reader, "s3", "s3-2").MustStatus(t, 200).Map(t); m["url"] != "s3://unlisted-bucket/x.bin" {
		t.Errorf("passthrough: %v", m)
	}
	if u := f.access(f.reader, "s3", "s3").MustStatus(t, 200).Map(t)["url"].(string); !strings.Contains(u, "X-Amz-Signature=") {
		t.Errorf("configured bucket not signed under passthrough: %.100s", u)
	}
}

// TestStorageConfigStopsStartup: a bad storage configuration stops
// start-up with a message naming the variable; no secret is quoted.
func TestStorageConfigStopsStartup(t *testing.T) {
	t.Parallel()
	keys := writeTemp(t, "keys.yaml", "access_key_id: AKIDSTARTUP\nsecret_access_key: do-not-print-me\n")
	for name, tc := range map[string]struct{ yaml, errPart string }{
		"missing file":      {"", "no such file"},
		"unknown key":       {"unsinged: refuse\n", "field unsinged not found"},
		"too long":          {"lifetime: 8d\n", "not a duration"},
		"lifetime over max": {"buckets:\n- {provider: s3, bucket: b, lifetime: 169h, credentials: {source: file, file: " + keys + "}}\n", "outside what the providers allow"},
		"azure":             {"buckets:\n- {provider: az, bucket: b}\n", "Azure SAS signing is not supported"},
		"env keys missing":  {"buckets:\n- {provider: s3, bucket: b, credentials: {source: env, access_key_id_env: INDEXD_TEST_NO_SUCH_ID, secret_access_key_env: INDEXD_TEST_NO_SUCH_SECRET}}\n", "INDEXD_TEST_NO_SUCH_ID"},
		"gs key not a key":  {"buckets:\n- {provider: gs, bucket: b, credentials: {source: file, file: " + keys + "}}\n", "not a service-account JSON key"},
	} {
		cfg := app.Defaults()
		cfg.DatabaseURL, cfg.ArboristURL = "postgres://127.0.0.1:1/none", "http://127.0.0.1:1"
		cfg.StorageConfig = writeTemp(t, "storage.yaml", tc.yaml)
		if name == "missing file" {
			cfg.StorageConfig += ".missing"
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := app.LoadStorage(ctx, cfg, testLogger())
		cancel()
		if err == nil || !strings.Contains(err.Error(), "INDEXD_STORAGE_CONFIG") || !strings.Contains(err.Error(), tc.errPart) || strings.Contains(err.Error(), "do-not-print-me") {
			t.Errorf("%s: %v; want an error naming INDEXD_STORAGE_CONFIG and %q", name, err, tc.errPart)
		}
	}
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := t.TempDir() + "/" + name
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
