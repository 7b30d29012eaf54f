package repository

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/policy"
)

// tokenChannel carries the hash of every revoked API token (LISTEN/NOTIFY,
// on the settings watcher's connection): each instance drops it from its
// verification cache at once.
const tokenChannel = "indexd_api_token_revoked"

// APIToken is an API token as stored and listed: never the token, never
// its hash.
type APIToken struct {
	ID          string       `json:"id"`
	User        string       `json:"user"`
	Description string       `json:"description"`
	Scope       policy.Scope `json:"scope"`
	CreatedBy   string       `json:"created_by"`
	CreatedAt   time.Time    `json:"created_at"`
	ExpiresAt   time.Time    `json:"expires_at"`
	LastUsedAt  *time.Time   `json:"last_used_at"`
	RevokedAt   *time.Time   `json:"revoked_at"`
}

// API token audit actions.
const (
	TokenIssued          = "issue"
	TokenRevoked         = "revoke"
	TokenUsedAfterRevoke = "use-after-revoke"
)

// NewAPIToken is what IssueAPIToken stores.
type NewAPIToken struct {
	User        string
	Hash        string // apitoken.Hash of the token
	Description string
	Scope       policy.Scope
	ExpiresAt   time.Time
	By          string // who issued it (the user, or an admin)
}

// IssueAPIToken stores a token's hash and audits the issue, in one
// transaction.
func (s *Store) IssueAPIToken(ctx context.Context, t NewAPIToken) (APIToken, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	sj, err := json.Marshal(t.Scope)
	if err != nil {
		return APIToken{}, fmt.Errorf("repository: issue token: %w", err)
	}
	var out APIToken
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		row := tx.QueryRow(ctx, `INSERT INTO api_token (user_name, token_hash, description, scope, created_by, expires_at)
			VALUES ($1, $2, $3, $4::jsonb, $5, $6) RETURNING `+tokenCols, t.User, t.Hash, t.Description, string(sj), t.By, t.ExpiresAt)
		var err error
		if out, err = scanToken(row); err != nil {
			return fmt.Errorf("repository: issue token: %w", classify(err))
		}
		return auditToken(ctx, tx, out.ID, out.User, t.By, TokenIssued)
	})
	return out, err
}

const tokenCols = "id::text, user_name, description, scope, created_by, created_at, expires_at, last_used_at, revoked_at"

func scanToken(r pgx.Row) (APIToken, error) {
	var t APIToken
	var sj []byte
	if err := r.Scan(&t.ID, &t.User, &t.Description, &sj, &t.CreatedBy, &t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt, &t.RevokedAt); err != nil {
		return t, err
	}
	if err := json.Unmarshal(sj, &t.Scope); err != nil {
		return t, fmt.Errorf("stored scope: %w", err)
	}
	t.CreatedAt, t.ExpiresAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC()
	if t.LastUsedAt != nil {
		u := t.LastUsedAt.UTC()
		t.LastUsedAt = &u
	}
	if t.RevokedAt != nil {
		u := t.RevokedAt.UTC()
		t.RevokedAt = &u
	}
	return t, nil
}

func auditToken(ctx context.Context, q querier, id, user, actor, action string) error {
	if _, err := q.Exec(ctx, "INSERT INTO api_token_audit (token_id, user_name, actor, action) VALUES ($1::uuid, $2, $3, $4)", id, user, actor, action); err != nil {
		return fmt.Errorf("repository: audit token: %w", classify(err))
	}
	return nil
}

// APITokenByHash returns the token stored under hash (revoked and expired
// ones included: the caller decides); found is false when none is.
func (s *Store) APITokenByHash(ctx context.Context, hash string) (APIToken, bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	t, err := scanToken(s.pool.QueryRow(ctx, "SELECT "+tokenCols+" FROM api_token WHERE token_hash = $1", hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return APIToken{}, false, nil
	}
	if err != nil {
		return APIToken{}, false, fmt.Errorf("repository: token lookup: %w", classify(err))
	}
	return t, true, nil
}

// APITokenByID returns token id (revoked and expired ones included);
// found is false when there is none (or id is not one).
func (s *Store) APITokenByID(ctx context.Context, id string) (APIToken, bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	t, err := scanToken(s.pool.QueryRow(ctx, "SELECT "+tokenCols+" FROM api_token WHERE id::text = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return APIToken{}, false, nil
	}
	if err != nil {
		return APIToken{}, false, fmt.Errorf("repository: token by id: %w", classify(err))
	}
	return t, true, nil
}

// APITokens lists a user's tokens (every user's when user is ""), newest
// first, at most limit.
func (s *Store) APITokens(ctx context.Context, user string, limit int) ([]APIToken, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT "+tokenCols+` FROM api_token
		WHERE $1 = '' OR lower(user_name) = lower($1) ORDER BY created_at DESC, id LIMIT $2`, user, limit)
	if err != nil {
		return nil, fmt.Errorf("repository: list tokens: %w", classify(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (APIToken, error) { return scanToken(r) })
	if err != nil {
		return nil, fmt.Errorf("repository: list tokens: %w", classify(err))
	}
	return orEmpty(out), nil
}

// RevokeAPIToken revokes token id — only if it belongs to user, unless
// user is "" (an admin) — audits it as done by `by`, and notifies every
// instance, in one transaction. A token that does not exist, is not the
// user's, or is not a UUID is indexd.ErrNotFound (ownership is not
// disclosed). Revoking a revoked token succeeds and changes nothing. It
// returns the token's hash, for the revoking instance to evict it at once.
func (s *Store) RevokeAPIToken(ctx context.Context, by, user, id string) (string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var hash string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var owner string
		var already bool
		err := tx.QueryRow(ctx, `SELECT token_hash, user_name, revoked_at IS NOT NULL FROM api_token
			WHERE id::text = $1 AND ($2 = '' OR lower(user_name) = lower($2)) FOR UPDATE`, id, user).Scan(&hash, &owner, &already)
		if errors.Is(err, pgx.ErrNoRows) {
			return indexd.Errorf(indexd.ErrNotFound, "token not found")
		}
		if err != nil {
			return fmt.Errorf("repository: revoke token: %w", classify(err))
		}
		if already {
			return nil
		}
		if _, err := tx.Exec(ctx, "UPDATE api_token SET revoked_at = now() WHERE id::text = $1", id); err != nil {
			return fmt.Errorf("repository: revoke token: %w", classify(err))
		}
		if err := auditToken(ctx, tx, id, owner, by, TokenRevoked); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", tokenChannel, hash); err != nil {
			return fmt.Errorf("repository: notify token revocation: %w", classify(err))
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return hash, nil
}

// TouchAPIToken records a use of token id (last_used_at).
func (s *Store) TouchAPIToken(ctx context.Context, id string, at time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if _, err := s.pool.Exec(ctx, "UPDATE api_token SET last_used_at = $2 WHERE id::text = $1 AND (last_used_at IS NULL OR last_used_at < $2)", id, at); err != nil {
		return fmt.Errorf("repository: touch token: %w", classify(err))
	}
	return nil
}

// AuditAPITokenUse records an attempt to use revoked token id.
func (s *Store) AuditAPITokenUse(ctx context.Context, id, user string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return auditToken(ctx, s.pool, id, user, user, TokenUsedAfterRevoke)
}

// APITokenAuditRow is one row of the token audit.
type APITokenAuditRow struct {
	ID      int64     `json:"id"`
	TokenID string    `json:"token_id"`
	User    string    `json:"user"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	At      time.Time `json:"at"`
}

// APITokenAudit returns the newest token audit rows first (one token's
// when tokenID is not "").
func (s *Store) APITokenAudit(ctx context.Context, tokenID string, limit int) ([]APITokenAuditRow, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT id, token_id::text, user_name, actor, action, at FROM api_token_audit
		WHERE $1 = '' OR token_id::text = $1 ORDER BY id DESC LIMIT $2`, tokenID, limit)
	if err != nil {
		return nil, fmt.Errorf("repository: token audit: %w", classify(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (APITokenAuditRow, error) {
		var a APITokenAuditRow
		err := r.Scan(&a.ID, &a.TokenID, &a.User, &a.Actor, &a.Action, &a.At)
		a.At = a.At.UTC()
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("repository: token audit: %w", classify(err))
	}
	return orEmpty(out), nil
}

// OnAPITokenRevoked has the settings watcher (WatchSettings, which LISTENs
// for token revocations on the same connection) call f with the hash of
// every token revoked on any instance, and with "" whenever notifications
// may have been missed (every (re)connection): f must then forget every
// token. Call it before WatchSettings starts; f must not block.
func (s *Store) OnAPITokenRevoked(f func(hash string)) { s.onTokenRevoked = f }

func (s *Store) tokenRevoked(hash string) {
	if s.onTokenRevoked != nil {
		s.onTokenRevoked(hash)
	}
}
