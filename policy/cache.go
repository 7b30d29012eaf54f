package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/datacommons/indexd/boundedcache"
)

// DefaultCacheTTL is the mapping cache TTL used when NewCached gets zero.
const DefaultCacheTTL = 60 * time.Second

// Bounds of the mapping cache: its keys are derived from caller input (a
// token holder can present as many tokens as they can get accepted), so it
// holds at most this many mappings and bytes; the least recently used go
// first.
const (
	DefaultCacheMaxEntries = 20_000
	DefaultCacheMaxBytes   = 64 << 20
)

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
// The cache is bounded (DefaultCacheMaxEntries, DefaultCacheMaxBytes;
// boundedcache). Mappings returned by a Cached are shared between callers
// and must be treated as read-only.
type Cached struct {
	inner Service
	ttl   time.Duration
	cache *boundedcache.Cache[*cachedMapping]
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
	// Cache is the mapping cache's size, bounds and evictions.
	Cache boundedcache.Stats
}

// NewCached wraps inner with a mapping cache of the given TTL
// (DefaultCacheTTL when zero or negative).
func NewCached(inner Service, ttl time.Duration) *Cached {
	return NewCachedBounded(inner, ttl, DefaultCacheMaxEntries, DefaultCacheMaxBytes)
}

// NewCachedBounded is NewCached with the cache's bounds (the defaults when
// zero).
func NewCachedBounded(inner Service, ttl time.Duration, maxEntries int, maxBytes int64) *Cached {
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	if maxEntries <= 0 {
		maxEntries = DefaultCacheMaxEntries
	}
	if maxBytes <= 0 {
		maxBytes = DefaultCacheMaxBytes
	}
	return &Cached{
		inner: inner,
		ttl:   ttl,
		cache: boundedcache.New[*cachedMapping](boundedcache.Options{TTL: ttl, MaxEntries: maxEntries, MaxBytes: maxBytes}),
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
	size    int64 // bytes, estimated: the mapping and, once computed, its reads
}

func newCachedMapping(m Mapping) *cachedMapping {
	var size int64
	for path, actions := range m {
		size += 64 + int64(len(path)) + 24*int64(len(actions)) // map entry, key, slice
		for _, a := range actions {
			size += int64(len(a.Service) + len(a.Method))
		}
		size += 16 + int64(len(path)) // its share of the read resources
	}
	return &cachedMapping{mapping: m, size: size, reads: sync.OnceValue(func() []string { return m.ResourcesWith(MethodRead) })}
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
	if caller.TokenID != "" {
		return c.tokenEntry(ctx, caller)
	}
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
		return v, nil
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
		c.cache.SetTTL(key, e, e.size, ttl) // nothing when ttl <= 0 (an expired token)
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

// Authorize passes straight through to the inner Service, except for an
// API token caller (Caller.TokenID): its requests are decided from its
// mapping (the user's live mapping ∩ the token's scope, see tokenEntry),
// the same mapping its reads use.
func (c *Cached) Authorize(ctx context.Context, caller Caller, reqs []Request) (bool, error) {
	if caller.TokenID != "" {
		e, err := c.tokenEntry(ctx, caller)
		if err != nil {
			return false, err
		}
		norm, ok := normalizeRequests(reqs)
		if !ok {
			return false, nil
		}
		for _, r := range norm {
			if !e.mapping.Grants(r.Resource, r.Method) {
				return false, nil
			}
		}
		return true, nil
	}
	return c.inner.Authorize(ctx, caller, reqs)
}

// tokenKey is the cache key of an API token caller's effective mapping:
// per token and scope (a scope is fixed at issue, so the id alone would do;
// the scope's hash makes a mistaken reuse harmless).
func tokenKey(caller Caller) string {
	sj, _ := json.Marshal(caller.Scope)
	return "apitok:" + hashHex(caller.TokenID+"\x00"+strings.ToLower(caller.Username)+"\x00"+string(sj))
}

// tokenEntry is an API token caller's effective mapping: the user's live
// mapping by name (asked of the inner Service, not the user-name cache
// entry, so that a grant the user loses is lost by the token within one
// TTL, not two) intersected with the token's scope, cached per token for
// min(TTL, the token's life). An inner Service that is not a UserMapper
// answers ErrUnavailable; a caller without a user name is ErrBadToken.
func (c *Cached) tokenEntry(ctx context.Context, caller Caller) (*cachedMapping, error) {
	if strings.TrimSpace(caller.Username) == "" {
		return nil, fmt.Errorf("policy: API token without a user: %w", ErrBadToken)
	}
	um, ok := c.inner.(UserMapper)
	if !ok {
		return nil, fmt.Errorf("policy: API token: the policy service cannot map a user by name: %w", ErrUnavailable)
	}
	return c.load(ctx, tokenKey(caller), func(ctx context.Context) (Mapping, time.Duration, error) {
		m, err := um.UserMapping(ctx, caller.Username)
		if err != nil {
			return nil, 0, err
		}
		var scope Scope
		if caller.Scope != nil {
			scope = *caller.Scope
		}
		return m.Intersect(scope), c.entryTTL(caller), nil
	})
}

// Stats returns the counters since the Cached was built.
func (c *Cached) Stats() CacheStats {
	return CacheStats{
		Hits:       c.hits.Load(),
		Misses:     c.misses.Load(),
		InnerCalls: c.innerCalls.Load(),
		Cache:      c.cache.Stats(),
	}
}

// Flush drops every cached mapping.
func (c *Cached) Flush() { c.cache.Flush() }

// Forget drops the cached mapping of one caller, e.g. after its grants were
// changed through this instance.
func (c *Cached) Forget(caller Caller) { c.cache.Delete(cacheKey(caller)) }
