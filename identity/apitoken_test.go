package identity_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datacommons/indexd/apitoken"
	"github.com/datacommons/indexd/identity"
	"github.com/datacommons/indexd/policy"
)

// memTokens is an in-memory TokenStore that counts its lookups (the
// database-backed one is exercised by the integration tests).
type memTokens struct {
	mu      sync.Mutex
	byHash  map[string]identity.APIToken
	fail    bool
	lookups atomic.Int64
	touches atomic.Int64
	audits  atomic.Int64
}

func (m *memTokens) APITokenByHash(_ context.Context, hash string) (identity.APIToken, bool, error) {
	m.lookups.Add(1)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return identity.APIToken{}, false, errors.New("database down")
	}
	t, ok := m.byHash[hash]
	return t, ok, nil
}
func (m *memTokens) TouchAPIToken(context.Context, string, time.Time) error {
	m.touches.Add(1)
	return nil
}
func (m *memTokens) AuditAPITokenUse(context.Context, string, string) error {
	m.audits.Add(1)
	return nil
}

func (m *memTokens) add(t *testing.T, tok identity.APIToken) string {
	t.Helper()
	s, err := apitoken.New()
	if err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	m.byHash[apitoken.Hash(s)] = tok
	m.mu.Unlock()
	return s
}

func newTokenAuth(t testing.TB) (*identity.Authenticator, *memTokens) {
	a, err := identity.New(identity.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := &memTokens{byHash: map[string]identity.APIToken{}}
	a.SetTokenStore(m)
	return a, m
}

func TestAPITokenAuthenticate(t *testing.T) {
	ctx := context.Background()
	a, m := newTokenAuth(t)
	scope := policy.Scope{{Resource: "/programs/p1", Methods: []string{"read"}}}
	good := m.add(t, identity.APIToken{ID: "id1", User: "alice", Scope: scope, ExpiresAt: time.Now().Add(time.Hour)})
	c, err := a.Authenticate(ctx, "Bearer "+good)
	if err != nil || c.Username != "alice" || c.TokenID != "id1" || c.Token != "" || c.Scope == nil || (*c.Scope)[0].Resource != "/programs/p1" || c.Anonymous() {
		t.Fatalf("caller %+v, %v", c, err)
	}
	n := m.lookups.Load()
	for range 100 {
		if _, err := a.Authenticate(ctx, "Bearer "+good); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.lookups.Load(); got != n {
		t.Fatalf("cache hits made %d store lookups", got-n)
	}
	time.Sleep(50 * time.Millisecond)
	if got := m.touches.Load(); got != 1 {
		t.Fatalf("%d last-use writes for 101 uses, want 1", got)
	}

	// A typo, a truncated token, a token that merely looks like one: 401
	// without asking the store.
	n = m.lookups.Load()
	typo := []byte(good)
	typo[10] ^= 1
	for _, bad := range []string{string(typo), good[:len(good)-1], "idx_notatoken"} {
		if _, err := a.Authenticate(ctx, "Bearer "+bad); !errors.Is(err, identity.ErrUnauthenticated) {
			t.Fatalf("%q: err %v, want ErrUnauthenticated", bad, err)
		} else if strings.Contains(err.Error(), bad) {
			t.Fatal("error names the token")
		}
	}
	if got := m.lookups.Load(); got != n {
		t.Fatalf("malformed tokens made %d store lookups", got-n)
	}

	unknown, _ := apitoken.New()
	expired := m.add(t, identity.APIToken{ID: "id2", User: "alice", Scope: scope, ExpiresAt: time.Now().Add(-time.Second)})
	revoked := m.add(t, identity.APIToken{ID: "id3", User: "alice", Scope: scope, ExpiresAt: time.Now().Add(time.Hour), Revoked: true})
	for name, tok := range map[string]string{"unknown": unknown, "expired": expired, "revoked": revoked} {
		c, err := a.Authenticate(ctx, "Bearer "+tok)
		if !errors.Is(err, identity.ErrUnauthenticated) || !c.Anonymous() {
			t.Fatalf("%s: %+v, %v; want ErrUnauthenticated", name, c, err)
		}
	}
	_, _ = a.Authenticate(ctx, "Bearer "+revoked)
	time.Sleep(50 * time.Millisecond)
	if got := m.audits.Load(); got != 1 {
		t.Fatalf("%d use-after-revoke audits, want 1 (rate limited)", got)
	}

	// Revocation: forgetting the hash makes the next use ask the store.
	m.mu.Lock()
	tk := m.byHash[apitoken.Hash(good)]
	tk.Revoked = true
	m.byHash[apitoken.Hash(good)] = tk
	m.mu.Unlock()
	a.ForgetAPIToken(apitoken.Hash(good))
	if _, err := a.Authenticate(ctx, "Bearer "+good); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("revoked and forgotten: err %v", err)
	}

	// The store down: 503, never anonymous.
	other := m.add(t, identity.APIToken{ID: "id4", User: "bob", Scope: scope, ExpiresAt: time.Now().Add(time.Hour)})
	m.mu.Lock()
	m.fail = true
	m.mu.Unlock()
	if c, err := a.Authenticate(ctx, "Bearer "+other); !errors.Is(err, identity.ErrUnavailable) || !c.Anonymous() {
		t.Fatalf("store down: %+v, %v; want ErrUnavailable", c, err)
	}

	// API tokens off: 401.
	off, _ := identity.New(identity.Config{}, nil)
	if _, err := off.Authenticate(ctx, "Bearer "+other); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("tokens off: err %v", err)
	}
}

// BenchmarkAPITokenCacheHit is the cost of verifying an API token in
// steady state (issue 14: ≤ 5 µs).
func BenchmarkAPITokenCacheHit(b *testing.B) {
	a, m := newTokenAuth(b)
	s, _ := apitoken.New()
	m.byHash[apitoken.Hash(s)] = identity.APIToken{ID: "id", User: "alice", Scope: policy.FullScope(), ExpiresAt: time.Now().Add(time.Hour)}
	h := "Bearer " + s
	ctx := context.Background()
	if _, err := a.Authenticate(ctx, h); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := a.Authenticate(ctx, h); err != nil {
			b.Fatal(err)
		}
	}
}
