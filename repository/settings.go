package repository

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datacommons/indexd/discovery"
)

// SettingsChange is one audit row.
type SettingsChange struct {
	ID        int64               `json:"id"`
	ChangedBy string              `json:"changed_by"`
	ChangedAt time.Time           `json:"changed_at"`
	Old       *discovery.Settings `json:"old_value"`
	New       discovery.Settings  `json:"new_value"`
}

// InitSettings stores initial settings when none are stored yet (the
// configuration's values seed the database once; runtime changes win after).
func (s *Store) InitSettings(ctx context.Context, initial discovery.Settings) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err := s.pool.Exec(ctx, `INSERT INTO discovery_settings (are_records_discoverable, global_discovery_authz)
		VALUES ($1, $2::text[]) ON CONFLICT (id) DO NOTHING`, initial.AreRecordsDiscoverable, orEmpty(initial.GlobalDiscoveryAuthz))
	if err != nil {
		return fmt.Errorf("repository: init settings: %w", classify(err))
	}
	return nil
}

// Settings reads the stored settings (defaults when none are stored).
func (s *Store) Settings(ctx context.Context) (discovery.Settings, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return readSettings(ctx, s.pool)
}

func readSettings(ctx context.Context, q querier) (discovery.Settings, error) {
	st := discovery.DefaultSettings()
	err := q.QueryRow(ctx, "SELECT are_records_discoverable, global_discovery_authz, version FROM discovery_settings").
		Scan(&st.AreRecordsDiscoverable, &st.GlobalDiscoveryAuthz, &st.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return discovery.DefaultSettings(), nil
	}
	if err != nil {
		return st, fmt.Errorf("repository: read settings: %w", classify(err))
	}
	st.GlobalDiscoveryAuthz = orEmpty(st.GlobalDiscoveryAuthz)
	return st, nil
}

// SetSettings stores new settings (with the next version), writes an audit
// row, and notifies every listening instance, in one transaction. Returns the
// settings as stored.
func (s *Store) SetSettings(ctx context.Context, by string, next discovery.Settings) (discovery.Settings, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var old discovery.Settings
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if _, err = tx.Exec(ctx, "LOCK TABLE discovery_settings IN EXCLUSIVE MODE"); err != nil {
			return fmt.Errorf("repository: lock settings: %w", classify(err))
		}
		if old, err = readSettings(ctx, tx); err != nil {
			return err
		}
		next.GlobalDiscoveryAuthz = orEmpty(next.GlobalDiscoveryAuthz)
		next.Version = old.Version + 1
		if _, err := tx.Exec(ctx, `INSERT INTO discovery_settings (are_records_discoverable, global_discovery_authz, version, updated_at)
			VALUES ($1, $2::text[], $3, now()) ON CONFLICT (id) DO UPDATE SET
			are_records_discoverable = EXCLUDED.are_records_discoverable,
			global_discovery_authz = EXCLUDED.global_discovery_authz, version = EXCLUDED.version, updated_at = now()`,
			next.AreRecordsDiscoverable, next.GlobalDiscoveryAuthz, next.Version); err != nil {
			return fmt.Errorf("repository: store settings: %w", classify(err))
		}
		oj, _ := json.Marshal(old)
		nj, _ := json.Marshal(next)
		if _, err := tx.Exec(ctx, `INSERT INTO discovery_settings_audit (changed_by, old_value, new_value)
			VALUES ($1, $2::jsonb, $3::jsonb)`, by, string(oj), string(nj)); err != nil {
			return fmt.Errorf("repository: audit settings: %w", classify(err))
		}
		if _, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", settingsChannel, string(nj)); err != nil {
			return fmt.Errorf("repository: notify settings: %w", classify(err))
		}
		return nil
	})
	return next, err
}

// SettingsAudit returns the newest audit rows first.
func (s *Store) SettingsAudit(ctx context.Context, limit int) ([]SettingsChange, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT id, changed_by, changed_at, old_value, new_value
		FROM discovery_settings_audit ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("repository: read audit: %w", classify(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SettingsChange, error) {
		var c SettingsChange
		err := r.Scan(&c.ID, &c.ChangedBy, &c.ChangedAt, &c.Old, &c.New)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("repository: read audit: %w", classify(err))
	}
	return orEmpty(out), nil
}

// WatchSettings calls apply with the stored settings now, whenever a change
// is announced (LISTEN on a dedicated connection), and every poll interval
// as a safety net; it reconnects after failures and returns when ctx ends.
func (s *Store) WatchSettings(ctx context.Context, poll time.Duration, apply func(discovery.Settings), onErr func(error)) {
	if poll <= 0 {
		poll = 5 * time.Second
	}
	refresh := func() {
		st, err := s.Settings(ctx)
		if err != nil {
			onErr(err)
			return
		}
		apply(st)
	}
	refresh()
	for ctx.Err() == nil {
		err := s.listen(ctx, poll, refresh)
		if ctx.Err() != nil {
			return
		}
		onErr(fmt.Errorf("repository: settings listener: %w", err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		refresh()
	}
}

func (s *Store) listen(ctx context.Context, poll time.Duration, refresh func()) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+settingsChannel); err != nil {
		conn.Conn().Close(ctx)
		return err
	}
	defer func() {
		// Do not hand a LISTENing connection back to the pool.
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, _ = conn.Exec(c, "UNLISTEN *")
	}()
	refresh() // anything missed while connecting
	for {
		wctx, cancel := context.WithTimeout(ctx, poll)
		_, err := conn.Conn().WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			conn.Conn().Close(ctx)
			return err
		}
		refresh() // a notification, or the periodic re-read
	}
}
