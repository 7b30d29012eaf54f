package devdb

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestEnsureUsesEnvironmentURL(t *testing.T) {
	const want = "postgres://someone:secret@db.example:6543/indexd?sslmode=require"
	t.Setenv(EnvURL, want)
	got, stop, err := Ensure(t.Context(), t.TempDir(), testLogger(t))
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	stop()
	if got != want {
		t.Errorf("Ensure = %q, want %q unchanged", got, want)
	}
}

// TestEnsureConnects checks that, without INDEXD_DATABASE_URL, Ensure yields
// a database that accepts connections, and that it is the local server's
// indexd_dev whenever a server answers at 127.0.0.1:5432 (as in CI).
func TestEnsureConnects(t *testing.T) {
	t.Setenv(EnvURL, "")
	ctx := t.Context()
	projectDir := t.TempDir()

	localUp := localServerAnswers(ctx)

	for i := range 2 { // the second call finds indexd_dev already there
		dbURL, stop, err := Ensure(ctx, projectDir, testLogger(t))
		if err != nil {
			t.Fatalf("Ensure (call %d): %v", i+1, err)
		}
		t.Cleanup(stop)

		if localUp {
			want := "postgres://postgres@127.0.0.1:5432/indexd_dev?sslmode=disable"
			if dbURL != want {
				t.Errorf("Ensure (call %d) = %q, want local server URL %q", i+1, dbURL, want)
			}
		}
		if got := currentDatabase(t, dbURL); got != DatabaseName {
			t.Errorf("Ensure (call %d): connected to database %q, want %q", i+1, got, DatabaseName)
		}
	}
}

// TestCluster exercises initdb and pg_ctl. It takes a few seconds, so it runs
// only with INDEXD_DEVDB_INITDB_TEST=1 and without -short.
func TestCluster(t *testing.T) {
	if testing.Short() || os.Getenv("INDEXD_DEVDB_INITDB_TEST") != "1" {
		t.Skip("set INDEXD_DEVDB_INITDB_TEST=1 (and omit -short) to run initdb/pg_ctl")
	}
	binDir, err := findBinDir()
	if err != nil {
		t.Fatalf("findBinDir: %v", err)
	}
	projectDir := t.TempDir()
	if os.Geteuid() == 0 {
		// The cluster runs as the postgres OS user, which must reach the
		// test's private temporary directories.
		tmp := filepath.Clean(os.TempDir())
		for d := projectDir; len(d) > len(tmp); d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	port := freePort(t)
	newCluster := func() *cluster {
		return &cluster{binDir: binDir, baseDir: filepath.Join(projectDir, ".devdb"), port: port, log: testLogger(t)}
	}

	start := time.Now()
	dbURL, stop, err := newCluster().start(t.Context())
	if err != nil {
		t.Fatalf("start (initdb): %v", err)
	}
	t.Cleanup(stop)
	t.Logf("initdb + start took %v", time.Since(start))
	if got := currentDatabase(t, dbURL); got != DatabaseName {
		t.Errorf("connected to %q, want %q", got, DatabaseName)
	}
	if _, err := os.Stat(filepath.Join(projectDir, ".devdb", "data", "PG_VERSION")); err != nil {
		t.Errorf("data directory not under project .devdb: %v", err)
	}

	// Already running: reused, and its stop leaves it running.
	again, stop2, err := newCluster().start(t.Context())
	if err != nil {
		t.Fatalf("start while running: %v", err)
	}
	stop2()
	if again != dbURL {
		t.Errorf("second start URL = %q, want %q", again, dbURL)
	}
	currentDatabase(t, dbURL)

	// Stop, then start again from the existing data directory.
	stop()
	if _, running := newCluster().runningPort(); running {
		t.Fatal("cluster still running after stop")
	}
	dbURL, stop3, err := newCluster().start(t.Context())
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	t.Cleanup(stop3)
	currentDatabase(t, dbURL)
}

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		less bool
	}{{"9.6", "15", true}, {"15", "16", true}, {"16", "16.1", true}, {"17", "9.6", false}} {
		if got := compareVersions(c.a, c.b) < 0; got != c.less {
			t.Errorf("compareVersions(%q, %q) < 0 = %v, want %v", c.a, c.b, got, c.less)
		}
	}
}

func TestShellQuote(t *testing.T) {
	if got, want := shellQuote("/a b/it's"), `'/a b/it'\''s'`; got != want {
		t.Errorf("shellQuote = %s, want %s", got, want)
	}
}

func localServerAnswers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, LocalAdminURL)
	if err != nil {
		return false
	}
	_ = conn.Close(ctx)
	return true
}

func currentDatabase(t *testing.T, dbURL string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect %s: %v", dbURL, err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	var name string
	if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
		t.Fatalf("query %s: %v", dbURL, err)
	}
	return name
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}
