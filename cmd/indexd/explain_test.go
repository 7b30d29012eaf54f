package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/explain"
	"github.com/datacommons/indexd/internal/testdb"
	"github.com/datacommons/indexd/repository"
)

// cliWorld is a migrated database with records and a policy file, and the
// environment the CLI reads.
func cliWorld(t *testing.T) (func(string) string, *repository.Store) {
	t.Helper()
	dbURL := testdb.NewDatabase(t)
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte(`
anonymous:
  /programs/open: [read]
logged_in:
  /programs/shared: [read]
users:
  alice:
    /programs/p1: [read, read-storage]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"INDEXD_DATABASE_URL": dbURL, "INDEXD_POLICY_FILE": pol, "USER": "tester"}
	getenv := func(k string) string { return env[k] }
	store, err := repository.Open(context.Background(), dbURL, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	if _, err := store.SetSettings(context.Background(), "test", discovery.Settings{GlobalDiscoveryAuthz: []string{}}); err != nil {
		t.Fatal(err)
	}
	size, md5 := int64(1), "0123456789abcdef0123456789abcdef"
	for did, authz := range map[string][]string{
		"dg.CLI/00000000-0000-4000-8000-000000000001": {"/programs/p1/projects/a", "/programs/p2/projects/c"},
		"dg.CLI/00000000-0000-4000-8000-000000000002": {"/programs/p1/projects/a"},
		"dg.CLI/00000000-0000-4000-8000-000000000003": {"/programs/shared/s"},
		"dg.CLI/00000000-0000-4000-8000-000000000004": {},
	} {
		if _, err := store.Create(context.Background(), indexd.NewRecord{DID: did, Size: &size, Hashes: map[string]string{"md5": md5},
			URLs: []string{"s3://b/" + did}, Authz: authz}); err != nil {
			t.Fatal(err)
		}
	}
	return getenv, store
}

func TestCLIExplain(t *testing.T) {
	getenv, store := cliWorld(t)
	var out bytes.Buffer
	if err := run([]string{"explain", "dg.CLI/00000000-0000-4000-8000-000000000001", "--user", "alice"}, nil, &out, getenv); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"visible no (not_covered)", "/programs/p1/projects/a /programs/p1 indexd:read (user) /programs/p1 indexd:read-storage (user) - - -",
		"a grant of read on /programs/p2/projects/c would make it visible",
	} {
		if !strings.Contains(collapse(out.String()), want) {
			t.Errorf("explain output lacks %q:\n%s", want, out.String())
		}
	}
	// A what-if, as JSON: the same answer as the HTTP route's.
	out.Reset()
	if err := run([]string{"explain", "--anonymous", "--global=/programs/open", "--json", "dg.CLI/00000000-0000-4000-8000-000000000004"}, nil, &out, getenv); err != nil {
		t.Fatal(err)
	}
	var x explain.Explanation
	if err := json.Unmarshal(out.Bytes(), &x); err != nil {
		t.Fatalf("--json: %v\n%s", err, out.String())
	}
	if !x.Visible || x.Rule != explain.RuleCanDiscoverAll || !x.WhatIf || x.DiscoverAllVia == nil || x.DiscoverAllVia.Grant.Source != explain.SourceAnonymous {
		t.Errorf("anonymous what-if: %s", out.String())
	}
	// Bad questions fail with the reason, without a stack.
	for _, args := range [][]string{
		{"explain", "dg.CLI/00000000-0000-4000-8000-000000000001"},
		{"explain", "dg.CLI/00000000-0000-4000-8000-000000000001", "--user", "alice", "--anonymous"},
		{"explain", "nope-00000000-0000-4000-8000-000000000009", "--anonymous"},
		{"explain", "--anonymous"},
		{"explain", "x", "--anonymous", "--global", "relative"},
	} {
		if err := run(args, nil, &out, getenv); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
	rows, err := store.QueryAudit(context.Background(), 10)
	// Two answered questions and the one about a missing record (asked, so
	// audited); the malformed ones were refused before being asked.
	if err != nil || len(rows) != 3 || rows[0].AskedBy != "cli:tester" || rows[0].Kind != repository.QueryExplain {
		t.Errorf("audit: %+v %v", rows, err)
	}
}

func TestCLISettingsDryRun(t *testing.T) {
	getenv, store := cliWorld(t)
	before, err := store.Settings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run([]string{"settings", "set", "are_records_discoverable=true", "--dry-run", "--user", "alice"}, nil, &out, getenv); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"records: 4", "anonymous 0 4 0 4", "any logged-in 1 4 0 3", "user alice 2 4 0 2", "admins only 2 0", "empty authz 1 1"} {
		if !strings.Contains(collapse(out.String()), want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := run([]string{"settings", "set", "global_discovery_authz=/programs/shared", "--dry-run", "--json"}, nil, &out, getenv); err != nil {
		t.Fatal(err)
	}
	var p explain.Preview
	if err := json.Unmarshal(out.Bytes(), &p); err != nil || len(p.Callers) != 2 || p.Callers[1].After.Count != 4 || p.Callers[0].After.Count != 0 {
		t.Errorf("--json: %v %s", err, out.String())
	}
	after, err := store.Settings(context.Background())
	if err != nil || after.Version != before.Version {
		t.Errorf("a dry run changed the settings: %+v → %+v (%v)", before, after, err)
	}
	if err := run([]string{"settings", "set", "nonsense=1", "--dry-run"}, nil, &out, getenv); err == nil {
		t.Error("a bad key: no error")
	}
}

// collapse turns every run of spaces into one (table columns align with
// padding).
func collapse(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}
