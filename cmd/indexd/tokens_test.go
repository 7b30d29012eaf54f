package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/datacommons/indexd/apitoken"
	"github.com/datacommons/indexd/internal/testdb"
	"github.com/datacommons/indexd/repository"
)

// TestTokensCommands: `indexd tokens issue|list|revoke` — the token is
// printed once by issue and never by list; the store keeps only its hash;
// revoke marks it revoked in the store (every instance reads that);
// bad scopes and lifetimes are refused naming the problem.
func TestTokensCommands(t *testing.T) {
	db := testdb.NewDatabase(t)
	env := map[string]string{"INDEXD_DATABASE_URL": db, "USER": "operator", "INDEXD_API_TOKEN_MAX_TTL": "30d"}
	getenv := func(k string) string { return env[k] }
	cli := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(append([]string{"tokens"}, args...), strings.NewReader(""), &out, getenv)
		return out.String(), err
	}
	out, err := cli("issue", "--user", "alice", "--expires", "12h", "--scope", "/programs/p1:read,create", "--description", "upload pipeline")
	if err != nil {
		t.Fatalf("issue: %v", err)
	}
	tok := regexp.MustCompile(`(?m)^token:\s+(\S+)$`).FindStringSubmatch(out)
	id := regexp.MustCompile(`(?m)^id:\s+(\S+)$`).FindStringSubmatch(out)
	if tok == nil || id == nil || !strings.HasPrefix(tok[1], "idx_") {
		t.Fatalf("issue output: %q", out)
	}
	if err := apitoken.Check(tok[1]); err != nil {
		t.Fatalf("issued token does not check: %v", err)
	}
	store, err := repository.Open(context.Background(), db, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	stored, found, err := store.APITokenByHash(context.Background(), apitoken.Hash(tok[1]))
	if err != nil || !found || stored.User != "alice" || stored.ID != id[1] || stored.RevokedAt != nil {
		t.Fatalf("stored token: %+v found=%v err=%v", stored, found, err)
	}

	for _, args := range [][]string{{"list"}, {"list", "--user", "alice"}, {"list", "--json"}} {
		out, err := cli(args...)
		if err != nil || !strings.Contains(out, id[1]) || !strings.Contains(out, "/programs/p1") {
			t.Fatalf("%v: %q %v", args, out, err)
		}
		if strings.Contains(out, tok[1]) || strings.Contains(out, apitoken.Hash(tok[1])) {
			t.Fatalf("%v shows the token or its hash: %q", args, out)
		}
	}
	if out, err := cli("list", "--user", "bob"); err != nil || strings.Contains(out, id[1]) {
		t.Fatalf("bob's list shows alice's token: %q %v", out, err)
	}

	if out, err := cli("revoke", id[1], "--as", "sec-team"); err != nil || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %q %v", out, err)
	}
	stored, _, err = store.APITokenByHash(context.Background(), apitoken.Hash(tok[1]))
	if err != nil || stored.RevokedAt == nil {
		t.Fatalf("after revoke: %+v %v", stored, err)
	}
	if _, err := cli("revoke", "00000000-0000-0000-0000-000000000000"); err == nil {
		t.Fatal("revoking an unknown id succeeded")
	}

	for name, args := range map[string][]string{
		"no user":         {"issue", "--expires", "1h"},
		"no expiry":       {"issue", "--user", "alice"},
		"over max ttl":    {"issue", "--user", "alice", "--expires", "31d"},
		"unknown method":  {"issue", "--user", "alice", "--expires", "1h", "--scope", "/programs/p1:write"},
		"scope no method": {"issue", "--user", "alice", "--expires", "1h", "--scope", "/programs/p1"},
		"unknown verb":    {"mint"},
	} {
		if out, err := cli(args...); err == nil {
			t.Errorf("%s: accepted: %q", name, out)
		}
	}
}
