package identity_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"golang.org/x/crypto/bcrypt"

	"github.com/datacommons/indexd/identity"
	"github.com/datacommons/indexd/policy"
)

var (
	testKey  = []byte("0123456789abcdef0123456789abcdef")
	otherKey = []byte("fedcba9876543210fedcba9876543210")
)

// memAdmins is an in-memory AdminStore.
type memAdmins struct {
	hashes map[string]string
	err    error
}

func (m *memAdmins) AdminPasswordHash(_ context.Context, username string) (string, bool, error) {
	if m.err != nil {
		return "", false, m.err
	}
	h, ok := m.hashes[username]
	return h, ok, nil
}

func newAdmins(t testing.TB) *memAdmins {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return &memAdmins{hashes: map[string]string{"root": string(h)}}
}

func basicHeader(user, pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}

// claims builds a token; zero times are left out.
type claims struct {
	sub, name, iss string
	aud            []string
	iat, nbf, exp  time.Time
	extra          map[string]any
}

func (c claims) token(t testing.TB) jwt.Token {
	t.Helper()
	b := jwt.NewBuilder()
	if c.sub != "" {
		b = b.Subject(c.sub)
	}
	if c.name != "" {
		b = b.Claim("context", map[string]any{"user": map[string]any{"name": c.name}})
	}
	if c.iss != "" {
		b = b.Issuer(c.iss)
	}
	if c.aud != nil {
		b = b.Audience(c.aud)
	}
	if !c.iat.IsZero() {
		b = b.IssuedAt(c.iat)
	}
	if !c.nbf.IsZero() {
		b = b.NotBefore(c.nbf)
	}
	if !c.exp.IsZero() {
		b = b.Expiration(c.exp)
	}
	for k, v := range c.extra {
		b = b.Claim(k, v)
	}
	tok, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func hs(t testing.TB, alg jwa.SignatureAlgorithm, key []byte, c claims) string {
	t.Helper()
	s, err := jwt.Sign(c.token(t), jwt.WithKey(alg, key))
	if err != nil {
		t.Fatal(err)
	}
	return string(s)
}

// hsKid signs an HS256 token whose header names kid.
func hsKid(t testing.TB, kid string, c claims) string {
	t.Helper()
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, kid); err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Sign(c.token(t), jwt.WithKey(jwa.HS256(), testKey, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(s)
}

// unsigned builds an alg-none token by hand (jwx refuses to).
func unsigned(t testing.TB, c claims, sig string) string {
	t.Helper()
	payload, err := json.Marshal(c.token(t))
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(payload) + "." + sig
}

func valid(now time.Time) claims {
	return claims{sub: "sub-alice", name: "alice", iss: "https://issuer", aud: []string{"indexd"}, iat: now, exp: now.Add(time.Hour)}
}

func TestNewConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  identity.Config
		ok   bool
	}{
		{"pass-through", identity.Config{}, true},
		{"hmac", identity.Config{SigningKey: testKey, VerifyTokens: true}, true},
		{"jwks", identity.Config{JWKSURL: "http://127.0.0.1:1/jwks"}, true},
		{"both", identity.Config{JWKSURL: "http://127.0.0.1:1/jwks", SigningKey: testKey}, false},
		{"short key", identity.Config{SigningKey: []byte("short")}, false},
		{"verify without key", identity.Config{VerifyTokens: true}, false},
		{"bad jwks url", identity.Config{JWKSURL: "ftp://x/jwks"}, false},
		{"relative jwks url", identity.Config{JWKSURL: "/jwks"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := identity.New(tc.cfg, nil)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
			if a != nil {
				_ = a.Close()
			}
		})
	}
}

func TestAuthenticateHMAC(t *testing.T) {
	t.Parallel() // the unknown-user case pays a cost-12 bcrypt comparison
	a, err := identity.New(identity.Config{SigningKey: testKey, Issuer: "https://issuer", Audience: "indexd", VerifyTokens: true}, newAdmins(t))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	now := time.Now()
	good := hs(t, jwa.HS256(), testKey, valid(now))

	mod := func(f func(*claims)) claims { c := valid(now); f(&c); return c }

	t.Run("valid", func(t *testing.T) {
		for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
			c, err := a.Authenticate(context.Background(), scheme+" "+good)
			if err != nil {
				t.Fatalf("%s: %v", scheme, err)
			}
			if c.Token != good || c.Username != "alice" || c.BasicAdmin || c.Anonymous() || !c.Verified {
				t.Fatalf("%s: caller %+v", scheme, c)
			}
			if d := c.ExpiresAt.Sub(now.Add(time.Hour)); d > time.Second || d < -time.Second {
				t.Fatalf("ExpiresAt %v, want about %v", c.ExpiresAt, now.Add(time.Hour))
			}
		}
	})
	t.Run("sub fallback", func(t *testing.T) {
		tok := hs(t, jwa.HS256(), testKey, mod(func(c *claims) { c.name = "" }))
		c, err := a.Authenticate(context.Background(), "Bearer "+tok)
		if err != nil || c.Username != "sub-alice" {
			t.Fatalf("caller %+v, err %v", c, err)
		}
	})
	t.Run("within skew", func(t *testing.T) {
		tok := hs(t, jwa.HS256(), testKey, mod(func(c *claims) {
			c.nbf = now.Add(10 * time.Second)
			c.iat = now.Add(10 * time.Second)
		}))
		if _, err := a.Authenticate(context.Background(), "Bearer "+tok); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("minted", func(t *testing.T) {
		tok, err := identity.Mint(testKey, "Bob", time.Minute, "https://issuer")
		if err != nil {
			t.Fatal(err)
		}
		// Mint sets no aud; use an authenticator without an audience.
		b, err := identity.New(identity.Config{SigningKey: testKey, Issuer: "https://issuer"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := b.Authenticate(context.Background(), "Bearer "+tok)
		if err != nil || c.Username != "Bob" || c.ExpiresAt.IsZero() {
			t.Fatalf("caller %+v, err %v", c, err)
		}
		if _, err := a.Authenticate(context.Background(), "Bearer "+tok); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Fatalf("minted token without aud passed an audience check: %v", err)
		}
	})

	bad := []struct{ name, header string }{
		{"scheme only", "Bearer"},
		{"scheme and space", "Bearer "},
		{"two credentials", "Bearer " + good + " x"},
		{"tab", "Bearer\t" + good},
		{"no scheme", good},
		{"unknown scheme", "Token " + good},
		{"digest", "Digest username=x"},
		{"garbage", "Bearer not-a-jwt"},
		{"garbage dots", "Bearer a.b.c"},
		{"two segments", "Bearer " + good[:strings.LastIndex(good, ".")]},
		{"empty signature", "Bearer " + good[:strings.LastIndex(good, ".")+1]},
		{"bad chars", "Bearer " + good + "!"},
		{"wrong signature", "Bearer " + hs(t, jwa.HS256(), otherKey, valid(now))},
		{"tampered payload", "Bearer " + tamper(good)},
		{"HS512 same key", "Bearer " + hs(t, jwa.HS512(), testKey, valid(now))},
		{"alg none", "Bearer " + unsigned(t, valid(now), "")},
		{"alg none with signature", "Bearer " + unsigned(t, valid(now), "c2ln")},
		{"expired", "Bearer " + hs(t, jwa.HS256(), testKey, mod(func(c *claims) { c.exp = now.Add(-time.Minute) }))},
		{"no exp", "Bearer " + hs(t, jwa.HS256(), testKey, mod(func(c *claims) { c.exp = time.Time{} }))},
		{"nbf in future", "Bearer " + hs(t, jwa.HS256(), testKey, mod(func(c *claims) { c.nbf = now.Add(5 * time.Minute) }))},
		{"iat in future", "Bearer " + hs(t, jwa.HS256(), testKey, mod(func(c *claims) { c.iat = now.Add(5 * time.Minute) }))},
		{"wrong iss", "Bearer " + hs(t, jwa.HS256(), testKey, mod(func(c *claims) { c.iss = "https://evil" }))},
		{"no iss", "Bearer " + hs(t, jwa.HS256(), testKey, mod(func(c *claims) { c.iss = "" }))},
		{"wrong aud", "Bearer " + hs(t, jwa.HS256(), testKey, mod(func(c *claims) { c.aud = []string{"fence"} }))},
		{"too long", "Bearer " + strings.Repeat("a", identity.MaxHeaderLen)},
		{"basic bad base64", "Basic %%%"},
		{"basic no colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("root"))},
		{"basic empty password", basicHeader("root", "")},
		{"basic empty user", basicHeader("", "s3cret")},
		{"basic wrong password", basicHeader("root", "nope")},
		{"basic unknown user", basicHeader("nobody", "s3cret")},
		{"basic password too long", basicHeader("root", "s3cret"+strings.Repeat("x", 80))},
		{"basic with token", "Basic " + good},
		{"whitespace", " "},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			c, err := a.Authenticate(context.Background(), tc.header)
			if !errors.Is(err, identity.ErrUnauthenticated) {
				t.Fatalf("err %v, want ErrUnauthenticated", err)
			}
			if c != (policy.Caller{}) {
				t.Fatalf("caller %+v returned with an error", c)
			}
			if strings.Contains(err.Error(), good) {
				t.Fatal("error message contains the token")
			}
		})
	}
}

// tamper flips the payload's subject without re-signing.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = []byte(strings.Replace(string(payload), "alice", "admin", 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func TestAuthenticateAnonymous(t *testing.T) {
	a, err := identity.New(identity.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Authenticate(context.Background(), "")
	if err != nil || !c.Anonymous() || c != (policy.Caller{}) {
		t.Fatalf("caller %+v, err %v", c, err)
	}
}

func TestAuthenticateBasic(t *testing.T) {
	admins := newAdmins(t)
	a, err := identity.New(identity.Config{SigningKey: testKey}, admins)
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Authenticate(context.Background(), basicHeader("root", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if c != (policy.Caller{BasicAdmin: true, Username: "root"}) {
		t.Fatalf("caller %+v", c)
	}
	if _, err := a.Authenticate(context.Background(), "basic "+base64.StdEncoding.EncodeToString([]byte("root:s3cret"))); err != nil {
		t.Fatalf("lower-case scheme: %v", err)
	}

	t.Run("store failure is unavailable", func(t *testing.T) {
		broken := &memAdmins{err: errors.New("connection refused")}
		b, _ := identity.New(identity.Config{SigningKey: testKey}, broken)
		_, err := b.Authenticate(context.Background(), basicHeader("root", "s3cret"))
		if !errors.Is(err, identity.ErrUnavailable) || errors.Is(err, identity.ErrUnauthenticated) {
			t.Fatalf("err %v, want ErrUnavailable only", err)
		}
	})
	t.Run("no admin store", func(t *testing.T) {
		b, _ := identity.New(identity.Config{SigningKey: testKey}, nil)
		if _, err := b.Authenticate(context.Background(), basicHeader("root", "s3cret")); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Fatalf("err %v, want ErrUnauthenticated", err)
		}
	})
	t.Run("corrupt stored hash", func(t *testing.T) {
		b, _ := identity.New(identity.Config{}, &memAdmins{hashes: map[string]string{"root": "plain"}})
		if _, err := b.Authenticate(context.Background(), basicHeader("root", "plain")); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Fatalf("err %v, want ErrUnauthenticated", err)
		}
	})
}

func TestPassThrough(t *testing.T) {
	a, err := identity.New(identity.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	// Signed with a key this service does not know: Arborist verifies it.
	tok := hs(t, jwa.HS256(), otherKey, valid(now))
	c, err := a.Authenticate(context.Background(), "Bearer "+tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.Token != tok || c.Username != "" || c.ExpiresAt.IsZero() || c.Verified {
		t.Fatalf("caller %+v: want the token, no username, an expiry, not verified", c)
	}
	for _, h := range []string{
		"Bearer garbage",
		"Bearer " + hs(t, jwa.HS256(), otherKey, claims{name: "x", exp: now.Add(-time.Hour)}),
		"Bearer " + unsigned(t, valid(now), "c2ln"),
		"Bearer " + hs(t, jwa.HS256(), otherKey, claims{name: "x"}),
	} {
		if _, err := a.Authenticate(context.Background(), h); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Fatalf("%.40s…: err %v, want ErrUnauthenticated", h, err)
		}
	}
}

// jwksServer serves a JWK set that tests can change, counting fetches.
type jwksServer struct {
	*httptest.Server
	mu    sync.Mutex
	set   jwk.Set
	down  bool
	count atomic.Int32
}

func newJWKSServer(t *testing.T) *jwksServer {
	js := &jwksServer{set: jwk.NewSet()}
	js.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		js.count.Add(1)
		js.mu.Lock()
		defer js.mu.Unlock()
		if js.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(js.set)
	}))
	t.Cleanup(js.Close)
	return js
}

func (js *jwksServer) add(t *testing.T, pub jwk.Key) {
	js.mu.Lock()
	defer js.mu.Unlock()
	if err := js.set.AddKey(pub); err != nil {
		t.Fatal(err)
	}
}

func (js *jwksServer) setDown(v bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.down = v
}

// rsaKey returns a private JWK with kid, and its public half. withAlg
// controls whether the public key names its algorithm.
func rsaKey(t *testing.T, kid string, withAlg bool) (jwk.Key, jwk.Key) {
	t.Helper()
	raw, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := jwk.Import(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := priv.Set(jwk.KeyIDKey, kid); err != nil {
		t.Fatal(err)
	}
	pub, err := jwk.PublicKeyOf(priv)
	if err != nil {
		t.Fatal(err)
	}
	if withAlg {
		if err := pub.Set(jwk.AlgorithmKey, jwa.RS256()); err != nil {
			t.Fatal(err)
		}
	}
	return priv, pub
}

func rs(t *testing.T, priv jwk.Key, kid string, c claims) string {
	t.Helper()
	hdr := jws.NewHeaders()
	if kid != "" {
		if err := hdr.Set(jws.KeyIDKey, kid); err != nil {
			t.Fatal(err)
		}
	}
	var raw rsa.PrivateKey
	if err := jwk.Export(priv, &raw); err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Sign(c.token(t), jwt.WithKey(jwa.RS256(), &raw, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(s)
}

func TestAuthenticateJWKS(t *testing.T) {
	js := newJWKSServer(t)
	priv1, pub1 := rsaKey(t, "k1", true)
	priv2, pub2 := rsaKey(t, "k2", false)
	js.add(t, pub1)

	a, err := identity.New(identity.Config{
		JWKSURL:        js.URL + "/.well-known/jwks",
		Issuer:         "https://issuer",
		Audience:       "indexd",
		JWKSTimeout:    time.Second,
		JWKSMinRefresh: time.Millisecond,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	now := time.Now()

	c, err := a.Authenticate(ctx, "Bearer "+rs(t, priv1, "k1", valid(now)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Username != "alice" || c.Token == "" || c.ExpiresAt.IsZero() || !c.Verified {
		t.Fatalf("caller %+v", c)
	}

	bad := []struct{ name, header string }{
		{"unknown kid", "Bearer " + rs(t, priv2, "k2", valid(now))},
		{"wrong key for kid", "Bearer " + rs(t, priv2, "k1", valid(now))},
		{"no kid", "Bearer " + rs(t, priv1, "", valid(now))},
		{"expired", "Bearer " + rs(t, priv1, "k1", claims{name: "alice", iss: "https://issuer", aud: []string{"indexd"}, exp: now.Add(-time.Hour)})},
		{"wrong iss", "Bearer " + rs(t, priv1, "k1", claims{name: "alice", iss: "https://evil", aud: []string{"indexd"}, exp: now.Add(time.Hour)})},
		{"wrong aud", "Bearer " + rs(t, priv1, "k1", claims{name: "alice", iss: "https://issuer", aud: []string{"x"}, exp: now.Add(time.Hour)})},
		{"hmac with kid", "Bearer " + hsKid(t, "k1", valid(now))},
		{"alg none", "Bearer " + unsigned(t, valid(now), "c2ln")},
		{"tampered", "Bearer " + tamper(rs(t, priv1, "k1", valid(now)))},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Authenticate(ctx, tc.header)
			if !errors.Is(err, identity.ErrUnauthenticated) {
				t.Fatalf("err %v, want ErrUnauthenticated", err)
			}
		})
	}

	t.Run("rotation", func(t *testing.T) {
		// A new key (published without alg) is picked up on first sight of its kid.
		js.add(t, pub2)
		before := js.count.Load()
		time.Sleep(2 * time.Millisecond)
		if _, err := a.Authenticate(ctx, "Bearer "+rs(t, priv2, "k2", valid(now))); err != nil {
			t.Fatalf("after rotation: %v", err)
		}
		if js.count.Load() == before {
			t.Fatal("unknown kid did not refresh the JWKS")
		}
	})
}

func TestJWKSUnavailable(t *testing.T) {
	js := newJWKSServer(t)
	priv, pub := rsaKey(t, "k1", true)
	js.add(t, pub)
	js.setDown(true)

	a, err := identity.New(identity.Config{JWKSURL: js.URL, JWKSTimeout: time.Second, JWKSMinRefresh: time.Millisecond}, nil)
	if err != nil {
		t.Fatalf("New must not need the JWKS up: %v", err)
	}
	defer a.Close()
	tok := "Bearer " + rs(t, priv, "k1", claims{name: "alice", exp: time.Now().Add(time.Hour)})

	_, err = a.Authenticate(context.Background(), tok)
	if !errors.Is(err, identity.ErrUnavailable) || errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("JWKS down: err %v, want ErrUnavailable", err)
	}
	js.setDown(false)
	time.Sleep(2 * time.Millisecond)
	if _, err := a.Authenticate(context.Background(), tok); err != nil {
		t.Fatalf("JWKS back: %v", err)
	}
}

func TestMintAndHash(t *testing.T) {
	t.Parallel() // bcrypt at cost 12 is slow under -race
	if _, err := identity.Mint([]byte("short"), "u", time.Minute, ""); err == nil {
		t.Fatal("short key accepted")
	}
	if _, err := identity.Mint(testKey, "", time.Minute, ""); err == nil {
		t.Fatal("empty username accepted")
	}
	if _, err := identity.Mint(testKey, "u", 0, ""); err == nil {
		t.Fatal("zero ttl accepted")
	}
	tok, err := identity.Mint(testKey, "u", time.Minute, "iss")
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseString(tok, jwt.WithKey(jwa.HS256(), testKey))
	if err != nil {
		t.Fatal(err)
	}
	var ctxClaim map[string]any
	if err := parsed.Get("context", &ctxClaim); err != nil {
		t.Fatal(err)
	}
	if name := ctxClaim["user"].(map[string]any)["name"]; name != "u" {
		t.Fatalf("context.user.name %v", name)
	}
	if iss, _ := parsed.Issuer(); iss != "iss" {
		t.Fatalf("iss %q", iss)
	}
	if _, ok := parsed.IssuedAt(); !ok {
		t.Fatal("no iat")
	}

	if _, err := identity.HashPassword(""); err == nil {
		t.Fatal("empty password accepted")
	}
	if _, err := identity.HashPassword(strings.Repeat("x", 73)); err == nil {
		t.Fatal("73-byte password accepted")
	}
	h, err := identity.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if cost, _ := bcrypt.Cost([]byte(h)); cost != identity.BcryptCost {
		t.Fatalf("cost %d", cost)
	}
	if !strings.HasPrefix(h, "$2a$12$") {
		t.Fatalf("hash %q is not bcrypt", h)
	}
	// Matching a cost-12 hash is left out: it takes seconds under -race, and
	// TestAuthenticateBasic covers the comparison.
}

func FuzzAuthenticate(f *testing.F) {
	now := time.Now()
	good, err := identity.Mint(testKey, "alice", time.Hour, "")
	if err != nil {
		f.Fatal(err)
	}
	seeds := []string{
		"",
		" ",
		"Bearer " + good,
		"bearer " + good,
		"Bearer " + good + "x",
		"Bearer " + tamper(good),
		"Bearer " + hs(f, jwa.HS256(), otherKey, valid(now)),
		"Bearer " + unsigned(f, valid(now), ""),
		"Bearer a.b.c",
		"Bearer ....",
		"Basic " + base64.StdEncoding.EncodeToString([]byte("root:wrong")),
		"Basic " + base64.StdEncoding.EncodeToString([]byte(":")),
		"Basic ===",
		"Negotiate abc",
		"Bearer\x00" + good,
		good,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	h, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		f.Fatal(err)
	}
	a, err := identity.New(identity.Config{SigningKey: testKey}, &memAdmins{hashes: map[string]string{"root": string(h)}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string) {
		c, err := a.Authenticate(context.Background(), header)
		if header == "" {
			if err != nil || c != (policy.Caller{}) {
				t.Fatalf("empty header: caller %+v, err %v", c, err)
			}
			return
		}
		if err != nil {
			// ErrBusy is the documented answer once the fuzzer's wrong
			// passwords have spent the (shared, client-less) failure
			// budget; it must never come with a caller either.
			if !errors.Is(err, identity.ErrUnauthenticated) && !errors.Is(err, identity.ErrBusy) {
				t.Fatalf("err %v is neither ErrUnauthenticated nor ErrBusy", err)
			}
			if errors.Is(err, identity.ErrBusy) && !strings.HasPrefix(strings.ToLower(header), "basic ") {
				t.Fatalf("ErrBusy for a non-basic header %q", header)
			}
			if c != (policy.Caller{}) {
				t.Fatalf("caller %+v returned with an error", c)
			}
			return
		}
		// Success is only possible with a real credential.
		if c.Anonymous() {
			t.Fatalf("non-empty header %q gave the anonymous caller", header)
		}
		switch {
		case c.BasicAdmin:
			if c.Username != "root" || c.Token != "" {
				t.Fatalf("basic caller %+v", c)
			}
		default:
			if c.Username != "alice" {
				t.Fatalf("bearer caller %+v from %q", c, header)
			}
			if _, err := jws.Verify([]byte(c.Token), jws.WithKey(jwa.HS256(), testKey)); err != nil {
				t.Fatalf("accepted a token that does not verify: %q", c.Token)
			}
		}
	})
}

// TestBasicVerifiedCache: a verified credential skips bcrypt on repeat, but a
// deleted user or a changed password is refused at once.
func TestBasicVerifiedCache(t *testing.T) {
	admins := newAdmins(t)
	a, err := identity.New(identity.Config{}, admins)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		c, err := a.Authenticate(ctx, basicHeader("root", "s3cret"))
		if err != nil || !c.BasicAdmin || c.Username != "root" {
			t.Fatalf("try %d: %+v, %v", i, c, err)
		}
	}
	if identity.VerifiedCount(a) != 1 {
		t.Fatalf("verified cache holds %d entries, want 1", identity.VerifiedCount(a))
	}
	h, err := bcrypt.GenerateFromPassword([]byte("n3w-secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	admins.hashes["root"] = string(h) // password changed
	if _, err := a.Authenticate(ctx, basicHeader("root", "s3cret")); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("old password after a change: %v, want ErrUnauthenticated", err)
	}
	delete(admins.hashes, "root") // user deleted
	if _, err := a.Authenticate(ctx, basicHeader("root", "n3w-secret")); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("deleted user: %v, want ErrUnauthenticated", err)
	}
}
