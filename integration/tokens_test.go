package integration

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datacommons/indexd/identity"
	"github.com/datacommons/indexd/internal/app"
)

const testSigningKey = "0123456789abcdef0123456789abcdef-test-key"

// WithStaticPolicy runs the service on a static policy file with a local
// signing key instead of the Arborist double.
func WithStaticPolicy(t testing.TB, policyYAML string) Option {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(policyYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(c *app.Config) {
		c.ArboristURL, c.PolicyFile, c.SigningKey = "", path, []byte(testSigningKey)
	}
}

// signHS256 builds a compact JWS by hand so a test can make any header.
func signHS256(t testing.TB, header, claims map[string]any, key string) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := enc(h) + "." + enc(c)
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(input))
	return input + "." + enc(mac.Sum(nil))
}

// TestTokensNeverAnonymous: every bad credential is 401, on reads with
// filtering on and off and on writes, never a fall-back to anonymous.
func TestTokensNeverAnonymous(t *testing.T) {
	policy := "anonymous:\n  /programs/open: [read]\nusers:\n  alice:\n    /programs: [read, create]\n"
	e := Start(t, WithStaticPolicy(t, policy), WithFiltering(), func(c *app.Config) { c.JWTIssuer = "https://issuer.test" })
	now := time.Now()
	hs := map[string]any{"alg": "HS256", "typ": "JWT"}
	claims := func(mod func(map[string]any)) map[string]any {
		c := map[string]any{"sub": "alice", "context": map[string]any{"user": map[string]any{"name": "alice"}},
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "iss": "https://issuer.test"}
		if mod != nil {
			mod(c)
		}
		return c
	}
	valid := signHS256(t, hs, claims(nil), testSigningKey)
	minted, err := identity.Mint([]byte(testSigningKey), "alice", time.Hour, "https://issuer.test")
	if err != nil {
		t.Fatal(err)
	}
	unsigned := strings.Join(strings.Split(signHS256(t, map[string]any{"alg": "none", "typ": "JWT"}, claims(nil), testSigningKey), ".")[:2], ".") + "."
	bad := map[string]string{
		"expired":         Bearer(signHS256(t, hs, claims(func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() }), testSigningKey)),
		"not yet valid":   Bearer(signHS256(t, hs, claims(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() }), testSigningKey)),
		"no exp":          Bearer(signHS256(t, hs, claims(func(c map[string]any) { delete(c, "exp") }), testSigningKey)),
		"wrong signature": Bearer(signHS256(t, hs, claims(nil), "another-key-another-key-another-key!!")),
		"alg none":        Bearer(unsigned),
		"alg none signed": Bearer(signHS256(t, map[string]any{"alg": "none"}, claims(nil), testSigningKey)),
		"wrong issuer":    Bearer(signHS256(t, hs, claims(func(c map[string]any) { c["iss"] = "https://evil.test" }), testSigningKey)),
		"garbage":         Bearer("garbage"),
		"three dots":      Bearer("a.b.c"),
		"empty bearer":    "Bearer ",
		"unknown scheme":  "Token " + valid,
		"bad basic":       "Basic !!!notbase64",
		"unknown admin":   Basic("nobody", "whatever-password"),
		"oversized":       Bearer(strings.Repeat("A", 9<<10)),
	}
	if code := e.Do(http.MethodGet, "/index", Bearer(valid), nil).Status; code != http.StatusOK {
		t.Fatalf("valid hand-made token: status %d", code)
	}
	if code := e.Do(http.MethodGet, "/index", Bearer(minted), nil).Status; code != http.StatusOK {
		t.Fatalf("minted token: status %d", code)
	}
	for name, auth := range bad {
		for _, discoverable := range []bool{false, true} {
			st := e.App.Settings.Get()
			st.AreRecordsDiscoverable = discoverable
			e.App.Settings.Set(st)
			for _, req := range []struct{ method, path string }{
				{http.MethodGet, "/index"}, {http.MethodGet, "/index/some-id"}, {http.MethodPost, "/index"},
				{http.MethodGet, "/ga4gh/drs/v1/objects/some-id"}, {http.MethodGet, "/_status"},
			} {
				var body any
				if req.method == http.MethodPost {
					body = Rec("x-"+strings.ReplaceAll(name, " ", "-"), "/programs/p1")
				}
				r := e.Do(req.method, req.path, auth, body)
				if r.Status != http.StatusUnauthorized || string(r.Body) != `{"error":"unauthorized"}`+"\n" && !strings.Contains(string(r.Body), `"unauthorized"`) {
					t.Errorf("%s, discoverable=%v, %s %s: %d %s; want 401 unauthorized", name, discoverable, req.method, req.path, r.Status, r.Body)
				}
			}
		}
	}
}
