// Package api serves the Gen3 indexd and GA4GH DRS HTTP APIs with Echo. It
// authenticates callers, builds each request's discovery context once, passes
// it as plain values into the repository, authorizes writes against the
// policy service, and maps errors to status codes in one place (errors.go).
// It never builds SQL.
package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/explain"
	"github.com/datacommons/indexd/health"
	"github.com/datacommons/indexd/identity"
	"github.com/datacommons/indexd/policy"
	"github.com/datacommons/indexd/signing"
	"github.com/datacommons/indexd/tokens"
)

// Config is the HTTP layer's configuration.
type Config struct {
	// BasicAuth: basic-auth admin credentials are accepted, so a 401 also
	// carries a Basic challenge.
	BasicAuth bool
	// DefaultPrefix is indexd's DEFAULT_PREFIX (e.g. "dg.4503/").
	DefaultPrefix string
	// PrependPrefix puts DefaultPrefix in front of minted dids.
	PrependPrefix bool
	// AddPrefixAlias adds DefaultPrefix+did as an alias of new records when
	// the did is not prefixed.
	AddPrefixAlias bool
	// HideExistence answers 404 for records that exist but are invisible.
	HideExistence bool
	// TrustedProxies are the proxies whose X-Forwarded-For the access log
	// believes (INDEXD_TRUSTED_PROXIES).
	TrustedProxies []netip.Prefix
	// BodyLimit bounds request bodies (default "1M").
	BodyLimit string
	// RequestTimeout bounds each request's context (default 30 s).
	RequestTimeout time.Duration
	// Version and Commit are reported by /_version.
	Version, Commit string
	// Hostname is used in drs:// self URIs (default: the request's host).
	Hostname string
	// DRSCompactPrefix is the compact-identifier prefix for drs://prefix:accession.
	DRSCompactPrefix string
	// DRSMaxBulk is drs.maxBulkRequestLength; it must be positive (New
	// fails otherwise; internal/app defaults it to 1000).
	DRSMaxBulk int
	// DRS12 serves strict DRS 1.2.0 answers (INDEXD_DRS_VERSION=1.2): the
	// 1.2 service-info, and objects and access methods without the 1.3+
	// fields (cloud, available, authorizations). Default: DRS 1.5.
	DRS12 bool
	// DRSBearerIssuers are advertised as bearer_auth_issuers in DRS
	// Authorizations (the configured token issuer, if any).
	DRSBearerIssuers []string
	// OpenAPI is the served OpenAPI document (YAML).
	OpenAPI []byte
	// ReplicaMaxLag is the read replicas' lag bound (the lifetime of the
	// read-your-writes cookie is derived from it).
	ReplicaMaxLag time.Duration
	// PasswordCost is the bcrypt cost of new admin passwords
	// (identity.BcryptCost when 0; only tests lower it).
	PasswordCost int
	// Storage turns a stored location into the URL the access routes
	// answer (package signing); nil refuses every bucket location.
	Storage AccessStorage
	// APITokenMaxTTL is the longest lifetime of an API token
	// (INDEXD_API_TOKEN_MAX_TTL; apitoken.DefaultMaxTTL when 0).
	APITokenMaxTTL time.Duration
	// Health answers GET /_health/ready (package health); nil: readiness
	// is the database answering.
	Health *health.Checker
}

// AccessStorage answers the URL a client fetches an object's bytes from:
// signed for a configured bucket, as stored for a public location; an
// error of kind indexd.ErrNotFound (with a message saying why) when it
// cannot make one, indexd.ErrUnavailable when signing fails. The URL is a
// credential: never logged, never cached across callers.
type AccessStorage interface {
	AccessURL(ctx context.Context, stored string) (string, error)
}

// Server is the HTTP API. Build it with New.
type Server struct {
	cfg      Config
	store    Store
	policy   policy.Service
	authn    Authenticator
	settings *SettingsHolder
	log      *slog.Logger
	echo     *echo.Echo
	routes   []Route
	// explainer answers the admin questions (GET /admin/explain, previews).
	explainer *explain.Explainer
	// tokens issues, lists and revokes API tokens (/tokens).
	tokens *tokens.Service
}

// Authenticator turns an Authorization header into a caller.
type Authenticator interface {
	Authenticate(ctx context.Context, header string) (policy.Caller, error)
}

var _ Authenticator = (*identity.Authenticator)(nil)

// SettingsHolder holds the current discovery settings, swapped atomically by
// the settings watcher and read once per request.
//
// Two kinds of update: Set only moves forward (a notification, or a value
// that may be older than one already held, never undoes a newer one); Reset
// is authoritative — the row as just read or committed — and applies even a
// lower version (a database restored from a backup), unless the held
// settings changed since the caller took its Epoch (its read may predate
// that change; the next re-read settles it).
type SettingsHolder struct {
	v     atomic.Pointer[discovery.Settings]
	mu    sync.Mutex // serializes writers
	epoch uint64     // changes applied (Set or Reset); guarded by mu
}

// NewSettingsHolder starts with st.
func NewSettingsHolder(st discovery.Settings) *SettingsHolder {
	h := &SettingsHolder{}
	h.v.Store(&st)
	return h
}

// Get returns the current settings.
func (h *SettingsHolder) Get() discovery.Settings { return *h.v.Load() }

// Set replaces the current settings unless they are newer than st (a
// notification or re-read that raced with a change must not undo it).
func (h *SettingsHolder) Set(st discovery.Settings) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cur := h.v.Load(); cur != nil && cur.Version > st.Version {
		return
	}
	h.v.Store(&st)
	h.epoch++
}

// Epoch returns a token to take before reading the settings that will be
// passed to Reset.
func (h *SettingsHolder) Epoch() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.epoch
}

// Reset makes st — the stored row, read (or committed) after Epoch
// returned epoch — the current settings, whatever its version, unless the
// held settings changed since epoch and st is older than them.
func (h *SettingsHolder) Reset(st discovery.Settings, epoch uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if cur := h.v.Load(); cur != nil && cur.Version > st.Version && h.epoch != epoch {
		return
	}
	h.v.Store(&st)
	h.epoch++
}

// New builds the server and registers every route; it fails when a route
// declares no permission.
func New(cfg Config, store Store, pol policy.Service, authn Authenticator, settings *SettingsHolder, log *slog.Logger) (*Server, error) {
	if cfg.BodyLimit == "" {
		cfg.BodyLimit = "1M"
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.DRSMaxBulk <= 0 {
		return nil, fmt.Errorf("api: DRSMaxBulk must be positive, got %d", cfg.DRSMaxBulk)
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.Storage == nil {
		cfg.Storage = signing.Refusing()
	}
	if cfg.Health == nil {
		cfg.Health = health.New(0, 0, health.Check{Name: "database", Run: func(ctx context.Context) error { return store.Ping(ctx) }})
	}
	s := &Server{cfg: cfg, store: store, policy: pol, authn: authn, settings: settings, log: log}
	s.tokens = &tokens.Service{Store: store, MaxTTL: cfg.APITokenMaxTTL}
	s.explainer = &explain.Explainer{Store: store, Policy: pol, Candidates: s.candidates}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.errorHandler
	e.Use(middleware.RequestID())
	// Record strings (urls, metadata) reach clients unescaped inside stored
	// JSON objects: browsers must not sniff a response as HTML.
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{ContentTypeNosniff: "nosniff", XFrameOptions: "DENY"}))
	e.Use(s.accessLog)
	e.Use(middleware.Recover())
	e.Use(middleware.BodyLimit(cfg.BodyLimit))
	e.Use(middleware.ContextTimeoutWithConfig(middleware.ContextTimeoutConfig{Timeout: cfg.RequestTimeout}))
	// Credentials are evaluated per route (register): routes that need
	// nothing never look at them.
	s.echo = e
	if err := s.register(s.routeTable()); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler returns the http.Handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Routes returns the registered routes with their declared permissions.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// HTTPServer wraps the handler in an http.Server with timeouts that guard
// against slow clients (slowloris) and stuck connections.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.echo,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      s.cfg.RequestTimeout + 10*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// errf is fmt.Errorf, for brevity in handlers.
var errf = fmt.Errorf
