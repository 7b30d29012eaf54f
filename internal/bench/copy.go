package bench

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/datacommons/indexd/discovery"
)

// The load path (issue 16: 10,000,000 records within minutes on two cores).
//
//  1. Every index of record and record_url is dropped, constraint indexes
//     included (the foreign keys that depend on record's primary key go
//     with it): maintaining a b-tree of random dids row by row costs a
//     random page access per row once it outgrows the buffer cache, and a
//     trigram GIN of every url costs more than the data.
//  2. In one transaction: TRUNCATE, then COPY … WITH (FREEZE) of record and
//     of record_url, streamed as text by a generator. Rows copied into a
//     table truncated in the same transaction are written frozen and
//     all-visible (PostgreSQL 14+ sets the visibility map), so no VACUUM
//     pass over the heap is needed for index-only scans; the loader's
//     foreign-key triggers are skipped (session_replication_role) and the
//     references checked when the constraints come back.
//  3. The constraints and indexes are rebuilt from their own catalog
//     definitions (whatever the migrations declare), the primary key first,
//     then the rest two at a time, with a large maintenance_work_mem.
//  4. ANALYZE.
//
// Records are copied in sequence order, so the heap order is unrelated to
// the did order (as in a real index, where dids are random and records
// arrive over time); each step's time is printed.

// loadMaintenanceMem is maintenance_work_mem for each of the two index
// builds that run at once.
const loadMaintenanceMem = "512MB"

// rebuildDef is an index or a constraint to restore after the copy.
type rebuildDef struct {
	name, sql string
	primary   bool // a primary key: rebuilt first (foreign keys need it)
	foreign   bool // a foreign key: rebuilt last
}

// loadTables are the tables the copy fills; everything indexed on them is
// dropped for it.
var loadTables = []string{"record", "record_url", "record_spelling"}

// load empties the tables and loads records 0..n-1.
func load(ctx context.Context, pool *pgxpool.Pool, n int, out io.Writer) error {
	step := func(what string, start time.Time) {
		fmt.Fprintf(out, "bench:   %-44s %s\n", what, time.Since(start).Round(10*time.Millisecond))
	}
	t := time.Now()
	if err := checkKnownTables(ctx, pool, out); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, "TRUNCATE alias, record_url, record, authz_set_prefix, authz_set RESTART IDENTITY CASCADE"); err != nil {
		return fmt.Errorf("bench: truncate: %w", err)
	}
	sets, err := insertSets(ctx, pool, distinctSets(n))
	if err != nil {
		return err
	}
	step(fmt.Sprintf("authz sets (%d)", len(sets)), t)

	t = time.Now()
	defs, err := dropForLoad(ctx, pool)
	if err != nil {
		return err
	}
	step(fmt.Sprintf("drop %d indexes and constraints", len(defs)), t)

	t = time.Now()
	urls, err := copyAll(ctx, pool, n, sets, out)
	if err != nil {
		return err
	}
	step(fmt.Sprintf("COPY FREEZE %d records, %d url rows", n, urls), t)

	t = time.Now()
	if err := rebuild(ctx, pool, defs, out); err != nil {
		return err
	}
	step(fmt.Sprintf("rebuild %d indexes and constraints", len(defs)), t)

	t = time.Now()
	var orphans int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM record r WHERE NOT EXISTS (SELECT 1 FROM authz_set s WHERE s.id = r.authz_set_id)`).Scan(&orphans); err != nil {
		return fmt.Errorf("bench: check authz_set references: %w", err)
	}
	if orphans > 0 {
		return fmt.Errorf("bench: %d records reference no authz set", orphans)
	}
	// authz_set_id keeps 10,000-entry statistics (the list access path
	// reads them): its ANALYZE samples up to 3,000,000 rows. Analysing it
	// on its own spares computing every other column's statistics (arrays
	// and jsonb: the costly ones) over that sample; they get the default
	// 30,000 rows.
	var cols []string
	if err := pool.QueryRow(ctx, `SELECT array_agg(quote_ident(attname) ORDER BY attnum) FROM pg_attribute
		WHERE attrelid = 'record'::regclass AND attnum > 0 AND NOT attisdropped AND attname <> 'authz_set_id'`).Scan(&cols); err != nil {
		return fmt.Errorf("bench: columns: %w", err)
	}
	for _, q := range []string{"ANALYZE record (authz_set_id)", "ANALYZE record (" + strings.Join(cols, ", ") + ")",
		"ANALYZE record_url", "ANALYZE record_spelling", "ANALYZE authz_set", "ANALYZE authz_set_prefix", "ANALYZE alias"} {
		if _, err := pool.Exec(ctx, q); err != nil {
			return fmt.Errorf("bench: %s: %w", q, err)
		}
	}
	var pages, visible int64
	if err := pool.QueryRow(ctx, "SELECT relpages, relallvisible FROM pg_class WHERE oid = 'record'::regclass").Scan(&pages, &visible); err != nil {
		return fmt.Errorf("bench: visibility map: %w", err)
	}
	step(fmt.Sprintf("check + ANALYZE (%d of %d heap pages all-visible)", visible, pages), t)
	if visible < pages*99/100 {
		// Index-only scans would visit the heap: do what VACUUM does.
		t = time.Now()
		if _, err := pool.Exec(ctx, "VACUUM record"); err != nil {
			return fmt.Errorf("bench: vacuum: %w", err)
		}
		step("VACUUM (the copy left pages not all-visible)", t)
	}
	return nil
}

// dropForLoad drops every index and constraint index of the loaded tables
// (and the foreign keys elsewhere that depend on them), returning how to
// restore each.
func dropForLoad(ctx context.Context, pool *pgxpool.Pool) ([]rebuildDef, error) {
	var defs []rebuildDef
	// Constraints backed by an index on the loaded tables, and the foreign
	// keys that depend on those (on any table).
	rows, err := pool.Query(ctx, `
		SELECT c.conname, c.conrelid::regclass::text, c.contype::text, pg_get_constraintdef(c.oid)
		FROM pg_constraint c
		WHERE (c.conrelid::regclass::text = ANY($1) AND c.contype IN ('p', 'u', 'x'))
		   OR (c.contype = 'f' AND c.confrelid::regclass::text = ANY($1))
		ORDER BY c.contype = 'f' DESC, c.conname`, loadTables)
	if err != nil {
		return nil, fmt.Errorf("bench: list constraints: %w", err)
	}
	type con struct{ name, table, kind, def string }
	var cons []con
	for rows.Next() {
		var c con
		if err := rows.Scan(&c.name, &c.table, &c.kind, &c.def); err != nil {
			return nil, err
		}
		cons = append(cons, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("bench: list constraints: %w", err)
	}
	// Plain indexes.
	rows, err = pool.Query(ctx, `SELECT i.indexname, i.indexdef FROM pg_indexes i
		WHERE i.schemaname = 'public' AND i.tablename = ANY($1)
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`, loadTables)
	if err != nil {
		return nil, fmt.Errorf("bench: list indexes: %w", err)
	}
	for rows.Next() {
		var d rebuildDef
		if err := rows.Scan(&d.name, &d.sql); err != nil {
			return nil, err
		}
		defs = append(defs, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("bench: list indexes: %w", err)
	}
	// Foreign keys first (they depend on the keys), then keys.
	for _, c := range cons {
		tbl := pgx.Identifier{c.table}.Sanitize()
		if _, err := pool.Exec(ctx, "ALTER TABLE "+tbl+" DROP CONSTRAINT "+pgx.Identifier{c.name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("bench: drop constraint %s: %w", c.name, err)
		}
		defs = append(defs, rebuildDef{name: c.name, primary: c.kind == "p", foreign: c.kind == "f",
			sql: "ALTER TABLE " + tbl + " ADD CONSTRAINT " + pgx.Identifier{c.name}.Sanitize() + " " + c.def})
	}
	for _, d := range defs {
		if d.primary || d.foreign || strings.HasPrefix(d.sql, "ALTER TABLE") {
			continue
		}
		if _, err := pool.Exec(ctx, "DROP INDEX "+pgx.Identifier{d.name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("bench: drop index %s: %w", d.name, err)
		}
	}
	return defs, nil
}

// rebuild restores defs: primary keys, then indexes and unique keys two at
// a time, then foreign keys (validated: they check every reference).
func rebuild(ctx context.Context, pool *pgxpool.Pool, defs []rebuildDef, out io.Writer) error {
	var mu sync.Mutex // out, written by two builds at once
	run := func(ctx context.Context, d rebuildDef) error {
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		if _, err := conn.Exec(ctx, "SET maintenance_work_mem = '"+loadMaintenanceMem+"'"); err != nil {
			return err
		}
		start := time.Now()
		if _, err := conn.Exec(ctx, d.sql); err != nil {
			return fmt.Errorf("bench: rebuild %s: %w", d.name, err)
		}
		mu.Lock()
		fmt.Fprintf(out, "bench:     %-42s %s\n", d.name, time.Since(start).Round(10*time.Millisecond))
		mu.Unlock()
		return nil
	}
	for _, phase := range []func(rebuildDef) bool{
		func(d rebuildDef) bool { return d.primary },
		func(d rebuildDef) bool { return !d.primary && !d.foreign },
		func(d rebuildDef) bool { return d.foreign },
	} {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(2)
		for _, d := range defs {
			if phase(d) {
				g.Go(func() error { return run(gctx, d) })
			}
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	return nil
}

var recordCopyColumns = []string{
	"did", "baseid", "rev", "form", "size", "file_name", "version", "uploader", "description",
	"created_date", "updated_date", "content_created_date", "content_updated_date",
	"hashes", "urls", "urls_metadata", "acl", "authz", "metadata", "authz_set_id",
}

var dataTypes = []string{"WGS", "WXS", "RNA-Seq", "Methylation Array", "Clinical Supplement"}

// generator produces records 0..n-1: the same pseudo-random values for the
// same n however often it runs (it is run twice: for record, then for
// record_url).
type generator struct {
	n     int
	rng   *rand.Rand
	i     int
	sets  map[string]int64
	epoch time.Time
	// per-record values
	did, baseid, rev string
	size             int64
	created          time.Time
	// caches
	single, multi [nProjects]int64
	empty         int64
	scratch       []byte
}

func newGenerator(n int, sets map[string]int64) *generator {
	return &generator{n: n, rng: rand.New(rand.NewPCG(uint64(n), 0x1d3e5)), sets: sets,
		epoch: time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (g *generator) uuid() string {
	var b [16]byte
	hi, lo := g.rng.Uint64(), g.rng.Uint64()
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

// next draws record i's random values (in the order earlier harness
// versions drew them, so the data set is unchanged).
func (g *generator) next() bool {
	if g.i >= g.n {
		return false
	}
	g.size = int64(1<<20) + g.rng.Int64N(50<<30)
	g.created = g.epoch.Add(time.Duration(g.rng.Int64N(int64(3 * 365 * 24 * time.Hour))))
	g.did = DIDPrefix + g.uuid()
	g.baseid = g.uuid()
	var rev [4]byte
	binary.BigEndian.PutUint32(rev[:], g.rng.Uint32())
	g.rev = hex.EncodeToString(rev[:])
	g.i++
	return true
}

// urls are record i's urls (i is the record just drawn).
func urlsOf(i int) []string {
	if i%3 == 0 {
		return []string{URLOf(i), mirrorURLOf(i)}
	}
	return []string{URLOf(i)}
}

// appendText appends one COPY text-format field with the format's escapes.
func appendText(b []byte, v string) []byte {
	for k := 0; k < len(v); k++ {
		switch c := v[k]; c {
		case '\\':
			b = append(b, '\\', '\\')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendArray appends a text[] literal as a COPY field, every element
// quoted (a backslash or quote in an element is escaped for the array
// literal, and that backslash again for COPY).
func appendArray(b []byte, xs []string) []byte {
	b = append(b, '{')
	for k, x := range xs {
		if k > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		for j := 0; j < len(x); j++ {
			switch c := x[j]; c {
			case '"', '\\':
				b = append(b, '\\', '\\', c)
				if c == '\\' {
					b = append(b, '\\')
				}
			default:
				b = appendText(b, x[j:j+1])
			}
		}
		b = append(b, '"')
	}
	return append(b, '}')
}

// appendTimestamp appends t (UTC) as 2006-01-02 15:04:05.000000+00.
func appendTimestamp(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	pad := func(b []byte, v, width int) []byte {
		var tmp [8]byte
		for k := width - 1; k >= 0; k-- {
			tmp[k] = byte('0' + v%10)
			v /= 10
		}
		return append(b, tmp[:width]...)
	}
	b = pad(b, y, 4)
	b = append(b, '-')
	b = pad(b, int(mo), 2)
	b = append(b, '-')
	b = pad(b, d, 2)
	b = append(b, ' ')
	b = pad(b, h, 2)
	b = append(b, ':')
	b = pad(b, mi, 2)
	b = append(b, ':')
	b = pad(b, sec, 2)
	b = append(b, '.')
	b = pad(b, t.Nanosecond()/1000, 6)
	return append(b, "+00"...)
}

// setID is the authz set of record i (cached per project and kind).
func (g *generator) setID(i int) (int64, error) {
	p := i % nProjects
	var slot *int64
	switch kindOf(i) {
	case kindSingle:
		slot = &g.single[p]
	case kindMulti:
		slot = &g.multi[p]
	case kindEmpty:
		slot = &g.empty
	}
	if slot != nil && *slot != 0 {
		return *slot, nil
	}
	id, ok := g.sets[setKey(discovery.CanonicalSet(AuthzOf(i)))]
	if !ok {
		return 0, fmt.Errorf("bench: no authz set for record %d", i)
	}
	if slot != nil {
		*slot = id
	}
	return id, nil
}

// appendRecord appends record i (just drawn by g) as a COPY text row.
func (g *generator) appendRecord(b []byte, i int) ([]byte, error) {
	setID, err := g.setID(i)
	if err != nil {
		return b, err
	}
	authz := AuthzOf(i)
	p := i % nProjects
	prog := projectProg[p/projectsPerProg]
	sum := md5.Sum(strconv.AppendInt(append(g.scratch[:0], "bench:"...), int64(i), 10))
	b = append(b, g.did...)
	b = append(b, '\t')
	b = append(b, g.baseid...)
	b = append(b, '\t')
	b = append(b, g.rev...)
	b = append(b, "\tobject\t"...)
	b = strconv.AppendInt(b, g.size, 10)
	b = append(b, "\tsample-"...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, ".cram\t"...)
	if i%10 == 0 {
		b = append(b, '1')
	} else {
		b = append(b, "\\N"...)
	}
	b = append(b, "\t\\N\t\\N\t"...)
	b = appendTimestamp(b, g.created)
	b = append(b, '\t')
	b = appendTimestamp(b, g.created)
	b = append(b, "\t\\N\t\\N\t"...)
	b = append(b, `{"md5": "`...)
	b = hex.AppendEncode(b, sum[:])
	if i%4 == 0 {
		b = append(b, `", "sha256": "`...)
		b = append(b, sha256Of(i)...)
	}
	b = append(b, `"}`...)
	b = append(b, '\t')
	b = appendArray(b, urlsOf(i))
	b = append(b, '\t')
	if i%5 == 0 {
		b = append(b, `{"`...)
		b = appendText(b, URLOf(i))
		b = append(b, `": {"state": "validated", "storage_class": "STANDARD"}}`...)
	} else {
		b = append(b, "{}"...)
	}
	b = append(b, '\t')
	if len(authz) == 0 {
		b = append(b, "{}"...)
	} else {
		b = appendArray(b, []string{prog})
	}
	b = append(b, '\t')
	b = appendArray(b, authz)
	b = append(b, '\t')
	b = append(b, `{"program": "`...)
	b = append(b, prog...)
	b = append(b, `", "data_type": "`...)
	b = append(b, dataTypes[i%len(dataTypes)]...)
	b = append(b, `", "sample_id": "S`...)
	if d := len(strconv.Itoa(i)); d < 7 {
		b = append(b, "0000000"[:7-d]...)
	}
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `"}`...)
	b = append(b, '\t')
	b = strconv.AppendInt(b, setID, 10)
	return append(b, '\n'), nil
}

// projectProg are the programs' names (p00 … p49).
var projectProg = func() []string {
	out := make([]string, nPrograms)
	for k := range out {
		out[k] = fmt.Sprintf("p%02d", k)
	}
	return out
}()

// stream runs produce into a COPY … FROM STDIN on conn.
func stream(ctx context.Context, conn *pgxpool.Conn, sql string, produce func(w *bufio.Writer) error) error {
	pr, pw := io.Pipe()
	go func() {
		bw := bufio.NewWriterSize(pw, 1<<20)
		err := produce(bw)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
	}()
	_, err := conn.Conn().PgConn().CopyFrom(ctx, pr, sql)
	_ = pr.CloseWithError(io.ErrClosedPipe) // stops the producer if the copy failed first
	return err
}

// copyAll fills record and record_url in one transaction with COPY FREEZE
// and returns the number of url rows.
func copyAll(ctx context.Context, pool *pgxpool.Pool, n int, sets map[string]int64, out io.Writer) (int, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Release()
	for _, s := range []string{"SET synchronous_commit = off", "SET session_replication_role = replica"} {
		if _, err := conn.Exec(ctx, s); err != nil {
			return 0, fmt.Errorf("bench: %s (the loader needs a superuser): %w", s, err)
		}
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "SET session_replication_role = DEFAULT") }()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "TRUNCATE alias, record_url, record_spelling, record"); err != nil {
		return 0, fmt.Errorf("bench: truncate: %w", err)
	}
	t := time.Now()
	cols := strings.Join(recordCopyColumns, ", ")
	err = stream(ctx, conn, "COPY record ("+cols+") FROM STDIN WITH (FREEZE)", func(w *bufio.Writer) error {
		g := newGenerator(n, sets)
		var row []byte
		for i := 0; g.next(); i++ {
			var err error
			if row, err = g.appendRecord(row[:0], i); err != nil {
				return err
			}
			if _, err := w.Write(row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("bench: copy records: %w", err)
	}
	fmt.Fprintf(out, "bench:     %-42s %s\n", "record", time.Since(t).Round(10*time.Millisecond))
	t = time.Now()
	urls := 0
	err = stream(ctx, conn, "COPY record_url (url, did) FROM STDIN WITH (FREEZE)", func(w *bufio.Writer) error {
		g := newGenerator(n, sets)
		var row []byte
		for i := 0; g.next(); i++ {
			for _, u := range urlsOf(i) {
				row = append(appendText(row[:0], u), '\t')
				row = append(append(row, g.did...), '\n')
				if _, err := w.Write(row); err != nil {
					return err
				}
				urls++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("bench: copy record_url: %w", err)
	}
	fmt.Fprintf(out, "bench:     %-42s %s\n", "record_url", time.Since(t).Round(10*time.Millisecond))
	// record_spelling (migration 00005): every did answers to itself, as
	// the repository's writes keep it (repository/spellings.go); the
	// loaded records have no aliases. Its indexes are dropped too.
	t = time.Now()
	if _, err := tx.Exec(ctx, "INSERT INTO record_spelling (spelling, did, kind) SELECT did, did, 'did' FROM record"); err != nil {
		return 0, fmt.Errorf("bench: fill record_spelling: %w", err)
	}
	fmt.Fprintf(out, "bench:     %-42s %s\n", "record_spelling", time.Since(t).Round(10*time.Millisecond))
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("bench: commit the copy: %w", err)
	}
	return urls, nil
}
