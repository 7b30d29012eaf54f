// Package repository stores records in PostgreSQL through a pgx pool and
// squirrel-built SQL. Every read takes the caller's discovery context as a
// plain value and filters through one visibility predicate (visibility.go);
// it never imports net/http or Echo and never decides HTTP status codes.
//
// Errors: methods return errors matching indexd.ErrNotFound,
// indexd.ErrNotVisible (exists but the caller may not see it),
// indexd.ErrConflict (rev mismatch, taken did or alias), indexd.ErrInvalid,
// or a wrapped internal error.
package repository

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"syscall"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/boundedcache"
	"github.com/datacommons/indexd/pageindex"
	"github.com/datacommons/indexd/replica"
)

// Options tune the store.
type Options struct {
	// QueryTimeout bounds every call into the store (default 10 s).
	QueryTimeout time.Duration
	// MaxConns is the pool size (default 4 × GOMAXPROCS, at least 8).
	MaxConns int32
	// VisibleSetTTL is how long a resolved grant list → visible authz sets
	// answer is reused (default 1 s; negative disables). Sets are only ever
	// added: a set created by this instance flushes the cache at once; one
	// created by another instance is seen within the TTL (until then its
	// records are invisible to filtered callers: the stale side is closed).
	VisibleSetTTL time.Duration
	// VisibleSetMaxEntries and VisibleSetMaxBytes bound that cache (keyed
	// by grant lists, which come with callers' tokens); defaults 10,000
	// entries and 16 MiB.
	VisibleSetMaxEntries int
	VisibleSetMaxBytes   int64
	// DefaultPrefix is indexd's DEFAULT_PREFIX: an id and its prefix twin
	// are one id to writes (spellings.go). It must be the prefix the HTTP
	// layer resolves reads with (api.Config.DefaultPrefix).
	DefaultPrefix string
	// HideExistence is the service's hide_existence: single reads then
	// answer an invisible record exactly as a missing id (indexd.ErrNotFound),
	// from a statement that returns no row for either, so the two cost the
	// same (records_read.go). Without it they are told apart
	// (indexd.ErrNotVisible), as the HTTP layer answers 403 and 404.
	HideExistence bool
	// ReadURLs are read replicas (streaming standbys of the primary): reads
	// of requests bound with ForRead go to one of them (package replica).
	ReadURLs []string
	// MaxReplicaLag is the staleness a read without a commit position
	// accepts from a replica (default 5 s).
	MaxReplicaLag time.Duration
	// ListenURL, when set, is a direct connection to the primary for
	// LISTEN (the pool may sit behind a transaction-pooling proxy, which
	// does not deliver notifications).
	ListenURL string
	// Log receives the read replicas' state changes (default slog.Default()).
	Log *slog.Logger
}

// Store is the PostgreSQL repository. Safe for concurrent use.
type Store struct {
	onTokenRevoked func(hash string) // OnAPITokenRevoked
	pool           *pgxpool.Pool
	sb             sq.StatementBuilderType
	timeout        time.Duration
	prefix         string                       // DEFAULT_PREFIX (spellings.go)
	hide           bool                         // hide_existence (Options.HideExistence)
	sets           *boundedcache.Cache[[]int64] // grants hash → visible set ids; nil: no cache
	stats          statsCache                   // per-set row estimates for the list access path
	pages          *pageindex.Index             // deep page= boundaries (pagebounds.go)
	// forcePath, when set, overrides the list access path choice (tests
	// compare the paths on the same data).
	forcePath *listPath
	// replicas routes reads bound with ForRead; nil without read replicas.
	replicas  *replica.Set
	listenURL string
	// prepared is the mode of the statements that would be prepared and
	// cached: pgx's cache_statement, unless the database URL chose another
	// default_query_exec_mode (behind a transaction-pooling proxy that
	// does not track prepared statements, such as PgBouncer before 1.21).
	prepared pgx.QueryExecMode
}

// Open connects a pool to url and checks it answers.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 10 * time.Second
	}
	cfg, err := poolConfig(url, opts)
	if err != nil {
		return nil, fmt.Errorf("repository: parse database url: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("repository: connect: %w", err)
	}
	s := New(pool, opts)
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	s.listenURL = opts.ListenURL
	if len(opts.ReadURLs) > 0 {
		var replicas []*pgxpool.Pool
		for i, u := range opts.ReadURLs {
			var p *pgxpool.Pool
			rcfg, err := poolConfig(u, opts)
			if err != nil {
				// Never the URL or the parser's message: they may hold a password.
				err = errors.New("not a valid PostgreSQL connection string")
			} else {
				p, err = pgxpool.NewWithConfig(ctx, rcfg)
			}
			if err != nil {
				for _, p := range replicas {
					p.Close()
				}
				pool.Close()
				return nil, fmt.Errorf("repository: read replica %d: %w", i+1, err)
			}
			replicas = append(replicas, p)
		}
		// A replica that is down at start-up is not fatal: reads go to the
		// primary until it answers.
		s.replicas = replica.New(pool, replicas, replica.Options{MaxLag: opts.MaxReplicaLag, Log: opts.Log})
		s.replicas.Start(ctx)
	}
	return s, nil
}

// poolConfig is the pool configuration of the primary and of each replica.
func poolConfig(url string, opts Options) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	} else {
		cfg.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	}
	// A server-side bound as well as the context deadline.
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint(opts.QueryTimeout.Milliseconds())
	cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	return cfg, nil
}

// New wraps an existing pool.
func New(pool *pgxpool.Pool, opts Options) *Store {
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 10 * time.Second
	}
	s := &Store{pool: pool, sb: sq.StatementBuilder.PlaceholderFormat(sq.Dollar), timeout: opts.QueryTimeout,
		prefix: opts.DefaultPrefix, hide: opts.HideExistence, prepared: pool.Config().ConnConfig.DefaultQueryExecMode,
		pages: pageindex.New(pageindex.Options{})}
	if opts.VisibleSetTTL == 0 {
		opts.VisibleSetTTL = time.Second
	}
	if opts.VisibleSetTTL > 0 {
		s.sets = boundedcache.New[[]int64](boundedcache.Options{TTL: opts.VisibleSetTTL, Cleanup: time.Minute,
			MaxEntries: opts.VisibleSetMaxEntries, MaxBytes: opts.VisibleSetMaxBytes})
	}
	return s
}

// afterWrite flushes the visible-set cache when a committed write created
// an authz set.
func (s *Store) afterWrite(err error, createdSet bool) {
	if err == nil && createdSet && s.sets != nil {
		s.sets.Flush()
	}
}

// VisibleSetCacheStats reports the visible-set cache's size and bounds
// (zero when there is no cache).
func (s *Store) VisibleSetCacheStats() boundedcache.Stats {
	if s.sets == nil {
		return boundedcache.Stats{}
	}
	return s.sets.Stats()
}

// Pool exposes the pool (migrations, settings listener, tests).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pools.
func (s *Store) Close() {
	if s.replicas != nil {
		s.replicas.Close()
		for _, m := range s.replicas.Members() {
			m.Pool().Close()
		}
	}
	s.pool.Close()
}

// Ping checks the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var one int
	if err := s.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("repository: ping: %w", classify(err))
	}
	return nil
}

// bound bounds a query by the query timeout, not by the caller's
// cancellation: pgx closes a connection whose query's context ends
// mid-query, so clients that go away (a load generator stopping, a tab
// closed) would each cost a pooled connection. The query runs to its end,
// bounded on the server by statement_timeout (the same timeout, which
// ends it first and keeps the connection) and here by the timeout plus a
// grace, for a server that does not answer at all. A deadline the caller
// set (INDEXD_REQUEST_TIMEOUT: the service's own bound on a request, not a
// client going away) is kept when it comes first.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline := time.Now().Add(s.timeout + boundGrace)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	return context.WithDeadline(context.WithoutCancel(ctx), deadline)
}

// boundGrace is how much longer than statement_timeout a query's context
// lives (see bound).
const boundGrace = 2 * time.Second

// querier is what pool, conn and tx have in common.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// inTx runs fn in a transaction that commits when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.inTxWith(ctx, pgx.TxOptions{}, fn)
}

// inTxWith is inTx with transaction options (isolation, access mode).
func (s *Store) inTxWith(ctx context.Context, opts pgx.TxOptions, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("repository: begin: %w", classify(err))
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("repository: commit: %w", classify(err))
	}
	return nil
}

// PostgreSQL error codes this package acts on.
const (
	pgUniqueViolation     = "23505"
	pgForeignKeyViolation = "23503"
	pgCheckViolation      = "23514"
	pgQueryCanceled       = "57014"
	pgInvalidText         = "22P02"
	pgUntranslatable      = "22P05"
	pgCharacterNotInRep   = "22021"
	pgProgramLimit        = "54000"
	pgSerialization       = "40001"
	pgDeadlock            = "40P01"
)

// classify turns driver errors into domain kinds; the rest stays internal.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case pgUniqueViolation:
			return &indexd.Error{Kind: indexd.ErrConflict, Message: "already exists"}
		case pgForeignKeyViolation:
			return &indexd.Error{Kind: indexd.ErrNotFound, Message: "referenced record not found"}
		case pgCheckViolation, pgInvalidText, pgUntranslatable, pgCharacterNotInRep:
			return indexd.Invalidf("value rejected by the database: %s", pe.Message)
		case pgProgramLimit:
			// e.g. an index entry longer than a third of a page: validation
			// bounds every indexed value, this is the safety net.
			return indexd.Invalidf("a value is too long to be stored and indexed (shorten urls, acl, authz, file_name, version or uploader)")
		case pgQueryCanceled:
			return fmt.Errorf("%w: query timed out: %v", indexd.ErrUnavailable, err)
		case pgSerialization, pgDeadlock:
			return &indexd.Error{Kind: indexd.ErrConflict, Message: "concurrent change, retry"}
		}
		// Class 08 (connection exception) and 57P0x (the server is shutting
		// down or starting up): the database is unavailable, not broken.
		if strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P") {
			return fmt.Errorf("%w: database: %v", indexd.ErrUnavailable, err)
		}
		return err
	}
	return unavailable(err)
}

// unavailable marks connection-level failures (no PgError) as unavailable.
func unavailable(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) || errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) || isConnErr(err) ||
		errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return fmt.Errorf("%w: database: %v", indexd.ErrUnavailable, err)
	}
	return err
}

func isConnErr(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || errors.Is(err, pgx.ErrTxClosed)
}
