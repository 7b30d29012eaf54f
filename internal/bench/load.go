package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/migrations"
)

// generatorVersion changes whenever the synthetic data changes shape, so a
// database loaded by an older harness is reloaded rather than reused.
const generatorVersion = "4"

const probeSchema = "indexd_bench_probe"

// dbInfo describes the prepared bench database.
type dbInfo struct {
	Reused   bool
	LoadTime time.Duration
	Sets     map[string]int64 // setKey(canonical paths) → authz_set.id
	Size     string           // pg_size_pretty of the database
	Bytes    int64            // the database's size
	// Relations are the sizes of tables and indexes (after the run).
	Relations []relSize
}

// prepareDB makes sure the database at dbURL exists, carries the current
// schema, and holds exactly the synthetic data set of n records: reused when
// a previous run left it so, loaded otherwise.
func prepareDB(ctx context.Context, dbURL string, n int, fresh bool, out io.Writer) (dbInfo, error) {
	var info dbInfo
	name, adminURL, err := adminURLOf(dbURL)
	if err != nil {
		return info, err
	}
	if err := ensureDatabase(ctx, adminURL, name, fresh, out); err != nil {
		return info, err
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return info, fmt.Errorf("bench: connect %s: %w", name, err)
	}
	defer pool.Close()

	stale, err := schemaStale(ctx, pool, dbURL)
	if err != nil {
		return info, err
	}
	if stale {
		fmt.Fprintf(out, "bench: %s has an outdated schema; recreating it\n", name)
		pool.Close()
		if err := ensureDatabase(ctx, adminURL, name, true, out); err != nil {
			return info, err
		}
		if pool, err = pgxpool.New(ctx, dbURL); err != nil {
			return info, fmt.Errorf("bench: connect %s: %w", name, err)
		}
		defer pool.Close()
	}
	if err := migrations.Up(ctx, pool); err != nil {
		return info, err
	}
	// Records left behind by an interrupted run's write scenarios.
	if err := cleanupWrites(ctx, pool); err != nil {
		return info, err
	}

	marker := fmt.Sprintf("indexd-bench n=%d generator=%s", n, generatorVersion)
	var comment *string
	if err := pool.QueryRow(ctx, "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()").Scan(&comment); err != nil {
		return info, fmt.Errorf("bench: read database comment: %w", err)
	}
	var have int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM record").Scan(&have); err != nil {
		return info, fmt.Errorf("bench: count records: %w", err)
	}
	if comment != nil && *comment == marker && have == n {
		info.Reused = true
		fmt.Fprintf(out, "bench: reusing %s: %d records already loaded\n", name, n)
	} else {
		fmt.Fprintf(out, "bench: loading %d records into %s …\n", n, name)
		start := time.Now()
		if _, err := pool.Exec(ctx, "COMMENT ON DATABASE "+pgx.Identifier{name}.Sanitize()+" IS NULL"); err != nil {
			return info, fmt.Errorf("bench: clear marker: %w", err)
		}
		if err := load(ctx, pool, n, out); err != nil {
			return info, err
		}
		if _, err := pool.Exec(ctx, "COMMENT ON DATABASE "+pgx.Identifier{name}.Sanitize()+" IS "+quoteLiteral(marker)); err != nil {
			return info, fmt.Errorf("bench: set marker: %w", err)
		}
		info.LoadTime = time.Since(start)
		fmt.Fprintf(out, "bench: loaded %d records in %s\n", n, info.LoadTime.Round(100*time.Millisecond))
	}
	if info.Sets, err = readSets(ctx, pool); err != nil {
		return info, err
	}
	if err := pool.QueryRow(ctx, "SELECT pg_size_pretty(pg_database_size(current_database())), pg_database_size(current_database())").Scan(&info.Size, &info.Bytes); err != nil {
		return info, fmt.Errorf("bench: database size: %w", err)
	}
	return info, nil
}

// adminURLOf returns the database name in dbURL and the URL of the
// maintenance database ("postgres") on the same server.
func adminURLOf(dbURL string) (name, admin string, err error) {
	u, err := url.Parse(dbURL)
	if err != nil || u.Scheme == "" {
		return "", "", fmt.Errorf("bench: -db must be a postgres:// URL: %q", dbURL)
	}
	name = strings.TrimPrefix(u.Path, "/")
	if name == "" || name == "postgres" || name == "template0" || name == "template1" {
		return "", "", fmt.Errorf("bench: -db must name a dedicated database (e.g. /indexd_bench), not %q", name)
	}
	a := *u
	a.Path = "/postgres"
	return name, a.String(), nil
}

// ensureDatabase creates the bench database when absent (or drops and
// recreates it when fresh). It touches no other database.
func ensureDatabase(ctx context.Context, adminURL, name string, fresh bool, out io.Writer) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("bench: connect to the server's maintenance database: %w", err)
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("bench: look for database %s: %w", name, err)
	}
	if exists && fresh {
		fmt.Fprintf(out, "bench: dropping database %s\n", name)
		if _, err := conn.Exec(ctx, "DROP DATABASE "+ident+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("bench: drop database %s: %w", name, err)
		}
		exists = false
	}
	if !exists {
		fmt.Fprintf(out, "bench: creating database %s\n", name)
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
			var pe *pgconn.PgError
			if !errors.As(err, &pe) || pe.Code != "42P04" { // duplicate_database: a concurrent run made it
				return fmt.Errorf("bench: create database %s: %w", name, err)
			}
		}
	}
	return nil
}

// schemaStale reports whether the database's public schema differs from
// what the current migrations produce (a migration was edited since the
// data was loaded). It migrates a scratch schema inside the same database
// and compares catalog fingerprints; a database with no tables yet is not
// stale.
func schemaStale(ctx context.Context, pool *pgxpool.Pool, dbURL string) (bool, error) {
	var tables int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = 'record'").Scan(&tables); err != nil {
		return false, fmt.Errorf("bench: inspect schema: %w", err)
	}
	if tables == 0 {
		return false, nil
	}
	if _, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+probeSchema+" CASCADE; CREATE SCHEMA "+probeSchema); err != nil {
		return false, fmt.Errorf("bench: create probe schema: %w", err)
	}
	defer func() { _, _ = pool.Exec(context.WithoutCancel(ctx), "DROP SCHEMA IF EXISTS "+probeSchema+" CASCADE") }()
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return false, err
	}
	// The probe schema first (every migrated object goes there), then
	// public, where extensions the migrations use (pg_trgm) already live.
	cfg.ConnConfig.RuntimeParams["search_path"] = probeSchema + ", public"
	cfg.MaxConns = 1
	probe, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("bench: connect probe: %w", err)
	}
	defer probe.Close()
	if err := migrations.Up(ctx, probe); err != nil {
		return false, fmt.Errorf("bench: migrate probe schema: %w", err)
	}
	var want, have string
	if err := pool.QueryRow(ctx, fingerprintSQL, probeSchema).Scan(&want); err != nil {
		return false, fmt.Errorf("bench: fingerprint probe schema: %w", err)
	}
	if err := pool.QueryRow(ctx, fingerprintSQL, "public").Scan(&have); err != nil {
		return false, fmt.Errorf("bench: fingerprint public schema: %w", err)
	}
	return want != have, nil
}

// fingerprintSQL digests a schema's columns, indexes and constraints,
// without the schema name.
const fingerprintSQL = `
SELECT md5(coalesce(string_agg(x, E'\n' ORDER BY x), '')) FROM (
  SELECT format('col %s.%s %s %s %s', table_name, column_name, data_type, is_nullable, coalesce(collation_name, '')) AS x
  FROM information_schema.columns WHERE table_schema = $1 AND table_name <> 'goose_db_version'
  UNION ALL
  SELECT format('idx %s %s', tablename, replace(indexdef, ' ON ' || $1 || '.', ' ON '))
  FROM pg_indexes WHERE schemaname = $1 AND tablename <> 'goose_db_version'
  UNION ALL
  SELECT replace(format('con %s %s', c.conrelid::regclass::text, pg_get_constraintdef(c.oid)), $1 || '.', '')
  FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
  WHERE n.nspname = $1 AND c.conrelid <> 0 AND c.contype IN ('c', 'f', 'u')
    AND c.conrelid::regclass::text NOT LIKE '%goose_db_version'
  UNION ALL
  SELECT format('stat %s.%s %s', c.relname, a.attname, a.attstattarget)
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relkind = 'r' AND a.attnum > 0 AND a.attstattarget >= 0
) t`

func cleanupWrites(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, "DELETE FROM record WHERE did >= $1 AND did < $2", WriteDIDPrefix, WriteDIDPrefix[:len(WriteDIDPrefix)-1]+"0")
	if err != nil {
		return fmt.Errorf("bench: remove records of earlier write scenarios: %w", err)
	}
	return nil
}

// knownTables are the tables the loader fills (or leaves empty on
// purpose). A table the migrations add that is not listed here may be
// derived data the service keeps in step on writes — the loader warns so
// that it gets taught to fill it.
var knownTables = map[string]bool{
	"admin_user": true, "admin_user_audit": true, "alias": true, "authz_set": true, "authz_set_prefix": true, "discovery_settings": true,
	"discovery_settings_audit": true, "goose_db_version": true, "admin_query_audit": true, "record": true, "record_url": true, "record_spelling": true,
}

func checkKnownTables(ctx context.Context, pool *pgxpool.Pool, out io.Writer) error {
	rows, err := pool.Query(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
	if err != nil {
		return fmt.Errorf("bench: list tables: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return err
		}
		if !knownTables[t] {
			fmt.Fprintf(out, "bench: WARNING: table %s is not filled by the loader; if the service derives it from records, teach internal/bench/load.go\n", t)
		}
	}
	return rows.Err()
}

// insertSets creates authz_set rows and their authz_set_prefix rows exactly
// as repository.ensureAuthzSet does: canonical paths, n_paths, and one
// prefix row per (path, discovery.Prefixes(path)).
func insertSets(ctx context.Context, pool *pgxpool.Pool, sets [][]string) (map[string]int64, error) {
	ids := make(map[string]int64, len(sets))
	var prefixRows [][]any
	batch := &pgx.Batch{}
	for _, canon := range sets {
		batch.Queue("INSERT INTO authz_set (paths, n_paths) VALUES ($1::text[], $2) RETURNING id", canon, len(canon))
	}
	br := pool.SendBatch(ctx, batch)
	for _, canon := range sets {
		var id int64
		if err := br.QueryRow().Scan(&id); err != nil {
			br.Close()
			return nil, fmt.Errorf("bench: insert authz set: %w", err)
		}
		ids[setKey(canon)] = id
		for _, p := range canon {
			for _, pre := range discovery.Prefixes(p) {
				prefixRows = append(prefixRows, []any{id, p, pre})
			}
		}
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("bench: insert authz sets: %w", err)
	}
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"authz_set_prefix"}, []string{"set_id", "path", "prefix"}, pgx.CopyFromRows(prefixRows)); err != nil {
		return nil, fmt.Errorf("bench: copy authz_set_prefix: %w", err)
	}
	return ids, nil
}

// readSets reads every authz set's id by its canonical paths.
func readSets(ctx context.Context, pool *pgxpool.Pool) (map[string]int64, error) {
	rows, err := pool.Query(ctx, "SELECT id, paths FROM authz_set")
	if err != nil {
		return nil, fmt.Errorf("bench: read authz sets: %w", err)
	}
	out := map[string]int64{}
	for rows.Next() {
		var id int64
		var paths []string
		if err := rows.Scan(&id, &paths); err != nil {
			return nil, err
		}
		out[setKey(paths)] = id
	}
	return out, rows.Err()
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
