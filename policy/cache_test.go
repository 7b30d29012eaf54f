package policy_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datacommons/indexd/policy"
	"github.com/datacommons/indexd/policy/policytest"
)

func TestCachedHitsAndKeys(t *testing.T) {
	s := newDouble(t)
	c := policy.NewCached(policy.NewArborist(s.URL(), time.Second, nil), 0)
	ctx := context.Background()

	callers := []policy.Caller{anonCaller, aliceCaller, {Username: "bob"}, {Token: "tok-nobody"}}
	for range 3 {
		for _, cl := range callers {
			if _, err := c.Mapping(ctx, cl); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := s.MappingCalls(); n != int64(len(callers)) {
		t.Fatalf("arborist mapping calls %d, want %d", n, len(callers))
	}
	st := c.Stats()
	if st.InnerCalls != uint64(len(callers)) || st.Misses != uint64(len(callers)) || st.Hits != uint64(2*len(callers)) {
		t.Fatalf("stats %+v", st)
	}

	keys := policy.CacheKeys(c)
	if len(keys) != len(callers) {
		t.Fatalf("keys %v, want %d", keys, len(callers))
	}
	for _, k := range keys {
		for _, secret := range []string{"tok-alice", "tok-nobody", "bob"} {
			if strings.Contains(k, secret) {
				t.Fatalf("cache key %q contains %q", k, secret)
			}
		}
	}

	// Anonymous callers share one key, whatever else differs.
	before := s.MappingCalls()
	if _, err := c.Mapping(ctx, policy.Caller{}); err != nil {
		t.Fatal(err)
	}
	if s.MappingCalls() != before {
		t.Fatal("second anonymous caller missed the cache")
	}

	c.Flush()
	if len(policy.CacheKeys(c)) != 0 {
		t.Fatal("Flush left entries")
	}
	if _, err := c.Mapping(ctx, aliceCaller); err != nil {
		t.Fatal(err)
	}
	if s.MappingCalls() != before+1 {
		t.Fatal("Flush did not force a new inner call")
	}
	c.Forget(aliceCaller)
	if _, err := c.Mapping(ctx, aliceCaller); err != nil {
		t.Fatal(err)
	}
	if s.MappingCalls() != before+2 {
		t.Fatal("Forget did not force a new inner call")
	}
}

func TestCachedSingleflight(t *testing.T) {
	s := newDouble(t)
	s.SetFault(policytest.FaultSlow)
	s.SetDelay(100 * time.Millisecond)
	c := policy.NewCached(policy.NewArborist(s.URL(), 2*time.Second, nil), time.Minute)

	const n = 50
	var wg sync.WaitGroup
	var failures atomic.Int32
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			m, err := c.Mapping(context.Background(), aliceCaller)
			if err != nil || len(m.ResourcesWith(policy.MethodRead)) != 3 {
				failures.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if f := failures.Load(); f != 0 {
		t.Fatalf("%d callers failed", f)
	}
	if got := s.MappingCalls(); got != 1 {
		t.Fatalf("%d concurrent misses made %d arborist calls, want 1", n, got)
	}
	if st := c.Stats(); st.InnerCalls != 1 || st.Hits+st.Misses != n {
		t.Fatalf("stats %+v", st)
	}
}

func TestCachedTTLBoundedByExpiry(t *testing.T) {
	s := newDouble(t)
	c := policy.NewCached(policy.NewArborist(s.URL(), time.Second, nil), time.Hour)
	ctx := context.Background()

	// Already expired: never cached.
	expired := policy.Caller{Token: "tok-alice", ExpiresAt: time.Now().Add(-time.Second)}
	for range 2 {
		if _, err := c.Mapping(ctx, expired); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.MappingCalls(); n != 2 {
		t.Fatalf("expired caller: %d inner calls, want 2 (not cached)", n)
	}
	if len(policy.CacheKeys(c)) != 0 {
		t.Fatal("expired caller was cached")
	}

	// Expires soon: the entry lives until exp, not the hour.
	soon := policy.Caller{Token: "tok-alice", ExpiresAt: time.Now().Add(150 * time.Millisecond)}
	s.ResetCounters()
	if _, err := c.Mapping(ctx, soon); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Mapping(ctx, soon); err != nil {
		t.Fatal(err)
	}
	if n := s.MappingCalls(); n != 1 {
		t.Fatalf("before exp: %d inner calls, want 1", n)
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := c.Mapping(ctx, soon); err != nil {
		t.Fatal(err)
	}
	if n := s.MappingCalls(); n != 2 {
		t.Fatalf("after exp: %d inner calls, want 2 (entry outlived the token)", n)
	}
}

func TestCachedErrorsNotCached(t *testing.T) {
	s := newDouble(t)
	c := policy.NewCached(policy.NewArborist(s.URL(), time.Second, nil), time.Minute)
	ctx := context.Background()

	for _, tc := range []struct {
		name   string
		fault  policytest.Fault
		caller policy.Caller
		want   error
	}{
		{"unavailable", policytest.Fault500, aliceCaller, policy.ErrUnavailable},
		{"bad token", policytest.FaultNone, policy.Caller{Token: "garbage"}, policy.ErrBadToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.SetFault(tc.fault)
			s.ResetCounters()
			for range 3 {
				if _, err := c.Mapping(ctx, tc.caller); !errors.Is(err, tc.want) {
					t.Fatalf("err %v, want %v", err, tc.want)
				}
			}
			if n := s.MappingCalls(); n != 3 {
				t.Fatalf("%d inner calls, want 3 (errors must not be cached)", n)
			}
			s.SetFault(policytest.FaultNone)
		})
	}
	// After the outage the caller gets a real answer.
	if _, err := c.Mapping(ctx, aliceCaller); err != nil {
		t.Fatal(err)
	}
}

func TestCachedRevocationWithinTTL(t *testing.T) {
	s := newDouble(t)
	c := policy.NewCached(policy.NewArborist(s.URL(), time.Second, nil), 150*time.Millisecond)
	ctx := context.Background()
	// The read resources the discovery context uses are memoised per
	// cache entry: they must agree with the mapping and expire with it.
	reads := func() []string {
		m, err := c.Mapping(ctx, aliceCaller)
		if err != nil {
			t.Fatal(err)
		}
		memo, err := policy.ReadResources(ctx, c, aliceCaller)
		if err != nil {
			t.Fatal(err)
		}
		if want := m.ResourcesWith(policy.MethodRead); !reflect.DeepEqual(memo, want) {
			t.Fatalf("ReadResources %v, mapping's reads %v", memo, want)
		}
		return memo
	}
	with := []string{"/programs/open", "/programs/p1", "/programs/public"}
	without := []string{"/programs/open", "/programs/public"}
	if got := reads(); !reflect.DeepEqual(got, with) {
		t.Fatalf("before revoke: %v", got)
	}
	s.RevokeAll("tok-alice")
	if got := reads(); !reflect.DeepEqual(got, with) {
		t.Fatalf("within TTL the cached grant should still show: %v", got)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		got := reads()
		if reflect.DeepEqual(got, without) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("revoked grant still visible after TTL: %v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCachedAuthorizeNotCached(t *testing.T) {
	s := newDouble(t)
	c := policy.NewCached(policy.NewArborist(s.URL(), time.Second, nil), time.Minute)
	req := []policy.Request{{Resource: "/programs/p1", Method: policy.MethodCreate}}
	for i := range 3 {
		ok, err := c.Authorize(context.Background(), aliceCaller, req)
		if err != nil || !ok {
			t.Fatalf("call %d: %v %v", i, ok, err)
		}
	}
	s.RevokeAll("tok-alice")
	if ok, err := c.Authorize(context.Background(), aliceCaller, req); err != nil || ok {
		t.Fatalf("after revoke: %v %v, want false", ok, err)
	}
	if n := s.RequestCalls(); n != 4 {
		t.Fatalf("%d arborist calls, want 4", n)
	}
}

// TestCachedWaiterContext: a waiter whose context ends returns at once; the
// shared inner call still completes and fills the cache for others.
func TestCachedWaiterContext(t *testing.T) {
	s := newDouble(t)
	s.SetFault(policytest.FaultSlow)
	s.SetDelay(150 * time.Millisecond)
	c := policy.NewCached(policy.NewArborist(s.URL(), 2*time.Second, nil), time.Minute)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := c.Mapping(ctx, aliceCaller); !errors.Is(err, policy.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want ErrUnavailable wrapping DeadlineExceeded", err)
	}
	if _, err := c.Mapping(context.Background(), aliceCaller); err != nil {
		t.Fatal(err)
	}
	if n := s.MappingCalls(); n != 1 {
		t.Fatalf("%d arborist calls, want 1 (the abandoned call is shared)", n)
	}
}

// TestReadResourcesMemoised: a Cached computes a caller's read resources
// once per cache entry (the same list is handed out again), and a plain
// Service computes them from its mapping.
func TestReadResourcesMemoised(t *testing.T) {
	s := newDouble(t)
	inner := policy.NewArborist(s.URL(), time.Second, nil)
	c := policy.NewCached(inner, time.Minute)
	ctx := context.Background()
	first, err := policy.ReadResources(ctx, c, aliceCaller)
	if err != nil || len(first) == 0 {
		t.Fatalf("%v %v", first, err)
	}
	again, err := policy.ReadResources(ctx, c, aliceCaller)
	if err != nil || &again[0] != &first[0] {
		t.Fatalf("not memoised: %p %p (%v)", again, first, err)
	}
	direct, err := policy.ReadResources(ctx, inner, aliceCaller)
	if err != nil || !reflect.DeepEqual(direct, first) || &direct[0] == &first[0] {
		t.Fatalf("uncached service: %v %v", direct, err)
	}
	if n := c.Stats().InnerCalls; n != 1 {
		t.Fatalf("%d inner calls, want 1", n)
	}
}

func BenchmarkCachedMappingHit(b *testing.B) {
	s := policytest.New(b)
	s.SetUser("tok", "u", map[string][]string{"/programs/p1": {"read"}})
	c := policy.NewCached(policy.NewArborist(s.URL(), time.Second, nil), time.Minute)
	caller := policy.Caller{Token: "tok"}
	if _, err := c.Mapping(context.Background(), caller); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Mapping(context.Background(), caller); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestCachedBoundedUnderFlood: the mapping cache is keyed by caller input
// (tokens); a flood of distinct accepted tokens keeps it within its bounds
// of entries and bytes, a flood of rejected ones leaves nothing behind,
// and the newest callers are still served from the cache.
func TestCachedBoundedUnderFlood(t *testing.T) {
	s := newDouble(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		entries  int
		bytes    int64
		resource int // registered resources below the grant: the mapping's size
	}{
		{"entries", 25, 1 << 30, 0},
		{"bytes", 1 << 20, 40 << 10, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var paths []string
			for i := range tc.resource {
				paths = append(paths, fmt.Sprintf("/programs/flood/projects/p%03d", i))
			}
			s.RegisterResources(paths...)
			c := policy.NewCachedBounded(policy.NewArborist(s.URL(), 2*time.Second, nil), time.Hour, tc.entries, tc.bytes)
			var last policy.Caller
			for i := range 200 {
				name := fmt.Sprintf("flood-%s-%d", tc.name, i)
				s.SetGrants(name, map[string][]string{"/programs/flood": {"read"}})
				last = policy.Caller{Token: s.Token(name, time.Hour)}
				if _, err := c.Mapping(ctx, last); err != nil {
					t.Fatal(err)
				}
				if st := c.Stats().Cache; st.Entries > tc.entries || st.Bytes > tc.bytes {
					t.Fatalf("after %d callers: %+v exceeds the bounds", i+1, st)
				}
			}
			st := c.Stats()
			if st.Cache.Evictions == 0 {
				t.Fatalf("200 callers never filled the cache: %+v", st.Cache)
			}
			if _, err := c.Mapping(ctx, last); err != nil || c.Stats().Hits != st.Hits+1 {
				t.Fatalf("the newest caller is not served from the cache: %v %+v", err, c.Stats())
			}
			// Rejected (forged) tokens are never cached.
			before := c.Stats().Cache.Entries
			for i := range 50 {
				forged := s.Token(fmt.Sprintf("forged-%d", i), time.Hour) + "x"
				if _, err := c.Mapping(ctx, policy.Caller{Token: forged}); !errors.Is(err, policy.ErrBadToken) {
					t.Fatalf("forged token: %v", err)
				}
			}
			if got := c.Stats().Cache.Entries; got > before {
				t.Fatalf("rejected tokens cached: %d entries, were %d", got, before)
			}
		})
	}
}
