package migrations_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/datacommons/indexd/internal/testdb"
	"github.com/datacommons/indexd/migrations"
)

// TestUpIgnoresTheServiceStatementTimeout: the service's pool carries a
// statement_timeout for its queries; migrations, which may rewrite and
// index a large table, run without it, and the pool keeps its own.
func TestUpIgnoresTheServiceStatementTimeout(t *testing.T) {
	ctx := context.Background()
	admin := testdb.AdminURL(t)
	name := fmt.Sprintf("indexd_t_migrate_%d", time.Now().UnixNano())
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		t.Fatal(err)
	}
	// 1 ms: creating the pg_trgm extension or any index takes longer.
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = "1"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := migrations.Up(ctx, pool); err != nil {
		t.Fatalf("Up under a 1 ms service statement_timeout: %v", err)
	}
	v, err := migrations.Version(ctx, pool)
	if err != nil || v < 4 {
		t.Fatalf("version %d, %v", v, err)
	}
	// SHOW itself runs under the 1 ms bound: on a loaded machine it can be
	// cancelled (57014), which proves the setting as well; try a few times.
	var timeout string
	for try := 0; try < 20; try++ {
		if err = pool.QueryRow(ctx, "SHOW statement_timeout").Scan(&timeout); err == nil {
			break
		}
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || pe.Code != "57014" {
			break
		}
	}
	if err != nil || timeout != "1ms" {
		t.Fatalf("the service pool's statement_timeout is %q (%v), want 1ms", timeout, err)
	}
}
