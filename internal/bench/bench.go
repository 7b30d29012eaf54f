// Package bench is the load harness behind `indexd bench`: it loads a
// dedicated PostgreSQL database (indexd_bench by default) with N synthetic
// records using COPY, starts the service against it with a tiny
// Arborist-speaking policy server on loopback, drives HTTP load at a fixed
// concurrency for a fixed time per scenario, runs the hand-written SQL
// equivalent of each list scenario through pgbench for the physical limit,
// and prints one table: requests/s, p50/p95/p99, errors, the raw-SQL
// figures and their ratio, the service's RSS, the policy server's call
// counts per caller, and whether each performance target is met.
//
// The data set is deterministic (see data.go): 200 projects in 50
// programs, a few two-path and empty-authz records, and N/10,000 records
// with a path of their own; authz_set and authz_set_prefix rows are
// created exactly as the repository creates them on write. Callers see
// ≈10 %, ≈1 % and 0.01 % of the records.
//
// See docs/performance.md for the figures and how to read them.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/repository"
)

// DefaultDBURL is the bench database used when none is given.
const DefaultDBURL = "postgres://postgres@127.0.0.1:5432/indexd_bench?sslmode=disable"

// Config configures a run.
type Config struct {
	// N is the number of records (default 1,000,000).
	N int
	// storageConfig is the service's storage configuration (written by
	// startService: the bench bucket, for the access route).
	storageConfig string
	// Sizes, when set, runs the harness once per record count, each in a
	// database of its own (DBURL's name + "_100k", "_1m", "_10m", …), and
	// then prints how each scenario's figures grow from size to size.
	Sizes []int
	// Cold drops the OS page cache before each scenario and skips the
	// warm-ups (needs root; PostgreSQL's shared buffers stay as they are).
	Cold bool
	// Duration is how long each scenario is measured (default 10 s), after
	// a warm-up of a tenth of it (at most 2 s).
	Duration time.Duration
	// Concurrency is the number of concurrent HTTP workers and pgbench
	// clients (default 8).
	Concurrency int
	// DBURL is the dedicated bench database (DefaultDBURL); it is created
	// when absent and never shared with anything else.
	DBURL string
	// Fresh drops and reloads the database even when it holds N records.
	Fresh bool
	// ServiceBinary is an indexd executable to run as `indexd serve` in a
	// child process; with InProcess (or when empty) the service runs in
	// this process instead, and the reported RSS includes the harness.
	ServiceBinary string
	InProcess     bool
	// PolicyTTL is the service's mapping cache TTL (default 60 s).
	PolicyTTL time.Duration
	// DBConns is the service's pool size (0: the service default).
	DBConns int
	// LogLevel of the service (default "warn": per-request access logs
	// are off so they do not dominate the figures).
	LogLevel string
	// Only runs the scenarios whose name matches this regexp.
	Only string
	// NoPgbench skips the raw-SQL comparison.
	NoPgbench bool
	// Explain prints EXPLAIN (ANALYZE, BUFFERS) of each list scenario's
	// SQL and exits without driving load.
	Explain bool
	// CPUProfile, when set, writes a CPU profile of this process while the
	// scenarios run (with InProcess it includes the service).
	CPUProfile string
	// Out receives the report (default os.Stdout).
	Out io.Writer
}

func (c *Config) defaults() {
	if c.N <= 0 {
		c.N = 1_000_000
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 8
	}
	if c.DBURL == "" {
		c.DBURL = DefaultDBURL
	}
	if c.PolicyTTL <= 0 {
		c.PolicyTTL = 60 * time.Second
	}
	if c.LogLevel == "" {
		c.LogLevel = "warn"
	}
	if c.Out == nil {
		c.Out = os.Stdout
	}
}

// result is one scenario's row.
type result struct {
	sc   *scenario
	NA   string // why the row is not applicable
	Rows int    // items in one response (probe)
	Load loadResult
	CPU  cpuUse // per request
	RSS  int64
	// Blocks are the database's shared-buffer blocks per request: found
	// in shared buffers, and read (from the OS page cache or the disk).
	Blocks blocksPer
	// Raw: the hand-written SQL; Svc: the service's own statements.
	Raw, Svc     *rawRun
	RawNA, SvcNA string
}

// rawRun is one pgbench run and its database CPU per transaction.
type rawRun struct {
	*pgbenchResult
	CPU cpuUse
}

// runOne runs the harness at one size (cfg.N records in cfg.DBURL) and
// leaves its report in done.
func runOne(ctx context.Context, cfg Config, done *report) error {
	out := cfg.Out
	var only *regexp.Regexp
	if cfg.Only != "" {
		var err error
		if only, err = regexp.Compile(cfg.Only); err != nil {
			return fmt.Errorf("bench: -only: %w", err)
		}
	}
	info, err := prepareDB(ctx, cfg.DBURL, cfg.N, cfg.Fresh, out)
	if err != nil {
		return err
	}
	fmt.Fprint(out, hardware(ctx, cfg.DBURL))
	fmt.Fprintf(out, "bench: database size %s, %d authz sets\n", info.Size, len(info.Sets))
	fmt.Fprintf(out, "bench: %s\n", pageCache(info.Bytes))

	us := users(cfg.N)
	us = append(us, &User{Name: UserAdmin, Admin: true, Note: "policy admin"})
	us = append(us, previewUsers()...)
	byName := map[string]*User{}
	for _, u := range us {
		u.Token = mintToken(u.Name)
		byName[u.Name] = u
	}
	pcfg, err := pgxpool.ParseConfig(cfg.DBURL)
	if err != nil {
		return err
	}
	pcfg.ConnConfig.RuntimeParams["application_name"] = harnessApp
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	capt, err := newCapture(ctx, cfg.DBURL)
	if err != nil {
		return err
	}
	defer capt.Close()
	store := repository.New(pool, repository.Options{})

	e := &env{cfg: cfg, pool: pool, store: store, users: byName, client: newClient(cfg.Concurrency)}
	if err := e.prepare(ctx); err != nil {
		return err
	}
	scs := e.scenarios()
	for _, sc := range scs {
		if sc.Capture == nil {
			continue
		}
		stmts, err := capt.record(func(st *repository.Store) error { return sc.Capture(ctx, st) })
		if err != nil {
			// The statements were traced before they ran; a failure (a
			// statement timeout on a deep OFFSET page) is itself a finding.
			fmt.Fprintf(out, "bench: %s: the service's SQL failed when captured: %v\n", sc.Name, err)
		}
		if len(stmts) == 0 {
			continue
		}
		pre := ""
		if sc.Raw != nil {
			pre = sc.Raw.Pre
		}
		if sc.Svc, err = replay(stmts, pre, sc.Vary); err != nil {
			return fmt.Errorf("bench: %s: %w", sc.Name, err)
		}
		if sc.Raw != nil {
			sc.Svc.Example = sc.Raw.Example
		}
	}
	for _, sc := range scs {
		if err := externalize(ctx, pool, sc.Raw); err != nil {
			return err
		}
		if err := externalize(ctx, pool, sc.Svc); err != nil {
			return err
		}
	}
	if only != nil {
		kept := scs[:0]
		for _, sc := range scs {
			if only.MatchString(sc.Name) {
				kept = append(kept, sc)
			}
		}
		scs = kept
	}
	if cfg.Explain {
		return explainAll(ctx, pool, scs, capt.Params, out)
	}

	pol, err := StartPolicyServer(us)
	if err != nil {
		return err
	}
	defer pol.Close()
	// Filtering on before the service starts (InitSettings only seeds an
	// empty table, so set it explicitly).
	if _, err := store.SetSettings(ctx, "indexd-bench", discovery.Settings{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{}}); err != nil {
		return err
	}
	svc, err := startService(ctx, cfg, cfg.DBURL, pol.URL())
	if err != nil {
		return err
	}
	defer func() {
		if err := svc.stop(); err != nil {
			fmt.Fprintln(out, "bench:", err)
		}
	}()
	e.base = svc.base
	mode := "child process `indexd serve`"
	if svc.pid == os.Getpid() {
		mode = "in process (RSS includes the load generator)"
	}
	fmt.Fprintf(out, "bench: service at %s (%s, pid %d), policy server at %s, mapping cache TTL %s\n",
		svc.base, mode, svc.pid, pol.URL(), cfg.PolicyTTL)

	pgbench := ""
	if !cfg.NoPgbench {
		if pgbench = findPgbench(); pgbench == "" {
			fmt.Fprintln(out, pgbenchMissing)
		}
	}
	var sets0 int
	_ = pool.QueryRow(ctx, "SELECT count(*) FROM authz_set").Scan(&sets0)

	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	warm := min(cfg.Duration/10, 2*time.Second)
	if cfg.Cold {
		warm = 0
	}
	var results []*result
	discoverable := false
	fmt.Fprintf(out, "\nbench: %d scenarios × %s at concurrency %d (warm-up %s each)\n\n", len(scs), cfg.Duration, cfg.Concurrency, warm)
	// A global warm-up (connections, prepared statements, caches), so the
	// first scenario is not measured cold.
	if len(scs) > 0 && !cfg.Cold {
		first := scs[0]
		if first.Discoverable != discoverable {
			if err := e.setDiscoverable(ctx, first.Discoverable); err != nil {
				return err
			}
			discoverable = first.Discoverable
		}
		if st, _, err := e.probe(ctx, first); err == nil && st == first.Want {
			drive(ctx, e.client, first, first.concurrency(cfg), 0, min(5*time.Second, cfg.Duration))
		}
	}
	printHeader(out)
	for _, sc := range scs {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if sc.Discoverable != discoverable {
			if err := e.setDiscoverable(ctx, sc.Discoverable); err != nil {
				return err
			}
			discoverable = sc.Discoverable
		}
		r := &result{sc: sc}
		results = append(results, r)
		if sc.Setup != nil {
			if err := sc.Setup(ctx); err != nil {
				return fmt.Errorf("bench: %s: setup: %w", sc.Name, err)
			}
		}
		status, rows, err := e.probe(ctx, sc)
		switch {
		case err != nil:
			return fmt.Errorf("bench: %s: probe: %w", sc.Name, err)
		case sc.Optional && (status == http.StatusNotFound || status == http.StatusMethodNotAllowed):
			r.NA = fmt.Sprintf("n/a (%d: endpoint not available)", status)
			printRow(out, r)
			continue
		case status != sc.Want:
			fmt.Fprintf(out, "bench: warning: %s: probe answered %d, want %d\n", sc.Name, status, sc.Want)
		}
		r.Rows = rows
		svcPid := svc.pid
		if svcPid == os.Getpid() {
			svcPid = 0 // in process: all CPU shows as the client's
		}
		if cfg.Cold {
			if err := dropCaches(); err != nil {
				return err
			}
		}
		b0 := readBlocks(ctx, pool)
		cm := startCPU(ctx, pool, svcPid)
		r.Load = drive(ctx, e.client, sc, sc.concurrency(cfg), warm, cfg.Duration)
		r.CPU = cm.stop(r.Load.Total)
		r.Blocks = readBlocks(ctx, pool).since(b0, r.Load.Total)
		r.RSS, _, _ = memStatus(svc.pid)
		runRaw := func(raw *rawSQL) (*rawRun, string) {
			switch {
			case raw == nil:
				return nil, ""
			case cfg.NoPgbench:
				return nil, "skipped"
			case pgbench == "":
				return nil, "no pgbench"
			}
			cm := startCPU(ctx, pool, 0)
			opts := ""
			if raw == sc.Svc {
				opts = capt.pgOptions() // the service's session settings
			}
			res, err := runPgbench(ctx, pgbench, cfg.DBURL, opts, raw, cfg.Concurrency, cfg.Duration)
			if err != nil {
				cm.stop(0)
				fmt.Fprintf(out, "bench: %s: %v\n", sc.Name, err)
				return nil, "error"
			}
			return &rawRun{pgbenchResult: res, CPU: cm.stop(res.Txns)}, ""
		}
		r.Raw, r.RawNA = runRaw(sc.Raw)
		r.Svc, r.SvcNA = runRaw(sc.Svc)
		printRow(out, r)
	}
	var exp *exportResult
	if only == nil || only.MatchString("export") {
		if discoverable || e.setDiscoverable(ctx, true) == nil {
			r, err := e.export(ctx, cfg.Concurrency)
			if err != nil {
				fmt.Fprintf(out, "bench: export: %v\n", err)
			}
			exp = &r
		}
	}
	_, hwm, _ := memStatus(svc.pid)
	var sets1 int
	_ = pool.QueryRow(ctx, "SELECT count(*) FROM authz_set").Scan(&sets1)
	if err := cleanupWrites(ctx, pool); err != nil {
		return err
	}

	rep := report{cfg: cfg, info: info, results: results, hwm: hwm, calls: pol.Counts(), users: us,
		sets0: sets0, sets1: sets1, inProcess: svc.pid == os.Getpid()}
	rep.print(out)
	if exp != nil {
		exp.print(out, cfg.Concurrency)
	}
	if rep.info.Relations, err = relationSizes(ctx, pool, cfg.N); err != nil {
		return err
	}
	printSizes(out, []*report{&rep})
	*done = rep
	return nil
}

// setDiscoverable stores the setting and waits until the service applies
// it (an anonymous list sees records exactly when discovery is on).
func (e *env) setDiscoverable(ctx context.Context, on bool) error {
	if _, err := e.store.SetSettings(ctx, "indexd-bench", discovery.Settings{AreRecordsDiscoverable: on, GlobalDiscoveryAuthz: []string{}}); err != nil {
		return err
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		req, err := e.get(ctx, "", "/index?limit=1")
		if err != nil {
			return err
		}
		resp, err := e.client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if n := countItems(body); resp.StatusCode == 200 && (n > 0) == on {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("bench: the service did not apply the discovery setting within 15s")
}

// probe sends one request of sc and reports its status and item count.
func (e *env) probe(ctx context.Context, sc *scenario) (int, int, error) {
	w := &worker{id: 0, rng: newRand(42)}
	req, err := sc.Make(ctx, w)
	if err != nil {
		return 0, 0, err
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, 0, err
	}
	if sc.After != nil && resp.StatusCode == sc.Want {
		if err := sc.After(ctx, w, body); err != nil {
			return 0, 0, err
		}
	}
	if resp.StatusCode != sc.Want {
		return resp.StatusCode, 0, nil
	}
	return resp.StatusCode, countItems(body), nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// hardware describes the machine and the database server.
func hardware(ctx context.Context, dbURL string) string {
	var b strings.Builder
	model := "unknown"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := "unknown"
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(raw), "\n") {
			if strings.HasPrefix(l, "MemTotal:") {
				mem = strings.TrimSpace(strings.TrimPrefix(l, "MemTotal:"))
				break
			}
		}
	}
	fmt.Fprintf(&b, "hardware: %d CPUs (%s), memory %s, %s %s/%s, load average %s\n", runtime.NumCPU(), model, mem, runtime.Version(), runtime.GOOS, runtime.GOARCH, loadAvg())
	if pool, err := pgxpool.New(ctx, dbURL); err == nil {
		defer pool.Close()
		var v, sb, wm, ecs string
		if pool.QueryRow(ctx, "SELECT split_part(version(), ' on ', 1), current_setting('shared_buffers'), current_setting('work_mem'), current_setting('effective_cache_size')").Scan(&v, &sb, &wm, &ecs) == nil {
			fmt.Fprintf(&b, "database: %s, shared_buffers %s, work_mem %s, effective_cache_size %s\n", v, sb, wm, ecs)
		}
	}
	return b.String()
}
