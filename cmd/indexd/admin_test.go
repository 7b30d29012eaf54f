package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/datacommons/indexd/internal/testdb"
)

// TestAdminCommands: the runbook's commands (docs/authorization.md, "Admin
// users"): add, list with each user's creator, audit, delete — every
// change audited as the command line's user — and the 72-byte limit.
func TestAdminCommands(t *testing.T) {
	db := testdb.NewDatabase(t)
	env := map[string]string{"INDEXD_DATABASE_URL": db, "USER": "operator", "INDEXD_ADMIN_PASSWORD": "a-long-enough-password"}
	getenv := func(k string) string { return env[k] }
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(append([]string{"admin"}, args...), strings.NewReader(""), &out, getenv)
		return out.String(), err
	}
	if _, err := cli("add", "ops-admin"); err != nil {
		t.Fatal(err)
	}
	out, err := cli("list")
	if err != nil || !strings.HasPrefix(out, "ops-admin\tcreated by cli:operator\t") {
		t.Fatalf("list: %q %v", out, err)
	}
	if _, err := cli("delete", "ops-admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := cli("delete", "ops-admin"); err == nil {
		t.Fatal("deleting a missing user succeeded")
	}
	out, err = cli("audit")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 2 || !strings.HasSuffix(lines[0], "\tdelete\tops-admin\tby cli:operator") || !strings.HasSuffix(lines[1], "\tcreate\tops-admin\tby cli:operator") {
		t.Fatalf("audit: %q %v", out, err)
	}
	env["INDEXD_ADMIN_PASSWORD"] = strings.Repeat("p", 73)
	if _, err := cli("add", "long"); err == nil || !strings.Contains(err.Error(), "72 bytes") {
		t.Fatalf("73-byte password: %v", err)
	}
}
