package integration

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/datacommons/indexd/internal/app"
)

// TestUnauthorizedChallenges (issue 10): every 401 carries the Bearer
// challenge (error="invalid_token" and an error_description when a
// credential was refused), a Basic challenge where basic authentication is
// accepted, and a JSON reason; no part of the credential is echoed.
func TestUnauthorizedChallenges(t *testing.T) {
	t.Parallel()
	policy := "anonymous:\n  /programs/open: [read]\nusers:\n  alice:\n    /programs: [read, create]\n"
	e := Start(t, WithStaticPolicy(t, policy), WithFiltering(), func(c *app.Config) { c.JWTIssuer = "https://issuer.test" })
	now := time.Now()
	hs := map[string]any{"alg": "HS256", "typ": "JWT"}
	claims := func(exp time.Time) map[string]any {
		return map[string]any{"sub": "alice", "context": map[string]any{"user": map[string]any{"name": "alice"}},
			"iat": now.Unix(), "exp": exp.Unix(), "iss": "https://issuer.test"}
	}
	expired := signHS256(t, hs, claims(now.Add(-time.Hour)), testSigningKey)
	badSig := signHS256(t, hs, claims(now.Add(time.Hour)), "another-key-another-key-another-key")
	cases := []struct {
		name, method, auth, reason, desc string
	}{
		{"missing on a write", http.MethodPost, "", "missing", ""},
		{"expired", http.MethodGet, Bearer(expired), "expired", "the token has expired"},
		{"bad signature", http.MethodGet, Bearer(badSig), "bad signature", "the token signature does not verify"},
		{"malformed", http.MethodGet, "Bearer", "malformed", "the credential is malformed"},
		{"wrong password", http.MethodGet, Basic("nobody", "pw"), "invalid", "the credential is not valid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.method == http.MethodPost {
				body = Rec("dg.CH/5d0c9a4e-1b2c-4d3e-8f90-a1b2c3d4e5f6")
			}
			r := e.Do(c.method, "/index", c.auth, body)
			if r.Status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", r.Status, r.Body)
			}
			m := r.Map(t)
			if m["error"] != "unauthorized" || m["reason"] != c.reason {
				t.Fatalf("body %s, want reason %q", r.Body, c.reason)
			}
			h := r.Header.Values("WWW-Authenticate")
			want := `Bearer realm="indexd"`
			if c.desc != "" {
				want += `, error="invalid_token", error_description="` + c.desc + `"`
			}
			if len(h) != 2 || h[0] != want || h[1] != `Basic realm="indexd", charset="UTF-8"` {
				t.Fatalf("WWW-Authenticate %q, want [%q, Basic …]", h, want)
			}
			if c.auth != "" && len(c.auth) > 12 {
				cred := c.auth[strings.LastIndex(c.auth, " ")+1:]
				if strings.Contains(string(r.Body), cred[len(cred)-10:]) || strings.Contains(strings.Join(h, " "), cred[len(cred)-10:]) {
					t.Fatal("the credential is echoed")
				}
			}
		})
	}

	t.Run("unknown to the policy service, no Basic challenge without basic auth", func(t *testing.T) {
		e := Start(t, WithFiltering(), func(c *app.Config) { c.BasicAuth = false })
		tok := Tok("revoked-user")
		e.Policy.SetUser(tok, "revoked-user", map[string][]string{"/programs": {"read"}})
		e.Policy.RemoveUser(tok)
		r := e.Do(http.MethodGet, "/index", Bearer(tok), nil)
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401: %s", r.Status, r.Body)
		}
		if m := r.Map(t); m["reason"] != "unknown to the policy service" {
			t.Fatalf("body %s", r.Body)
		}
		h := r.Header.Values("WWW-Authenticate")
		want := `Bearer realm="indexd", error="invalid_token", error_description="the credential is unknown to the policy service"`
		if len(h) != 1 || h[0] != want {
			t.Fatalf("WWW-Authenticate %q, want [%q]", h, want)
		}
	})
}
