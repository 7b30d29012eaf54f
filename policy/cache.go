package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"golang.org/x/sync/singleflight"
)

// DefaultCacheTTL is the mapping cache TTL used when NewCached gets zero.
const DefaultCacheTTL = 60 * time.Second

// anonymousKey is the one cache key shared by every anonymous caller.
const anonymousKey = "anon"

// Cached wraps a Service and caches mappings per caller for a TTL that never
// outlives the caller's token (Caller.ExpiresAt). Cache keys are
// "tok:"+hex(sha256(token)) for token holders, "user:"+hex(sha256(username))
// for callers with only a user name, and one fixed key for anonymous
// callers: the raw token is never stored as a key. Mappings asked for by
// user name (UserMapping) have keys of their own, "name:"+hex(sha256(
// lowercase name)). Concurrent misses for one
// key make a single inner call. Errors are never cached. Authorize is
// passed through uncached: every write decision reaches the inner Service.
//
// Mappings returned by a Cached are shared between callers and must be
// treated as read-only.
type Cached struct {
	inner Service
	ttl   time.Duration
	cache *gocache.Cache
	group singleflight.Group

	hits, misses, innerCalls atomic.Uint64
}

var (
	_ Service    = (*Cached)(nil)
	_ UserMapper = (*Cached)(nil)
)

// CacheStats are counters of a Cached since it was built.
type CacheStats struct {
	// Hits are mapping lookups (Mapping, UserMapping) answered from the
	// cache.
	Hits uint64
	// Misses are lookups not answered from the cache (including those that
	// shared another caller's in-flight inner call).
	Misses uint64
	// InnerCalls are Mapping and UserMapping calls made to the inner
	// Service.
	InnerCalls uint64
}

// NewCached wraps inner with a mapping cache of the given TTL
// (DefaultCacheTTL when zero or negative).
func NewCached(inner Service, ttl time.Duration) *Cached {
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	cleanup := ttl
	if cleanup < time.Second {
		cleanup = time.Second
	}
	return &Cached{
		inner: inner,
		ttl:   ttl,
		cache: gocache.New(ttl, cleanup),
	}
}

// cacheKey returns the cache key for c. It never contains the raw token.
func cacheKey(c Caller) string {
	switch {
	case c.Token != "":
		return "tok:" + hashHex(c.Token)
	case c.Username != "":
		return "user:" + hashHex(c.Username)
	default:
		return anonymousKey
	}
}

func hashHex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// entryTTL is min(ttl, time until the caller's token expires); zero or
// less means "do not cache".
func (c *Cached) entryTTL(caller Caller) time.Duration {
	ttl := c.ttl
	if !caller.ExpiresAt.IsZero() {
		if left := time.Until(caller.ExpiresAt); left < ttl {
			ttl = left
		}
	}
	return ttl
}

// Mapping returns the caller's mapping from the cache, or from the inner
// Service on a miss (one inner call per key however many callers miss at
// once). A caller whose token has already expired is never cached. If ctx
// ends while waiting for a shared inner call, Mapping returns ErrUnavailable
// wrapping ctx's error; the inner call itself runs to its own timeout.
func (c *Cached) Mapping(ctx context.Context, caller Caller) (Mapping, error) {
	e, err := c.entry(ctx, caller)
	if err != nil {
		return nil, err
	}
	return e.mapping, nil
}

// cachedMapping is one cache entry: a mapping and, computed on first use
// and shared while the entry lives, what reads derive from it.
type cachedMapping struct {
	mapping Mapping
	reads   func() []string
}

func newCachedMapping(m Mapping) *cachedMapping {
	return &cachedMapping{mapping: m, reads: sync.OnceValue(func() []string { return m.ResourcesWith(MethodRead) })}
}

// readResources is ResourcesWith(MethodRead) of the caller's mapping,
// computed once per cache entry rather than once per request (a mapping of
// thousands of paths costs milliseconds to walk).
func (c *Cached) readResources(ctx context.Context, caller Caller) ([]string, error) {
	e, err := c.entry(ctx, caller)
	if err != nil {
		return nil, err
	}
	return e.reads(), nil
}

func (c *Cached) entry(ctx context.Context, caller Caller) (*cachedMapping, error) {
	return c.load(ctx, cacheKey(caller), func(ctx context.Context) (Mapping, time.Duration, error) {
		m, err := c.inner.Mapping(ctx, caller)
		return m, c.entryTTL(caller), err
	})
}

// load returns the entry under key, or fetches it (one flight per key
// however many callers miss at once) and caches it for the TTL fetch
// answers (not at all when that is zero or less). Errors are not cached.
func (c *Cached) load(ctx context.Context, key string, fetch func(context.Context) (Mapping, time.Duration, error)) (*cachedMapping, error) {
	if v, ok := c.cache.Get(key); ok {
		c.hits.Add(1)
		return v.(*cachedMapping), nil
	}
	c.misses.Add(1)

	ch := c.group.DoChan(key, func() (any, error) {
		// Another flight may have filled the entry between our Get and here.
		if v, ok := c.cache.Get(key); ok {
			return v, nil
		}
		c.innerCalls.Add(1)
		// Detach from the first caller's cancellation: the result is shared
		// with every caller waiting on this key. The inner Service applies
		// its own timeout.
		m, ttl, err := fetch(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		e := newCachedMapping(m)
		if ttl > 0 {
			c.cache.Set(key, e, ttl)
		}
		return e, nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*cachedMapping), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("policy: waiting for mapping: %w: %w", ErrUnavailable, ctx.Err())
	}
}

// userKey is the cache key of a mapping asked for by user name. Names are
// matched case-insensitively (UserMapper), so one key serves every
// spelling; it never contains the name itself, and it cannot collide with
// a caller's key (cacheKey).
func userKey(username string) string {
	return "name:" + hashHex(strings.ToLower(username))
}

// UserMapping returns a user's mapping by user name (UserMapper) from the
// cache, or from the inner Service on a miss. Entries live under their own
// key per user name (not shared with callers presenting a credential), for
// the cache's TTL, with one inner call per name however many callers miss
// at once; errors are never cached. An inner Service that is not a
// UserMapper answers ErrUnavailable; an empty or blank name is ErrBadToken
// without a call. The mapping is shared and must be treated as read-only.
func (c *Cached) UserMapping(ctx context.Context, username string) (Mapping, error) {
	e, err := c.userEntry(ctx, username)
	if err != nil {
		return nil, err
	}
	return e.mapping, nil
}

// UserReadResources is ResourcesWith(MethodRead) of the user's mapping
// (UserMapping), computed once per cache entry. Callers must not modify it.
func (c *Cached) UserReadResources(ctx context.Context, username string) ([]string, error) {
	e, err := c.userEntry(ctx, username)
	if err != nil {
		return nil, err
	}
	return e.reads(), nil
}

func (c *Cached) userEntry(ctx context.Context, username string) (*cachedMapping, error) {
	if strings.TrimSpace(username) == "" {
		return nil, fmt.Errorf("policy: user mapping: empty user name: %w", ErrBadToken)
	}
	um, ok := c.inner.(UserMapper)
	if !ok {
		return nil, fmt.Errorf("policy: user mapping: the policy service cannot map a user by name: %w", ErrUnavailable)
	}
	return c.load(ctx, userKey(username), func(ctx context.Context) (Mapping, time.Duration, error) {
		m, err := um.UserMapping(ctx, username)
		return m, c.ttl, err
	})
}

// ForgetUser drops the cached mapping of a user asked for by name.
func (c *Cached) ForgetUser(username string) { c.cache.Delete(userKey(username)) }

// Authorize passes straight through to the inner Service.
func (c *Cached) Authorize(ctx context.Context, caller Caller, reqs []Request) (bool, error) {
	return c.inner.Authorize(ctx, caller, reqs)
}

// Stats returns the counters since the Cached was built.
func (c *Cached) Stats() CacheStats {
	return CacheStats{
		Hits:       c.hits.Load(),
		Misses:     c.misses.Load(),
		InnerCalls: c.innerCalls.Load(),
	}
}

// Flush drops every cached mapping.
func (c *Cached) Flush() { c.cache.Flush() }

// Forget drops the cached mapping of one caller, e.g. after its grants were
// changed through this instance.
func (c *Cached) Forget(caller Caller) { c.cache.Delete(cacheKey(caller)) }
