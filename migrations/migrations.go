// Package migrations embeds the SQL schema migrations and applies them with
// goose, a well-kept migration runner that reads an embedded filesystem and
// records applied versions in its own table.
package migrations

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
)

//go:embed *.sql
var files embed.FS

// Up applies every pending migration to the database behind pool. It
// runs on a connection of its own (see ownDB): a migration that rewrites
// or indexes a large table runs for minutes, bounded by ctx instead of the
// service's statement_timeout.
func Up(ctx context.Context, pool *pgxpool.Pool) error {
	db, closeDB, err := ownDB(ctx, pool)
	if err != nil {
		return err
	}
	defer closeDB()
	return up(ctx, db)
}

// ownDB opens one connection to pool's database, made from pool's
// configuration without its statement_timeout, so that neither the
// migrations are cut short nor the pool's connections are changed.
func ownDB(ctx context.Context, pool *pgxpool.Pool) (*sql.DB, func(), error) {
	cfg := pool.Config() // a copy
	cfg.MinConns, cfg.MaxConns = 0, 1
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = "0"
	own, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("migrations: connect: %w", err)
	}
	db := stdlib.OpenDBFromPool(own)
	return db, func() { db.Close(); own.Close() }, nil
}

func up(ctx context.Context, db *sql.DB) error {
	p, err := goose.NewProvider(goose.DialectPostgres, db, files)
	if err != nil {
		return fmt.Errorf("migrations: load: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: apply: %w", err)
	}
	return nil
}

// Version reports the highest applied migration version.
func Version(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	db, closeDB, err := ownDB(ctx, pool)
	if err != nil {
		return 0, err
	}
	defer closeDB()
	p, err := goose.NewProvider(goose.DialectPostgres, db, files)
	if err != nil {
		return 0, fmt.Errorf("migrations: load: %w", err)
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrations: version: %w", err)
	}
	return v, nil
}

// Checksum identifies the embedded migrations (names and contents): a
// database built from them can be reused while the checksum is unchanged.
func Checksum() string {
	entries, _ := fs.ReadDir(files, ".")
	h := sha256.New()
	for _, e := range entries { // ReadDir sorts by name
		b, _ := fs.ReadFile(files, e.Name())
		fmt.Fprintf(h, "%s\x00%d\x00", e.Name(), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Versions reports the database's applied migration version (0 for a
// database never migrated) and the latest embedded one, without changing
// the database.
func Versions(ctx context.Context, pool *pgxpool.Pool) (current, latest int64, err error) {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return 0, 0, fmt.Errorf("migrations: list: %w", err)
	}
	for _, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "_")
		if v, err := strconv.ParseInt(num, 10, 64); err == nil && v > latest {
			latest = v
		}
	}
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('goose_db_version') IS NOT NULL").Scan(&exists); err != nil {
		return 0, latest, fmt.Errorf("migrations: version: %w", err)
	}
	if !exists {
		return 0, latest, nil
	}
	if err := pool.QueryRow(ctx, "SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied").Scan(&current); err != nil {
		return 0, latest, fmt.Errorf("migrations: version: %w", err)
	}
	return current, latest, nil
}
