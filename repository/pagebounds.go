package repository

import (
	"context"
	"fmt"

	sq "github.com/Masterminds/squirrel"

	"github.com/datacommons/indexd/pageindex"
)

// ShallowPageRows is the depth (page × limit rows) up to which page=N is a
// plain OFFSET: reading that many index entries costs less than computing
// the list's page boundaries once.
const ShallowPageRows = 10_000

// dataVersionSQL reads the data version (migrations/00011): bumped by every
// statement that writes records or their urls.
const dataVersionSQL = `SELECT last_value FROM record_data_version`

// pageStart finds where page (0-based) of a list of limit rows starts
// (pageindex): the list is the rows of record r matching cond, in did order.
func (s *Store) pageStart(ctx context.Context, q querier, cond sq.Sqlizer, page, limit int) (pageindex.Position, error) {
	var version int64
	if err := q.QueryRow(ctx, dataVersionSQL).Scan(&version); err != nil {
		return pageindex.Position{}, fmt.Errorf("repository: read data version: %w", classify(err))
	}
	step := pageindex.Step(limit)
	condSQL, condArgs, err := cond.ToSql()
	if err != nil {
		return pageindex.Position{}, fmt.Errorf("repository: build predicate: %w", err)
	}
	// One statement: every step-th did of the list (an index-only walk of
	// the did index, or of the visible sets' rows), the snapshot's writers
	// in flight and the data version it ran at.
	stmt, err := sq.Dollar.ReplacePlaceholders(`SELECT
		ARRAY(SELECT x.did FROM (
			SELECT r.did, row_number() OVER (ORDER BY r.did) AS rn
			FROM ` + recordFrom + ` WHERE ` + condSQL + `) x
			WHERE x.rn % ?::bigint = 0 ORDER BY x.did),
		(SELECT count(*) FROM pg_snapshot_xip(pg_current_snapshot())),
		(SELECT last_value FROM record_data_version)`)
	if err != nil {
		return pageindex.Position{}, fmt.Errorf("repository: build query: %w", err)
	}
	args := append(append([]any{}, condArgs...), int64(step))
	key := pageindex.Key(stmt, args, step, version)
	b, err := s.pages.Get(ctx, key, step, func(ctx context.Context) (pageindex.Computed, error) {
		var c pageindex.Computed
		var inFlight, after int64
		if err := q.QueryRow(ctx, stmt, args...).Scan(&c.DIDs, &inFlight, &after); err != nil {
			return c, fmt.Errorf("repository: page boundaries: %w", classify(err))
		}
		// Settled: no write was in flight when the snapshot was taken and
		// none was counted since the version was read, so the boundaries
		// are those of every snapshot at this version. Otherwise a write
		// whose bump the version already holds may commit after the
		// snapshot: keep the answer only briefly.
		c.Settled = inFlight == 0 && after == version
		return c, nil
	})
	if err != nil {
		return pageindex.Position{}, err
	}
	return b.Locate(page, limit), nil
}
