// Package testdb gives tests a real, freshly migrated PostgreSQL database.
//
// The server is found once per test binary: when a Docker engine answers,
// one postgres:15-alpine container is started for the whole binary with
// testcontainers; otherwise the server at the admin URL in
// INDEXD_TEST_DATABASE_URL is used. INDEXD_TEST_DOCKER=off skips the Docker
// probe (CI sets it: its machines run PostgreSQL locally). If neither is
// available the test fails loudly; it is never skipped.
//
// The schema is applied once into a template database whose name carries a
// hash of the migration files (indexd_tmpl_<hash>), so concurrently running
// test binaries share it and a schema change produces a new template. Each
// [NewDatabase] call clones that template with CREATE DATABASE ... TEMPLATE,
// which takes milliseconds, and drops the clone when the test ends.
package testdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"

	"github.com/datacommons/indexd/migrations"
)

// EnvURL names the environment variable holding the admin URL of the
// PostgreSQL server tests use when no Docker engine answers. The role must
// be allowed to create databases.
const EnvURL = "INDEXD_TEST_DATABASE_URL"

// EnvDocker, set to "off", makes tests use EnvURL without probing Docker.
const EnvDocker = "INDEXD_TEST_DOCKER"

const (
	containerImage = "postgres:15-alpine"
	tmplPrefix     = "indexd_tmpl_"
	dbPrefix       = "indexd_t_"

	// sqlstateObjectInUse is raised by CREATE DATABASE when another session
	// is connected to the template ("source database is being accessed by
	// other users").
	sqlstateObjectInUse = "55006"
)

var (
	serverOnce sync.Once
	serverURL  string
	serverErr  error

	tmplOnce sync.Once
	tmplName string
	tmplErr  error
)

// AdminURL returns the URL of the maintenance database on the test server,
// discovering (or starting) the server on first use. It fails tb when no
// server can be found.
func AdminURL(tb testing.TB) string {
	tb.Helper()
	serverOnce.Do(func() { serverURL, serverErr = discoverServer() })
	if serverErr != nil {
		tb.Fatalf("testdb: %v", serverErr)
	}
	return serverURL
}

// NewDatabase creates a fresh, fully migrated database for tb and returns its
// URL. The database is dropped (WITH (FORCE)) when tb finishes.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	admin := AdminURL(tb)
	tmplOnce.Do(func() { tmplName, tmplErr = ensureTemplate(admin) })
	if tmplErr != nil {
		tb.Fatalf("testdb: prepare template database: %v", tmplErr)
	}

	name, err := randomName(dbPrefix)
	if err != nil {
		tb.Fatalf("testdb: %v", err)
	}
	dbURL, err := withDatabase(admin, name)
	if err != nil {
		tb.Fatalf("testdb: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := createFromTemplate(ctx, admin, name, tmplName); err != nil {
		tb.Fatalf("testdb: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := dropDatabase(ctx, admin, name); err != nil {
			tb.Errorf("testdb: %v", err)
		}
	})
	return dbURL
}

// NewPool creates a fresh migrated database (see [NewDatabase]) and returns a
// pool connected to it. The pool is closed before the database is dropped.
func NewPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	dbURL := NewDatabase(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		tb.Fatalf("testdb: open pool: %v", err)
	}
	// Registered after NewDatabase's cleanup, so it runs first (LIFO).
	tb.Cleanup(pool.Close)
	if err := pool.Ping(ctx); err != nil {
		tb.Fatalf("testdb: ping new database: %v", err)
	}
	return pool
}

// discoverServer returns the admin URL: a testcontainers PostgreSQL when a
// Docker engine answers, else the environment variable.
func discoverServer() (string, error) {
	envURL := strings.TrimSpace(os.Getenv(EnvURL))
	var dockerErr error
	if strings.EqualFold(os.Getenv(EnvDocker), "off") {
		dockerErr = fmt.Errorf("%s=off", EnvDocker)
	} else if dockerErr = pingDocker(); dockerErr == nil {
		u, err := startContainer()
		if err != nil {
			return "", fmt.Errorf("a Docker engine answers but the test PostgreSQL container did not start: %w\n"+
				"Set %s=off to use the server at %s instead", err, EnvDocker, EnvURL)
		}
		return u, nil
	}
	if envURL != "" {
		return envURL, nil
	}
	return "", fmt.Errorf("no PostgreSQL server for tests: no Docker engine is usable (%v) and %s is not set.\n"+
		"Provide one of:\n"+
		"  - a running Docker engine, so testcontainers can start %s, or\n"+
		"  - export %s='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' (any role that may CREATE DATABASE)",
		dockerErr, EnvURL, containerImage, EnvURL)
}

// pingDocker reports whether a Docker engine answers within a few seconds.
// Docker discovery inside testcontainers may panic when no engine is
// configured; that is turned into an error.
func pingDocker() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("docker: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("docker: %w", err)
	}
	defer cli.Close()
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		return fmt.Errorf("docker: %w", err)
	}
	return nil
}

// startContainer starts one PostgreSQL container for the whole test binary.
// The testcontainers reaper removes it when the binary exits.
func startContainer() (dsn string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("docker: %v", r)
		}
	}()

	// The container outlives this call, so it gets an uncancelled context;
	// the wait strategies bound start-up time.
	ctx := context.Background()
	ctr, err := tcpostgres.Run(ctx, containerImage, tcpostgres.BasicWaitStrategies())
	if err != nil {
		if termErr := testcontainers.TerminateContainer(ctr); termErr != nil {
			err = errors.Join(err, termErr)
		}
		return "", fmt.Errorf("start %s container: %w", containerImage, err)
	}
	dsn, err = ctr.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		if termErr := testcontainers.TerminateContainer(ctr); termErr != nil {
			err = errors.Join(err, termErr)
		}
		return "", fmt.Errorf("container connection string: %w", err)
	}
	return dsn, nil
}

// ensureTemplate makes sure the migrated template database for the current
// migrations exists, creating it under a cluster-wide advisory lock so that
// concurrent test binaries build it only once.
func ensureTemplate(admin string) (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := tmplPrefix + sum[:12]

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect to admin database: %w", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()

	key := lockKey(name)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return "", fmt.Errorf("advisory lock for %s: %w", name, err)
	}
	// Closing the session also releases the lock, should the unlock fail.
	defer func() { _, _ = conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", key) }()

	exists, err := databaseExists(ctx, conn, name)
	if err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	if err := buildTemplate(ctx, conn, admin, name); err != nil {
		return "", err
	}
	return name, nil
}

// buildTemplate migrates a scratch database and then renames it to name, so
// an interrupted build never leaves a half-migrated database under the
// template's name. The caller holds the advisory lock for name.
func buildTemplate(ctx context.Context, conn *pgx.Conn, admin, name string) error {
	build := name + "_build"

	// A build interrupted earlier (by a killed test binary) may have left
	// its scratch database behind; we hold the lock, so it is ours to drop.
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(build)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop stale %s: %w", build, err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident(build)); err != nil {
		return fmt.Errorf("create %s: %w", build, err)
	}

	buildURL, err := withDatabase(admin, build)
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, buildURL)
	if err != nil {
		return fmt.Errorf("open %s: %w", build, err)
	}
	err = migrations.Up(ctx, pool)
	pool.Close()
	if err != nil {
		return fmt.Errorf("migrate %s: %w", build, err)
	}

	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(build)+" RENAME TO "+ident(name)); err != nil {
		return fmt.Errorf("rename %s to %s: %w", build, name, err)
	}
	// Nobody may connect to the template: a connection would make every
	// CREATE DATABASE ... TEMPLATE fail with 55006.
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+ident(name)+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"); err != nil {
		return fmt.Errorf("mark %s as template: %w", name, err)
	}
	return nil
}

// createFromTemplate clones tmpl into name, retrying while the template is
// briefly in use by another session.
func createFromTemplate(ctx context.Context, admin, name, tmpl string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to admin database: %w", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()

	const attempts = 10
	sql := "CREATE DATABASE " + ident(name) + " TEMPLATE " + ident(tmpl)
	delay := 50 * time.Millisecond
	for i := 1; ; i++ {
		_, err = conn.Exec(ctx, sql)
		if err == nil {
			return nil
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != sqlstateObjectInUse || i == attempts {
			return fmt.Errorf("create database %s from template %s (attempt %d): %w", name, tmpl, i, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("create database %s from template %s: %w", name, tmpl, errors.Join(err, ctx.Err()))
		case <-time.After(delay):
		}
		delay *= 2
	}
}

func dropDatabase(ctx context.Context, admin, name string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("drop database %s: connect to admin database: %w", name, err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

func databaseExists(ctx context.Context, conn *pgx.Conn, name string) (bool, error) {
	var exists bool
	err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		return false, fmt.Errorf("look up database %s: %w", name, err)
	}
	return exists, nil
}

// migrationsHash returns the hex SHA-256 over the names and contents of
// <repo>/migrations/*.sql, in name order.
func migrationsHash() (string, error) {
	// The embedded migrations are what the template is built from, so they,
	// not the files on disk, name it.
	return migrations.Checksum(), nil
}

// withDatabase returns connString with its database replaced by name. URL
// connection strings keep their user, host and query parameters; keyword/value
// strings get a trailing dbname=, which overrides an earlier one.
func withDatabase(connString, name string) (string, error) {
	if strings.HasPrefix(connString, "postgres://") || strings.HasPrefix(connString, "postgresql://") {
		u, err := url.Parse(connString)
		if err != nil {
			return "", fmt.Errorf("parse database URL: %w", err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	if _, err := pgconn.ParseConfig(connString); err != nil {
		return "", fmt.Errorf("parse connection string: %w", err)
	}
	return strings.TrimSpace(connString) + " dbname=" + name, nil
}

func randomName(prefix string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random database name: %w", err)
	}
	return prefix + hex.EncodeToString(b[:]), nil
}

// lockKey derives the advisory lock key for a template name.
func lockKey(name string) int64 {
	s := sha256.Sum256([]byte("indexd-testdb:" + name))
	return int64(binary.BigEndian.Uint64(s[:8]))
}

func ident(name string) string {
	return pgx.Identifier{name}.Sanitize()
}
