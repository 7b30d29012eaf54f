package signing

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datacommons/indexd/signing/signingtest"
)

// conformanceDir is Google's V4 signing conformance data, shipped inside
// the cloud.google.com/go/storage module this package builds with: read
// from the module cache, never copied into this repository.
func conformanceDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "cloud.google.com/go/storage").Output()
	if err != nil {
		t.Fatalf("go list -m cloud.google.com/go/storage: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "internal", "test", "conformance")
	if _, err := os.Stat(filepath.Join(dir, "v4_signatures.json")); err != nil {
		t.Fatalf("Google's V4 signing conformance vectors are missing from the module cache (%v); run go mod download cloud.google.com/go/storage", err)
	}
	return dir
}

// TestGCSVerifierPublishedVector: the GCS V4 verifier the integration
// tests put in front of fake-gcs-server (which checks no signature)
// accepts Google's published "Simple GET" vector, signed with Google's
// published test service account, and refuses it altered, for another
// object, with another key, and once expired.
func TestGCSVerifierPublishedVector(t *testing.T) {
	dir := conformanceDir(t)
	email, key, err := readServiceAccount(filepath.Join(dir, "service-account"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "v4_signatures.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vectors struct {
		SigningV4Tests []struct {
			Description, Bucket, Object, Method, Timestamp, ExpectedURL, Scheme string
			Expiration                                                          int
			UrlStyle                                                            string
			Headers                                                             map[string]string
			QueryParameters                                                     map[string]string
		} `json:"signingV4Tests"`
	}
	if err := json.Unmarshal(raw, &vectors); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, v := range vectors.SigningV4Tests {
		if v.Method != http.MethodGet || len(v.Headers) > 0 || v.UrlStyle != "" || v.Scheme != "https" || !strings.HasPrefix(v.ExpectedURL, "https://storage.googleapis.com/") {
			continue // only plain GETs of the path-style XML API, as this service signs
		}
		at, err := time.Parse(time.RFC3339, v.Timestamp)
		if err != nil {
			t.Fatal(err)
		}
		req := func(u string) *http.Request {
			pu, err := url.Parse(u)
			if err != nil {
				t.Fatal(err)
			}
			return &http.Request{Method: http.MethodGet, URL: pu, Host: pu.Host}
		}
		within := at.Add(time.Duration(v.Expiration) * time.Second / 2)
		if err := signingtest.VerifyGCS(req(v.ExpectedURL), email, &key.PublicKey, within); err != nil {
			t.Errorf("%s: verifier refuses the published URL: %v", v.Description, err)
			continue
		}
		other, _ := rsa.GenerateKey(randReader{}, 1024)
		for name, err := range map[string]error{
			"altered":        signingtest.VerifyGCS(req(strings.Replace(v.ExpectedURL, "X-Goog-Signature=", "X-Goog-Signature=00", 1)), email, &key.PublicKey, within),
			"another object": signingtest.VerifyGCS(req(strings.Replace(v.ExpectedURL, "?", "x?", 1)), email, &key.PublicKey, within),
			"another key":    signingtest.VerifyGCS(req(v.ExpectedURL), email, &other.PublicKey, within),
			"expired":        signingtest.VerifyGCS(req(v.ExpectedURL), email, &key.PublicKey, at.Add(time.Duration(v.Expiration+1)*time.Second)),
		} {
			if err == nil {
				t.Errorf("%s: verifier accepts the published URL %s", v.Description, name)
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no published GET vector was checked")
	}
	t.Logf("checked %d published GET vectors", checked)
}

// randReader is a deterministic source for a throwaway key.
type randReader struct{}

func (randReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i*7 + 3)
	}
	return len(p), nil
}

// TestGCSSignedFetch fetches bytes through signed URLs from a GCS that
// verifies V4 signatures; another object, an altered signature, another
// service account and an expired URL are refused.
func TestGCSSignedFetch(t *testing.T) {
	gcs := signingtest.NewGCS(t)
	body := []byte("gcs object bytes\n")
	gcs.Put("gbkt", "dir/obj name.txt", body)
	gcs.Put("gbkt", "secret.txt", []byte("not yours"))
	bc := BucketConfig{Provider: "gs", Bucket: "gbkt", Endpoint: gcs.URL, PathStyle: true, Credentials: Creds{Source: "file", File: gcs.KeyFile}}
	sg, err := newGCS(bc, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	u, err := sg.SignGET(context.Background(), Location{"gs", "gbkt", "dir/obj name.txt"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	status, got := get(t, u)
	if status != 200 || string(got) != string(body) {
		t.Fatalf("GET signed URL: %d %q", status, got)
	}
	if status, _ := get(t, strings.Replace(u, "dir/obj%20name.txt", "secret.txt", 1)); status != 403 {
		t.Errorf("another object: %d", status)
	}
	i := strings.Index(u, "X-Goog-Signature=") + len("X-Goog-Signature=")
	if status, _ := get(t, u[:i]+"00"+u[i+2:]); status != 403 {
		t.Errorf("altered signature: %d", status)
	}
	other := signingtest.NewGCS(t)
	bc2 := bc
	bc2.Credentials.File = other.KeyFile
	sg2, _ := newGCS(bc2, func(string) string { return "" })
	ou, _ := sg2.SignGET(context.Background(), Location{"gs", "gbkt", "dir/obj name.txt"}, time.Hour)
	if status, _ := get(t, ou); status != 403 {
		t.Errorf("another service account: %d", status)
	}
	short, _ := sg.SignGET(context.Background(), Location{"gs", "gbkt", "dir/obj name.txt"}, time.Minute)
	gcs.Now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	if status, _ := get(t, short); status != 403 {
		t.Errorf("expired URL: %d", status)
	}
	// Requester pays: userProject is signed into the URL.
	bc.RequesterPays, bc.BillingProject = true, "billing-proj"
	rp, _ := newGCS(bc, func(string) string { return "" })
	ru, _ := rp.SignGET(context.Background(), Location{"gs", "gbkt", "k"}, time.Minute)
	if !strings.Contains(ru, "userProject=billing-proj") {
		t.Errorf("requester pays: %s", Redact(ru))
	}
}

func TestGCSCredentialErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"type":"authorized_user","client_secret":"shh"}`), 0o600)
	for name, tc := range map[string]struct {
		bc      BucketConfig
		env     map[string]string
		errPart string
	}{
		"default without GOOGLE_APPLICATION_CREDENTIALS": {BucketConfig{Bucket: "b", Credentials: Creds{Source: "default"}}, nil, "GOOGLE_APPLICATION_CREDENTIALS"},
		"not a service account":                          {BucketConfig{Bucket: "b", Credentials: Creds{Source: "file", File: bad}}, nil, "not a service-account key"},
		"missing file":                                   {BucketConfig{Bucket: "b", Credentials: Creds{Source: "default"}}, map[string]string{"GOOGLE_APPLICATION_CREDENTIALS": filepath.Join(dir, "none")}, "no such file"},
	} {
		_, err := newGCS(tc.bc, func(k string) string { return tc.env[k] })
		if err == nil || !strings.Contains(err.Error(), tc.errPart) || strings.Contains(err.Error(), "shh") {
			t.Errorf("%s: %v, want %q (and no secret)", name, err, tc.errPart)
		}
	}
}

// TestGCSHMAC: a gs bucket with an HMAC key signs with SigV4 (region auto)
// against the GCS XML API; the URL verifies with the key (an S3 verifier
// stands in for the XML API, which accepts the same signature).
func TestGCSHMAC(t *testing.T) {
	s3 := signingtest.NewS3(t)
	s3.Put(t, "hbkt", "k.bin", []byte("hmac signed\n"))
	st, err := New(context.Background(), Config{Buckets: []BucketConfig{
		{Provider: "gs", Bucket: "hbkt", Endpoint: s3.URL, PathStyle: true, Credentials: Creds{Source: "hmac_file", File: s3.CredentialsFile(t)}},
		{Provider: "gs", Bucket: "public-host", Credentials: Creds{Source: "hmac_file", File: s3.CredentialsFile(t)}},
	}}, func(string) string { return "" }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.AccessURL(context.Background(), "gs://hbkt/k.bin")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u, "%2Fauto%2Fs3%2Faws4_request") {
		t.Errorf("not signed for region auto: %s", Redact(u))
	}
	if status, got := get(t, u); status != 200 || string(got) != "hmac signed\n" {
		t.Errorf("fetch: %d %q", status, got)
	}
	u, _ = st.AccessURL(context.Background(), "gs://public-host/k.bin")
	if !strings.HasPrefix(u, "https://public-host.storage.googleapis.com/k.bin?X-Amz-Algorithm=AWS4-HMAC-SHA256") {
		t.Errorf("GCS XML API URL: %s", Redact(u))
	}
}
