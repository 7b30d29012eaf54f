package signing

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datacommons/indexd"
)

func TestParseConfig(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys.yaml")
	if err := os.WriteFile(keys, []byte("access_key_id: AKIDEXAMPLE\nsecret_access_key: s3cr3t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, yaml, errPart string
	}{
		{"empty file", "", ""},
		{"full s3", "unsigned: passthrough\nlifetime: 30m\nbuckets:\n- provider: s3\n  bucket: b\n  region: eu-west-1\n  endpoint: https://s3.example.org\n  path_style: true\n  lifetime: 2h\n  requester_pays: true\n  credentials: {source: file, file: " + keys + "}\n", ""},
		{"bad unsigned", "unsigned: maybe\n", "unsigned must be refuse or passthrough"},
		{"unknown key", "buckets:\n- provider: s3\n  bucket: b\n  colour: red\n", "field colour not found"},
		{"lifetime too long", "lifetime: 200h\n", "outside what the providers allow"},
		{"lifetime not a duration", "lifetime: soon\n", "not a duration"},
		{"bucket lifetime zero", "buckets:\n- {provider: s3, bucket: b, lifetime: 0s}\n", ""},
		{"bucket lifetime too short", "buckets:\n- {provider: s3, bucket: b, lifetime: 10ms}\n", "outside what the providers allow"},
		{"unknown provider", "buckets:\n- {provider: ftp, bucket: b}\n", "provider must be s3 or gs"},
		{"azure", "buckets:\n- {provider: az, bucket: b}\n", "Azure SAS signing is not supported"},
		{"no bucket", "buckets:\n- {provider: s3}\n", "bucket must be a bucket name"},
		{"bucket with slash", "buckets:\n- {provider: s3, bucket: a/b}\n", "bucket must be a bucket name"},
		{"twice", "buckets:\n- {provider: s3, bucket: b}\n- {provider: s3, bucket: b}\n", "configured twice"},
		{"same name other provider", "buckets:\n- {provider: s3, bucket: b}\n- {provider: gs, bucket: b, credentials: {source: file, file: x}}\n", ""},
		{"bad endpoint", "buckets:\n- {provider: s3, bucket: b, endpoint: s3.example.org}\n", "endpoint must be an http(s) base URL"},
		{"s3 file without file", "buckets:\n- {provider: s3, bucket: b, credentials: {source: file}}\n", "source file needs file"},
		{"s3 bad source", "buckets:\n- {provider: s3, bucket: b, credentials: {source: magic}}\n", "source must be default, env or file"},
		{"gs requester pays without project", "buckets:\n- {provider: gs, bucket: b, requester_pays: true}\n", "requester_pays needs billing_project"},
		{"gs hmac without file", "buckets:\n- {provider: gs, bucket: b, credentials: {source: hmac_file}}\n", "source hmac_file needs file"},
		{"gs hmac requester pays", "buckets:\n- {provider: gs, bucket: b, requester_pays: true, billing_project: p, credentials: {source: hmac_env}}\n", "not supported with HMAC keys"},
		{"gs env source", "buckets:\n- {provider: gs, bucket: b, credentials: {source: env}}\n", "source must be default, file, hmac_env or hmac_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tc.yaml))
			if tc.errPart == "" {
				if err != nil {
					t.Fatalf("ParseConfig: %v", err)
				}
				if c.Unsigned == "" || c.Lifetime == 0 {
					t.Errorf("defaults not applied: %+v", c)
				}
				for _, b := range c.Buckets {
					if b.Lifetime == 0 || b.Credentials.Source == "" {
						t.Errorf("bucket defaults not applied: %+v", b)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Fatalf("ParseConfig error %v, want it to contain %q", err, tc.errPart)
			}
		})
	}
	c, err := ParseConfig([]byte("buckets:\n- {provider: s3, bucket: b}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Unsigned != UnsignedRefuse || time.Duration(c.Lifetime) != time.Hour || c.Buckets[0].Region != "us-east-1" || time.Duration(c.Buckets[0].Lifetime) != time.Hour {
		t.Errorf("defaults: %+v", c)
	}
}

func TestParseLocation(t *testing.T) {
	for in, want := range map[string]string{
		"s3://bucket/key":            "s3|bucket|key",
		"S3://bucket/a/b c%2F.txt":   "s3|bucket|a/b c%2F.txt",
		"gs://g/k":                   "gs|g|k",
		"s3://bucket/":               "",
		"s3://bucket":                "",
		"s3:///key":                  "",
		"not a url":                  "",
		"https://host/path/file.bam": "https|host|path/file.bam",
	} {
		loc, ok := ParseLocation(in)
		got := ""
		if ok {
			got = loc.Scheme + "|" + loc.Bucket + "|" + loc.Key
		}
		if got != want {
			t.Errorf("ParseLocation(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestAccessURL: public locations as stored; configured buckets signed;
// unconfigured ones refused (404 naming the reason) or passed through.
func TestAccessURL(t *testing.T) {
	ctx := context.Background()
	sig := fakeSigner{}
	s := &Storage{unsigned: UnsignedRefuse, buckets: map[bucketKey]*bucket{{"s3", "conf"}: {signer: sig, lifetime: time.Minute}}}
	for in, want := range map[string]string{
		"https://example.org/a?x=1": "https://example.org/a?x=1",
		"http://example.org/a":      "http://example.org/a",
		"ftp://example.org/a":       "ftp://example.org/a",
		"s3://conf/dir/key":         "signed:s3://conf/dir/key:1m0s",
	} {
		got, err := s.AccessURL(ctx, in)
		if err != nil || got != want {
			t.Errorf("AccessURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"s3://other/key", "gs://conf/key", "file:///etc/passwd", "s3://conf"} {
		_, err := s.AccessURL(ctx, in)
		if !errors.Is(err, ErrNotSignable) || !errors.Is(err, indexd.ErrNotFound) || !strings.Contains(indexd.Message(err), "storage configuration") {
			t.Errorf("AccessURL(%q): %v, want a refusal naming the storage configuration", in, err)
		}
	}
	s.unsigned = UnsignedPassthrough
	if got, err := s.AccessURL(ctx, "gs://other/key"); err != nil || got != "gs://other/key" {
		t.Errorf("passthrough: %q %v", got, err)
	}
	failing := &Storage{unsigned: UnsignedRefuse, buckets: map[bucketKey]*bucket{{"s3", "conf"}: {signer: fakeSigner{fail: true}, lifetime: time.Minute}}}
	_, err := failing.AccessURL(ctx, "s3://conf/key")
	if !errors.Is(err, indexd.ErrUnavailable) || strings.Contains(err.Error(), "X-Amz-Signature=") {
		t.Errorf("signing failure: %v, want ErrUnavailable without the URL's query", err)
	}
}

type fakeSigner struct{ fail bool }

func (f fakeSigner) SignGET(_ context.Context, loc Location, d time.Duration) (string, error) {
	if f.fail {
		return "", sanitize(errors.New("refresh https://sts.example.org/?X-Amz-Signature=secret failed"))
	}
	return "signed:" + loc.String() + ":" + d.String(), nil
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://b.s3.amazonaws.com/k?X-Amz-Signature=abc": "https://b.s3.amazonaws.com/k?REDACTED",
		"https://b/k#frag": "https://b/k?REDACTED",
		"s3://bucket/key":  "s3://bucket/key",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
	text := `GET "http://127.0.0.1:9/b/k?X-Amz-Credential=AKIA&X-Amz-Signature=dead" failed; also gs://g/k?X-Goog-Signature=beef`
	got := RedactText(text)
	if strings.Contains(got, "dead") || strings.Contains(got, "beef") || strings.Contains(got, "AKIA") || !strings.Contains(got, "http://127.0.0.1:9/b/k?REDACTED") {
		t.Errorf("RedactText: %s", got)
	}
}
