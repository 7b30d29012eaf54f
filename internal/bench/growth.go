package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Growth (issue 16): the same scenarios at 100,000, 1,000,000 and
// 10,000,000 records of the same shape, one table per size, then how each
// scenario's latency and CPU per request grow per decade, and the size of
// the database and of each index per size. What it prints is what
// docs/performance.md ("Growth") and docs/schema.md ("Sizes") hold.

// Run executes the harness: at cfg.N records, or once per cfg.Sizes entry
// followed by the growth and size tables.
func Run(ctx context.Context, cfg Config) error {
	cfg.defaults()
	if len(cfg.Sizes) == 0 {
		var rep report
		return runOne(ctx, cfg, &rep)
	}
	var reps []*report
	for _, n := range cfg.Sizes {
		c := cfg
		c.N, c.Sizes = n, nil
		var err error
		if c.DBURL, err = sizedURL(cfg.DBURL, n); err != nil {
			return err
		}
		fmt.Fprintf(cfg.Out, "\n# %s records (%s)\n\n", sizeLabel(n), redactURL(c.DBURL))
		rep := &report{}
		if err := runOne(ctx, c, rep); err != nil {
			return fmt.Errorf("bench: at %d records: %w", n, err)
		}
		reps = append(reps, rep)
	}
	if cfg.Explain {
		return nil
	}
	printGrowth(cfg.Out, reps)
	printSizes(cfg.Out, reps)
	return nil
}

// ParseSizes reads "100k,1m,10m" (or plain numbers).
func ParseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		mult := 1
		switch {
		case strings.HasSuffix(f, "k"):
			mult, f = 1_000, strings.TrimSuffix(f, "k")
		case strings.HasSuffix(f, "m"):
			mult, f = 1_000_000, strings.TrimSuffix(f, "m")
		}
		n, err := strconv.Atoi(strings.ReplaceAll(f, "_", ""))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bench: -sizes: %q is not a record count (e.g. 100k,1m,10m)", s)
		}
		out = append(out, n*mult)
	}
	return out, nil
}

// sizeLabel names a record count: 100k, 1m, 10m.
func sizeLabel(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "m"
	case n >= 1_000 && n%1_000 == 0:
		return strconv.Itoa(n/1_000) + "k"
	}
	return strconv.Itoa(n)
}

// sizedURL is base with the size appended to its database name.
func sizedURL(base string, n int) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("bench: -db: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return "", fmt.Errorf("bench: -db must name a database")
	}
	u.Path = "/" + name + "_" + sizeLabel(n)
	return u.String(), nil
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(database)"
	}
	return u.Redacted()
}

// blocks are pg_stat_database's block counters of the bench database.
type blocks struct{ hit, read int64 }

// blocksPer are blocks per request.
type blocksPer struct {
	Hit, Read float64
	OK        bool
}

func readBlocks(ctx context.Context, pool *pgxpool.Pool) blocks {
	var b blocks
	_, _ = pool.Exec(ctx, "SELECT pg_stat_clear_snapshot()")
	_ = pool.QueryRow(ctx, "SELECT blks_hit, blks_read FROM pg_stat_database WHERE datname = current_database()").Scan(&b.hit, &b.read)
	return b
}

func (b blocks) since(a blocks, n int) blocksPer {
	if n <= 0 || b.hit == 0 {
		return blocksPer{}
	}
	return blocksPer{Hit: float64(b.hit-a.hit) / float64(n), Read: float64(b.read-a.read) / float64(n), OK: true}
}

// dropCaches empties the OS page cache (the -cold runs).
func dropCaches() error {
	if f, err := os.OpenFile("/proc/sys/vm/drop_caches", os.O_WRONLY, 0); err == nil {
		syscall.Sync()
		_, err = f.WriteString("3\n")
		f.Close()
		if err == nil {
			return nil
		}
		return fmt.Errorf("bench: -cold: drop the page cache: %w", err)
	}
	return errors.New("bench: -cold needs to write /proc/sys/vm/drop_caches (root, not in a container without that right)")
}

// pageCache describes the OS page cache against the database's size.
func pageCache(dbBytes int64) string {
	mem := map[string]int64{}
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(raw), "\n") {
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				mem[k] = n << 10
			}
		}
	}
	gib := func(b int64) string { return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30)) }
	fit := "fits in"
	if dbBytes > mem["MemAvailable"] {
		fit = "does NOT fit in"
	}
	return fmt.Sprintf("database %s %s the memory available to the page cache (MemTotal %s, MemAvailable %s, Cached %s)",
		gib(dbBytes), fit, gib(mem["MemTotal"]), gib(mem["MemAvailable"]), gib(mem["Cached"]))
}

// relSize is one table's or index's size.
type relSize struct {
	Name, Kind, Table string
	Bytes             int64
}

// relationSizes lists the tables (heap and TOAST) and indexes of the
// schema, largest first.
func relationSizes(ctx context.Context, pool *pgxpool.Pool, n int) ([]relSize, error) {
	rows, err := pool.Query(ctx, `
		SELECT c.relname, CASE c.relkind WHEN 'i' THEN 'index' ELSE 'table' END,
		       coalesce(t.relname, c.relname),
		       CASE c.relkind WHEN 'i' THEN pg_relation_size(c.oid)
		            ELSE pg_table_size(c.oid) END
		FROM pg_class c
		JOIN pg_namespace ns ON ns.oid = c.relnamespace
		LEFT JOIN pg_index x ON x.indexrelid = c.oid
		LEFT JOIN pg_class t ON t.oid = x.indrelid
		WHERE ns.nspname = 'public' AND c.relkind IN ('r', 'i') AND coalesce(t.relname, c.relname) <> 'goose_db_version'
		ORDER BY 4 DESC, 1`)
	if err != nil {
		return nil, fmt.Errorf("bench: relation sizes: %w", err)
	}
	defer rows.Close()
	var out []relSize
	for rows.Next() {
		var r relSize
		if err := rows.Scan(&r.Name, &r.Kind, &r.Table, &r.Bytes); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func mb(b int64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

// printSizes prints the database and each relation per size, and per
// million records (for docs/schema.md).
func printSizes(out io.Writer, reps []*report) {
	if len(reps) == 0 || len(reps[0].info.Relations) == 0 {
		return
	}
	fmt.Fprintln(out, "\n## Sizes (for docs/schema.md)")
	fmt.Fprintln(out)
	var hdr, sep strings.Builder
	hdr.WriteString("| relation | kind |")
	sep.WriteString("|---|---|")
	for _, r := range reps {
		fmt.Fprintf(&hdr, " %s records MB | MB per 1M records |", sizeLabel(r.cfg.N))
		sep.WriteString("--:|--:|")
	}
	fmt.Fprintln(out, hdr.String())
	fmt.Fprintln(out, sep.String())
	row := func(name, kind string, size func(*report) (int64, bool)) {
		var b strings.Builder
		fmt.Fprintf(&b, "| %s | %s |", name, kind)
		for _, r := range reps {
			if v, ok := size(r); ok {
				fmt.Fprintf(&b, " %s | %s |", mb(v), mb(int64(float64(v)*1e6/float64(r.cfg.N))))
			} else {
				b.WriteString(" — | — |")
			}
		}
		fmt.Fprintln(out, b.String())
	}
	row("**database**", "all", func(r *report) (int64, bool) { return r.info.Bytes, r.info.Bytes > 0 })
	for _, rel := range reps[len(reps)-1].info.Relations {
		kind := rel.Kind
		if kind == "index" {
			kind = "index on " + rel.Table
		}
		row(rel.Name, kind, func(r *report) (int64, bool) {
			for _, x := range r.info.Relations {
				if x.Name == rel.Name {
					return x.Bytes, true
				}
			}
			return 0, false
		})
	}
	fmt.Fprintln(out, "\nTables include their TOAST data and free-space/visibility maps (pg_table_size); indexes are pg_relation_size.")
}

// deepPage normalises scenario names whose page number depends on the size.
var deepPage = regexp.MustCompile(`page \d+ via`)

func growthKey(name string) string { return deepPage.ReplaceAllString(name, "page N via") }

// perDecade is a ratio normalised to a factor of ten in records.
func perDecade(ratio float64, from, to int) float64 {
	if from <= 0 || to <= from || ratio <= 0 {
		return ratio
	}
	decades := math.Log10(float64(to) / float64(from))
	if decades == 0 {
		return ratio
	}
	return math.Pow(ratio, 1/decades)
}

// printGrowth prints, for each scenario, p50, p99 and CPU per request (the
// service's and the database's) at each size divided by the previous
// size's, per decade of records, with the target of ≤ 1.3× per decade.
func printGrowth(out io.Writer, reps []*report) {
	if len(reps) < 2 {
		return
	}
	fmt.Fprintln(out, "\n## Growth per decade of records (for docs/performance.md)")
	fmt.Fprintln(out)
	var hdr, sep strings.Builder
	hdr.WriteString("| scenario |")
	sep.WriteString("|---|")
	for i := 1; i < len(reps); i++ {
		pair := sizeLabel(reps[i].cfg.N) + " ÷ " + sizeLabel(reps[i-1].cfg.N)
		fmt.Fprintf(&hdr, " p50 %s | p99 | CPU/req | blocks/req |", pair)
		sep.WriteString("--:|--:|--:|--:|")
	}
	hdr.WriteString(" ≤ 1.3× per decade |")
	sep.WriteString("---|")
	fmt.Fprintln(out, hdr.String())
	fmt.Fprintln(out, sep.String())
	find := func(r *report, key string) *result {
		for _, x := range r.results {
			if growthKey(x.sc.Name) == key && x.NA == "" && x.Load.Requests > 0 {
				return x
			}
		}
		return nil
	}
	cell := func(a, b float64, ok bool, from, to int) (string, float64) {
		if !ok || a <= 0 || b <= 0 {
			return "—", 0
		}
		q := perDecade(b/a, from, to)
		return fmt.Sprintf("%.2f×", q), q
	}
	for _, x := range reps[0].results {
		key := growthKey(x.sc.Name)
		var b strings.Builder
		fmt.Fprintf(&b, "| %s |", strings.ReplaceAll(key, "|", "\\|"))
		worst, measured := 0.0, false
		for i := 1; i < len(reps); i++ {
			a, c := find(reps[i-1], key), find(reps[i], key)
			if a == nil || c == nil {
				b.WriteString(" — | — | — | — |")
				continue
			}
			from, to := reps[i-1].cfg.N, reps[i].cfg.N
			cpuA := float64(a.CPU.Service + a.CPU.DB)
			cpuC := float64(c.CPU.Service + c.CPU.DB)
			for _, v := range []struct {
				a, b float64
				ok   bool
			}{
				{float64(a.Load.P50), float64(c.Load.P50), true},
				{float64(a.Load.P99), float64(c.Load.P99), true},
				{cpuA, cpuC, a.CPU.HaveDB && c.CPU.HaveDB},
				{a.Blocks.Hit + a.Blocks.Read, c.Blocks.Hit + c.Blocks.Read, a.Blocks.OK && c.Blocks.OK},
			} {
				s, q := cell(v.a, v.b, v.ok, from, to)
				b.WriteString(" " + s + " |")
				measured = measured || q > 0
				worst = max(worst, q)
			}
		}
		verdict := "—"
		switch {
		case !measured:
		case x.sc.Write:
			verdict = "(write: not a target)"
		case worst <= 1.3:
			verdict = "met"
		default:
			verdict = fmt.Sprintf("**MISSED** (%.2f×)", worst)
		}
		fmt.Fprintf(out, "%s %s |\n", b.String(), verdict)
	}
	fmt.Fprintln(out, "\nEach cell: the larger size's figure ÷ the smaller's, per decade of records (p50/p99 latency at the same concurrency;")
	fmt.Fprintln(out, "CPU/req = service + database CPU per request; blocks/req = shared-buffer blocks the database touched per request, hit or read).")
	fmt.Fprintln(out, "Index-bound scenarios stay near 1× (a b-tree gains a level per ~100× records); a scan-bound one grows ~10×.")
}
