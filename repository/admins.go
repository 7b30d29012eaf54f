package repository

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/datacommons/indexd"
)

// PutAdmin creates or replaces a basic-auth admin user with a password hash
// (never a password).
func (s *Store) PutAdmin(ctx context.Context, username, passwordHash string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `INSERT INTO admin_user (username, password_hash) VALUES ($1, $2)
		ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash`, username, passwordHash)
	if err != nil {
		return fmt.Errorf("repository: put admin: %w", classify(err))
	}
	return nil
}

// DeleteAdmin removes an admin user; indexd.ErrNotFound when absent.
func (s *Store) DeleteAdmin(ctx context.Context, username string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, "DELETE FROM admin_user WHERE username = $1", username)
	if err != nil {
		return fmt.Errorf("repository: delete admin: %w", classify(err))
	}
	if tag.RowsAffected() == 0 {
		return indexd.Errorf(indexd.ErrNotFound, "admin user %s not found", username)
	}
	return nil
}

// ListAdmins returns admin user names, sorted.
func (s *Store) ListAdmins(ctx context.Context) ([]string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT username FROM admin_user ORDER BY username")
	if err != nil {
		return nil, fmt.Errorf("repository: list admins: %w", classify(err))
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("repository: list admins: %w", classify(err))
	}
	return orEmpty(names), nil
}

// AdminPasswordHash returns the stored hash for username; found is false
// when there is no such admin.
func (s *Store) AdminPasswordHash(ctx context.Context, username string) (string, bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var h string
	err := s.pool.QueryRow(ctx, "SELECT password_hash FROM admin_user WHERE username = $1", username).Scan(&h)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("repository: admin lookup: %w", classify(err))
	}
	return h, true, nil
}
