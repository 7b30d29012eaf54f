package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/internal/testdb"
)

// The data set's proportions are what the scenarios are named after.
func TestDataSetShape(t *testing.T) {
	const n = 1_000_000
	counts := map[kind]int{}
	sets := map[string]bool{}
	for i := 0; i < n; i++ {
		counts[kindOf(i)]++
		sets[setKey(discovery.CanonicalSet(AuthzOf(i)))] = true
	}
	if counts[kindRare] != 100 || counts[kindEmpty] < 4900 || counts[kindEmpty] > 5100 || counts[kindMulti] < 9800 || counts[kindMulti] > 10100 {
		t.Errorf("kinds = %v", counts)
	}
	if len(sets) != len(distinctSets(n)) {
		t.Errorf("records use %d sets, distinctSets lists %d", len(sets), len(distinctSets(n)))
	}

	const m = 100_000 // visibility on a tenth: 10 rare records
	us := users(m)
	visible := map[string]int{}
	for i := 0; i < m; i++ {
		a := AuthzOf(i)
		for _, u := range us[:3] {
			if discovery.Visible(discovery.Context{AuthorizedResources: u.Grants}, a) {
				visible[u.Name]++
			}
		}
		if i < 20_000 && discovery.Visible(discovery.Context{AuthorizedResources: us[3].Grants}, a) != discovery.Visible(discovery.Context{AuthorizedResources: us[1].Grants}, a) {
			t.Fatalf("record %d: %s and %s disagree", i, UserMany, User1)
		}
	}
	if v := visible[User10]; v < 9_500 || v > 10_500 {
		t.Errorf("%s sees %d of %d records", User10, v, m)
	}
	if v := visible[User1]; v < 900 || v > 1_100 {
		t.Errorf("%s sees %d of %d records", User1, v, m)
	}
	if v := visible[User001]; v != 10 {
		t.Errorf("%s sees %d records, want 10", User001, v)
	}
	if len(us[3].Grants) != 5000 {
		t.Errorf("%s holds %d paths", UserMany, len(us[3].Grants))
	}
}

func TestPickVisibleTo10(t *testing.T) {
	ctx := discovery.Context{AuthorizedResources: users(20000)[0].Grants}
	hidden := 0
	for a := 0; a < 100; a++ {
		for b := 0; b < 20; b++ {
			if !discovery.Visible(ctx, AuthzOf(pickVisibleTo10(20000, a, b))) {
				hidden++
			}
		}
	}
	if hidden > 2000/100 { // only the empty-authz block
		t.Errorf("%d of 2000 picks are not visible to %s", hidden, User10)
	}
}

func TestTokenShape(t *testing.T) {
	tok := mintToken("someone")
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || strings.ContainsAny(tok, "+/=") {
		t.Fatalf("token %q is not three base64url segments", tok)
	}
}

func TestReplay(t *testing.T) {
	hash, _ := json.Marshal(map[string]string{"md5": MD5Of(7)})
	raw, err := replay([]capturedStmt{
		{SQL: "SELECT 1 FROM t WHERE a = ANY($1::bigint[]) AND b > $2 AND c @> $3::jsonb AND d = '$9' LIMIT $4", Args: []any{[]int64{1, 2}, "", string(hash), uint64(101)}},
	}, `\set i 7`+"\n", map[string]string{string(hash): "expr(:i)"})
	if err != nil {
		t.Fatal(err)
	}
	want := "SELECT 1 FROM t WHERE a = ANY(:s1p1::bigint[]) AND b > '' AND c @> (expr(:i))::jsonb AND d = '$9' LIMIT :s1p4"
	if raw.Stmts[0] != want {
		t.Errorf("replay:\n got %s\nwant %s", raw.Stmts[0], want)
	}
	if raw.Defines["s1p1"] != "{1,2}" || raw.Defines["s1p4"] != "101" {
		t.Errorf("defines = %v", raw.Defines)
	}
	got := substitute(raw.Stmts[0], func(n string) string { return "<" + n + ">" })
	if !strings.Contains(got, "ANY(<s1p1>::bigint[])") || !strings.Contains(got, "expr(<i>)") {
		t.Errorf("substitute: %s", got)
	}
}

func TestTextArrayAndPercentiles(t *testing.T) {
	if got := textArray([]string{`/a`, `b"c`, `d\e`}); got != `{"/a","b\"c","d\\e"}` {
		t.Errorf("textArray = %s", got)
	}
	var xs []time.Duration
	for i := 1; i <= 100; i++ {
		xs = append(xs, time.Duration(i)*time.Millisecond)
	}
	p50, p95, p99 := percentiles(xs)
	if p50 != 50*time.Millisecond || p95 != 95*time.Millisecond || p99 != 99*time.Millisecond {
		t.Errorf("percentiles = %v %v %v", p50, p95, p99)
	}
}

// BenchmarkGenerateRecords: the loader's generator alone (COPY text rows
// of 1,000 records), what the load costs on the harness's side.
func BenchmarkGenerateRecords(b *testing.B) {
	sets := map[string]int64{}
	for i, s := range distinctSets(1000) {
		sets[setKey(s)] = int64(i + 1)
	}
	w := bufio.NewWriter(io.Discard)
	b.ReportAllocs()
	var row []byte
	for k := 0; k < b.N; k++ {
		g := newGenerator(1000, sets)
		for i := 0; g.next(); i++ {
			var err error
			if row, err = g.appendRecord(row[:0], i); err != nil {
				b.Fatal(err)
			}
			_, _ = w.Write(row)
		}
	}
}

func TestParseSizesAndNames(t *testing.T) {
	got, err := ParseSizes("100k, 1m,10M,2500")
	if err != nil || len(got) != 4 || got[0] != 100_000 || got[1] != 1_000_000 || got[2] != 10_000_000 || got[3] != 2500 {
		t.Fatalf("ParseSizes = %v, %v", got, err)
	}
	for _, bad := range []string{"", "k", "-1", "1x", "100k,,1m"} {
		if _, err := ParseSizes(bad); err == nil {
			t.Errorf("ParseSizes(%q) accepted", bad)
		}
	}
	u, err := sizedURL("postgres://postgres:pw@127.0.0.1:5432/indexd_bench_i16?sslmode=disable", 10_000_000)
	if err != nil || u != "postgres://postgres:pw@127.0.0.1:5432/indexd_bench_i16_10m?sslmode=disable" {
		t.Fatalf("sizedURL = %q, %v", u, err)
	}
	if r := redactURL(u); strings.Contains(r, "pw") {
		t.Errorf("redactURL kept the password: %s", r)
	}
	if k := growthKey("GET /index page 10000 via cursor (discovery on)"); k != "GET /index page N via cursor (discovery on)" {
		t.Errorf("growthKey = %q", k)
	}
	if k := growthKey("GET /index page 1 (discovery on)"); k != "GET /index page 1 (discovery on)" {
		t.Errorf("growthKey = %q", k)
	}
	if q := perDecade(4, 100_000, 10_000_000); q < 1.999 || q > 2.001 {
		t.Errorf("4× over two decades is %.3f× per decade", q)
	}
}

// TestLoadPath: the COPY FREEZE loader fills the data set exactly (every
// record, url row and index; the schema as the migrations make it; the
// heap all-visible, so index-only scans need no VACUUM), and its COPY
// escapes round-trip through PostgreSQL.
func TestLoadPath(t *testing.T) {
	ctx := context.Background()
	dbURL := testdb.NewDatabase(t)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	const n = 20_000
	var out strings.Builder
	if err := load(ctx, pool, n, &out); err != nil {
		t.Fatalf("load: %v\n%s", err, out.String())
	}
	var recs, urls, badURLs, pages, visible, md5s int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM record), (SELECT count(*) FROM record_url),
		(SELECT count(*) FROM record r WHERE r.urls <> ARRAY(SELECT u.url FROM record_url u WHERE u.did = r.did ORDER BY u.url COLLATE "C" DESC)
		   AND r.urls <> ARRAY(SELECT u.url FROM record_url u WHERE u.did = r.did ORDER BY u.url COLLATE "C")),
		(SELECT relpages FROM pg_class WHERE oid = 'record'::regclass), (SELECT relallvisible FROM pg_class WHERE oid = 'record'::regclass),
		(SELECT count(*) FROM record WHERE hashes->>'md5' = md5('bench:' || substring(file_name from 'sample-(\d+)')))`).
		Scan(&recs, &urls, &badURLs, &pages, &visible, &md5s); err != nil {
		t.Fatal(err)
	}
	if recs != n || urls != n+n/3+1 || badURLs != 0 || md5s != n || visible != pages {
		t.Errorf("records %d, url rows %d, records whose url rows differ %d, md5s %d, all-visible %d of %d pages", recs, urls, badURLs, md5s, visible, pages)
	}
	if stale, err := schemaStale(ctx, pool, dbURL); err != nil || stale {
		t.Errorf("after the load the schema differs from the migrations' (stale %v, %v):\n%s", stale, err, out.String())
	}
	// Every kind of record is where the data set puts it.
	sets, err := readSets(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 200, 9999, 12345, n - 1} {
		var authz []string
		var setID int64
		if err := pool.QueryRow(ctx, "SELECT authz, authz_set_id FROM record WHERE file_name = $1", fmt.Sprintf("sample-%d.cram", i)).Scan(&authz, &setID); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(authz, AuthzOf(i)) || sets[setKey(discovery.CanonicalSet(authz))] != setID {
			t.Errorf("record %d: authz %v set %d", i, authz, setID)
		}
	}
	// The escapes of the COPY text format and of array literals.
	tricky := []string{`a"b`, `c\d`, "tab\there", "nl\nx", "cr\rx", `{},`, " sp ", "", "ü"}
	row := appendArray(nil, tricky)
	row = append(append(row, '\t'), appendText(nil, "x\\y\tz\n")...)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "CREATE TEMP TABLE esc (a text[], t text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Conn().PgConn().CopyFrom(ctx, strings.NewReader(string(row)+"\n"), "COPY esc FROM STDIN"); err != nil {
		t.Fatal(err)
	}
	var a []string
	var s string
	if err := conn.QueryRow(ctx, "SELECT a, t FROM esc").Scan(&a, &s); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a, tricky) || s != "x\\y\tz\n" {
		t.Errorf("round trip: %q %q", a, s)
	}
	if ts := string(appendTimestamp(nil, time.Date(2024, 3, 5, 7, 8, 9, 123456789, time.UTC))); ts != "2024-03-05 07:08:09.123456+00" {
		t.Errorf("appendTimestamp = %s", ts)
	}
}
