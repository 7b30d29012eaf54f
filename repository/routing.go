package repository

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/datacommons/indexd/replica"
)

// Where reads go. Everything runs on the primary unless the request's
// context was bound with ForRead (the HTTP layer binds the read routes and
// nothing else): writes, the reads a write makes, settings, admin users and
// tokens never see a replica. A bound read runs on the replica chosen when
// it was bound (replica.Set.Pick: within the lag bound and, with a commit
// position, past it), so every statement of one request sees the same
// server; a replica that fails at the connection level is taken out of
// rotation and the statement runs again on the primary.

type readKey struct{}

// readBinding is what ForRead put in a context.
type readBinding struct {
	member *replica.Member // nil: the primary
	// fresh: the request carries a commit position; caches that may be
	// older than it (the visible-set cache) are bypassed.
	fresh bool
}

// ForRead marks ctx as a read-only request that a read replica may serve;
// after is the client's commit position (0 for none): the read then sees
// every write up to it. Without read replicas it returns ctx unchanged.
func (s *Store) ForRead(ctx context.Context, after replica.Position) context.Context {
	if s.replicas == nil {
		return ctx
	}
	return context.WithValue(ctx, readKey{}, readBinding{member: s.replicas.Pick(after), fresh: after != 0})
}

// CommitPosition is the position a client presents to read its own writes
// (X-Indexd-Consistency): the primary's WAL position now, after the
// request's writes committed. 0 without read replicas (nothing to wait for).
func (s *Store) CommitPosition(ctx context.Context) (replica.Position, error) {
	if s.replicas == nil {
		return 0, nil
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	p, err := replica.CurrentPosition(ctx, s.pool)
	if err != nil {
		return 0, classify(err)
	}
	return p, nil
}

// Replicas reports the read replicas (nil without them).
func (s *Store) Replicas() []replica.Status {
	if s.replicas == nil {
		return nil
	}
	return s.replicas.Status()
}

// reader is where the reads of ctx's request go: the primary's pool, or the
// replica ForRead chose (falling back to the primary).
func (s *Store) reader(ctx context.Context) querier {
	b, ok := ctx.Value(readKey{}).(readBinding)
	if !ok || b.member == nil {
		return s.pool
	}
	return &replicaQuerier{s: s, m: b.member}
}

// freshRead reports whether ctx's request carries a commit position.
func freshRead(ctx context.Context) bool {
	b, ok := ctx.Value(readKey{}).(readBinding)
	return ok && b.fresh
}

// replicaQuerier runs statements on a replica; a statement the replica
// could not run (down, shutting down, a recovery conflict) runs again on
// the primary, once the replica was taken out of rotation.
type replicaQuerier struct {
	s *Store
	m *replica.Member
}

func (q *replicaQuerier) failover(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil || !replicaFailed(err) {
		return false
	}
	q.s.replicas.MarkDown(q.m, err)
	return true
}

func (q *replicaQuerier) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := q.m.Pool().Query(ctx, sql, args...)
	if q.failover(ctx, err) {
		return q.s.pool.Query(ctx, sql, args...)
	}
	if err != nil {
		return nil, err
	}
	return &replicaRows{Rows: rows, q: q, ctx: ctx, sql: sql, args: args}, nil
}

func (q *replicaQuerier) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return &replicaRow{q: q, ctx: ctx, sql: sql, args: args}
}

func (q *replicaQuerier) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := q.m.Pool().Exec(ctx, sql, args...)
	if q.failover(ctx, err) {
		return q.s.pool.Exec(ctx, sql, args...)
	}
	return tag, err
}

// replicaRow is QueryRow on the replica, run again on the primary when the
// replica fails.
type replicaRow struct {
	q    *replicaQuerier
	ctx  context.Context
	sql  string
	args []any
}

func (r *replicaRow) Scan(dest ...any) error {
	err := r.q.m.Pool().QueryRow(r.ctx, r.sql, r.args...).Scan(dest...)
	if r.q.failover(r.ctx, err) {
		return r.q.s.pool.QueryRow(r.ctx, r.sql, r.args...).Scan(dest...)
	}
	return err
}

// replicaRows are rows from the replica; when the replica fails before the
// first row arrived (pgx reports some failures only then), the statement
// runs again on the primary and its rows are read instead.
type replicaRows struct {
	pgx.Rows
	q    *replicaQuerier
	ctx  context.Context
	sql  string
	args []any
	seen bool
	err  error // of the retry's Query
}

func (r *replicaRows) Next() bool {
	if r.Rows.Next() {
		r.seen = true
		return true
	}
	if r.seen || r.err != nil {
		return false
	}
	if err := r.Rows.Err(); r.q.failover(r.ctx, err) {
		r.seen = true // retry once
		r.Rows.Close()
		rows, err := r.q.s.pool.Query(r.ctx, r.sql, r.args...)
		if err != nil {
			r.err = err
			return false
		}
		r.Rows = rows
		return r.Rows.Next()
	}
	return false
}

func (r *replicaRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.Rows.Err()
}

// replicaFailed reports whether err means the replica could not run the
// statement (rather than the statement being wrong): connection failures,
// the server shutting down or starting up, and recovery conflicts (a hot
// standby cancels queries that conflict with the WAL it replays).
func replicaFailed(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P") || pe.Code == pgSerialization
	}
	var netErr net.Error
	return isConnErr(err) || pgconn.SafeToRetry(err) || errors.As(err, &netErr) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED)
}
