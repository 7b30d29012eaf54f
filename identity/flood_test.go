package identity

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/datacommons/indexd/boundedcache"
)

// forgedJWT is a well-formed, unexpired JWT with a random signature and
// about pad bytes of random claims: what anyone can make.
func forgedJWT(t testing.TB, pad int) string {
	t.Helper()
	junk := make([]byte, pad*9/16) // base64 twice: about pad bytes in all
	if _, err := rand.Read(junk); err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding.EncodeToString
	claims, _ := json.Marshal(map[string]any{"sub": "mallory", "exp": time.Now().Add(time.Hour).Unix(), "junk": enc(junk)})
	sig := make([]byte, 32)
	_, _ = rand.Read(sig)
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(claims) + "." + enc(sig)
}

// Finding 3 of issue 12: in pass-through mode (no JWKS, no key: the policy
// service verifies tokens) every well-formed unexpired token was
// remembered for up to a minute before the policy service had looked at
// it, so random forged tokens grew the process without bound (12,000 of
// 7.5 KB: 24 → 394 MB RSS). The authenticator now remembers no token it
// has not verified itself; the policy service's acceptance is remembered
// by the mapping cache, which keeps only successes.
func TestPassThroughTokensNotRemembered(t *testing.T) {
	a, err := New(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2000 {
		c, err := a.Authenticate(ctx, "Bearer "+forgedJWT(t, 7500))
		if err != nil || c.Verified {
			t.Fatalf("pass-through: %+v %v (a well-formed token is handed to the policy service)", c, err)
		}
	}
	if n := VerifiedCount(a); n != 0 {
		t.Fatalf("%d unverified tokens remembered, want 0", n)
	}
	if _, err := a.Authenticate(ctx, "Bearer "+forgedJWT(t, 10)[:20]); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("malformed: %v", err)
	}
}

// TestVerifiedCacheBoundedUnderFlood: tokens this authenticator verifies
// itself (here: signed with its key) are remembered, within the cache's
// bounds of entries and bytes however many distinct valid tokens arrive.
func TestVerifiedCacheBoundedUnderFlood(t *testing.T) {
	key := []byte(strings.Repeat("k", MinSigningKeyLen))
	for _, tc := range []struct {
		name    string
		entries int
		bytes   int64
	}{{"entries", 30, 1 << 30}, {"bytes", 1 << 20, 30 * (boundedcache.EntryOverhead + 100)}} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(Config{SigningKey: key}, nil)
			if err != nil {
				t.Fatal(err)
			}
			BoundVerified(a, tc.entries, tc.bytes)
			ctx := context.Background()
			var last string
			for i := range 300 {
				last, err = Mint(key, fmt.Sprintf("user-%04d", i), time.Hour, "")
				if err != nil {
					t.Fatal(err)
				}
				if c, err := a.Authenticate(ctx, "Bearer "+last); err != nil || !c.Verified || c.Token != last {
					t.Fatalf("token %d: %+v %v", i, c, err)
				}
				if st := VerifiedStats(a); st.Entries > tc.entries || st.Bytes > tc.bytes {
					t.Fatalf("after %d tokens: %+v exceeds the bounds", i+1, st)
				}
			}
			if st := VerifiedStats(a); st.Evictions == 0 {
				t.Fatalf("300 tokens never filled the cache: %+v", st)
			}
			// The newest is remembered, and answered with its token.
			if c, err := a.Authenticate(ctx, "Bearer "+last); err != nil || c.Token != last || c.Username != "user-0299" {
				t.Fatalf("newest token: %+v %v", c, err)
			}
		})
	}
}
