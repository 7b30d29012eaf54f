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
	"github.com/datacommons/indexd/policy/policytest"
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
				{http.MethodGet, "/ga4gh/drs/v1/objects/some-id"}, {http.MethodGet, "/_stats"},
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

// TestTokensPassThroughVerifiedByPolicy: without a JWKS or signing key the
// service cannot check a token's signature itself, so the policy service
// must accept it first — on every route, even while every record is
// discoverable and reads would not otherwise ask it (SPEC §1). One mapping
// call per token per cache TTL; rejected → 401; unreachable → 503.
func TestTokensPassThroughVerifiedByPolicy(t *testing.T) {
	e := Start(t, withPolicy(0, time.Minute))
	e.Create(e.Writer(), Rec("pt-rec", "/programs/p1"))
	forged := Bearer(Tok("pt-forged")) // JWT-shaped, unexpired, signed by nobody the policy service trusts
	valid := Bearer(e.Policy.Token("pt-stranger", time.Hour))
	if !e.App.Settings.Get().AreRecordsDiscoverable {
		t.Fatal("the fixture must start with every record discoverable")
	}
	routes := []struct{ method, path string }{
		{http.MethodGet, "/index"}, {http.MethodGet, "/index/pt-rec"}, {http.MethodGet, "/pt-rec"},
		{http.MethodGet, "/index/pt-rec/versions"}, {http.MethodGet, "/ga4gh/drs/v1/objects/pt-rec"},
		{http.MethodPost, "/bulk/documents"}, {http.MethodGet, "/_stats"},
	}
	body := func(method string) any {
		if method == http.MethodPost {
			return []string{"pt-rec"}
		}
		return nil
	}
	for _, rt := range routes {
		r := azMust(t, e, rt.method, rt.path, forged, body(rt.method))
		want := azBodyUnauthorized
		if strings.HasPrefix(rt.path, "/ga4gh/") {
			want = azDRSBody(401, "unauthorized")
		}
		if r.Status != http.StatusUnauthorized || !azSameBody(r.Body, want) {
			t.Errorf("forged token, discoverable: %s %s: %d %s; want 401 %s", rt.method, rt.path, r.Status, azTrunc(r.Body), want)
		}
	}
	if r := azMust(t, e, http.MethodPost, "/index", forged, Rec("pt-new", "/programs/p1")); r.Status != http.StatusUnauthorized {
		t.Errorf("forged token write: %d %s", r.Status, r.Body)
	}

	// A valid token (of a user the policy service has no grants for) reads
	// what everyone reads, at the cost of one mapping call per TTL.
	e.App.Policy.Flush()
	e.Policy.ResetCounters()
	for _, rt := range routes {
		if r := azMust(t, e, rt.method, rt.path, valid, body(rt.method)); r.Status != http.StatusOK {
			t.Errorf("valid token, discoverable: %s %s: %d %s", rt.method, rt.path, r.Status, azTrunc(r.Body))
		}
	}
	if n := e.Policy.MappingCalls(); n != 1 {
		t.Errorf("%d requests with one token made %d mapping calls, want 1", len(routes), n)
	}

	// Policy service down: a verified token keeps working for its TTL; one
	// it has not verified yet cannot be, so 503 — never anonymous.
	e.Policy.SetFault(policytest.FaultDown)
	defer e.Policy.SetFault(policytest.FaultNone)
	if r := azMust(t, e, http.MethodGet, "/index/pt-rec", valid, nil); r.Status != http.StatusOK {
		t.Errorf("cached token during an outage: %d %s", r.Status, r.Body)
	}
	other := Bearer(e.Policy.Token("pt-other", time.Hour))
	if r := azMust(t, e, http.MethodGet, "/index/pt-rec", other, nil); r.Status != http.StatusServiceUnavailable || !azSameBody(r.Body, azBodyUnavailable) {
		t.Errorf("unverified token during an outage: %d %s, want 503", r.Status, r.Body)
	}
	if r := azMust(t, e, http.MethodGet, "/index/pt-rec", "", nil); r.Status != http.StatusOK {
		t.Errorf("anonymous during an outage, discoverable: %d %s", r.Status, r.Body)
	}
}
