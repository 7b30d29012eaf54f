package identity

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/datacommons/indexd/apitoken"
	"github.com/datacommons/indexd/boundedcache"
	"github.com/datacommons/indexd/policy"
)

// APIToken is a stored API token as the identity layer needs it (never the
// token itself).
type APIToken struct {
	ID        string
	User      string
	Scope     policy.Scope
	ExpiresAt time.Time
	Revoked   bool
}

// TokenStore holds API tokens by hash (the database, in production).
type TokenStore interface {
	// APITokenByHash returns the token stored under hash (apitoken.Hash),
	// found=false when none is, or an error when the store cannot answer.
	APITokenByHash(ctx context.Context, hash string) (APIToken, bool, error)
	// TouchAPIToken records that token id was used at `at`.
	TouchAPIToken(ctx context.Context, id string, at time.Time) error
	// AuditAPITokenUse records an attempt to use revoked token id.
	AuditAPITokenUse(ctx context.Context, id, user string) error
}

// Bounds and timings of API token verification.
const (
	// APITokenCacheTTL bounds how long a verified (or revoked) token is
	// remembered: a revocation whose notification is lost takes effect
	// within it.
	APITokenCacheTTL        = 30 * time.Second
	APITokenCacheMaxEntries = 50_000
	APITokenCacheMaxBytes   = 16 << 20
	// TouchInterval: last_used_at is written at most once per token per
	// interval (per instance), asynchronously.
	TouchInterval = time.Minute
	// maxBackground bounds the asynchronous writes (last use, audit of use
	// after revocation) in flight; past it they are dropped.
	maxBackground     = 4
	backgroundTimeout = 5 * time.Second
)

// apiTokens is the API token state of an Authenticator.
type apiTokens struct {
	store   TokenStore
	cache   *boundedcache.Cache[APIToken] // key: the token's hash
	touched *boundedcache.Cache[struct{}] // key: id (last use written), "rev:"+id (use after revoke audited)
	slots   chan struct{}
	mu      sync.Mutex // touched's check-and-set
	// forgets counts evictions: a lookup that started before one does not
	// cache its answer (it may predate the revocation).
	forgets atomic.Uint64
}

// once reports whether key was not marked in the last TouchInterval, and
// marks it.
func (t *apiTokens) once(key string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.touched.Get(key); ok {
		return false
	}
	t.touched.Set(key, struct{}{}, int64(len(key)))
	return true
}

func newAPITokens(store TokenStore) *apiTokens {
	return &apiTokens{
		store:   store,
		cache:   boundedcache.New[APIToken](boundedcache.Options{TTL: APITokenCacheTTL, Cleanup: time.Minute, MaxEntries: APITokenCacheMaxEntries, MaxBytes: APITokenCacheMaxBytes}),
		touched: boundedcache.New[struct{}](boundedcache.Options{TTL: TouchInterval, Cleanup: time.Minute, MaxEntries: APITokenCacheMaxEntries, MaxBytes: APITokenCacheMaxBytes}),
		slots:   make(chan struct{}, maxBackground),
	}
}

// SetTokenStore enables API tokens (package apitoken) as bearer tokens.
// Without it a bearer token with the API token prefix is ErrUnauthenticated.
// Call it before serving.
func (a *Authenticator) SetTokenStore(s TokenStore) { a.tokens = newAPITokens(s) }

// ForgetAPIToken drops a token (by apitoken.Hash) from the verification
// cache, e.g. on a revocation notification; "" drops every token.
func (a *Authenticator) ForgetAPIToken(hash string) {
	if a.tokens == nil {
		return
	}
	a.tokens.forgets.Add(1)
	if hash == "" {
		a.tokens.cache.Flush()
		return
	}
	a.tokens.cache.Delete(hash)
}

// apiToken verifies an API token: well-formed (no store query otherwise),
// known, not revoked, not expired. A cache hit makes no store query.
func (a *Authenticator) apiToken(ctx context.Context, token string) (policy.Caller, error) {
	t := a.tokens
	if t == nil {
		return policy.Caller{}, unauthenticated("API tokens are not enabled")
	}
	if apitoken.Check(token) != nil {
		return policy.Caller{}, unauthenticated("malformed API token")
	}
	hash := apitoken.Hash(token)
	tok, ok := t.cache.Get(hash)
	if !ok {
		v, err, _ := a.checks.Do("api:"+hash, func() (any, error) {
			gen := t.forgets.Load()
			tok, found, err := t.store.APITokenByHash(context.WithoutCancel(ctx), hash)
			if err != nil {
				return nil, fmt.Errorf("identity: look up API token: %w: %w", ErrUnavailable, err)
			}
			if !found {
				return nil, errUnknownToken
			}
			ttl := APITokenCacheTTL
			if left := time.Until(tok.ExpiresAt); !tok.Revoked && left < ttl {
				ttl = left
			}
			if ttl > 0 && t.forgets.Load() == gen {
				t.cache.SetTTL(hash, tok, int64(64+len(tok.ID)+len(tok.User)+64*len(tok.Scope)), ttl)
			}
			return tok, nil
		})
		if err != nil {
			if errors.Is(err, errUnknownToken) {
				return policy.Caller{}, unauthenticated("unknown API token")
			}
			return policy.Caller{}, err
		}
		tok = v.(APIToken)
	}
	now := time.Now()
	if tok.Revoked {
		if t.once("rev:" + tok.ID) {
			t.background(func(ctx context.Context) error { return t.store.AuditAPITokenUse(ctx, tok.ID, tok.User) })
		}
		return policy.Caller{}, unauthenticated("API token revoked")
	}
	if !now.Before(tok.ExpiresAt) {
		return policy.Caller{}, unauthenticated("API token expired")
	}
	if t.once(tok.ID) {
		t.background(func(ctx context.Context) error { return t.store.TouchAPIToken(ctx, tok.ID, now) })
	}
	return policy.Caller{Username: tok.User, TokenID: tok.ID, Scope: &tok.Scope, ExpiresAt: tok.ExpiresAt, Verified: true}, nil
}

var errUnknownToken = errors.New("unknown API token")

// background runs f without blocking the request, if one of maxBackground
// slots is free (dropped otherwise: it only records use).
func (t *apiTokens) background(f func(context.Context) error) {
	select {
	case t.slots <- struct{}{}:
	default:
		return
	}
	go func() {
		defer func() { <-t.slots }()
		ctx, cancel := context.WithTimeout(context.Background(), backgroundTimeout)
		defer cancel()
		_ = f(ctx)
	}()
}
