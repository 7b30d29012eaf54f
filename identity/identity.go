// Package identity turns a request's Authorization header into a
// policy.Caller: nobody (anonymous), a bearer-token holder, or a basic-auth
// admin. A present credential that is malformed, unknown, wrong, expired or
// otherwise unverifiable is ErrUnauthenticated — never a silent fall-back to
// anonymous. Only an empty header is anonymous.
//
// Bearer tokens are handled in one of three modes, chosen by Config:
//
//   - JWKS (Config.JWKSURL): the JWT's signature is verified against the key
//     set at the URL (fetched and refreshed in the background by jwx's
//     jwk.Cache; an unknown kid triggers a rate-limited refresh).
//   - Local key (Config.SigningKey): HS256 tokens minted by Mint, for the
//     static policy file backend.
//   - Pass-through (neither, VerifyTokens false): the token must be a
//     well-formed, unexpired JWT, but its signature is not checked here: the
//     policy service (Arborist) verifies it. Username is then left empty and
//     Caller.Verified false, and the HTTP layer has the policy service
//     accept the token (one cached mapping call) before serving anything.
//
// In the verifying modes Username comes from the claim context.user.name
// (as Arborist reads it), falling back to sub; ExpiresAt is exp. exp is
// required in every mode; nbf and iat may be at most ClockSkew in the future.
package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/singleflight"

	"github.com/datacommons/indexd/apitoken"
	"github.com/datacommons/indexd/boundedcache"
	"github.com/datacommons/indexd/policy"
)

// Errors returned by Authenticate.
var (
	// ErrUnauthenticated: a credential was presented and is not acceptable
	// (the HTTP layer answers 401).
	ErrUnauthenticated = errors.New("identity: credential not accepted")
	// ErrUnavailable: the credential could not be checked because something
	// it depends on failed — the admin store or the JWKS endpoint (the HTTP
	// layer answers 503).
	ErrUnavailable = errors.New("identity: credential check unavailable")
	// ErrBusy: a basic-auth credential was not checked because every bcrypt
	// slot was taken, or because the client spent its failure budget (the
	// HTTP layer answers 429 with Retry-After; see RetryAfter).
	ErrBusy = errors.New("identity: too many credential checks, retry later")
)

// busyError is ErrBusy with the time after which a retry may succeed.
type busyError struct {
	reason string
	after  time.Duration
}

func (e *busyError) Error() string        { return ErrBusy.Error() + ": " + e.reason }
func (e *busyError) Is(target error) bool { return target == ErrBusy }

// RetryAfter returns how long the caller should wait before retrying, for
// an ErrBusy error (at least a second).
func RetryAfter(err error) (time.Duration, bool) {
	var b *busyError
	if !errors.As(err, &b) {
		return 0, false
	}
	return max(b.after, time.Second), true
}

type clientKey struct{}

// WithClient tells Authenticate who is asking (the client's address), for
// the per-client failure budget of basic authentication. Without it every
// caller shares one budget.
func WithClient(ctx context.Context, client string) context.Context {
	return context.WithValue(ctx, clientKey{}, client)
}

func clientOf(ctx context.Context) string {
	c, _ := ctx.Value(clientKey{}).(string)
	return c
}

// Limits and parameters.
const (
	// MaxHeaderLen is the longest Authorization header accepted.
	MaxHeaderLen = 8 << 10
	// ClockSkew is how far in the future nbf and iat, and how far in the
	// past exp, may be.
	ClockSkew = 30 * time.Second
	// BcryptCost is the cost HashPassword uses.
	BcryptCost = 12
	// MinSigningKeyLen is the shortest HS256 key accepted (bytes).
	MinSigningKeyLen = 32
	// DefaultJWKSTimeout bounds each JWKS fetch when Config.JWKSTimeout is 0.
	DefaultJWKSTimeout = 5 * time.Second
	// MaxPasswordLen: bcrypt ignores bytes past 72, so longer passwords
	// are never accepted (HashPassword refuses to hash them).
	MaxPasswordLen = 72
	// DefaultBcryptWait is how long a basic-auth check waits for a bcrypt
	// slot before ErrBusy, when Config.BcryptWait is 0.
	DefaultBcryptWait = 100 * time.Millisecond
	// DefaultFailureBudget failed basic-auth attempts per client per
	// DefaultFailureWindow; past it, ErrBusy until the window ends.
	DefaultFailureBudget = 10
	DefaultFailureWindow = time.Minute
)

// DefaultBcryptConcurrency is the number of bcrypt comparisons that may run
// at once when Config.BcryptConcurrency is 0: half the processors, at
// least one (a comparison at cost 12 keeps a core busy for about 250 ms).
func DefaultBcryptConcurrency() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// dummyHash is a bcrypt hash (cost BcryptCost) of a random password nobody
// knows. Unknown users are compared against it so that a miss costs the same
// time as a wrong password.
const dummyHash = "$2a$12$ASophVlLIJ6dFBaGbzRAFO2g5CEnYIAerrkFXJuc/tWklOOTz9r9i"

// AdminStore looks up basic-auth admin users (the database, in production).
type AdminStore interface {
	// AdminPasswordHash returns the bcrypt hash of username's password,
	// found=false when there is no such admin, or an error when the store
	// cannot answer.
	AdminPasswordHash(ctx context.Context, username string) (hash string, found bool, err error)
}

// Config chooses how bearer tokens are verified.
type Config struct {
	// JWKSURL, when set, is the JWKS whose keys sign valid tokens (e.g.
	// Fence's /.well-known/jwks).
	JWKSURL string
	// Issuer, when set, must equal the token's iss.
	Issuer string
	// Audience, when set, must be one of the token's aud.
	Audience string
	// SigningKey, when set, is the HS256 key of tokens minted by Mint (at
	// least MinSigningKeyLen bytes). Mutually exclusive with JWKSURL.
	SigningKey []byte
	// VerifyTokens demands signature verification. With neither JWKSURL nor
	// SigningKey it is a configuration error; when false (and neither is
	// set) tokens are passed through to the policy service unverified.
	// Tokens are always verified when JWKSURL or SigningKey is set.
	VerifyTokens bool
	// JWKSTimeout bounds each JWKS fetch (DefaultJWKSTimeout when 0).
	JWKSTimeout time.Duration
	// JWKSMinRefresh is the least time between two on-demand JWKS refreshes
	// triggered by unknown key ids (10 s when 0).
	JWKSMinRefresh time.Duration
	// HTTPClient fetches the JWKS (a client with JWKSTimeout when nil).
	HTTPClient *http.Client

	// BcryptConcurrency bounds the basic-auth bcrypt comparisons running
	// at once (DefaultBcryptConcurrency when 0); a check that finds no slot
	// within BcryptWait (DefaultBcryptWait when 0) is ErrBusy.
	BcryptConcurrency int
	BcryptWait        time.Duration
	// FailureBudget is how many failed basic-auth attempts a client (see
	// WithClient) may make per FailureWindow before its attempts are
	// ErrBusy, unchecked, until the window ends (DefaultFailureBudget and
	// DefaultFailureWindow when 0). A success clears the client's count.
	FailureBudget int
	FailureWindow time.Duration

	// PasswordCost is the bcrypt cost of the stored admin passwords
	// (BcryptCost when 0): an unknown user is compared against a dummy hash
	// of this cost, so a miss costs what a wrong password does. Only tests
	// lower it (with the cost they hash passwords with); it is not
	// configurable from the environment.
	PasswordCost int
}

type mode int

const (
	modePassThrough mode = iota
	modeHMAC
	modeJWKS
)

// Authenticator turns Authorization headers into callers. It is safe for
// concurrent use. Call Close when done with one that uses a JWKS.
type Authenticator struct {
	cfg    Config
	admins AdminStore
	mode   mode

	// verified remembers (user, password, stored hash) triples that passed
	// bcrypt recently, keyed by their SHA-256: a repeat request skips the
	// deliberate slowness of bcrypt, while a deleted user or a changed
	// password (a different stored hash) misses at once. It also remembers
	// bearer tokens this Authenticator verified itself (JWKS or key; key
	// "jwt:" + SHA-256 of the token) until min(tokenTTL, exp), without the
	// token. Pass-through tokens are never remembered here: only the policy
	// service can accept them, and its acceptance is remembered by the
	// mapping cache (policy.Cached), which keeps successes only. Bounded
	// (VerifiedMaxEntries, VerifiedMaxBytes): its keys come from callers.
	verified *boundedcache.Cache[policy.Caller]

	// Basic auth: bcrypt slots, identical concurrent credentials checked
	// once, and failures per client.
	bcryptSlots chan struct{}
	checks      singleflight.Group
	failMu      sync.Mutex
	failures    *boundedcache.Cache[failureCount]
	compare     func(hash, password []byte) error // bcrypt; tests observe it
	dummy       string                            // dummyHash, or one of Config.PasswordCost

	tokens *apiTokens // SetTokenStore; nil: API tokens are off

	jwks        *jwk.Cache
	cancel      context.CancelFunc
	refreshes   singleflight.Group
	refreshMu   sync.Mutex
	lastRefresh time.Time
}

// New checks cfg and returns an Authenticator. admins may be nil, in which
// case every basic-auth header is ErrUnauthenticated. With a JWKSURL the key
// set is fetched in the background; New does not wait for it, so the
// service starts while the JWKS is unreachable (tokens are then
// ErrUnavailable until it can be fetched).
func New(cfg Config, admins AdminStore) (*Authenticator, error) {
	a := &Authenticator{cfg: cfg, admins: admins, verified: boundedcache.New[policy.Caller](boundedcache.Options{
		TTL: verifiedTTL, Cleanup: time.Minute, MaxEntries: VerifiedMaxEntries, MaxBytes: VerifiedMaxBytes,
	})}
	if cfg.JWKSTimeout <= 0 {
		a.cfg.JWKSTimeout = DefaultJWKSTimeout
	}
	if cfg.JWKSMinRefresh <= 0 {
		a.cfg.JWKSMinRefresh = 10 * time.Second
	}
	if cfg.BcryptConcurrency <= 0 {
		a.cfg.BcryptConcurrency = DefaultBcryptConcurrency()
	}
	if cfg.BcryptWait <= 0 {
		a.cfg.BcryptWait = DefaultBcryptWait
	}
	if cfg.FailureBudget <= 0 {
		a.cfg.FailureBudget = DefaultFailureBudget
	}
	if cfg.FailureWindow <= 0 {
		a.cfg.FailureWindow = DefaultFailureWindow
	}
	a.bcryptSlots = make(chan struct{}, a.cfg.BcryptConcurrency)
	a.failures = boundedcache.New[failureCount](boundedcache.Options{TTL: a.cfg.FailureWindow, MaxEntries: 100_000, MaxBytes: 16 << 20})
	a.compare = bcrypt.CompareHashAndPassword
	a.dummy = dummyHash
	if cfg.PasswordCost > 0 && cfg.PasswordCost != BcryptCost {
		var pw [16]byte
		_, _ = rand.Read(pw[:])
		h, err := bcrypt.GenerateFromPassword(pw[:], cfg.PasswordCost)
		if err != nil {
			return nil, fmt.Errorf("identity: PasswordCost %d: %w", cfg.PasswordCost, err)
		}
		a.dummy = string(h)
	}
	switch {
	case cfg.JWKSURL != "" && len(cfg.SigningKey) > 0:
		return nil, errors.New("identity: set JWKSURL or SigningKey, not both")
	case len(cfg.SigningKey) > 0:
		if len(cfg.SigningKey) < MinSigningKeyLen {
			return nil, fmt.Errorf("identity: SigningKey is %d bytes, want at least %d", len(cfg.SigningKey), MinSigningKeyLen)
		}
		a.cfg.SigningKey = append([]byte(nil), cfg.SigningKey...)
		a.mode = modeHMAC
	case cfg.JWKSURL != "":
		u, err := url.Parse(cfg.JWKSURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("identity: JWKSURL %q is not an http(s) URL", cfg.JWKSURL)
		}
		if err := a.startJWKS(); err != nil {
			return nil, err
		}
		a.mode = modeJWKS
	case cfg.VerifyTokens:
		return nil, errors.New("identity: VerifyTokens needs JWKSURL or SigningKey")
	default:
		a.mode = modePassThrough
	}
	return a, nil
}

func (a *Authenticator) startJWKS() error {
	client := a.cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: a.cfg.JWKSTimeout}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cache, err := jwk.NewCache(ctx, httprc.NewClient(httprc.WithWorkers(1), httprc.WithHTTPClient(client)))
	if err != nil {
		cancel()
		return fmt.Errorf("identity: start JWKS cache: %w", err)
	}
	err = cache.Register(ctx, a.cfg.JWKSURL,
		jwk.WithHTTPClient(client),
		jwk.WithWaitReady(false),
		jwk.WithMinInterval(time.Minute),
		jwk.WithMaxInterval(time.Hour),
	)
	if err != nil {
		cancel()
		return fmt.Errorf("identity: register JWKS %s: %w", a.cfg.JWKSURL, err)
	}
	a.jwks, a.cancel = cache, cancel
	return nil
}

// Close stops the background JWKS refresher, if any.
func (a *Authenticator) Close() error {
	if a.cancel != nil {
		a.cancel()
	}
	return nil
}

// Authenticate turns an Authorization header value into a caller.
//
//   - "" → the anonymous caller, nil.
//   - "Bearer <jwt>" (scheme case-insensitive) → Caller{Token, Username,
//     ExpiresAt}, verified as Config says.
//   - "Basic <base64(user:password)>" → Caller{BasicAdmin: true, Username}
//     when the AdminStore knows the user and the password matches its
//     bcrypt hash. At most Config.BcryptConcurrency comparisons run at
//     once, identical concurrent credentials share one, and a client past
//     its failure budget is not checked: ErrBusy (see RetryAfter).
//
// Anything else present — malformed header, unknown scheme, bad base64,
// wrong password, unknown user, bad/expired/not-yet-valid/wrongly-signed
// token, alg none, wrong iss or aud, a header over MaxHeaderLen — is
// ErrUnauthenticated (wrapped, with a reason that never contains the
// credential). A failing AdminStore or an unreachable JWKS is ErrUnavailable.
func (a *Authenticator) Authenticate(ctx context.Context, header string) (policy.Caller, error) {
	if header == "" {
		return policy.Caller{}, nil
	}
	if len(header) > MaxHeaderLen {
		return policy.Caller{}, unauthenticated("authorization header too long")
	}
	scheme, cred, ok := strings.Cut(header, " ")
	if !ok {
		return policy.Caller{}, unauthenticated("malformed authorization header")
	}
	cred = strings.TrimLeft(cred, " ")
	if cred == "" || strings.ContainsAny(cred, " \t") {
		return policy.Caller{}, unauthenticated("malformed authorization header")
	}
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		return a.bearer(ctx, cred)
	case strings.EqualFold(scheme, "Basic"):
		return a.basic(ctx, cred)
	default:
		return policy.Caller{}, unauthenticated("unsupported authorization scheme")
	}
}

func unauthenticated(reason string) error {
	return fmt.Errorf("%w: %s", ErrUnauthenticated, reason)
}

func (a *Authenticator) basic(ctx context.Context, cred string) (policy.Caller, error) {
	raw, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return policy.Caller{}, unauthenticated("basic credentials are not valid base64")
	}
	username, password, ok := strings.Cut(string(raw), ":")
	if !ok || username == "" || password == "" {
		return policy.Caller{}, unauthenticated("basic credentials must be user:password")
	}
	if len(password) > MaxPasswordLen || len(username) > 256 {
		return policy.Caller{}, unauthenticated("basic credentials too long")
	}
	if a.admins == nil {
		return policy.Caller{}, unauthenticated("basic authentication is not enabled")
	}
	hash, found, err := a.admins.AdminPasswordHash(ctx, username)
	if err != nil {
		return policy.Caller{}, fmt.Errorf("identity: look up admin user: %w: %w", ErrUnavailable, err)
	}
	if !found {
		hash = a.dummy
	}
	key := verifiedKey(username, password, hash)
	caller := policy.Caller{BasicAdmin: true, Username: username}
	client := clientOf(ctx)
	if _, ok := a.verified.Get(key); ok && found {
		a.failures.Delete(client)
		return caller, nil
	}
	if wait, over := a.overBudget(client); over {
		return policy.Caller{}, &busyError{reason: "failure budget spent", after: wait}
	}
	// Identical concurrent credentials (an admin script's parallel
	// requests) share one comparison.
	v, err, _ := a.checks.Do(key, func() (any, error) {
		if err := a.takeSlot(ctx); err != nil {
			return false, err
		}
		defer func() { <-a.bcryptSlots }()
		return a.compare([]byte(hash), []byte(password)) == nil, nil
	})
	if err != nil {
		return policy.Caller{}, err
	}
	if ok := v.(bool); !found || !ok {
		a.failed(client)
		return policy.Caller{}, unauthenticated("unknown user or wrong password")
	}
	a.failures.Delete(client)
	a.verified.Set(key, caller, int64(len(username)))
	return caller, nil
}

// takeSlot waits up to BcryptWait for a bcrypt slot.
func (a *Authenticator) takeSlot(ctx context.Context) error {
	select {
	case a.bcryptSlots <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(a.cfg.BcryptWait)
	defer t.Stop()
	select {
	case a.bcryptSlots <- struct{}{}:
		return nil
	case <-t.C:
		return &busyError{reason: "every bcrypt slot is taken", after: time.Second}
	case <-ctx.Done():
		return fmt.Errorf("identity: waiting for a bcrypt slot: %w: %w", ErrUnavailable, ctx.Err())
	}
}

// failureCount is a client's failed basic-auth attempts in its window.
type failureCount struct {
	n     int
	until time.Time
}

// overBudget reports whether client has spent its failure budget, and how
// long until its window ends.
func (a *Authenticator) overBudget(client string) (time.Duration, bool) {
	a.failMu.Lock()
	defer a.failMu.Unlock()
	f, ok := a.failures.Get(client)
	if !ok || f.n < a.cfg.FailureBudget {
		return 0, false
	}
	left := time.Until(f.until)
	return left, left > 0
}

// failed counts a failed attempt of client.
func (a *Authenticator) failed(client string) {
	a.failMu.Lock()
	defer a.failMu.Unlock()
	f, ok := a.failures.Get(client)
	if !ok || time.Now().After(f.until) {
		f = failureCount{until: time.Now().Add(a.cfg.FailureWindow)}
	}
	f.n++
	a.failures.SetTTL(client, f, 16, time.Until(f.until))
}

// verifiedTTL bounds how long a verified basic credential skips bcrypt.
const verifiedTTL = 5 * time.Minute

// Bounds of the verified-credentials cache.
const (
	VerifiedMaxEntries = 10_000
	VerifiedMaxBytes   = 8 << 20
)

func verifiedKey(username, password, hash string) string {
	h := sha256.New()
	for _, part := range []string{username, password, hash} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// jwtShaped reports whether s looks like a compact JWS: three base64url
// segments, none empty.
func jwtShaped(s string) bool {
	dots := 0
	segLen := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if segLen == 0 {
				return false
			}
			dots++
			segLen = 0
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
			segLen++
		default:
			return false
		}
	}
	return dots == 2 && segLen > 0
}

// tokenTTL bounds how long a verified bearer token is remembered (never
// past its exp): a repeat request skips parsing and the signature check.
// A key removed from the JWKS stops tokens it signed within this time.
const tokenTTL = time.Minute

func (a *Authenticator) bearer(ctx context.Context, token string) (policy.Caller, error) {
	if apitoken.Looks(token) {
		return a.apiToken(ctx, token)
	}
	if !jwtShaped(token) {
		return policy.Caller{}, unauthenticated("bearer token is not a JWT")
	}
	if a.mode == modePassThrough {
		// Not verifiable here: parsed every time (cheap), remembered only
		// once the policy service accepted it (policy.Cached).
		return a.verifyBearer(ctx, token)
	}
	key := "jwt:" + tokenKey(token)
	if c, ok := a.verified.Get(key); ok {
		c.Token = token // remembered without it
		return c, nil
	}
	c, err := a.verifyBearer(ctx, token)
	if err != nil {
		return policy.Caller{}, err // failures are never remembered
	}
	// A second short of exp, so the entry never outlives the token.
	if ttl := min(tokenTTL, time.Until(c.ExpiresAt)-time.Second); !c.ExpiresAt.IsZero() && ttl > 0 {
		kept := c
		kept.Token = ""
		a.verified.SetTTL(key, kept, int64(len(kept.Username)), ttl)
	}
	return c, nil
}

// tokenKey is the hex SHA-256 of a token: the cache never holds the token.
func tokenKey(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// verifyBearer parses and checks a bearer token.
func (a *Authenticator) verifyBearer(ctx context.Context, token string) (policy.Caller, error) {
	// Look at the header first: alg "none" is never acceptable, and the
	// JWKS mode needs the kid.
	msg, err := jws.ParseString(token)
	if err != nil {
		return policy.Caller{}, unauthenticated("bearer token is not a JWT")
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return policy.Caller{}, unauthenticated("bearer token must have exactly one signature")
	}
	hdr := sigs[0].ProtectedHeaders()
	alg, ok := hdr.Algorithm()
	if !ok || alg == jwa.NoSignature() || alg.String() == "" || strings.EqualFold(alg.String(), "none") {
		return policy.Caller{}, unauthenticated("bearer token is unsigned")
	}

	validate := []jwt.ParseOption{
		jwt.WithAcceptableSkew(ClockSkew),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
	}
	if a.cfg.Issuer != "" {
		validate = append(validate, jwt.WithIssuer(a.cfg.Issuer))
	}
	if a.cfg.Audience != "" {
		validate = append(validate, jwt.WithAudience(a.cfg.Audience))
	}

	var tok jwt.Token
	switch a.mode {
	case modeHMAC:
		if alg != jwa.HS256() {
			return policy.Caller{}, unauthenticated("bearer token is not HS256")
		}
		tok, err = jwt.ParseString(token, append(validate, jwt.WithKey(jwa.HS256(), a.cfg.SigningKey))...)
	case modeJWKS:
		kid, _ := hdr.KeyID()
		if kid == "" {
			return policy.Caller{}, unauthenticated("bearer token has no key id")
		}
		if strings.HasPrefix(alg.String(), "HS") {
			return policy.Caller{}, unauthenticated("bearer token uses a symmetric algorithm")
		}
		set, serr := a.keySet(ctx, kid)
		if serr != nil {
			return policy.Caller{}, serr
		}
		tok, err = jwt.ParseString(token, append(validate, jwt.WithKeySet(set, jws.WithInferAlgorithmFromKey(true)))...)
	default:
		tok, err = jwt.ParseInsecure([]byte(token))
		if err == nil {
			err = jwt.Validate(tok, validateOnly(validate)...)
		}
	}
	if err != nil {
		return policy.Caller{}, fmt.Errorf("%w: bearer token rejected: %w", ErrUnauthenticated, err)
	}

	c := policy.Caller{Token: token}
	if exp, ok := tok.Expiration(); ok {
		c.ExpiresAt = exp
	}
	if a.mode != modePassThrough {
		c.Username = usernameOf(tok)
		c.Verified = true
	}
	return c, nil
}

// ClaimedName returns the user name a bearer token claims
// (context.user.name, else sub) without verifying it. Only for a token the
// policy service has accepted (pass-through mode: Arborist checked its
// signature), e.g. to name the caller in an audit row; "" when it has none.
func ClaimedName(token string) string {
	tok, err := jwt.ParseInsecure([]byte(token))
	if err != nil {
		return ""
	}
	return usernameOf(tok)
}

// validateOnly narrows parse options that are all validate options.
func validateOnly(opts []jwt.ParseOption) []jwt.ValidateOption {
	out := make([]jwt.ValidateOption, 0, len(opts))
	for _, o := range opts {
		if v, ok := o.(jwt.ValidateOption); ok {
			out = append(out, v)
		}
	}
	return out
}

// usernameOf reads context.user.name, falling back to sub.
func usernameOf(tok jwt.Token) string {
	var ctxClaim map[string]any
	if err := tok.Get("context", &ctxClaim); err == nil {
		if u, ok := ctxClaim["user"].(map[string]any); ok {
			if name, ok := u["name"].(string); ok && name != "" {
				return name
			}
		}
	}
	sub, _ := tok.Subject()
	return sub
}

var errRefreshTooSoon = errors.New("JWKS refreshed too recently")

// keySet returns the JWKS, refreshing it (at most once per JWKSMinRefresh,
// shared by concurrent callers) when it has not been fetched yet or does not
// hold kid. A set that cannot be had at all is ErrUnavailable; a stale set
// without kid is returned as is and verification then fails.
func (a *Authenticator) keySet(ctx context.Context, kid string) (jwk.Set, error) {
	set, lerr := a.jwks.Lookup(ctx, a.cfg.JWKSURL)
	if lerr == nil {
		if _, ok := set.LookupKeyID(kid); ok {
			return set, nil
		}
	} else {
		set = nil
	}
	v, rerr, _ := a.refreshes.Do("jwks", func() (any, error) {
		a.refreshMu.Lock()
		if !a.lastRefresh.IsZero() && time.Since(a.lastRefresh) < a.cfg.JWKSMinRefresh {
			a.refreshMu.Unlock()
			return nil, errRefreshTooSoon
		}
		a.lastRefresh = time.Now()
		a.refreshMu.Unlock()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.JWKSTimeout)
		defer cancel()
		return a.jwks.Refresh(rctx, a.cfg.JWKSURL)
	})
	if rerr == nil {
		if fresh, ok := v.(jwk.Set); ok && fresh != nil {
			return fresh, nil
		}
	}
	if set != nil {
		return set, nil
	}
	// The set may have arrived meanwhile (background fetch).
	if s2, err := a.jwks.Lookup(ctx, a.cfg.JWKSURL); err == nil {
		return s2, nil
	}
	if rerr == nil {
		rerr = errors.New("JWKS not loaded")
	}
	return nil, fmt.Errorf("identity: fetch JWKS: %w: %w", ErrUnavailable, rerr)
}

// Mint returns an HS256 JWT for username, valid for ttl, with claims sub,
// context.user.name, iat, exp and (when not empty) iss. Authenticators
// configured with the same SigningKey accept it.
func Mint(key []byte, username string, ttl time.Duration, issuer string) (string, error) {
	if len(key) < MinSigningKeyLen {
		return "", fmt.Errorf("identity: signing key is %d bytes, want at least %d", len(key), MinSigningKeyLen)
	}
	if username == "" {
		return "", errors.New("identity: empty username")
	}
	if ttl <= 0 {
		return "", errors.New("identity: ttl must be positive")
	}
	now := time.Now()
	b := jwt.NewBuilder().
		Subject(username).
		IssuedAt(now).
		Expiration(now.Add(ttl)).
		Claim("context", map[string]any{"user": map[string]any{"name": username}})
	if issuer != "" {
		b = b.Issuer(issuer)
	}
	tok, err := b.Build()
	if err != nil {
		return "", fmt.Errorf("identity: build token: %w", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), key))
	if err != nil {
		return "", fmt.Errorf("identity: sign token: %w", err)
	}
	return string(signed), nil
}

// HashPassword returns the bcrypt hash (cost BcryptCost) of pw. Empty
// passwords and passwords over 72 bytes are refused.
func HashPassword(pw string) (string, error) { return HashPasswordCost(pw, BcryptCost) }

// HashPasswordCost is HashPassword at a given bcrypt cost (BcryptCost when
// 0; tests use less, see Config.PasswordCost).
func HashPasswordCost(pw string, cost int) (string, error) {
	if cost <= 0 {
		cost = BcryptCost
	}
	if pw == "" {
		return "", errors.New("identity: empty password")
	}
	if len(pw) > MaxPasswordLen {
		return "", fmt.Errorf("identity: password longer than %d bytes", MaxPasswordLen)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	if err != nil {
		return "", fmt.Errorf("identity: hash password: %w", err)
	}
	return string(h), nil
}
