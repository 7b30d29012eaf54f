package boundedcache

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestBoundsHoldUnderFlood(t *testing.T) {
	cases := []struct {
		name       string
		opts       Options
		size       int64
		maxEntries int
	}{
		{"entries bound", Options{MaxEntries: 100, MaxBytes: 1 << 30}, 10, 100},
		{"bytes bound", Options{MaxEntries: 1 << 20, MaxBytes: 100 * (1000 + EntryOverhead + 8)}, 1000, 100},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New[int](tc.opts)
			for i := range 10_000 {
				c.Set(fmt.Sprintf("k%07d", i), i, tc.size)
				if st := c.Stats(); st.Entries > tc.opts.MaxEntries || st.Bytes > tc.opts.MaxBytes {
					t.Fatalf("after %d sets: %+v exceeds the bounds", i+1, st)
				}
			}
			st := c.Stats()
			if st.Entries != tc.maxEntries || st.Evictions != uint64(10_000-tc.maxEntries) {
				t.Fatalf("%+v, want %d entries and %d evictions", st, tc.maxEntries, 10_000-tc.maxEntries)
			}
			// The newest survive, the oldest made room.
			if _, ok := c.Get("k0009999"); !ok {
				t.Fatal("newest entry evicted")
			}
			if _, ok := c.Get("k0000000"); ok {
				t.Fatal("oldest entry kept")
			}
			if n := c.inner.ItemCount(); n != st.Entries {
				t.Fatalf("go-cache holds %d items, bookkeeping %d", n, st.Entries)
			}
		})
	}
}

func TestLeastRecentlyUsedGoesFirst(t *testing.T) {
	c := New[string](Options{MaxEntries: 3})
	c.Set("a", "A", 1)
	c.Set("b", "B", 1)
	c.Set("c", "C", 1)
	if v, ok := c.Get("a"); !ok || v != "A" {
		t.Fatalf("a: %q %v", v, ok)
	}
	c.Set("d", "D", 1) // evicts b, the least recently used
	for key, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if _, ok := c.Get(key); ok != want {
			t.Errorf("%s present %v, want %v", key, ok, want)
		}
	}
}

func TestReplaceOversizeDeleteFlush(t *testing.T) {
	c := New[int](Options{MaxBytes: 1000})
	c.Set("k", 1, 10)
	c.Set("k", 2, 20) // replaced, counted once
	if v, _ := c.Get("k"); v != 2 {
		t.Fatalf("replaced value %d", v)
	}
	if st := c.Stats(); st.Entries != 1 || st.Bytes != 20+1+EntryOverhead {
		t.Fatalf("after replace: %+v", st)
	}
	c.Set("huge", 3, 5000) // larger than the whole bound: not kept, nothing evicted
	if _, ok := c.Get("huge"); ok || c.Stats().Entries != 1 {
		t.Fatalf("oversized entry: %+v", c.Stats())
	}
	c.Set("k", 4, 5000) // replacing with an oversized value drops the old one too
	if _, ok := c.Get("k"); ok {
		t.Fatal("stale value kept after an oversized replacement")
	}
	c.Set("x", 1, 1)
	c.Delete("x")
	c.Set("y", 1, 1)
	c.Flush()
	if st := c.Stats(); st.Entries != 0 || st.Bytes != 0 {
		t.Fatalf("after delete and flush: %+v", st)
	}
}

func TestExpiry(t *testing.T) {
	c := New[int](Options{TTL: time.Hour})
	c.SetTTL("short", 1, 1, 30*time.Millisecond)
	c.SetTTL("never", 1, 1, 0) // ttl <= 0: not stored
	c.Set("long", 2, 1)
	if _, ok := c.Get("never"); ok {
		t.Fatal("stored with a zero ttl")
	}
	if exp, ok := c.Expiry("long"); !ok || time.Until(exp) < 59*time.Minute {
		t.Fatalf("default ttl: expires %v", exp)
	}
	time.Sleep(60 * time.Millisecond)
	if _, ok := c.Get("short"); ok {
		t.Fatal("expired entry returned")
	}
	if st := c.Stats(); st.Entries != 1 {
		t.Fatalf("expired entry still counted after Get: %+v", st)
	}
}

// Run with -race: concurrent sets, gets and deletes keep the bookkeeping
// and go-cache in step and the bounds held.
func TestConcurrentUse(t *testing.T) {
	c := New[int](Options{MaxEntries: 50, MaxBytes: 50 * (100 + EntryOverhead + 4)})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				k := fmt.Sprintf("%d", (g*7919+i)%300)
				switch i % 4 {
				case 0, 1:
					c.Set(k, i, 100)
				case 2:
					c.Get(k)
				case 3:
					c.Delete(k)
				}
			}
		}()
	}
	wg.Wait()
	st := c.Stats()
	if st.Entries > 50 || st.Bytes > st.MaxBytes || c.inner.ItemCount() != st.Entries {
		t.Fatalf("%+v; go-cache holds %d", st, c.inner.ItemCount())
	}
}
