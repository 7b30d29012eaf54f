package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

func ms(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond))
}

func mib(b int64) string { return fmt.Sprintf("%.0f", float64(b)/(1<<20)) }

// ratio is how many times the service is slower than a pgbench run at the
// same concurrency: raw tps / service requests per second (equal to the
// ratio of mean latencies in a closed loop).
func (r *result) ratio(raw *rawRun) float64 {
	if raw == nil || r.Load.RPS == 0 {
		return 0
	}
	return raw.TPS / r.Load.RPS
}

func callerOf(sc *scenario) string {
	if sc.User == "" {
		return "anonymous"
	}
	return sc.User
}

func cpuMS(d time.Duration, ok bool) string {
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.2f", float64(d)/float64(time.Millisecond))
}

// cpuRatio compares the machine CPU one request costs end to end
// (service + database + load generator) with one pgbench transaction
// (database + pgbench): independent of what else the machine runs.
func (r *result) cpuRatio(raw *rawRun) (float64, bool) {
	if raw == nil || !raw.CPU.HaveDB || !r.CPU.HaveDB || raw.Txns == 0 {
		return 0, false
	}
	rawPer := raw.CPU.DB + raw.ClientCPU/time.Duration(raw.Txns)
	if rawPer <= 0 {
		return 0, false
	}
	svcPer := r.CPU.Service + r.CPU.DB + r.CPU.Client
	return float64(svcPer) / float64(rawPer), true
}

func cpuRatioCell(r *result, raw *rawRun) string {
	if q, ok := r.cpuRatio(raw); ok {
		return fmt.Sprintf("%.2f×", q)
	}
	return "—"
}

func rawCells(r *result, raw *rawRun, na string) (tps, p50, p99, ratio, db string) {
	if raw == nil {
		if na == "" {
			na = "—"
		}
		return na, "—", "—", "—", "—"
	}
	return fmt.Sprintf("%.0f", raw.TPS), ms(raw.P50), ms(raw.P99), fmt.Sprintf("%.2f×", r.ratio(raw)), cpuMS(raw.CPU.DB, raw.CPU.HaveDB)
}

const rowFormat = "%-52s %-11s %5s %7s %7s %7s %7s %4s │ %6s %6s │ %6s %6s %6s │ %6s %6s │ %4s\n"

func printHeader(out io.Writer) {
	fmt.Fprintf(out, rowFormat, "scenario", "caller", "rows", "req/s", "p50", "p95", "p99", "err",
		"svcCPU", "dbCPU", "SQLtps", "SQLp50", "ratio", "svcSQL", "ratio", "RSS")
	fmt.Fprintf(out, rowFormat, "", "", "", "", "ms", "ms", "ms", "", "ms/req", "ms/req", "hand", "ms", "", "tps", "", "MiB")
}

func printRow(out io.Writer, r *result) {
	if r.NA != "" {
		fmt.Fprintf(out, "%-52s %-11s %s\n", r.sc.Name, callerOf(r.sc), r.NA)
		return
	}
	htps, hp50, _, hratio, _ := rawCells(r, r.Raw, r.RawNA)
	stps, _, _, sratio, _ := rawCells(r, r.Svc, r.SvcNA)
	fmt.Fprintf(out, rowFormat, r.sc.Name, callerOf(r.sc), fmt.Sprint(r.Rows), fmt.Sprintf("%.0f", r.Load.RPS),
		ms(r.Load.P50), ms(r.Load.P95), ms(r.Load.P99), fmt.Sprint(r.Load.Errors),
		cpuMS(r.CPU.Service, r.CPU.Service > 0), cpuMS(r.CPU.DB, r.CPU.HaveDB), htps, hp50, hratio, stps, sratio, mib(r.RSS))
	if r.Load.FirstError != "" {
		fmt.Fprintf(out, "    first error: %s\n", r.Load.FirstError)
	}
}

type report struct {
	cfg          Config
	info         dbInfo
	results      []*result
	hwm          int64
	calls        []CallCount
	users        []*User
	sets0, sets1 int
	inProcess    bool
}

func (rp report) find(kind string) *result {
	for _, r := range rp.results {
		if r.sc.Kind == kind && r.NA == "" && r.Load.Requests > 0 {
			return r
		}
	}
	return nil
}

func (rp report) print(out io.Writer) {
	cfg := rp.cfg
	fmt.Fprintf(out, "\n## Results: N = %d records, concurrency %d, %s per scenario\n\n", cfg.N, cfg.Concurrency, cfg.Duration)
	if rp.info.Reused {
		fmt.Fprintf(out, "Data: reused (database %s).\n\n", rp.info.Size)
	} else {
		fmt.Fprintf(out, "Data: loaded in %s (database %s).\n\n", rp.info.LoadTime.Round(time.Second), rp.info.Size)
	}
	fmt.Fprintln(out, "| scenario | caller | rows | req/s | p50 ms | p95 ms | p99 ms | errors | RSS MiB | blocks hit/req | blocks read/req |")
	fmt.Fprintln(out, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rp.results {
		name := strings.ReplaceAll(r.sc.Name, "|", "\\|")
		if r.NA != "" {
			fmt.Fprintf(out, "| %s | %s | %s | | | | | | | | |\n", name, callerOf(r.sc), r.NA)
			continue
		}
		hit, read := "—", "—"
		if r.Blocks.OK {
			hit, read = fmt.Sprintf("%.1f", r.Blocks.Hit), fmt.Sprintf("%.2f", r.Blocks.Read)
		}
		fmt.Fprintf(out, "| %s | %s | %d | %.0f | %s | %s | %s | %d | %s | %s | %s |\n",
			name, callerOf(r.sc), r.Rows, r.Load.RPS, ms(r.Load.P50), ms(r.Load.P95), ms(r.Load.P99), r.Load.Errors, mib(r.RSS), hit, read)
	}
	fmt.Fprintln(out, "\nblocks: PostgreSQL shared-buffer blocks (8 KiB) per request, found in shared buffers (hit) or read from the OS page cache or disk (read); pg_stat_database, warm-up included.")
	if cfg.Cold {
		fmt.Fprintln(out, "Cold run: the OS page cache was dropped before each scenario and there was no warm-up (PostgreSQL's shared buffers were not emptied).")
	}
	fmt.Fprintf(out, "\n### Against raw SQL (pgbench -M prepared, -c %d -j 2, same duration) and CPU per request\n\n", cfg.Concurrency)
	fmt.Fprintln(out, "| scenario | service req/s | hand-written SQL tps | p50 ms | p99 ms | ratio | CPU ratio | service's SQL tps | ratio | CPU ratio | CPU ms/req: service | DB (HTTP run) | DB (hand SQL) | DB (service SQL) | load generator |")
	fmt.Fprintln(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range rp.results {
		if r.NA != "" {
			continue
		}
		htps, hp50, hp99, hratio, hdb := rawCells(r, r.Raw, r.RawNA)
		stps, _, _, sratio, sdb := rawCells(r, r.Svc, r.SvcNA)
		fmt.Fprintf(out, "| %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			strings.ReplaceAll(r.sc.Name, "|", "\\|"), r.Load.RPS, htps, hp50, hp99, hratio, cpuRatioCell(r, r.Raw), stps, sratio, cpuRatioCell(r, r.Svc),
			cpuMS(r.CPU.Service, r.CPU.Service > 0), cpuMS(r.CPU.DB, r.CPU.HaveDB), hdb, sdb, cpuMS(r.CPU.Client, true))
	}
	fmt.Fprintln(out, "\nratio = pgbench tps ÷ service req/s at the same concurrency (= ratio of mean latencies in a closed loop).")
	fmt.Fprintln(out, "CPU ratio = (service + database + load-generator CPU per request) ÷ (database + pgbench CPU per transaction): what the request costs the machine, whatever else runs on it.")
	fmt.Fprintln(out, "hand-written SQL: the straightforward query (set resolution + `authz_set_id = ANY(…) ORDER BY did LIMIT 101`) under PostgreSQL's default session settings;")
	fmt.Fprintln(out, "service's SQL: the statements the repository sends for the same request, captured and replayed with the service's session settings.")
	fmt.Fprintln(out, "CPU: user+system time from /proc of the service process, of the database backends serving the bench database, and of the load generator, per request (warm-up included).")
	where := "child process `indexd serve`, /proc/<pid>/status"
	if rp.inProcess {
		where = "in-process: includes the load generator"
	}
	fmt.Fprintf(out, "Machine load average (1/5/15 min) at the end of the run: %s (other work on the machine shares the CPUs).\n", loadAvg())
	fmt.Fprintf(out, "Service peak RSS (VmHWM, %s): %s MiB.\n", where, mib(rp.hwm))
	fmt.Fprintf(out, "authz_set rows before/after the write scenarios: %d/%d (the service reused the loader's sets).\n", rp.sets0, rp.sets1)

	fmt.Fprintf(out, "\n## Policy calls per caller (mapping cache TTL %s)\n\n", cfg.PolicyTTL)
	fmt.Fprintln(out, "| caller | GET /auth/mapping | POST /auth/request | first→last mapping call | min gap between mapping calls | ≤ 1 per TTL |")
	fmt.Fprintln(out, "|---|--:|--:|---|---|---|")
	policyOK := true
	for _, c := range rp.calls {
		span, gap, ok := "—", "—", "yes"
		if c.MappingCalls > 0 {
			span = c.Last.Sub(c.First).Round(time.Second).String()
		}
		if c.MappingCalls > 1 {
			gap = c.MinGap.Round(10 * time.Millisecond).String()
			if c.MinGap < cfg.PolicyTTL-time.Second {
				ok, policyOK = "NO", false
			}
		}
		fmt.Fprintf(out, "| %s | %d | %d | %s | %s | %s |\n", c.User, c.MappingCalls, c.RequestCalls, span, gap, ok)
	}
	fmt.Fprintln(out, "\nPOST /auth/request is the per-write decision (not cached, by design): one per create/update request.")

	fmt.Fprintln(out, "\n## Targets")
	fmt.Fprintln(out)
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	// Filtered list ≤ 1.5× raw SQL.
	for _, r := range rp.results {
		if r.sc.Kind != kindFiltered || r.NA != "" {
			continue
		}
		if r.Raw == nil {
			fmt.Fprintf(out, "- %s ≤ 1.5× raw SQL: not measured (%s)\n", r.sc.Name, r.RawNA)
			continue
		}
		svc := ""
		if r.Svc != nil {
			svc = fmt.Sprintf("; %.2f× the service's own SQL", r.ratio(r.Svc))
		}
		cpu := ""
		if q, ok := r.cpuRatio(r.Raw); ok {
			cpu = fmt.Sprintf("; CPU per request %.2f× the hand-written SQL's", q)
		}
		fmt.Fprintf(out, "- %s ≤ 1.5× raw SQL: %s (%.2f× the hand-written SQL%s%s; p50 %s ms vs %s ms)\n",
			r.sc.Name, verdict(r.ratio(r.Raw) <= 1.5), r.ratio(r.Raw), svc, cpu, ms(r.Load.P50), ms(r.Raw.P50))
	}
	if p1, deep := rp.find(kindPage1), rp.find(kindDeepCursor); p1 != nil && deep != nil {
		q := float64(deep.Load.P50) / float64(p1.Load.P50)
		fmt.Fprintf(out, "- deep page via cursor ≤ 1.2× page 1: %s (p50 %s vs %s ms = %.2f×; req/s %.0f vs %.0f)\n",
			verdict(q <= 1.2), ms(deep.Load.P50), ms(p1.Load.P50), q, deep.Load.RPS, p1.Load.RPS)
	}
	if dp := rp.find(kindDeepPage); dp != nil {
		fmt.Fprintf(out, "- deepest page=N&limit=1024 p50 ≤ 150 ms: %s (p50 %s ms)\n", verdict(dp.Load.P50 <= 150*time.Millisecond), ms(dp.Load.P50))
	}
	vis, hid := rp.find(kindGetVisible), rp.find(kindGetHidden)
	if vis != nil {
		fmt.Fprintf(out, "- GET /index/{id} p99 ≤ 20 ms at c=%d: %s (visible p99 %s ms", cfg.Concurrency, verdict(vis.Load.P99 <= 20*time.Millisecond), ms(vis.Load.P99))
		if hid != nil {
			fmt.Fprintf(out, ", invisible p99 %s ms", ms(hid.Load.P99))
		}
		fmt.Fprintln(out, ")")
	}
	if vis != nil && hid != nil {
		ok := float64(hid.Load.P50) <= 1.05*float64(vis.Load.P50)
		fmt.Fprintf(out, "- invisible (403) ≤ visible: %s (p50 %s vs %s ms, p99 %s vs %s ms; 5 %% noise allowed)\n",
			verdict(ok), ms(hid.Load.P50), ms(vis.Load.P50), ms(hid.Load.P99), ms(vis.Load.P99))
	}
	if pv := rp.find(kindPreview); pv != nil && pv.NA == "" {
		fmt.Fprintf(out, "- discovery preview for 10 users ≤ 2 s at 1M records: %s (p50 %s ms, p99 %s ms at %d records, c=%d)\n",
			verdict(pv.Load.P99 <= 2*time.Second), ms(pv.Load.P50), ms(pv.Load.P99), cfg.N, pv.sc.concurrency(cfg))
	}
	fmt.Fprintf(out, "- one policy call per caller per cache TTL: %s (see the table above)\n", verdict(policyOK))
	rssNote := ""
	if rp.inProcess {
		rssNote = ", in-process: an over-estimate"
	}
	fmt.Fprintf(out, "- service RSS ≤ 100 MB: %s (peak %s MiB%s)\n", verdict(rp.hwm <= 100<<20), mib(rp.hwm), rssNote)
}
