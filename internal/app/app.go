package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	indexd "github.com/datacommons/indexd"
	"github.com/datacommons/indexd/api"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/health"
	"github.com/datacommons/indexd/identity"
	"github.com/datacommons/indexd/migrations"
	"github.com/datacommons/indexd/openapi"
	"github.com/datacommons/indexd/policy"
	"github.com/datacommons/indexd/repository"
	"github.com/datacommons/indexd/signing"
)

// Version is set at build time (-ldflags "-X .../internal/app.Version=...").
var (
	Version = "dev"
	Commit  = "unknown"
)

// App is a wired service.
type App struct {
	Config   Config
	Store    *repository.Store
	Policy   *policy.Cached
	Server   *api.Server
	Settings *api.SettingsHolder
	// Storage signs access URLs (INDEXD_STORAGE_CONFIG).
	Storage  *signing.Storage
	log      *slog.Logger
	authn    *identity.Authenticator
	stop     context.CancelFunc
	watching chan struct{}
}

// New connects, migrates when asked, seeds settings, and builds the API.
// It starts the settings watcher; call Close to stop it.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Store: store, log: log}
	fail := func(err error) (*App, error) {
		a.Close()
		return nil, err
	}
	if cfg.MigrateOnStart {
		if err := migrations.Up(ctx, store.Pool()); err != nil {
			return fail(err)
		}
	}
	schema, latest, err := migrations.Versions(ctx, store.Pool())
	if err != nil {
		return fail(err)
	}
	if schema < latest {
		return fail(fmt.Errorf("the database is at migration %d, this indexd needs %d: run `indexd migrate` with the same INDEXD_DATABASE_URL, or start with INDEXD_MIGRATE=true", schema, latest))
	}
	if err := store.InitSettings(ctx, cfg.InitialSettings); err != nil {
		return fail(err)
	}
	st, err := store.Settings(ctx)
	if err != nil {
		return fail(err)
	}
	a.Settings = api.NewSettingsHolder(st)
	warnStoredSettings(cfg, st, log)

	backend, err := NewPolicy(cfg)
	if err != nil {
		return fail(err)
	}
	a.Policy = policy.NewCached(backend, cfg.PolicyCacheTTL)
	if a.Storage, err = LoadStorage(ctx, cfg, log); err != nil {
		return fail(err)
	}
	var admins identity.AdminStore // nil: basic authentication is off
	if cfg.BasicAuth {
		admins = store
	}
	a.authn, err = identity.New(identity.Config{
		JWKSURL: cfg.JWKSURL, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
		SigningKey: cfg.SigningKey, VerifyTokens: cfg.VerifyTokens, PasswordCost: cfg.PasswordCost,
	}, admins)
	if err != nil {
		return fail(err)
	}
	// API tokens: verified against the store; a revocation on any
	// instance evicts the token here (the settings watcher LISTENs for it).
	a.authn.SetTokenStore(tokenStore{store})
	store.OnAPITokenRevoked(a.authn.ForgetAPIToken)
	a.Server, err = api.New(api.Config{
		DefaultPrefix: cfg.DefaultPrefix, PrependPrefix: cfg.PrependPrefix, AddPrefixAlias: cfg.AddPrefixAlias,
		BasicAuth:     cfg.BasicAuth,
		HideExistence: cfg.HideExistence, BodyLimit: cfg.BodyLimit, RequestTimeout: cfg.RequestTimeout,
		Version: Version, Commit: Commit, Hostname: cfg.DRSHostname, DRSCompactPrefix: cfg.DRSCompactPrefix,
		DRSMaxBulk: cfg.DRSMaxBulk, DRS12: cfg.DRSVersion == "1.2", OpenAPI: openapi.Document,
		DRSBearerIssuers: nonEmptyList(cfg.JWTIssuer), Storage: a.Storage, PasswordCost: cfg.PasswordCost,
		ReplicaMaxLag: cfg.ReplicaMaxLag, APITokenMaxTTL: cfg.APITokenMaxTTL, TrustedProxies: cfg.TrustedProxies,
		Health: readiness(store, backend),
	}, store, a.Policy, a.authn, a.Settings, log)
	if err != nil {
		return fail(err)
	}
	log.Info("configuration", "are_records_discoverable", st.AreRecordsDiscoverable,
		"global_discovery_authz", st.GlobalDiscoveryAuthz, "settings_version", st.Version,
		"policy_backend", policyBackend(cfg), "token_verification", tokenVerification(cfg),
		"hide_existence", cfg.HideExistence, "schema_version", schema, "drs_version", cfg.DRSVersion,
		"basic_auth", cfg.BasicAuth, "read_replicas", len(cfg.ReadURLs))
	wctx, stop := context.WithCancel(context.Background())
	a.stop, a.watching = stop, make(chan struct{})
	go func() {
		defer close(a.watching)
		store.WatchSettings(wctx, cfg.SettingsPoll, loggingSink{a.Settings, log},
			func(err error) { log.Warn("settings watcher", "err", err) })
	}()
	return a, nil
}

// Handler is the HTTP handler.
func (a *App) Handler() http.Handler { return a.Server.Handler() }

// Serve serves on l until ctx ends, then shuts down gracefully.
func (a *App) Serve(ctx context.Context, l net.Listener) error {
	srv := a.Server.HTTPServer(l.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	a.log.Info("shutting down")
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops the watcher and closes the database pool.
func (a *App) Close() {
	if a.stop != nil {
		a.stop()
		<-a.watching
	}
	if a.authn != nil {
		_ = a.authn.Close()
	}
	if a.Storage != nil {
		a.Storage.Close()
	}
	if a.Store != nil {
		a.Store.Close()
	}
}

// nonEmptyList is []string{v}, or nil when v is "".
func nonEmptyList(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}

// loggingSink is the settings holder, logging every change the watcher
// applies.
type loggingSink struct {
	h   *api.SettingsHolder
	log *slog.Logger
}

var _ repository.SettingsSink = loggingSink{}

func (s loggingSink) Set(st discovery.Settings) {
	old := s.h.Get()
	s.h.Set(st)
	s.logChange(old)
}

func (s loggingSink) Epoch() uint64 { return s.h.Epoch() }

func (s loggingSink) Reset(st discovery.Settings, epoch uint64) {
	old := s.h.Get()
	s.h.Reset(st, epoch)
	s.logChange(old)
}

func (s loggingSink) logChange(old discovery.Settings) {
	cur := s.h.Get()
	if old.AreRecordsDiscoverable != cur.AreRecordsDiscoverable || fmt.Sprint(old.GlobalDiscoveryAuthz) != fmt.Sprint(cur.GlobalDiscoveryAuthz) {
		s.log.Info("discovery settings changed", "are_records_discoverable", cur.AreRecordsDiscoverable,
			"global_discovery_authz", cur.GlobalDiscoveryAuthz, "version", cur.Version)
	}
}

// LoadStorage reads the storage configuration (INDEXD_STORAGE_CONFIG) and
// loads each bucket's credentials; any problem stops start-up naming the
// variable. Credential variables are read from the process environment.
func LoadStorage(ctx context.Context, cfg Config, log *slog.Logger) (*signing.Storage, error) {
	st, err := signing.Load(ctx, cfg.StorageConfig, os.Getenv, log)
	if err != nil {
		return nil, fmt.Errorf("configuration: INDEXD_STORAGE_CONFIG %s: %w", cfg.StorageConfig, err)
	}
	return st, nil
}

// tokenStore is the repository as identity's TokenStore.
type tokenStore struct{ s *repository.Store }

var _ identity.TokenStore = tokenStore{}

func (t tokenStore) APITokenByHash(ctx context.Context, hash string) (identity.APIToken, bool, error) {
	tok, found, err := t.s.APITokenByHash(ctx, hash)
	if err != nil || !found {
		return identity.APIToken{}, found, err
	}
	return identity.APIToken{ID: tok.ID, User: tok.User, Scope: tok.Scope, ExpiresAt: tok.ExpiresAt, Revoked: tok.RevokedAt != nil}, true, nil
}

func (t tokenStore) TouchAPIToken(ctx context.Context, id string, at time.Time) error {
	return t.s.TouchAPIToken(ctx, id, at)
}

func (t tokenStore) AuditAPITokenUse(ctx context.Context, id, user string) error {
	return t.s.AuditAPITokenUse(ctx, id, user)
}

// openStore opens the database, retrying with backoff while it is
// unreachable, for up to cfg.DBConnectTimeout (one attempt when 0). Other
// failures (a wrong password, an unknown database) end at once.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (*repository.Store, error) {
	opts := repository.Options{QueryTimeout: cfg.QueryTimeout, MaxConns: cfg.MaxConns,
		DefaultPrefix: cfg.DefaultPrefix, HideExistence: cfg.HideExistence,
		ReadURLs: cfg.ReadURLs, MaxReplicaLag: cfg.ReplicaMaxLag, ListenURL: cfg.ListenURL, Log: log}
	deadline := time.Now().Add(cfg.DBConnectTimeout)
	delay := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		store, err := repository.Open(ctx, cfg.DatabaseURL, opts)
		if err == nil {
			return store, nil
		}
		if !errors.Is(err, indexd.ErrUnavailable) {
			return nil, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, fmt.Errorf("database unreachable after %d attempts over %s (INDEXD_DB_CONNECT_TIMEOUT=%s): %w",
				attempt, cfg.DBConnectTimeout, cfg.DBConnectTimeout, err)
		}
		wait := min(delay, left)
		log.Warn("database unreachable, retrying", "attempt", attempt, "retry_in", wait.String(), "err", err)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("database unreachable: %w (gave up: %v)", err, ctx.Err())
		case <-time.After(wait):
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// warnStoredSettings warns when discovery variables set in the environment
// differ from the stored settings: they only seed an empty database, and
// the stored settings are in force.
func warnStoredSettings(cfg Config, stored discovery.Settings, log *slog.Logger) {
	const how = "the environment only seeds an empty database; change the stored settings with PUT /admin/discovery or `indexd settings set KEY=VALUE`"
	if cfg.DiscoverableFromEnv && cfg.InitialSettings.AreRecordsDiscoverable != stored.AreRecordsDiscoverable {
		log.Warn("INDEXD_ARE_RECORDS_DISCOVERABLE differs from the stored setting, which is in force",
			"env", cfg.InitialSettings.AreRecordsDiscoverable, "stored", stored.AreRecordsDiscoverable, "fix", how)
	}
	if cfg.GlobalAuthzFromEnv && fmt.Sprint(cfg.InitialSettings.GlobalDiscoveryAuthz) != fmt.Sprint(stored.GlobalDiscoveryAuthz) {
		log.Warn("INDEXD_GLOBAL_DISCOVERY_AUTHZ differs from the stored setting, which is in force",
			"env", cfg.InitialSettings.GlobalDiscoveryAuthz, "stored", stored.GlobalDiscoveryAuthz, "fix", how)
	}
}

// policyBackend describes the configured policy backend for the start-up log.
func policyBackend(cfg Config) string {
	if cfg.ArboristURL != "" {
		return "arborist " + cfg.ArboristURL
	}
	return "file " + cfg.PolicyFile
}

// tokenVerification describes how bearer tokens are checked.
func tokenVerification(cfg Config) string {
	switch {
	case cfg.JWKSURL != "":
		return "jwks " + cfg.JWKSURL
	case len(cfg.SigningKey) > 0:
		return "hs256 signing key"
	case cfg.VerifyTokens:
		return "required (misconfigured: no key)"
	}
	return "none: tokens pass unverified to the policy service"
}

// readiness is GET /_health/ready's checks: the database answers, its
// schema is at this build's latest migration, the discovery settings can
// be read, and — when Arborist is the policy backend — Arborist answers the
// anonymous mapping (asked of the uncached client: a cached answer would
// hide an outage). A policy file is loaded at start-up and needs no check.
func readiness(store *repository.Store, backend policy.Service) *health.Checker {
	checks := []health.Check{
		{Name: "database", Run: store.Ping},
		{Name: "migrations", Run: func(ctx context.Context) error {
			schema, latest, err := migrations.Versions(ctx, store.Pool())
			if err != nil {
				return err
			}
			if schema < latest {
				return fmt.Errorf("the database is at migration %d, this indexd needs %d: run `indexd migrate`", schema, latest)
			}
			return nil
		}},
		{Name: "settings", Run: func(ctx context.Context) error {
			_, err := store.Settings(ctx)
			return err
		}},
	}
	if arb, ok := backend.(*policy.Arborist); ok {
		checks = append(checks, health.Check{Name: "policy", Run: func(ctx context.Context) error {
			_, err := arb.Mapping(ctx, policy.Caller{})
			return err
		}})
	}
	return health.New(health.DefaultTimeout, health.DefaultReuse, checks...)
}
