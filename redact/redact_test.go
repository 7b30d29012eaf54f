package redact

import (
	"strings"
	"testing"
)

// TestEverySecretKind: each kind of secret is gone, what is not secret stays.
func TestEverySecretKind(t *testing.T) {
	for _, tc := range []struct{ name, in, secret, keep string }{
		{"bearer", "Authorization: Bearer abc.def.ghi-secret", "abc.def.ghi-secret", "Authorization: Bearer"},
		{"basic", "basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA==", "basic"},
		{"jwt", "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl in an error", "eyJzdWIiOiJhbGljZSJ9", "in an error"},
		{"db url", "connect postgres://indexd:hunter2pw@db:5432/indexd failed", "hunter2pw", "postgres://indexd:"},
		{"conn string", "host=db user=indexd password=hunter2pw dbname=x", "hunter2pw", "user=indexd"},
		{"signed s3", "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIAX%2F1&X-Amz-Signature=deadbeefsig&X-Amz-Expires=900", "deadbeefsig", "X-Amz-Expires=900"},
		{"signed gcs", "https://storage.googleapis.com/b/k?X-Goog-Signature=abc123sig", "abc123sig", "storage.googleapis.com"},
	} {
		got := Text(tc.in)
		if strings.Contains(got, tc.secret) || !strings.Contains(got, tc.keep) {
			t.Errorf("%s: Text(%q) = %q", tc.name, tc.in, got)
		}
	}
	q := Query("limit=5&X-Amz-Signature=sig123&token=tok456&authz=/p")
	if strings.Contains(q, "sig123") || strings.Contains(q, "tok456") || !strings.Contains(q, "limit=5") || !strings.Contains(q, "authz=/p") {
		t.Errorf("Query: %q", q)
	}
	if u := URL("postgres://u:s3cret@h/db?password=p2&sslmode=disable"); strings.Contains(u, "s3cret") || strings.Contains(u, "p2") || !strings.Contains(u, "sslmode=disable") {
		t.Errorf("URL: %q", u)
	}
	if c := Caller("", "the-token"); !strings.HasPrefix(c, "sha256:") || strings.Contains(c, "the-token") {
		t.Errorf("Caller: %q", c)
	}
	if Caller("alice", "t") != "alice" || Caller("", "") != "anonymous" {
		t.Error("Caller names")
	}
}
