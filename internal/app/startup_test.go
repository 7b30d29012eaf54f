package app

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datacommons/indexd/internal/testdb"
	"github.com/datacommons/indexd/policy/policytest"
)

func testConfig(dbURL, arborist string) Config {
	c := Defaults()
	c.DatabaseURL, c.ArboristURL = dbURL, arborist
	c.MaxConns = 2
	return c
}

// TestStartUnmigrated: an empty database stops start-up with the fix,
// not a "relation does not exist".
func TestStartUnmigrated(t *testing.T) {
	admin := testdb.AdminURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("indexd_unmigrated_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)") })
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	pol := policytest.New(t)
	_, err = New(ctx, testConfig(u.String(), pol.URL()), slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "indexd migrate") || !strings.Contains(err.Error(), "INDEXD_MIGRATE=true") {
		t.Fatalf("unmigrated database: %v", err)
	}
}

// TestStartDatabaseDown: an unreachable database is retried with backoff
// for INDEXD_DB_CONNECT_TIMEOUT, then start-up ends naming the reason.
func TestStartDatabaseDown(t *testing.T) {
	cfg := testConfig("postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=1", "http://127.0.0.1:1")
	cfg.DBConnectTimeout = 1500 * time.Millisecond
	var logs bytes.Buffer
	start := time.Now()
	_, err := New(context.Background(), cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "database unreachable") || !strings.Contains(err.Error(), "INDEXD_DB_CONNECT_TIMEOUT") {
		t.Fatalf("database down: %v", err)
	}
	if took < time.Second || took > 10*time.Second {
		t.Fatalf("gave up after %s, want about 1.5s", took)
	}
	if n := strings.Count(logs.String(), "database unreachable, retrying"); n < 2 {
		t.Fatalf("%d retries logged: %s", n, logs.String())
	}
}

// TestStartupLog: start-up states the effective settings and warns when
// the environment's discovery settings differ from the stored ones.
func TestStartupLog(t *testing.T) {
	db := testdb.NewDatabase(t)
	pol := policytest.New(t)
	cfg := testConfig(db, pol.URL())
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	a.Close() // seeded: are_records_discoverable=true
	env := map[string]string{"INDEXD_DATABASE_URL": db, "INDEXD_ARBORIST_URL": pol.URL(), "INDEXD_ARE_RECORDS_DISCOVERABLE": "false"}
	cfg, err = FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 2
	var logs bytes.Buffer
	a, err = New(context.Background(), cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	out := logs.String()
	for _, want := range []string{
		`"msg":"INDEXD_ARE_RECORDS_DISCOVERABLE differs from the stored setting, which is in force","env":false,"stored":true`,
		"PUT /admin/discovery", "indexd settings set",
		`"msg":"configuration","are_records_discoverable":true`, `"policy_backend":"arborist http`,
		`"token_verification":"none`, `"hide_existence":false`, `"schema_version":`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("start-up log lacks %q:\n%s", want, out)
		}
	}
}
