package main

import (
	"fmt"
	"io"
	"os"
	"os/user"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/datacommons/indexd/internal/app"
)

// environ is the process environment CheckEnviron inspects (tests replace it).
var environ = os.Environ

// commandHelp is each subcommand's usage and the variables it reads.
var commandHelp = map[string]struct {
	usage string
	vars  []string
}{
	"serve": {usage: "usage: indexd serve\n\nServes the API, configured from INDEXD_* variables (below). An unknown INDEXD_* variable or a\nmalformed value stops start-up naming it.", vars: serviceVars()},
	"run": {usage: "usage: indexd run\n\nThe embedded default: a local PostgreSQL under ./.devdb, a demo policy and demo records. Each start\nresets the demo database's discovery settings and demo records.",
		vars: []string{"INDEXD_LISTEN", "INDEXD_LOG_LEVEL", "INDEXD_LOG_FORMAT", "INDEXD_STORAGE_CONFIG"}},
	"migrate": {usage: "usage: indexd migrate\n\nApplies the database migrations and exits.", vars: []string{"INDEXD_DATABASE_URL", "INDEXD_DB_CONNECT_TIMEOUT"}},
	"admin": {usage: "usage: indexd admin add|delete|list|audit [NAME] [--as WHO]\n\nManages basic-auth admin users. add reads the password from INDEXD_ADMIN_PASSWORD, else one line\nof stdin. Changes are audited as cli:WHO (--as, else $USER, else the OS user).",
		vars: []string{"INDEXD_DATABASE_URL", "INDEXD_ADMIN_PASSWORD"}},
	"settings": {usage: "usage: indexd settings get | set KEY=VALUE... [--as WHO]\n\n" +
		"KEYs: are_records_discoverable=true|false, global_discovery_authz=/a,/b (empty for none).\n" +
		"set ... --dry-run [--user NAME]... [--json] previews the change instead.\n" +
		"Changes are audited and logged as cli:WHO (--as, else $USER, else the OS user).",
		vars: []string{"INDEXD_DATABASE_URL", "INDEXD_ARBORIST_URL", "INDEXD_POLICY_FILE"}},
	"explain": {usage: explainUsage, vars: []string{"INDEXD_DATABASE_URL", "INDEXD_ARBORIST_URL", "INDEXD_POLICY_FILE", "INDEXD_DEFAULT_PREFIX"}},
	"token": {usage: "usage: indexd token USER [TTL]\n\nMints an HS256 token for USER (static policy mode), valid for TTL (default 1h).",
		vars: []string{"INDEXD_SIGNING_KEY", "INDEXD_SIGNING_KEY_FILE", "INDEXD_JWT_ISSUER"}},
	"tokens":  {usage: tokensUsage, vars: []string{"INDEXD_DATABASE_URL", "INDEXD_API_TOKEN_MAX_TTL"}},
	"bench":   {usage: "usage: indexd bench [-n N] [FLAGS] (indexd bench -h lists the flags)", vars: []string{"INDEXD_BENCH_DATABASE_URL"}},
	"config":  {usage: "usage: indexd config check\n\nReads the configuration as `serve` would (without connecting to the database), prints the\neffective values with secrets masked, and exits non-zero on any problem.", vars: serviceVars()},
	"version": {usage: "usage: indexd version"},
}

func serviceVars() []string {
	var names []string
	for _, v := range app.Variables {
		if !v.Test {
			names = append(names, v.Name)
		}
	}
	return names
}

// wantsHelp: -h, -help or --help among args.
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			return true
		}
	}
	return false
}

// printHelp prints a subcommand's usage and variables; it touches nothing.
func printHelp(w io.Writer, cmd string) bool {
	h, ok := commandHelp[cmd]
	if !ok {
		return false
	}
	fmt.Fprintln(w, h.usage)
	if len(h.vars) > 0 {
		fmt.Fprintf(w, "\nenvironment:\n%s", app.UsageOf(h.vars...))
	}
	return true
}

func cmdVersion(w io.Writer) {
	commit := app.Commit
	if bi, ok := debug.ReadBuildInfo(); ok && commit == "unknown" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				commit = s.Value
			}
		}
	}
	fmt.Fprintf(w, "indexd %s (commit %s, %s)\n", app.Version, commit, runtime.Version())
}

// loadConfig reads the configuration from getenv after refusing unknown
// INDEXD_* variables of the process environment.
func loadConfig(getenv func(string) string) (app.Config, error) {
	if err := app.CheckEnviron(environ(), app.StorageVariables(getenv("INDEXD_STORAGE_CONFIG"))...); err != nil {
		return app.Config{}, err
	}
	return app.FromEnv(getenv)
}

// cmdConfig is `indexd config check`.
func cmdConfig(args []string, stdout io.Writer, getenv func(string) string) error {
	if len(args) != 1 || args[0] != "check" {
		return fmt.Errorf("usage: indexd config check")
	}
	cfg, err := loadConfig(getenv)
	if err == nil {
		err = cfg.Validate()
	}
	if err == nil {
		_, err = app.NewPolicy(cfg)
	}
	if err == nil && cfg.StorageConfig != "" {
		err = app.CheckStorage(cfg.StorageConfig)
	}
	for _, kv := range app.Effective(cfg) {
		fmt.Fprintf(stdout, "%-32s %s\n", kv[0], kv[1])
	}
	if err != nil {
		fmt.Fprintln(stdout, "\nPROBLEM:", err)
		return fmt.Errorf("configuration check failed")
	}
	fmt.Fprintln(stdout, "\nconfiguration OK (the database was not contacted)")
	return nil
}

// actor is who a CLI change is attributed to: cli:NAME from --as, else
// $USER, else the OS user, else the numeric uid; never empty.
func actor(as string, getenv func(string) string) string {
	name := strings.TrimSpace(as)
	if name == "" {
		name = getenv("USER")
	}
	if name == "" {
		if u, err := user.Current(); err == nil && u.Username != "" {
			name = u.Username
		}
	}
	if name == "" {
		name = fmt.Sprintf("uid-%d", os.Getuid())
	}
	return "cli:" + name
}

// takeAs removes --as NAME / --as=NAME from args.
func takeAs(args []string) (rest []string, as string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--as" || a == "-as":
			if i+1 >= len(args) || strings.TrimSpace(args[i+1]) == "" {
				return nil, "", fmt.Errorf("--as needs a name")
			}
			as = args[i+1]
			i++
		case strings.HasPrefix(a, "--as="):
			if as = strings.TrimPrefix(a, "--as="); strings.TrimSpace(as) == "" {
				return nil, "", fmt.Errorf("--as needs a name")
			}
		default:
			rest = append(rest, a)
		}
	}
	return rest, as, nil
}
