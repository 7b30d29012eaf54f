package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/datacommons/indexd/internal/bench"
)

// cmdBench runs the load harness (internal/bench): it loads N synthetic
// records into a dedicated database, starts this binary as `indexd serve`
// against it, and prints the performance table.
func cmdBench(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stdout)
	var cfg bench.Config
	fs.IntVar(&cfg.N, "n", 1_000_000, "number of synthetic records")
	sizes := fs.String("sizes", "", "run at several record counts, each in its own database (-db name + _100k, _1m, …), then print the growth per decade and the sizes: e.g. 100k,1m,10m")
	fs.BoolVar(&cfg.Cold, "cold", false, "drop the OS page cache before each scenario and skip warm-ups (root; PostgreSQL's shared buffers stay)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measured time per scenario")
	fs.IntVar(&cfg.Concurrency, "concurrency", 8, "concurrent HTTP workers (and pgbench clients)")
	dbDefault := bench.DefaultDBURL
	if v := getenv("INDEXD_BENCH_DATABASE_URL"); v != "" {
		dbDefault = v
	}
	fs.StringVar(&cfg.DBURL, "db", dbDefault, "dedicated bench database URL (created if absent; env INDEXD_BENCH_DATABASE_URL)")
	fs.BoolVar(&cfg.Fresh, "fresh", false, "drop and reload the bench database even when it holds N records")
	fs.BoolVar(&cfg.InProcess, "inprocess", false, "run the service in this process instead of a child `indexd serve`")
	fs.DurationVar(&cfg.PolicyTTL, "policy-ttl", 60*time.Second, "the service's policy mapping cache TTL")
	dbConns := fs.Int("db-conns", 0, "the service's database pool size (0: the service default)")
	fs.StringVar(&cfg.LogLevel, "log-level", "warn", "the service's log level (info logs every request)")
	fs.StringVar(&cfg.Only, "only", "", "run only the scenarios whose name matches this regexp")
	fs.BoolVar(&cfg.NoPgbench, "no-pgbench", false, "skip the raw-SQL comparison")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of the harness process (with -inprocess: includes the service)")
	fs.BoolVar(&cfg.Explain, "explain", false, "print EXPLAIN (ANALYZE, BUFFERS) of each list scenario's SQL and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("bench: unexpected arguments %v", fs.Args())
	}
	cfg.DBConns = *dbConns
	if *sizes != "" {
		var err error
		if cfg.Sizes, err = bench.ParseSizes(*sizes); err != nil {
			return err
		}
	}
	cfg.Out = stdout
	if !cfg.InProcess {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("bench: find this executable: %w", err)
		}
		cfg.ServiceBinary = exe
	}
	return bench.Run(ctx, cfg)
}
