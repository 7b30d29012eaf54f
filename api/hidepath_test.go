package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/identity"
	"github.com/datacommons/indexd/internal/testdb"
	"github.com/datacommons/indexd/policy"
	"github.com/datacommons/indexd/policy/policytest"
	"github.com/datacommons/indexd/repository"
)

// sqlTrace records the text of every statement run on a pool.
type sqlTrace struct {
	mu    sync.Mutex
	stmts []string
}

func (s *sqlTrace) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	s.mu.Lock()
	s.stmts = append(s.stmts, strings.Join(strings.Fields(d.SQL), " "))
	s.mu.Unlock()
	return ctx
}

func (s *sqlTrace) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (s *sqlTrace) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.stmts
	s.stmts = nil
	return out
}

// hideFixture is a hide_existence server on a traced store, with a record
// (did, alias, baseid) its caller cannot see.
type hideFixture struct {
	srv              *Server
	trace            *sqlTrace
	caller           string
	did, alias, base string
}

func newHideFixture(tb testing.TB, setCache bool) *hideFixture {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, err := pgxpool.ParseConfig(testdb.NewDatabase(tb))
	if err != nil {
		tb.Fatal(err)
	}
	trace := &sqlTrace{}
	cfg.ConnConfig.Tracer = trace
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	// The statement test runs without the visible-set cache: every request
	// resolves the caller's sets, so the statements of a request do not
	// depend on the ones before it. The benchmark keeps it, as served.
	opts := repository.Options{VisibleSetTTL: -1, HideExistence: true}
	if setCache {
		opts.VisibleSetTTL = time.Minute
	}
	store := repository.New(pool, opts)
	arb := policytest.New(tb)
	authn, err := identity.New(identity.Config{}, store)
	if err != nil {
		tb.Fatal(err)
	}
	pol := policy.NewCached(policy.NewArborist(arb.URL(), 2*time.Second, nil), time.Hour)
	srv, err := New(Config{HideExistence: true, DRSMaxBulk: 1000}, store, pol, authn,
		NewSettingsHolder(discovery.Settings{GlobalDiscoveryAuthz: []string{}}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	f := &hideFixture{srv: srv, trace: trace, did: "dg.H/00000000-0000-4000-8000-0000000000a1", alias: "hide-alias-a1"}
	ref, err := store.Create(ctx, newRecordForTest(f.did, "/programs/secret"))
	if err != nil {
		tb.Fatal(err)
	}
	f.base = ref.BaseID
	if _, err := store.AddAliases(ctx, f.did, ref.Rev, []string{f.alias}, false); err != nil {
		tb.Fatal(err)
	}
	// The caller sees a record of its own, so the visibility predicate is
	// a real one (with arguments), not FALSE.
	if _, err := store.Create(ctx, newRecordForTest("dg.H/00000000-0000-4000-8000-0000000000b1", "/programs/mine")); err != nil {
		tb.Fatal(err)
	}
	tok := arb.Token("hide-reader", time.Hour)
	arb.SetGrants("hide-reader", map[string][]string{"/programs/mine": {"read"}})
	f.caller = "Bearer " + tok
	f.get(tb, "/_stats") // the caller's mapping is cached from here on
	trace.take()
	return f
}

func (f *hideFixture) get(tb testing.TB, path string) (int, string) {
	tb.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", f.caller)
	rec := httptest.NewRecorder()
	f.srv.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// hideProbes pairs a read of an invisible record with the same read of an
// id nobody holds.
func (f *hideFixture) probes() [][2]string {
	const missing = "dg.H/00000000-0000-4000-8000-00000000ffff"
	var out [][2]string
	for _, id := range []string{f.did, f.alias} {
		for _, sub := range []string{"", "/versions", "/latest", "/latest?has_version=true"} {
			out = append(out, [2]string{"/index/" + id + sub, "/index/" + missing + sub})
		}
		out = append(out, [2]string{"/" + id, "/" + missing}, [2]string{"/ga4gh/drs/v1/objects/" + id, "/ga4gh/drs/v1/objects/" + missing})
	}
	for _, sub := range []string{"/versions", "/latest", "/latest?has_version=true"} {
		out = append(out, [2]string{"/index/" + f.base + sub, "/index/" + missing + sub})
	}
	return out
}

// Finding 5 of issue 12: under hide_existence an invisible record and a
// missing id answered the same body, but a missing id ran more statements
// (the alias, then the baseid lookup), which showed in the timing. Every
// single read now runs exactly the same statements for both.
func TestHideExistenceSameStatements(t *testing.T) {
	f := newHideFixture(t, false)
	for _, p := range f.probes() {
		invStatus, invBody := f.get(t, p[0])
		inv := f.trace.take()
		misStatus, misBody := f.get(t, p[1])
		mis := f.trace.take()
		if invStatus != http.StatusNotFound || misStatus != invStatus || invBody != misBody {
			t.Errorf("%s vs %s: %d %s / %d %s, want the same 404", p[0], p[1], invStatus, invBody, misStatus, misBody)
		}
		if !slices.Equal(inv, mis) {
			t.Errorf("%s ran %d statements %q\n%s ran %d statements %q\nwant the same", p[0], len(inv), inv, p[1], len(mis), mis)
		}
	}
}

// newRecordForTest is a DRS object with one authz path.
func newRecordForTest(did, authz string) indexd.NewRecord {
	size := int64(10)
	return indexd.NewRecord{DID: did, Size: &size, Hashes: map[string]string{"md5": "0123456789abcdef0123456789abcdef"},
		URLs: []string{"s3://bucket/" + strings.ReplaceAll(did, "/", "_")}, Authz: []string{authz}}
}

// BenchmarkHideExistenceMissingVsInvisible measures, under hide_existence,
// single reads of an invisible record against the same reads of a missing
// id, interleaved (in alternating order), through the handler and real
// PostgreSQL. It reports each side's median and their ratio; issue 12 asks
// for medians within 5 % of each other (docs/performance.md). A benchmark,
// not a test: timing is measured, never asserted.
//
//	go test -run '^$' -bench HideExistence -benchtime 2000x ./api/
func BenchmarkHideExistenceMissingVsInvisible(b *testing.B) {
	f := newHideFixture(b, true)
	const missing = "dg.H/00000000-0000-4000-8000-00000000ffff"
	for _, c := range []struct{ name, invisible, missing string }{
		{"GET_id", "/" + f.did, "/" + missing},
		{"GET_alias", "/" + f.alias, "/" + missing},
		{"GET_index_id", "/index/" + f.did, "/index/" + missing},
		{"versions", "/index/" + f.did + "/versions", "/index/" + missing + "/versions"},
		{"latest", "/index/" + f.did + "/latest", "/index/" + missing + "/latest"},
		{"latest_by_baseid", "/index/" + f.base + "/latest", "/index/" + missing + "/latest"},
		{"DRS_object", "/ga4gh/drs/v1/objects/" + f.did, "/ga4gh/drs/v1/objects/" + missing},
	} {
		b.Run(c.name, func(b *testing.B) {
			var inv, mis []time.Duration
			timed := func(path string) time.Duration {
				start := time.Now()
				if code, _ := f.get(b, path); code != http.StatusNotFound {
					b.Fatalf("%s: %d", path, code)
				}
				return time.Since(start)
			}
			i := 0
			for b.Loop() {
				if i%2 == 0 {
					inv = append(inv, timed(c.invisible))
					mis = append(mis, timed(c.missing))
				} else {
					mis = append(mis, timed(c.missing))
					inv = append(inv, timed(c.invisible))
				}
				i++
			}
			mi, mm := median(inv), median(mis)
			b.ReportMetric(float64(mi.Microseconds()), "invisible-µs")
			b.ReportMetric(float64(mm.Microseconds()), "missing-µs")
			b.ReportMetric(float64(mm)/float64(mi), "missing/invisible")
		})
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
