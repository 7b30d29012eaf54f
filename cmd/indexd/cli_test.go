package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/datacommons/indexd/internal/testdb"
	"github.com/datacommons/indexd/repository"
)

func runCLI(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(args, strings.NewReader(""), &out, func(k string) string { return env[k] })
	return out.String(), err
}

// TestHelpTouchesNothing: -h/--help on every subcommand prints its usage
// and variables, even with a database that does not answer and nothing
// configured.
func TestHelpTouchesNothing(t *testing.T) {
	env := map[string]string{"INDEXD_DATABASE_URL": "postgres://u:pw@127.0.0.1:1/none?connect_timeout=30"}
	for _, cmd := range []string{"serve", "run", "migrate", "admin", "settings", "token", "config", "version"} {
		for _, flag := range []string{"-h", "--help"} {
			start := time.Now()
			out, err := runCLI(t, env, cmd, flag)
			if err != nil || !strings.Contains(out, "usage: indexd "+cmd) {
				t.Errorf("%s %s: %v\n%s", cmd, flag, err, out)
			}
			if cmd != "version" && !strings.Contains(out, "environment:\n  INDEXD_") {
				t.Errorf("%s %s lists no variables:\n%s", cmd, flag, out)
			}
			if time.Since(start) > time.Second {
				t.Errorf("%s %s took %s", cmd, flag, time.Since(start))
			}
		}
	}
	out, err := runCLI(t, env, "admin", "add", "x", "--help")
	if err != nil || !strings.Contains(out, "INDEXD_ADMIN_PASSWORD") {
		t.Errorf("admin add --help: %v %s", err, out)
	}
	out, err = runCLI(t, env, "help")
	if err != nil || !strings.Contains(out, "INDEXD_ARE_RECORDS_DISCOVERABLE") || strings.Contains(out, "INDEXD_TEST_DATABASE_URL") {
		t.Errorf("help does not list the service's environment: %v\n%s", err, out)
	}
	out, err = runCLI(t, env, "version")
	if err != nil || !strings.HasPrefix(out, "indexd ") {
		t.Errorf("version: %q %v", out, err)
	}
}

// TestUnknownVariableRefused: serve and the other commands refuse a
// misspelt variable before doing anything.
func TestUnknownVariableRefused(t *testing.T) {
	defer func(e func() []string) { environ = e }(environ)
	environ = func() []string { return []string{"INDEXD_ARE_RECORD_DISCOVERABLE=false"} }
	for _, cmd := range [][]string{{"serve"}, {"settings", "get"}, {"config", "check"}} {
		_, err := runCLI(t, map[string]string{"INDEXD_ARE_RECORD_DISCOVERABLE": "false"}, cmd...)
		if err == nil {
			t.Fatalf("%v accepted an unknown variable", cmd)
		}
		if cmd[0] != "config" && !strings.Contains(err.Error(), "did you mean INDEXD_ARE_RECORDS_DISCOVERABLE") {
			t.Errorf("%v: %v", cmd, err)
		}
	}
}

// TestTokenKeyFile: `indexd token` reads INDEXD_SIGNING_KEY_FILE as serve
// does, and names the variable for a short key.
func TestTokenKeyFile(t *testing.T) {
	dir := t.TempDir()
	key := strings.Repeat("k", 40)
	p := filepath.Join(dir, "key")
	if err := os.WriteFile(p, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, map[string]string{"INDEXD_SIGNING_KEY_FILE": p}, "token", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jwt.Parse([]byte(strings.TrimSpace(out)), jwt.WithKey(jwa.HS256(), []byte(key))); err != nil {
		t.Fatalf("token not signed with the file's key: %v", err)
	}
	if err := os.WriteFile(p, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, map[string]string{"INDEXD_SIGNING_KEY_FILE": p}, "token", "alice"); err == nil || !strings.Contains(err.Error(), "INDEXD_SIGNING_KEY_FILE") {
		t.Fatalf("short key file: %v", err)
	}
	if _, err := runCLI(t, map[string]string{"INDEXD_SIGNING_KEY": "short"}, "token", "alice"); err == nil || !strings.Contains(err.Error(), "INDEXD_SIGNING_KEY") {
		t.Fatalf("short key: %v", err)
	}
}

// TestConfigCheck: prints the effective configuration with secrets
// masked; a problem is a non-zero exit naming it.
func TestConfigCheck(t *testing.T) {
	defer func(e func() []string) { environ = e }(environ)
	environ = func() []string { return nil }
	key := "a-signing-key-of-at-least-32-bytes-long"
	pol := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(pol, []byte("anonymous:\n  /open: [read]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"INDEXD_DATABASE_URL": "postgres://indexd:s3cr3tpw@db/indexd", "INDEXD_POLICY_FILE": pol,
		"INDEXD_SIGNING_KEY": key, "INDEXD_DATABASE_READ_URL": "postgres://r:rep1icapw@r1/indexd"}
	out, err := runCLI(t, env, "config", "check")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, secret := range []string{"s3cr3tpw", "rep1icapw", key} {
		if strings.Contains(out, secret) {
			t.Errorf("config check prints a secret %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"postgres://indexd:***@db/indexd", "(set, 39 bytes)", "INDEXD_BODY_LIMIT                1M", "configuration OK"} {
		if !strings.Contains(out, want) {
			t.Errorf("config check lacks %q:\n%s", want, out)
		}
	}
	env["INDEXD_LOG_FORMAT"] = "xml"
	out, err = runCLI(t, env, "config", "check")
	if err == nil || !strings.Contains(out, "INDEXD_LOG_FORMAT") {
		t.Fatalf("bad value passed the check: %v\n%s", err, out)
	}
}

// TestSettingsAttribution: CLI changes are audited as --as, else $USER,
// else the OS user; never "cli:".
func TestSettingsAttribution(t *testing.T) {
	defer func(e func() []string) { environ = e }(environ)
	environ = func() []string { return nil }
	db := testdb.NewDatabase(t)
	env := map[string]string{"INDEXD_DATABASE_URL": db}
	if _, err := runCLI(t, env, "settings", "set", "are_records_discoverable=false", "--as", "alice-ops"); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, env, "settings", "set", "are_records_discoverable=true"); err != nil {
		t.Fatal(err)
	}
	store, err := repository.Open(context.Background(), db, repository.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	audit, err := store.SettingsAudit(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	var changes []string
	for _, c := range audit {
		changes = append(changes, c.ChangedBy)
	}
	if len(changes) != 2 || changes[1] != "cli:alice-ops" || changes[0] == "cli:" || !strings.HasPrefix(changes[0], "cli:") {
		t.Fatalf("audited as %q", changes)
	}
	if a := actor("", func(string) string { return "" }); a == "cli:" || a == "" {
		t.Fatalf("actor without USER: %q", a)
	}
}
