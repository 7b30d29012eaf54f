// Package boundedcache is the one in-memory cache for anything keyed by
// caller input (tokens, credentials, grant lists, client addresses): a
// go-cache TTL store with a bound on the number of entries and on their
// bytes. go-cache alone has no bound, so a flood of distinct keys — random
// forged tokens, say — would grow the process without limit; here the
// least recently used entries make room instead.
//
// Sizes are the caller's estimate of what an entry holds (Set's size
// argument) plus the key and a fixed overhead per entry. An entry larger
// than the whole byte bound is not kept. Expired entries are dropped by
// go-cache's janitor (their values are then freed) and by the first Get
// that finds them gone; until one of those, they keep their place in the
// least-recently-used order and count against the bound, so the bound
// holds at every moment.
package boundedcache

import (
	"container/list"
	"sync"
	"sync/atomic"
	"time"

	gocache "github.com/patrickmn/go-cache"
)

// EntryOverhead is the bytes counted for every entry beyond its key and
// the caller's size: the bookkeeping of go-cache and of the order list.
const EntryOverhead = 160

// Options bound a cache. Zero fields take the defaults.
type Options struct {
	// TTL is how long an entry lives unless Set is given another (default
	// one minute).
	TTL time.Duration
	// Cleanup is how often expired entries are dropped (default: TTL, at
	// least one second).
	Cleanup time.Duration
	// MaxEntries bounds the number of entries (default 10,000).
	MaxEntries int
	// MaxBytes bounds the bytes of the entries as counted (default 16 MiB).
	MaxBytes int64
}

// Stats describe a cache now and since it was made.
type Stats struct {
	Entries    int
	Bytes      int64
	MaxEntries int
	MaxBytes   int64
	// Evictions counts entries dropped to make room (not expiries).
	Evictions uint64
}

// Cache is a bounded TTL cache of V by string key. Safe for concurrent use.
type Cache[V any] struct {
	inner *gocache.Cache
	ttl   time.Duration
	max   int
	maxB  int64

	mu    sync.Mutex
	order *list.List               // front: most recently used; values are *slot
	slots map[string]*list.Element // key → its place in order
	bytes int64

	evictions atomic.Uint64
}

type slot struct {
	key  string
	size int64
}

// New makes a cache bounded by o.
func New[V any](o Options) *Cache[V] {
	if o.TTL <= 0 {
		o.TTL = time.Minute
	}
	if o.Cleanup <= 0 {
		o.Cleanup = max(o.TTL, time.Second)
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 10_000
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 16 << 20
	}
	return &Cache[V]{
		inner: gocache.New(o.TTL, o.Cleanup), ttl: o.TTL, max: o.MaxEntries, maxB: o.MaxBytes,
		order: list.New(), slots: map[string]*list.Element{},
	}
}

// Get returns the live entry of key and marks it recently used.
func (c *Cache[V]) Get(key string) (V, bool) {
	v, ok := c.inner.Get(key)
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.slots[key]
	if !ok {
		// Expired (or just dropped): give its room back now, unless a Set
		// stored it again meanwhile.
		if _, again := c.inner.Get(key); el != nil && !again {
			c.remove(el)
		}
		var zero V
		return zero, false
	}
	if el != nil {
		c.order.MoveToFront(el)
	}
	return v.(V), true
}

// Set stores v under key for the default TTL; size is the bytes v holds.
func (c *Cache[V]) Set(key string, v V, size int64) { c.SetTTL(key, v, size, c.ttl) }

// SetTTL stores v under key for ttl (nothing is stored when ttl <= 0),
// evicting the least recently used entries as the bounds require.
func (c *Cache[V]) SetTTL(key string, v V, size int64, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	size = max(size, 0) + int64(len(key)) + EntryOverhead
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.slots[key]; el != nil {
		c.remove(el)
	}
	if size > c.maxB {
		return // would not fit even alone
	}
	for c.order.Len() >= c.max || c.bytes+size > c.maxB {
		c.remove(c.order.Back())
		c.evictions.Add(1)
	}
	c.inner.Set(key, v, ttl)
	c.slots[key] = c.order.PushFront(&slot{key: key, size: size})
	c.bytes += size
}

// remove drops el's entry. Call with c.mu held.
func (c *Cache[V]) remove(el *list.Element) {
	s := c.order.Remove(el).(*slot)
	delete(c.slots, s.key)
	c.bytes -= s.size
	c.inner.Delete(s.key)
}

// Delete drops key's entry, if any.
func (c *Cache[V]) Delete(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.slots[key]; el != nil {
		c.remove(el)
	}
}

// Flush drops every entry.
func (c *Cache[V]) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inner.Flush()
	c.order.Init()
	c.slots = map[string]*list.Element{}
	c.bytes = 0
}

// Stats reports the cache's size and bounds.
func (c *Cache[V]) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Entries: c.order.Len(), Bytes: c.bytes, MaxEntries: c.max, MaxBytes: c.maxB, Evictions: c.evictions.Load()}
}

// Keys lists the keys of the entries held, most recently used first
// (tests and diagnostics; expired entries not yet dropped included).
func (c *Cache[V]) Keys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, c.order.Len())
	for el := c.order.Front(); el != nil; el = el.Next() {
		out = append(out, el.Value.(*slot).key)
	}
	return out
}

// Expiry returns when key's entry expires (tests and diagnostics).
func (c *Cache[V]) Expiry(key string) (time.Time, bool) {
	_, exp, ok := c.inner.GetWithExpiration(key)
	return exp, ok
}
