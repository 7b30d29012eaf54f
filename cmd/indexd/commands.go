package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/identity"
	"github.com/datacommons/indexd/internal/app"
	"github.com/datacommons/indexd/internal/demo"
	"github.com/datacommons/indexd/internal/devdb"
	"github.com/datacommons/indexd/migrations"
	"github.com/datacommons/indexd/repository"
)

func cmdServe(ctx context.Context, getenv func(string) string) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel, cfg.LogFormat)
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("serving", "addr", l.Addr().String(), "version", app.Version, "commit", app.Commit)
	return a.Serve(ctx, l)
}

// cmdRun is the embedded default: it needs nothing configured.
func cmdRun(ctx context.Context, stdout io.Writer, getenv func(string) string) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if getenv("INDEXD_LOG_FORMAT") == "" {
		cfg.LogFormat = "text"
	}
	log := newLogger(cfg.LogLevel, cfg.LogFormat)
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	dbURL, stopDB, err := devdb.Ensure(ctx, dir, log)
	if err != nil {
		return err
	}
	defer stopDB()
	state := filepath.Join(dir, ".devdb")
	if err := os.MkdirAll(state, 0o755); err != nil {
		return err
	}
	policyPath := filepath.Join(state, "policy.yaml")
	if err := os.WriteFile(policyPath, demo.Policy, 0o644); err != nil {
		return err
	}
	key, err := signingKey(filepath.Join(state, "signing.key"))
	if err != nil {
		return err
	}
	objects, err := demoStorage(ctx, state, &cfg, getenv, log)
	if err != nil {
		return err
	}
	defer objects.Close()
	cfg.DatabaseURL, cfg.MigrateOnStart = dbURL, true
	cfg.PolicyFile, cfg.ArboristURL, cfg.SigningKey = policyPath, "", key
	// Every start restores the demo state it prints: the demo settings
	// (unless set in the environment) and the demo records.
	demoSettings := demo.Settings()
	if cfg.DiscoverableFromEnv {
		demoSettings.AreRecordsDiscoverable = cfg.InitialSettings.AreRecordsDiscoverable
	}
	if cfg.GlobalAuthzFromEnv {
		demoSettings.GlobalDiscoveryAuthz = cfg.InitialSettings.GlobalDiscoveryAuthz
	}
	cfg.InitialSettings = demoSettings
	cfg.DiscoverableFromEnv, cfg.GlobalAuthzFromEnv = false, false
	if getenv("INDEXD_DEFAULT_PREFIX") == "" {
		cfg.DefaultPrefix = "dg.DEMO/"
	}
	if getenv("INDEXD_DRS_HOSTNAME") == "" {
		cfg.DRSHostname = "localhost"
	}
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	n, err := demo.Reset(ctx, a.Store, "cli:make-run", demoSettings)
	if err != nil {
		return err
	}
	stored, err := a.Store.Settings(ctx)
	if err != nil {
		return err
	}
	a.Settings.Set(stored)
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	base := "http://" + l.Addr().String()
	st := a.Settings.Get()
	fmt.Fprintf(stdout, "\nindexd (embedded default) serving at %s\n", base)
	fmt.Fprintf(stdout, "database: %s (demo state restored: discovery settings and %d demo records reset; other records kept)\npolicy:   %s\n", redact(dbURL), n, policyPath)
	fmt.Fprintf(stdout, "discovery: are_records_discoverable=%v global_discovery_authz=%v\n\n", st.AreRecordsDiscoverable, st.GlobalDiscoveryAuthz)
	for _, u := range demo.Users {
		tok, err := identity.Mint(key, u, 12*time.Hour, "")
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "export %s_TOKEN=%s\n", strings.ToUpper(u), tok)
	}
	fmt.Fprintf(stdout, `
try:
  curl -s %[1]s/index                                          # anonymous: only /programs/open
  curl -s -H "Authorization: Bearer $ALICE_TOKEN" %[1]s/index   # alice: programs/p1
  curl -s -H "Authorization: Bearer $BOB_TOKEN" %[1]s/index     # bob: programs/p2
  curl -s -H "Authorization: Bearer $ALICE_TOKEN" %[1]s/ga4gh/drs/v1/objects/dg.DEMO/00000000-0000-4000-8000-000000000001
  curl -s -H "Authorization: Bearer $ADMIN_TOKEN" %[1]s/admin/discovery
%[2]s
`, base, demoDownloads(base))
	log.Info("serving", "addr", l.Addr().String())
	return a.Serve(ctx, l)
}

func redact(u string) string {
	if i := strings.Index(u, "@"); i > 0 {
		if j := strings.Index(u, "://"); j > 0 && j < i {
			return u[:j+3] + "…" + u[i:]
		}
	}
	return u
}

// signingKey reads or creates the embedded default's HMAC key.
func signingKey(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	key := hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(key), 0o600); err != nil {
		return nil, err
	}
	return []byte(key), nil
}

func openStore(ctx context.Context, getenv func(string) string) (*repository.Store, error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return nil, err
	}
	if cfg.DatabaseURL == "" {
		return nil, fmt.Errorf("INDEXD_DATABASE_URL is required")
	}
	return repository.Open(ctx, cfg.DatabaseURL, repository.Options{QueryTimeout: cfg.QueryTimeout})
}

func cmdMigrate(ctx context.Context, getenv func(string) string) error {
	store, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := migrations.Up(ctx, store.Pool()); err != nil {
		return err
	}
	v, err := migrations.Version(ctx, store.Pool())
	if err != nil {
		return err
	}
	fmt.Println("database at migration version", v)
	return nil
}

func cmdAdmin(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, getenv func(string) string) error {
	const use = "usage: indexd admin add|delete|list|audit [NAME] [--as WHO]"
	args, as, err := takeAs(args)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return fmt.Errorf(use)
	}
	store, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer store.Close()
	// Changes are audited like the API's (GET /admin/users/audit).
	by := actor(as, getenv)
	switch {
	case args[0] == "list" && len(args) == 1:
		users, err := store.ListAdmins(ctx)
		if err != nil {
			return err
		}
		for _, u := range users {
			creator := "(not recorded)"
			if u.CreatedBy != nil {
				creator = *u.CreatedBy
			}
			fmt.Fprintf(stdout, "%s\tcreated by %s\t%s\n", u.Username, creator, u.CreatedAt.Format(time.RFC3339))
		}
		return nil
	case args[0] == "audit" && len(args) == 1:
		changes, err := store.AdminAudit(ctx, 1000)
		if err != nil {
			return err
		}
		for _, c := range changes {
			fmt.Fprintf(stdout, "%s\t%s\t%s\tby %s\n", c.ChangedAt.Format(time.RFC3339), c.Action, c.Username, c.ChangedBy)
		}
		return nil
	case args[0] == "add" && len(args) == 2:
		pw := getenv("INDEXD_ADMIN_PASSWORD")
		if pw == "" {
			line, err := bufio.NewReader(stdin).ReadString('\n')
			if err != nil && line == "" {
				return fmt.Errorf("read password from stdin: %w", err)
			}
			pw = strings.TrimRight(line, "\r\n")
		}
		if len(pw) < 12 {
			return fmt.Errorf("password must be at least 12 characters")
		}
		if len(pw) > identity.MaxPasswordLen {
			return fmt.Errorf("password must be at most %d bytes (bcrypt's limit)", identity.MaxPasswordLen)
		}
		hash, err := identity.HashPassword(pw)
		if err != nil {
			return err
		}
		if _, err := store.PutAdmin(ctx, by, args[1], hash); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "admin user", args[1], "saved")
		return nil
	case args[0] == "delete" && len(args) == 2:
		if err := store.DeleteAdmin(ctx, by, args[1]); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "admin user", args[1], "deleted")
		return nil
	}
	return fmt.Errorf(use)
}

func cmdSettings(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	args, as, err := takeAs(args)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return fmt.Errorf("usage: indexd settings get | set KEY=VALUE...")
	}
	if args[0] == "set" && isDryRun(args[1:]) {
		return settingsDryRun(ctx, args[1:], stdout, getenv)
	}
	store, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer store.Close()
	var st discovery.Settings
	switch args[0] {
	case "get":
		if st, err = store.Settings(ctx); err != nil {
			return err
		}
	case "set":
		// Validate before touching the database, then apply to the stored
		// settings as read under the settings lock (a concurrent change of
		// another key is kept).
		if _, err := applySettingArgs(discovery.Settings{}, args[1:]); err != nil {
			return err
		}
		who := actor(as, getenv)
		var old discovery.Settings
		st, err = store.UpdateSettings(ctx, who, func(cur discovery.Settings) (discovery.Settings, error) {
			old = cur
			return applySettingArgs(cur, args[1:])
		})
		if err != nil {
			return err
		}
		if st.Version == old.Version {
			fmt.Fprintln(os.Stderr, "indexd: settings unchanged (no audit row, version stays", st.Version, ")")
		} else {
			// One line per change, like the API's (who, old, new).
			newLogger("info", "text").Info("discovery settings changed", "by", who,
				"old", settingsLog(old), "new", settingsLog(st), "version", st.Version)
		}
	default:
		return fmt.Errorf("usage: indexd settings get | set KEY=VALUE...")
	}
	return json.NewEncoder(stdout).Encode(st)
}

func applySettingArgs(st discovery.Settings, args []string) (discovery.Settings, error) {
	if len(args) == 0 {
		return st, fmt.Errorf("settings set needs KEY=VALUE arguments")
	}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return st, fmt.Errorf("argument %q must be KEY=VALUE", a)
		}
		switch k {
		case "are_records_discoverable":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return st, fmt.Errorf("are_records_discoverable must be true or false")
			}
			st.AreRecordsDiscoverable = b
		case "global_discovery_authz":
			st.GlobalDiscoveryAuthz = []string{}
			for _, p := range strings.Split(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					if !strings.HasPrefix(p, "/") {
						return st, fmt.Errorf("path %q must start with /", p)
					}
					st.GlobalDiscoveryAuthz = append(st.GlobalDiscoveryAuthz, p)
				}
			}
		default:
			return st, fmt.Errorf("unknown setting %q", k)
		}
	}
	return st, nil
}

func cmdToken(args []string, stdout io.Writer, getenv func(string) string) error {
	if len(args) < 1 || len(args) > 2 {
		return fmt.Errorf("usage: indexd token USER [TTL]")
	}
	key, err := app.SigningKeyFromEnv(getenv)
	if err != nil {
		return err
	}
	if key == nil {
		return fmt.Errorf("INDEXD_SIGNING_KEY or INDEXD_SIGNING_KEY_FILE is required")
	}
	ttl := time.Hour
	if len(args) == 2 {
		d, err := time.ParseDuration(args[1])
		if err != nil {
			return fmt.Errorf("TTL: %w", err)
		}
		ttl = d
	}
	tok, err := identity.Mint(key, args[0], ttl, getenv("INDEXD_JWT_ISSUER"))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}

// settingsLog is the settings as one log value.
func settingsLog(st discovery.Settings) string {
	return fmt.Sprintf("are_records_discoverable=%v global_discovery_authz=%v", st.AreRecordsDiscoverable, st.GlobalDiscoveryAuthz)
}
