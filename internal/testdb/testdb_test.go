package testdb

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func TestNewDatabaseIsolatedAndMigrated(t *testing.T) {
	ctx := t.Context()

	urlA := NewDatabase(t)
	urlB := NewDatabase(t)
	if urlA == urlB {
		t.Fatalf("NewDatabase returned the same URL twice: %s", urlA)
	}

	a := connect(t, urlA)
	b := connect(t, urlB)

	nameA, nameB := currentDatabase(t, a), currentDatabase(t, b)
	if nameA == nameB {
		t.Fatalf("both URLs reach database %s", nameA)
	}
	for _, n := range []string{nameA, nameB} {
		if !strings.HasPrefix(n, dbPrefix) {
			t.Errorf("database name %q lacks prefix %q", n, dbPrefix)
		}
	}

	for name, pool := range map[string]*pgxpool.Pool{nameA: a, nameB: b} {
		var reg *string
		if err := pool.QueryRow(ctx, "SELECT to_regclass('public.record')::text").Scan(&reg); err != nil {
			t.Fatalf("%s: look up table record: %v", name, err)
		}
		if reg == nil {
			t.Errorf("%s: table record does not exist; database is not migrated", name)
		}
	}

	if _, err := a.Exec(ctx, "INSERT INTO admin_user (username, password_hash) VALUES ($1, $2)", "alice", "x"); err != nil {
		t.Fatalf("insert into %s: %v", nameA, err)
	}
	if n := countAdmins(t, a); n != 1 {
		t.Errorf("%s: admin_user has %d rows, want 1", nameA, n)
	}
	if n := countAdmins(t, b); n != 0 {
		t.Errorf("%s: admin_user has %d rows, want 0 (databases are not isolated)", nameB, n)
	}
}

func TestNewDatabaseDroppedAfterTest(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		name = currentDatabase(t, NewPool(t))
	})
	conn, err := pgx.Connect(t.Context(), AdminURL(t))
	if err != nil {
		t.Fatalf("connect admin: %v", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	exists, err := databaseExists(t.Context(), conn, name)
	if err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("database %s still exists after its test finished", name)
	}
}

func TestWithDatabase(t *testing.T) {
	cases := []struct{ in, want string }{
		{"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "postgres://postgres@127.0.0.1:5432/x?sslmode=disable"},
		{"postgresql://u:p%40ss@h/db?sslmode=require&application_name=t", "postgresql://u:p%40ss@h/x?sslmode=require&application_name=t"},
		{"postgres://u@h:1", "postgres://u@h:1/x"},
		{"host=h user=u dbname=postgres sslmode=disable", "host=h user=u dbname=postgres sslmode=disable dbname=x"},
	}
	for _, c := range cases {
		got, err := withDatabase(c.in, "x")
		if err != nil {
			t.Errorf("withDatabase(%q): %v", c.in, err)
			continue
		}
		if got != c.want {
			t.Errorf("withDatabase(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func connect(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(t.Context(), url)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func currentDatabase(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var name string
	if err := pool.QueryRow(t.Context(), "SELECT current_database()").Scan(&name); err != nil {
		t.Fatalf("current_database: %v", err)
	}
	return name
}

func countAdmins(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(t.Context(), "SELECT count(*) FROM admin_user").Scan(&n); err != nil {
		t.Fatalf("count admin_user: %v", err)
	}
	return n
}
