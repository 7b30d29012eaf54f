package repository

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Kinds of audited admin questions (admin_query_audit.kind).
const (
	QueryExplain = "explain"
	QueryPreview = "preview"
)

// AdminQuery is one audited admin question: an explanation or a discovery
// preview.
type AdminQuery struct {
	ID       int64           `json:"id"`
	AskedBy  string          `json:"asked_by"`
	AskedAt  time.Time       `json:"asked_at"`
	Kind     string          `json:"kind"`
	Question json.RawMessage `json:"question"`
}

// AuditQuery records that by asked an admin question of kind (QueryExplain
// or QueryPreview); question (JSON-encoded) says what was asked and must
// never hold a credential.
func (s *Store) AuditQuery(ctx context.Context, by, kind string, question any) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	q, err := json.Marshal(question)
	if err != nil {
		return fmt.Errorf("repository: encode audited question: %w", err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO admin_query_audit (asked_by, kind, question) VALUES ($1, $2, $3::jsonb)`,
		by, kind, string(q)); err != nil {
		return fmt.Errorf("repository: audit %s: %w", kind, classify(err))
	}
	return nil
}

// QueryAudit returns the newest audited admin questions first.
func (s *Store) QueryAudit(ctx context.Context, limit int) ([]AdminQuery, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT id, asked_by, asked_at, kind, question
		FROM admin_query_audit ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("repository: read query audit: %w", classify(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AdminQuery, error) {
		var q AdminQuery
		var raw []byte
		err := r.Scan(&q.ID, &q.AskedBy, &q.AskedAt, &q.Kind, &raw)
		q.Question = raw
		return q, err
	})
	if err != nil {
		return nil, fmt.Errorf("repository: read query audit: %w", classify(err))
	}
	return orEmpty(out), nil
}
