// Command indexd runs the record index: `serve` (configured from the
// environment), `run` (the embedded default: a local database, a demo policy
// and demo data), `migrate`, and administration subcommands.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/datacommons/indexd/internal/app"
)

const usage = `usage: indexd <command> [arguments]

commands:
  serve                         serve the API, configured from INDEXD_* variables
  run                           the embedded default: local database, demo policy and data
  migrate                       apply database migrations and exit
  admin add|delete|list|audit [NAME]
                                manage basic-auth admin users (password from INDEXD_ADMIN_PASSWORD or stdin)
  settings get                  print the discovery settings
  settings set KEY=VALUE...     change them (are_records_discoverable=false, global_discovery_authz=/a,/b);
                                --dry-run [--user NAME]... previews the change instead ([--json])
  explain ID --user NAME|--anonymous [--discoverable=B] [--global /a,/b] [--json]
                                who sees record ID and why (explain -h)
  token USER [TTL]              mint a token for USER with INDEXD_SIGNING_KEY (static policy mode)
  tokens list|issue|revoke      API tokens: list, issue (--user U --expires 30d --scope RES:read), revoke ID
  bench [-n N] [FLAGS]          load harness: N synthetic records in indexd_bench, HTTP load, pgbench (bench -h)
  config check                  print the effective configuration (secrets masked); non-zero exit on a problem
  version                       print the version
  help [COMMAND]                this text with the environment, or COMMAND's usage and variables

COMMAND -h (or --help) prints COMMAND's usage and the variables it reads, touching nothing.
`

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "indexd:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage)
		return fmt.Errorf("no command given")
	}
	if args[0] != "bench" && args[0] != "explain" && len(args) > 1 && wantsHelp(args[1:]) && printHelp(stdout, args[0]) {
		return nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "serve":
		serviceGC(getenv)
		return cmdServe(ctx, getenv)
	case "run":
		serviceGC(getenv)
		return cmdRun(ctx, stdout, getenv)
	case "migrate":
		return cmdMigrate(ctx, getenv)
	case "admin":
		return cmdAdmin(ctx, args[1:], stdin, stdout, getenv)
	case "settings":
		return cmdSettings(ctx, args[1:], stdout, getenv)
	case "explain":
		return cmdExplain(ctx, args[1:], stdout, getenv)
	case "token":
		return cmdToken(args[1:], stdout, getenv)
	case "tokens":
		return cmdTokens(ctx, args[1:], stdout, getenv)
	case "bench":
		return cmdBench(ctx, args[1:], stdout, getenv)
	case "config":
		return cmdConfig(args[1:], stdout, getenv)
	case "version", "--version":
		cmdVersion(stdout)
		return nil
	case "help", "-h", "--help":
		if len(args) > 1 && printHelp(stdout, args[1]) {
			return nil
		}
		fmt.Fprint(stdout, usage)
		fmt.Fprintf(stdout, "\nenvironment (an unknown INDEXD_* variable stops start-up):\n%s", app.Usage())
		return nil
	}
	fmt.Fprint(stdout, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// newLogger builds the logger; level and format were validated by
// app.FromEnv (anything else falls back to info and JSON).
func newLogger(level, format string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: l}
	if strings.EqualFold(format, "text") {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

// serviceGCPercent is the service's garbage-collection target unless GOGC
// is set: collect when the heap has grown by 4× its live size rather than
// Go's 2×. A list page allocates about 100 KB of short-lived rows; at 2× the
// collector took a fifth of the CPU. Measured at 1M records
// (docs/performance.md): an unfiltered page went from 1.7 to 1.1 ms of
// service CPU, peak RSS from 27 to 38 MiB (target: 100 MB).
const serviceGCPercent = 400

func serviceGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serviceGCPercent)
	}
}
