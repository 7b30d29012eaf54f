package identity

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestBearerCache: a verified token is remembered under a hash of it (never
// the token), no longer than its exp, and a rejected one is never
// remembered.
func TestBearerCache(t *testing.T) {
	key := []byte(strings.Repeat("k", MinSigningKeyLen))
	a, err := New(Config{SigningKey: key}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	short, err := Mint(key, "alice", 20*time.Second, "")
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Authenticate(ctx, "Bearer "+short)
	if err != nil || c.Username != "alice" || !c.Verified {
		t.Fatalf("first: %+v %v", c, err)
	}
	again, err := a.Authenticate(ctx, "Bearer "+short)
	if err != nil || again != c {
		t.Fatalf("cached: %+v %v, want %+v", again, err, c)
	}
	keys := a.verified.Keys()
	if len(keys) != 1 {
		t.Fatalf("%d cache entries, want 1", len(keys))
	}
	for _, k := range keys {
		if strings.Contains(k, short) || k != "jwt:"+tokenKey(short) {
			t.Fatalf("cache key %q", k)
		}
		if exp, _ := a.verified.Expiry(k); exp.After(c.ExpiresAt) || exp.Before(time.Now()) {
			t.Fatalf("entry expires %v, token exp %v", exp, c.ExpiresAt)
		}
		if kept, _ := a.verified.Get(k); kept.Token != "" {
			t.Fatal("the cache holds the token")
		}
	}

	long, err := Mint(key, "bob", time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, "Bearer "+long); err != nil {
		t.Fatal(err)
	}
	if exp, ok := a.verified.Expiry("jwt:" + tokenKey(long)); !ok || time.Until(exp) > tokenTTL {
		t.Fatalf("long-lived token remembered past tokenTTL: %v %v", exp, ok)
	}

	forged := long[:strings.LastIndexByte(long, '.')+1] + "AAAA" + long[strings.LastIndexByte(long, '.')+5:]
	for range 2 {
		if _, err := a.Authenticate(ctx, "Bearer "+forged); err == nil {
			t.Fatal("forged signature accepted")
		}
	}
	if _, ok := a.verified.Get("jwt:" + tokenKey(forged)); ok {
		t.Fatal("a rejected token was remembered")
	}
}
