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

	"github.com/datacommons/indexd/api"
	"github.com/datacommons/indexd/discovery"
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
	store, err := repository.Open(ctx, cfg.DatabaseURL, repository.Options{QueryTimeout: cfg.QueryTimeout, MaxConns: cfg.MaxConns,
		DefaultPrefix: cfg.DefaultPrefix, HideExistence: cfg.HideExistence,
		ReadURLs: cfg.ReadURLs, MaxReplicaLag: cfg.ReplicaMaxLag, ListenURL: cfg.ListenURL, Log: log})
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
	if err := store.InitSettings(ctx, cfg.InitialSettings); err != nil {
		return fail(err)
	}
	st, err := store.Settings(ctx)
	if err != nil {
		return fail(err)
	}
	a.Settings = api.NewSettingsHolder(st)

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
	a.Server, err = api.New(api.Config{
		DefaultPrefix: cfg.DefaultPrefix, PrependPrefix: cfg.PrependPrefix, AddPrefixAlias: cfg.AddPrefixAlias,
		BasicAuth:     cfg.BasicAuth,
		HideExistence: cfg.HideExistence, BodyLimit: cfg.BodyLimit, RequestTimeout: cfg.RequestTimeout,
		Version: Version, Commit: Commit, Hostname: cfg.DRSHostname, DRSCompactPrefix: cfg.DRSCompactPrefix,
		DRSMaxBulk: cfg.DRSMaxBulk, DRS12: cfg.DRSVersion == "1.2", OpenAPI: openapi.Document,
		DRSBearerIssuers: nonEmptyList(cfg.JWTIssuer), Storage: a.Storage, PasswordCost: cfg.PasswordCost,
		ReplicaMaxLag: cfg.ReplicaMaxLag,
	}, store, a.Policy, a.authn, a.Settings, log)
	if err != nil {
		return fail(err)
	}
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
