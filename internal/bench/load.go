package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

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
	if err := pool.QueryRow(ctx, "SELECT pg_size_pretty(pg_database_size(current_database()))").Scan(&info.Size); err != nil {
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

// load empties the tables and loads records 0..n-1 with COPY. Secondary
// indexes of record are dropped for the copy and rebuilt afterwards from
// their own catalog definitions (so whatever the migrations declare is
// what gets rebuilt), two at a time.
func load(ctx context.Context, pool *pgxpool.Pool, n int, out io.Writer) error {
	step := func(what string, start time.Time) {
		fmt.Fprintf(out, "bench:   %-34s %s\n", what, time.Since(start).Round(10*time.Millisecond))
	}
	t := time.Now()
	if err := checkKnownTables(ctx, pool, out); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, "TRUNCATE alias, record, authz_set_prefix, authz_set RESTART IDENTITY CASCADE"); err != nil { // CASCADE: record_url, record_spelling
		return fmt.Errorf("bench: truncate: %w", err)
	}
	sets, err := insertSets(ctx, pool, distinctSets(n))
	if err != nil {
		return err
	}
	step(fmt.Sprintf("authz sets (%d)", len(sets)), t)

	t = time.Now()
	type index struct{ name, def string }
	var idx []index
	rows, err := pool.Query(ctx, `SELECT i.indexname, i.indexdef FROM pg_indexes i
		WHERE i.schemaname = 'public' AND i.tablename = 'record'
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`)
	if err != nil {
		return fmt.Errorf("bench: list indexes: %w", err)
	}
	for rows.Next() {
		var x index
		if err := rows.Scan(&x.name, &x.def); err != nil {
			return err
		}
		idx = append(idx, x)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("bench: list indexes: %w", err)
	}
	for _, x := range idx {
		if _, err := pool.Exec(ctx, "DROP INDEX "+pgx.Identifier{x.name}.Sanitize()); err != nil {
			return fmt.Errorf("bench: drop index %s: %w", x.name, err)
		}
	}

	if err := copyRecords(ctx, pool, n, sets); err != nil {
		return err
	}
	step(fmt.Sprintf("COPY %d records", n), t)

	t = time.Now()
	filled, err := fillDerived(ctx, pool)
	if err != nil {
		return err
	}
	if filled != "" {
		step(filled, t)
	}

	t = time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(2)
	for _, x := range idx {
		g.Go(func() error {
			conn, err := pool.Acquire(gctx)
			if err != nil {
				return err
			}
			defer conn.Release()
			if _, err := conn.Exec(gctx, "SET maintenance_work_mem = '256MB'"); err != nil {
				return err
			}
			if _, err := conn.Exec(gctx, x.def); err != nil {
				return fmt.Errorf("bench: rebuild index %s: %w", x.name, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	step(fmt.Sprintf("rebuild %d secondary indexes", len(idx)), t)

	t = time.Now()
	var orphans int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM record r WHERE NOT EXISTS (SELECT 1 FROM authz_set s WHERE s.id = r.authz_set_id)`).Scan(&orphans); err != nil {
		return fmt.Errorf("bench: check authz_set references: %w", err)
	}
	if orphans > 0 {
		return fmt.Errorf("bench: %d records reference no authz set", orphans)
	}
	if _, err := pool.Exec(ctx, "VACUUM (ANALYZE) record"); err != nil {
		return fmt.Errorf("bench: vacuum analyze: %w", err)
	}
	if _, err := pool.Exec(ctx, "ANALYZE authz_set; ANALYZE authz_set_prefix; ANALYZE alias"); err != nil {
		return fmt.Errorf("bench: analyze: %w", err)
	}
	step("check + VACUUM ANALYZE", t)
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

// fillDerived fills tables the repository derives from records on write,
// exactly as it does (repository.syncURLs for record_url).
func fillDerived(ctx context.Context, pool *pgxpool.Pool) (string, error) {
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('public.record_url') IS NOT NULL").Scan(&exists); err != nil {
		return "", fmt.Errorf("bench: look for record_url: %w", err)
	}
	if !exists {
		return "", nil
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Release()
	_, _ = conn.Exec(ctx, "SET synchronous_commit = off")
	replica := false
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err == nil {
		replica = true
	}
	tag, err := conn.Exec(ctx, `INSERT INTO record_url (url, did)
		SELECT DISTINCT u, r.did FROM record r CROSS JOIN LATERAL unnest(r.urls) AS u ORDER BY 1, 2`)
	if replica {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SET session_replication_role = DEFAULT")
	}
	if err != nil {
		return "", fmt.Errorf("bench: fill record_url: %w", err)
	}
	if _, err := conn.Exec(ctx, "ANALYZE record_url"); err != nil {
		return "", fmt.Errorf("bench: analyze record_url: %w", err)
	}
	filled := fmt.Sprintf("record_url (%d rows)", tag.RowsAffected())
	// record_spelling (migration 00005): every did and alias, as the
	// repository's writes keep it (repository/spellings.go).
	if err := conn.QueryRow(ctx, "SELECT to_regclass('public.record_spelling') IS NOT NULL").Scan(&exists); err != nil {
		return "", fmt.Errorf("bench: look for record_spelling: %w", err)
	}
	if exists {
		if replica {
			_, _ = conn.Exec(ctx, "SET session_replication_role = replica")
		}
		tag, err := conn.Exec(ctx, `INSERT INTO record_spelling (spelling, did, kind)
			SELECT did, did, 'did' FROM record UNION ALL SELECT name, did, 'alias' FROM alias ORDER BY 1`)
		if replica {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "SET session_replication_role = DEFAULT")
		}
		if err != nil {
			return "", fmt.Errorf("bench: fill record_spelling: %w", err)
		}
		if _, err := conn.Exec(ctx, "ANALYZE record_spelling"); err != nil {
			return "", fmt.Errorf("bench: analyze record_spelling: %w", err)
		}
		filled += fmt.Sprintf(", record_spelling (%d rows)", tag.RowsAffected())
	}
	return filled, nil
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

var recordCopyColumns = []string{
	"did", "baseid", "rev", "form", "size", "file_name", "version", "uploader", "description",
	"created_date", "updated_date", "content_created_date", "content_updated_date",
	"hashes", "urls", "urls_metadata", "acl", "authz", "metadata", "authz_set_id",
}

var dataTypes = []string{"WGS", "WXS", "RNA-Seq", "Methylation Array", "Clinical Supplement"}

// copyRecords streams records 0..n-1 into record with COPY. The RI trigger
// on authz_set_id is skipped (session_replication_role = replica) when the
// role may do so; load checks the references afterwards instead.
func copyRecords(ctx context.Context, pool *pgxpool.Pool, n int, sets map[string]int64) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SET synchronous_commit = off"); err != nil {
		return err
	}
	replica := false
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err == nil {
		replica = true
	}
	defer func() {
		if replica {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "SET session_replication_role = DEFAULT")
		}
	}()

	rng := rand.New(rand.NewPCG(uint64(n), 0x1d3e5))
	uuid := func() string {
		var b [16]byte
		hi, lo := rng.Uint64(), rng.Uint64()
		for k := 0; k < 8; k++ {
			b[k], b[8+k] = byte(hi>>(8*k)), byte(lo>>(8*k))
		}
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		const hexd = "0123456789abcdef"
		out := make([]byte, 0, 36)
		for k, c := range b {
			if k == 4 || k == 6 || k == 8 || k == 10 {
				out = append(out, '-')
			}
			out = append(out, hexd[c>>4], hexd[c&15])
		}
		return string(out)
	}
	epoch := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	form := "object"
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i >= n {
			return nil, nil
		}
		authz := AuthzOf(i)
		setID, ok := sets[setKey(discovery.CanonicalSet(authz))]
		if !ok {
			return nil, fmt.Errorf("bench: no authz set for record %d", i)
		}
		p := i % nProjects
		prog := fmt.Sprintf("p%02d", p/projectsPerProg)
		hashes := `{"md5": "` + MD5Of(i) + `"}`
		if i%4 == 0 {
			hashes = `{"md5": "` + MD5Of(i) + `", "sha256": "` + sha256Of(i) + `"}`
		}
		urls := []string{URLOf(i)}
		if i%3 == 0 {
			urls = append(urls, mirrorURLOf(i))
		}
		urlsMeta := "{}"
		if i%5 == 0 {
			urlsMeta = `{"` + URLOf(i) + `": {"state": "validated", "storage_class": "STANDARD"}}`
		}
		acl := []string{prog}
		if len(authz) == 0 {
			acl = []string{}
		}
		var version *string
		if i%10 == 0 {
			v := "1"
			version = &v
		}
		fileName := fmt.Sprintf("sample-%d.cram", i)
		size := int64(1<<20) + rng.Int64N(50<<30)
		created := epoch.Add(time.Duration(rng.Int64N(int64(3 * 365 * 24 * time.Hour))))
		metadata := fmt.Sprintf(`{"program": %q, "data_type": %q, "sample_id": "S%07d"}`, prog, dataTypes[i%len(dataTypes)], i)
		row := []any{
			DIDPrefix + uuid(), uuid(), fmt.Sprintf("%08x", rng.Uint32()), form, size, fileName, version, nil, nil,
			created, created, nil, nil,
			hashes, urls, urlsMeta, acl, authz, metadata, setID,
		}
		i++
		return row, nil
	})
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"record"}, recordCopyColumns, src); err != nil {
		return fmt.Errorf("bench: copy records: %w", err)
	}
	return nil
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
