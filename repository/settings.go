package repository

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
	return s.UpdateSettings(ctx, by, func(discovery.Settings) (discovery.Settings, error) { return next, nil })
}

// UpdateSettings is SetSettings for a change computed from the stored
// settings: change gets the settings as stored, read under the settings
// lock, and returns the new ones, so that concurrent partial changes (one
// sets a flag, another a path list) never undo each other. An error from
// change aborts the transaction and is returned as is. change runs inside
// the transaction and must not block.
func (s *Store) UpdateSettings(ctx context.Context, by string, change func(discovery.Settings) (discovery.Settings, error)) (discovery.Settings, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var next discovery.Settings
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "LOCK TABLE discovery_settings IN EXCLUSIVE MODE"); err != nil {
			return fmt.Errorf("repository: lock settings: %w", classify(err))
		}
		old, err := readSettings(ctx, tx)
		if err != nil {
			return err
		}
		cur := old
		cur.GlobalDiscoveryAuthz = append([]string{}, old.GlobalDiscoveryAuthz...)
		if next, err = change(cur); err != nil {
			return err
		}
		next.GlobalDiscoveryAuthz = orEmpty(next.GlobalDiscoveryAuthz)
		if old.Version > 0 && next.AreRecordsDiscoverable == old.AreRecordsDiscoverable && slices.Equal(next.GlobalDiscoveryAuthz, old.GlobalDiscoveryAuthz) {
			// A change that changes nothing writes no audit row, bumps
			// no version and notifies nobody.
			next = old
			return nil
		}
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
	if err != nil {
		return discovery.Settings{}, err
	}
	return next, nil
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

// SettingsSink receives the settings WatchSettings reads (api.SettingsHolder
// is one).
type SettingsSink interface {
	// Set applies settings read because of a notification; it only ever
	// moves forward (a higher version).
	Set(st discovery.Settings)
	// Epoch is taken before an authoritative re-read and passed to Reset.
	Epoch() uint64
	// Reset applies the row as re-read, whatever its version (a database
	// restored with a lower one), unless the sink changed since epoch.
	Reset(st discovery.Settings, epoch uint64)
}

// WatchSettings keeps sink up to date: it re-reads the stored settings now,
// every poll interval and after every reconnection (authoritative: Reset),
// and whenever a change is announced (LISTEN on a dedicated connection;
// forward only: Set). It reconnects after failures and returns when ctx
// ends.
func (s *Store) WatchSettings(ctx context.Context, poll time.Duration, sink SettingsSink, onErr func(error)) {
	if poll <= 0 {
		poll = 5 * time.Second
	}
	refresh := func(authoritative bool) {
		epoch := sink.Epoch()
		st, err := s.Settings(ctx)
		if err != nil {
			onErr(err)
			return
		}
		if authoritative {
			sink.Reset(st, epoch)
		} else {
			sink.Set(st)
		}
	}
	refresh(true)
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
		refresh(true)
	}
}

func (s *Store) listen(ctx context.Context, poll time.Duration, refresh func(authoritative bool)) error {
	conn, release, err := s.listenConn(ctx)
	if err != nil {
		return err
	}
	defer release()
	if _, err := conn.Exec(ctx, "LISTEN "+settingsChannel+"; LISTEN "+tokenChannel); err != nil {
		conn.Close(ctx)
		return err
	}
	s.tokenRevoked("") // revocations missed while not listening: forget every token
	defer func() {
		// Do not hand a LISTENing connection back to the pool.
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, _ = conn.Exec(c, "UNLISTEN *")
	}()
	refresh(true) // anything missed while connecting
	for {
		wctx, cancel := context.WithTimeout(ctx, poll)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			conn.Close(ctx)
			return err
		}
		if err == nil && n.Channel == tokenChannel {
			s.tokenRevoked(n.Payload)
			continue
		}
		// A notification moves forward only; the periodic re-read is
		// authoritative.
		refresh(err != nil)
	}
}

// listenConn is the connection to LISTEN on: a pooled one, or a direct one
// to Options.ListenURL (a transaction-pooling proxy in front of the pool
// would not deliver notifications).
func (s *Store) listenConn(ctx context.Context) (*pgx.Conn, func(), error) {
	if s.listenURL == "" {
		c, err := s.pool.Acquire(ctx)
		if err != nil {
			return nil, nil, err
		}
		return c.Conn(), c.Release, nil
	}
	cfg, err := pgx.ParseConfig(s.listenURL)
	if err != nil {
		return nil, nil, errors.New("the listen URL is not a valid PostgreSQL connection string")
	}
	cfg.ConnectTimeout = 5 * time.Second
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return c, func() { _ = c.Close(context.Background()) }, nil
}
