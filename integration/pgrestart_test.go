package integration

// PostgreSQL restarted under write load (SPEC §6; issue 6 "Faults"): a
// private server is stopped cleanly (pg_ctl -m fast) and crashed (-m
// immediate: no checkpoint, the next start replays the WAL) while writers
// create records, update them (urls, metadata and authz, some authz new so
// that authz sets are created mid-load), claim aliases and add versions, and
// a reader lists and reads. During an outage every answer is 200 or a JSON
// 503 (never a 500, never a hang); the service recovers by itself; and
// afterwards every acknowledged write is present exactly as acknowledged
// (rev, urls, metadata, authz, aliases, versions) while an unacknowledged
// one is either wholly there or wholly absent. The database is then checked
// for half-applied writes: url rows match urls, every record's authz set is
// its authz, every authz set has all its prefix rows, aliases point at
// records.
//
//	INDEXD_SOAK=1   five fast stops and five crashes, twice the writers

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/internal/app"
	"github.com/datacommons/indexd/internal/devdb"
	"github.com/datacommons/indexd/policy/policytest"
)

// prState is the content of a record the writers change.
type prState struct {
	URLs     []string          `json:"urls"`
	Metadata map[string]string `json:"metadata"`
	Authz    []string          `json:"authz"`
}

func (s prState) equal(o prState) bool {
	return slices.Equal(s.URLs, o.URLs) && fmt.Sprint(s.Metadata) == fmt.Sprint(o.Metadata) && slices.Equal(s.Authz, o.Authz)
}

// prRecord is what one writer knows of a record it owns.
type prRecord struct {
	did, rev string
	state    prState
	// pending is the body of an unacknowledged update: until resolved,
	// the record is either state (at rev) or pending (at another rev).
	pending *prState
	// aliases and versions acknowledged; maybe* sent without an answer.
	aliases, maybeAliases   []string
	versions, maybeVersions []string
}

// prCreate is a record body sent to POST /index or as a new version.
type prCreate struct {
	did   string
	state prState
}

// prWriter is one writer goroutine's world (touched by it alone until the
// load stops).
type prWriter struct {
	id       int
	rng      *rand.Rand
	owned    []*prRecord
	maybe    []prCreate // creates and versions sent without an answer
	versions map[string]prCreate
	n        int
}

// prStats are shared tallies.
type prStats struct {
	mu       sync.Mutex
	status   map[string]map[int]int // op → status → count
	acked    atomic.Int64
	requests atomic.Int64
	resolved map[string]int // how unacknowledged writes turned out
}

func (s *prStats) count(op string, status int, write bool) {
	if write {
		s.requests.Add(1)
		if status == http.StatusOK || status == http.StatusCreated {
			s.acked.Add(1)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status[op] == nil {
		s.status[op] = map[int]int{}
	}
	s.status[op][status]++
}

func (s *prStats) outcome(what string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resolved[what]++
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestPostgresRestartUnderWriteLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a database server; not in -short")
	}
	soak := os.Getenv("INDEXD_SOAK") == "1"
	modes := []string{"fast", "immediate"}
	writers, perPhase := 4, 40
	if soak {
		modes = []string{"fast", "immediate", "immediate", "fast", "immediate", "fast", "immediate", "fast", "immediate", "fast"}
		writers, perPhase = 8, 200
	}
	seed := time.Now().UnixNano()
	t.Logf("restart test seed %d", seed)

	ctx := context.Background()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("indexd-pgrestart-%d", os.Getpid()))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	pg, err := devdb.StartPrivate(ctx, dir, freePort(t), testLogger())
	if err != nil {
		t.Fatalf("private PostgreSQL (install the postgresql package): %v", err)
	}
	t.Cleanup(pg.Close)
	e := start(t, pg.URL(), policytest.New(t), testLogger(), func(c *app.Config) {
		c.MigrateOnStart = true
		c.QueryTimeout = 3 * time.Second
	})
	e.Client = azClient()
	w := e.Writer()

	stats := &prStats{status: map[string]map[int]int{}, resolved: map[string]int{}}
	var (
		stop   atomic.Bool
		wg     sync.WaitGroup
		failMu sync.Mutex
		fails  []string
	)
	fail := func(format string, args ...any) {
		failMu.Lock()
		defer failMu.Unlock()
		if len(fails) < 20 {
			fails = append(fails, fmt.Sprintf(format, args...))
		}
		stop.Store(true)
	}
	// do sends one request; only 200/201 and the JSON 503 may come back
	// while the database comes and goes (409 only where noted by allow).
	do := func(op, method, path string, body any, allow ...int) (azResp, bool) {
		r, err := azDo(e, method, path, w, body)
		if err != nil {
			fail("%s %s: %v (a hang or a dropped connection)", method, path, err)
			return r, false
		}
		stats.count(op, r.Status, true)
		switch {
		case r.Status == http.StatusOK || r.Status == http.StatusCreated:
			return r, true
		case r.Status == http.StatusServiceUnavailable:
			if !azSameBody(r.Body, azBodyUnavailable) {
				fail("%s %s: 503 with body %s", method, path, azTrunc(r.Body))
			}
		case slices.Contains(allow, r.Status):
		default:
			fail("%s %s: status %d during the restarts: %s", method, path, r.Status, azTrunc(r.Body))
		}
		return r, false
	}
	// read GETs a record, waiting out an outage; 404 is reported as nil.
	read := func(did string) (*prState, string, bool) {
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			r, err := azDo(e, http.MethodGet, "/index/"+did, w, nil)
			if err != nil {
				fail("GET /index/%s: %v", did, err)
				return nil, "", false
			}
			stats.count("read", r.Status, false)
			switch r.Status {
			case http.StatusOK:
				var got struct {
					prState
					Rev string `json:"rev"`
				}
				if err := json.Unmarshal(r.Body, &got); err != nil {
					fail("GET /index/%s: %v", did, err)
					return nil, "", false
				}
				return &got.prState, got.Rev, true
			case http.StatusNotFound:
				return nil, "", true
			case http.StatusServiceUnavailable:
				continue
			default:
				fail("GET /index/%s: %d %s", did, r.Status, azTrunc(r.Body))
				return nil, "", false
			}
		}
		fail("GET /index/%s: still unavailable after a minute", did)
		return nil, "", false
	}
	// resolve settles an unacknowledged update: the record is exactly the
	// old state at the old rev, or exactly the new state at a new rev.
	resolve := func(rec *prRecord) bool {
		if rec.pending == nil {
			return true
		}
		got, rev, ok := read(rec.did)
		if !ok {
			return false
		}
		switch {
		case got == nil:
			fail("record %s vanished after an unacknowledged update", rec.did)
			return false
		case rev == rec.rev && got.equal(rec.state):
			stats.outcome("update not applied")
		case rev != rec.rev && got.equal(*rec.pending):
			stats.outcome("update applied")
			rec.rev, rec.state = rev, *rec.pending
		default:
			fail("record %s after an unacknowledged update: rev %s %+v; want rev %s %+v or a new rev with %+v (half-applied?)",
				rec.did, rev, *got, rec.rev, rec.state, *rec.pending)
			return false
		}
		rec.pending = nil
		return true
	}
	newState := func(wr *prWriter, did string) prState {
		wr.n++
		urls := []string{fmt.Sprintf("s3://pr/%s/%d", did, wr.n)}
		if wr.rng.Intn(2) == 0 {
			urls = append(urls, fmt.Sprintf("gs://pr/%s/%d", did, wr.n))
		}
		authz := []string{"/programs/p1"}
		switch wr.rng.Intn(4) {
		case 0:
			authz = []string{fmt.Sprintf("/programs/p1/w%d/n%d", wr.id, wr.n)} // a new authz set
		case 1:
			authz = []string{"/programs/p1", "/programs/p2/x"}
		}
		return prState{URLs: urls, Metadata: map[string]string{"n": fmt.Sprint(wr.n), "w": fmt.Sprint(wr.id)}, Authz: authz}
	}
	body := func(did string, st prState) map[string]any {
		return map[string]any{"did": did, "form": "object", "size": 1, "hashes": map[string]string{"md5": "0123456789abcdef0123456789abcdef"},
			"urls": st.URLs, "metadata": st.Metadata, "authz": st.Authz}
	}
	// step sends one write; it reports whether the write was acknowledged.
	step := func(wr *prWriter) bool {
		var rec *prRecord
		if len(wr.owned) > 0 {
			rec = wr.owned[wr.rng.Intn(len(wr.owned))]
			if !resolve(rec) {
				return false
			}
		}
		switch k := wr.rng.Intn(20); {
		case rec == nil || k < 7: // create
			did := fmt.Sprintf("pr-%d-%d", wr.id, wr.n)
			st := newState(wr, did)
			r, ok := do("create", http.MethodPost, "/index", body(did, st))
			if !ok {
				wr.maybe = append(wr.maybe, prCreate{did, st})
				return false
			}
			var ref struct{ Rev string }
			if json.Unmarshal(r.Body, &ref) != nil || ref.Rev == "" {
				fail("create %s: answer %s", did, r.Body)
				return false
			}
			wr.owned = append(wr.owned, &prRecord{did: did, rev: ref.Rev, state: st})
			return true
		case k < 14: // update urls, metadata and authz
			st := newState(wr, rec.did)
			r, ok := do("update", http.MethodPut, "/index/"+rec.did+"?rev="+rec.rev, map[string]any{"urls": st.URLs, "metadata": st.Metadata, "authz": st.Authz})
			if !ok {
				rec.pending = &st
				return false
			}
			var ref struct{ Rev string }
			if json.Unmarshal(r.Body, &ref) != nil || ref.Rev == "" || ref.Rev == rec.rev {
				fail("update %s: answer %s", rec.did, r.Body)
				return false
			}
			rec.rev, rec.state = ref.Rev, st
			return true
		case k < 17: // alias claim
			wr.n++
			alias := fmt.Sprintf("pr-al-%d-%d", wr.id, wr.n)
			_, ok := do("alias", http.MethodPost, "/index/"+rec.did+"/aliases", map[string]any{"aliases": []map[string]string{{"value": alias}}})
			if ok {
				rec.aliases = append(rec.aliases, alias)
			} else {
				rec.maybeAliases = append(rec.maybeAliases, alias)
			}
			return ok
		default: // new version
			wr.n++
			did := fmt.Sprintf("%s.v%d", rec.did, wr.n)
			st := newState(wr, did)
			_, ok := do("version", http.MethodPost, "/index/"+rec.did, body(did, st))
			if ok {
				rec.versions = append(rec.versions, did)
				wr.versions[did] = prCreate{did, st}
			} else {
				rec.maybeVersions = append(rec.maybeVersions, did)
				wr.maybe = append(wr.maybe, prCreate{did, st})
			}
			return ok
		}
	}

	ws := make([]*prWriter, writers)
	for i := range ws {
		ws[i] = &prWriter{id: i, rng: rand.New(rand.NewSource(seed + int64(i))), versions: map[string]prCreate{}}
		wg.Add(1)
		go func(wr *prWriter) {
			defer wg.Done()
			for !stop.Load() {
				if !step(wr) {
					time.Sleep(20 * time.Millisecond) // the outage answers at once: do not spin
				}
			}
		}(ws[i])
	}
	// A reader: lists and single reads answer 200 or the JSON 503 too.
	var readerStatus sync.Map
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			path := "/index?limit=50"
			if i%2 == 1 {
				path = "/ga4gh/drs/v1/objects?limit=20"
			}
			r, err := azDo(e, http.MethodGet, path, "", nil)
			if err != nil {
				fail("GET %s: %v", path, err)
				return
			}
			v, _ := readerStatus.LoadOrStore(r.Status, new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
			if r.Status != http.StatusOK && (r.Status != http.StatusServiceUnavailable || !azSameBody(r.Body, azErrBody(i%2 == 1, 503))) {
				fail("GET %s during the restarts: %d %s", path, r.Status, azTrunc(r.Body))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()

	waitFor := func(what string, cond func() bool) bool {
		deadline := time.Now().Add(60 * time.Second)
		for !cond() {
			if stop.Load() {
				return false
			}
			if time.Now().After(deadline) {
				fail("timed out waiting for %s", what)
				return false
			}
			time.Sleep(20 * time.Millisecond)
		}
		return true
	}
	survived := map[string]int{}
	for i, mode := range modes {
		acked := stats.acked.Load()
		if !waitFor(fmt.Sprintf("writes before restart %d", i+1), func() bool { return stats.acked.Load() >= acked+int64(perPhase) }) {
			break
		}
		unavailable := func() int64 {
			stats.mu.Lock()
			defer stats.mu.Unlock()
			n := int64(0)
			for _, byStatus := range stats.status {
				n += int64(byStatus[http.StatusServiceUnavailable])
			}
			return n
		}
		before := unavailable()
		if mode == "immediate" {
			if err := pg.Crash(); err != nil {
				fail("crash PostgreSQL: %v", err)
				break
			}
		} else {
			pg.Stop()
		}
		if !waitFor("writes to fail during the outage", func() bool { return unavailable() >= before+20 }) {
			break
		}
		if err := pg.Start(ctx); err != nil {
			fail("start PostgreSQL after %s stop: %v", mode, err)
			break
		}
		acked = stats.acked.Load()
		if !waitFor(fmt.Sprintf("writes after restart %d (%s)", i+1, mode), func() bool { return stats.acked.Load() >= acked+int64(perPhase) }) {
			break
		}
		survived[mode]++
	}
	stop.Store(true)
	wg.Wait()
	for _, f := range fails {
		t.Error(f)
	}
	if t.Failed() {
		t.FailNow()
	}

	// Every acknowledged write, exactly; every unacknowledged one whole or
	// absent.
	stop.Store(false)
	failsBefore := len(fails)
	checked := 0
	for _, wr := range ws {
		for _, rec := range wr.owned {
			if !resolve(rec) {
				continue
			}
			got, rev, ok := read(rec.did)
			checked++
			if !ok || got == nil || rev != rec.rev || !got.equal(rec.state) {
				t.Errorf("acknowledged %s: rev %s %+v after the restarts; want rev %s %+v", rec.did, rev, got, rec.rev, rec.state)
			}
			r := azMust(t, e, http.MethodGet, "/index/"+rec.did+"/aliases", w, nil)
			var al struct{ Aliases []struct{ Value string } }
			if r.Status != http.StatusOK || json.Unmarshal(r.Body, &al) != nil {
				t.Errorf("aliases of %s: %d %s", rec.did, r.Status, r.Body)
			}
			var names []string
			for _, a := range al.Aliases {
				names = append(names, a.Value)
				if !slices.Contains(rec.aliases, a.Value) && !slices.Contains(rec.maybeAliases, a.Value) {
					t.Errorf("%s has alias %s nobody claimed for it", rec.did, a.Value)
				}
			}
			for _, a := range rec.aliases {
				checked++
				if !slices.Contains(names, a) {
					t.Errorf("acknowledged alias %s of %s is missing (aliases %v)", a, rec.did, names)
				}
			}
			r = azMust(t, e, http.MethodGet, "/index/"+rec.did+"/versions", w, nil)
			var vs map[string]struct{ DID string }
			if r.Status != http.StatusOK || json.Unmarshal(r.Body, &vs) != nil {
				t.Errorf("versions of %s: %d %s", rec.did, r.Status, r.Body)
			}
			var chain []string
			for _, v := range vs {
				chain = append(chain, v.DID)
				if v.DID != rec.did && !slices.Contains(rec.versions, v.DID) && !slices.Contains(rec.maybeVersions, v.DID) {
					t.Errorf("%s has version %s nobody added", rec.did, v.DID)
				}
			}
			for _, v := range rec.versions {
				checked++
				if !slices.Contains(chain, v) {
					t.Errorf("acknowledged version %s of %s is missing (chain %v)", v, rec.did, chain)
				}
				got, _, ok := read(v)
				if !ok || got == nil || !got.equal(wr.versions[v].state) {
					t.Errorf("acknowledged version %s: %+v, want %+v", v, got, wr.versions[v].state)
				}
			}
		}
		for _, c := range wr.maybe {
			got, _, ok := read(c.did)
			switch {
			case !ok:
			case got == nil:
				stats.outcome("create not applied")
			case got.equal(c.state):
				stats.outcome("create applied")
			default:
				t.Errorf("unacknowledged create %s is there but not as sent: %+v, want %+v", c.did, *got, c.state)
			}
		}
	}

	for _, f := range fails[failsBefore:] {
		t.Error(f)
	}

	// Nothing half-applied, in the tables themselves.
	pool := e.App.Store.Pool()
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM record r WHERE
		ARRAY(SELECT DISTINCT x COLLATE "C" FROM unnest(r.urls) x ORDER BY 1) <>
		ARRAY(SELECT u.url FROM record_url u WHERE u.did = r.did ORDER BY 1)`).Scan(&n); err != nil || n != 0 {
		t.Errorf("records whose url rows are not exactly their urls: %d (%v)", n, err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM record r JOIN authz_set s ON s.id = r.authz_set_id WHERE
		s.paths <> ARRAY(SELECT DISTINCT p COLLATE "C" FROM unnest(r.authz) p ORDER BY 1)`).Scan(&n); err != nil || n != 0 {
		t.Errorf("records whose authz set is not their authz: %d (%v)", n, err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM alias a WHERE NOT EXISTS (SELECT 1 FROM record r WHERE r.did = a.did)`).Scan(&n); err != nil || n != 0 {
		t.Errorf("aliases of no record: %d (%v)", n, err)
	}
	rows, err := pool.Query(ctx, `SELECT s.id, s.paths, COALESCE(array_agg(x.path || ' ' || x.prefix) FILTER (WHERE x.set_id IS NOT NULL), '{}')
		FROM authz_set s LEFT JOIN authz_set_prefix x ON x.set_id = s.id GROUP BY s.id, s.paths`)
	if err != nil {
		t.Fatal(err)
	}
	sets := 0
	for rows.Next() {
		var id int64
		var paths, got []string
		if err := rows.Scan(&id, &paths, &got); err != nil {
			t.Fatal(err)
		}
		sets++
		var want []string
		for _, p := range paths {
			for _, pre := range discovery.Prefixes(p) {
				want = append(want, p+" "+pre)
			}
		}
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("authz set %d %v: prefix rows %v, want %v", id, paths, got, want)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	stats.mu.Lock()
	defer stats.mu.Unlock()
	var rs []string
	readerStatus.Range(func(k, v any) bool {
		rs = append(rs, fmt.Sprintf("%v:%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	sort.Strings(rs)
	t.Logf("figures: restarts survived: %v (fast = pg_ctl -m fast, immediate = crash); %d writes sent, %d acknowledged, statuses by operation %v; reader statuses %v; unacknowledged writes resolved %v; %d acknowledged records, aliases and versions checked; %d authz sets checked for prefix rows",
		survived, stats.requests.Load(), stats.acked.Load(), stats.status, rs, stats.resolved, checked, sets)
	for _, mode := range modes {
		if survived[mode] == 0 {
			t.Errorf("no %s restart completed", mode)
		}
	}
}
