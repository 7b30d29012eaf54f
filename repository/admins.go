package repository

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datacommons/indexd"
)

// AdminUser is a basic-auth admin as listed: never its password hash.
type AdminUser struct {
	Username string `json:"username"`
	// CreatedBy is who created the user (an admin's user name, a
	// "token:<hash>" for a policy admin known by token only, "cli:<user>"
	// for the command line); nil for users created before it was recorded.
	CreatedBy *string   `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// AdminChange is one row of the admin-user audit: who changed which user,
// when, and how (create, password, delete).
type AdminChange struct {
	ID        int64     `json:"id"`
	ChangedBy string    `json:"changed_by"`
	ChangedAt time.Time `json:"changed_at"`
	Action    string    `json:"action"`
	Username  string    `json:"username"`
}

// Admin-user audit actions.
const (
	AdminCreated  = "create"
	AdminPassword = "password"
	AdminDeleted  = "delete"
)

// PutAdmin creates a basic-auth admin user, or replaces its password hash
// (never a password), and audits the change as made by `by`, in one
// transaction. created reports whether the user is new.
func (s *Store) PutAdmin(ctx context.Context, by, username, passwordHash string) (created bool, err error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `INSERT INTO admin_user (username, password_hash, created_by) VALUES ($1, $2, $3)
			ON CONFLICT (username) DO UPDATE SET password_hash = EXCLUDED.password_hash
			RETURNING (xmax = 0)`, username, passwordHash, by).Scan(&created)
		if err != nil {
			return fmt.Errorf("repository: put admin: %w", classify(err))
		}
		action := AdminPassword
		if created {
			action = AdminCreated
		}
		return auditAdmin(ctx, tx, by, action, username)
	})
	return created, err
}

func auditAdmin(ctx context.Context, tx pgx.Tx, by, action, username string) error {
	if _, err := tx.Exec(ctx, "INSERT INTO admin_user_audit (changed_by, action, username) VALUES ($1, $2, $3)", by, action, username); err != nil {
		return fmt.Errorf("repository: audit admin change: %w", classify(err))
	}
	return nil
}

// DeleteAdmin removes an admin user and audits it as done by `by`;
// indexd.ErrNotFound when absent.
func (s *Store) DeleteAdmin(ctx context.Context, by, username string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM admin_user WHERE username = $1", username)
		if err != nil {
			return fmt.Errorf("repository: delete admin: %w", classify(err))
		}
		if tag.RowsAffected() == 0 {
			return indexd.Errorf(indexd.ErrNotFound, "admin user %s not found", username)
		}
		return auditAdmin(ctx, tx, by, AdminDeleted, username)
	})
}

// ListAdmins returns the admin users with who created each, by name.
func (s *Store) ListAdmins(ctx context.Context) ([]AdminUser, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT username, created_by, created_at FROM admin_user ORDER BY username")
	if err != nil {
		return nil, fmt.Errorf("repository: list admins: %w", classify(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AdminUser, error) {
		var u AdminUser
		err := r.Scan(&u.Username, &u.CreatedBy, &u.CreatedAt)
		u.CreatedAt = u.CreatedAt.UTC()
		return u, err
	})
	if err != nil {
		return nil, fmt.Errorf("repository: list admins: %w", classify(err))
	}
	return orEmpty(out), nil
}

// AdminAudit returns the latest admin-user changes, newest first.
func (s *Store) AdminAudit(ctx context.Context, limit int) ([]AdminChange, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT id, changed_by, changed_at, action, username
		FROM admin_user_audit ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("repository: read admin audit: %w", classify(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AdminChange, error) {
		var c AdminChange
		err := r.Scan(&c.ID, &c.ChangedBy, &c.ChangedAt, &c.Action, &c.Username)
		c.ChangedAt = c.ChangedAt.UTC()
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("repository: read admin audit: %w", classify(err))
	}
	return orEmpty(out), nil
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
