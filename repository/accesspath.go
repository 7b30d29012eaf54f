package repository

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// A filtered list page ("the first n visible records after start, in did
// order") has three access paths, and which is cheapest depends on how many
// records the caller may see (R, of N) and in how many authz sets:
//
//   - pkWalk: walk the primary key from start and test each row's set:
//     reads about n·N/R rows. Cheap when R is a large share of N.
//   - bitmap: fetch all R visible rows through the (authz_set_id, did)
//     index and sort them. Cheap when R itself is small.
//   - setWalk: walk the (authz_set_id, did) index of each visible set from
//     start, index-only, merge, keep n, then fetch those n rows by primary
//     key (pageBySets). Its cost grows with the number of sets, not with R
//     or N: the only good path in between (1 % of a million records costs
//     the other two 10,000 rows each).
//
// PostgreSQL picks between pkWalk and bitmap well when it plans the plain
// predicate for the actual set ids, but not the set walk, which it cannot
// express; chooseListPath decides between the set walk and the plain
// predicate from per-set row estimates (PostgreSQL's own statistics of
// record.authz_set_id, whose target is 10,000 values so every set of a
// normal commons has an exact frequency). docs/performance.md has the
// measurements behind the cost constants.
type listPath int

const (
	pathSetWalk listPath = iota // the default when nothing is known
	pathPlain                   // authz_set_id = ANY(…): PostgreSQL picks pkWalk or bitmap
)

func (p listPath) String() string {
	if p == pathPlain {
		return "plain"
	}
	return "set-walk"
}

// Costs of one page in microseconds of database time, fitted to EXPLAIN
// ANALYZE and pgbench replays at 1M records (docs/performance.md, "access
// path"): a row visited by a primary-key walk, a row fetched and sorted by
// a bitmap scan, a set's index descent and an index entry in the set walk,
// and each path's fixed part (the set walk's includes n primary-key
// fetches).
const (
	costPKRow       = 1.0
	costBitmapRow   = 5.0
	costSetDescent  = 15.0
	costSetEntry    = 0.2
	costPlainBase   = 200.0
	costSetWalkBase = 700.0
)

// setStats are the row estimates of each authz set.
type setStats struct {
	total float64           // estimated records (pg_class.reltuples)
	rows  map[int64]float64 // estimated records of each set in the MCV list
	other float64           // estimated records of any set not in it
}

// known reports whether the estimates come from real statistics.
func (st *setStats) known() bool { return st != nil && st.total > 0 }

func (st *setStats) rowsOf(id int64) float64 {
	if r, ok := st.rows[id]; ok {
		return r
	}
	return st.other
}

// chooseListPath picks the access path of a page of n records for a caller
// who sees the sets ids.
func chooseListPath(st *setStats, ids []int64, n int) listPath {
	if !st.known() || len(ids) == 0 {
		return pathSetWalk
	}
	visible, entries := 0.0, 0.0
	for _, id := range ids {
		r := st.rowsOf(id)
		visible += r
		entries += min(r, float64(n))
	}
	if visible < 1 {
		visible = 1
	}
	pkWalk := costPlainBase + costPKRow*float64(n)*st.total/visible
	bitmap := costPlainBase + costBitmapRow*visible
	setWalk := costSetWalkBase + costSetDescent*float64(len(ids)) + costSetEntry*entries
	if min(pkWalk, bitmap) < setWalk {
		return pathPlain
	}
	return pathSetWalk
}

// setStatsTTL is how long the statistics are reused: they change only
// when the table is analysed (autovacuum), and a stale estimate only picks
// a slower path, never a wrong answer.
const setStatsTTL = time.Minute

// statsCache holds the latest setStats.
type statsCache struct {
	mu      sync.Mutex
	stats   *setStats
	fetched time.Time
}

const setStatsSQL = `
SELECT c.reltuples::float8,
       COALESCE(s.most_common_vals::text::bigint[], '{}'),
       COALESCE(s.most_common_freqs, '{}'),
       COALESCE(s.n_distinct, 0)::float8,
       COALESCE(s.null_frac, 0)::float8
FROM pg_class c
LEFT JOIN pg_stats s ON s.schemaname = current_schema() AND s.tablename = 'record' AND s.attname = 'authz_set_id'
WHERE c.oid = 'record'::regclass`

// setStats returns the per-set row estimates, read at most once per
// setStatsTTL. A failed read is not fatal: the list then takes the set
// walk, which is correct whatever the statistics.
func (s *Store) setStats(ctx context.Context, q querier) *setStats {
	c := &s.stats
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stats != nil && time.Since(c.fetched) < setStatsTTL {
		return c.stats
	}
	st, err := readSetStats(ctx, q)
	if err != nil {
		return c.stats // the previous estimates, or nil
	}
	c.stats, c.fetched = st, time.Now()
	return st
}

func readSetStats(ctx context.Context, q querier) (*setStats, error) {
	var (
		total, nDistinct, nullFrac float64
		vals                       []int64
		freqs                      []float32
	)
	if err := q.QueryRow(ctx, setStatsSQL).Scan(&total, &vals, &freqs, &nDistinct, &nullFrac); err != nil {
		return nil, fmt.Errorf("repository: read authz set statistics: %w", classify(err))
	}
	st := &setStats{total: total, rows: make(map[int64]float64, len(vals))}
	if total <= 0 || len(vals) != len(freqs) {
		return st, nil // never analysed: unknown
	}
	covered := 0.0
	for i, v := range vals {
		st.rows[v] = float64(freqs[i]) * total
		covered += float64(freqs[i])
	}
	distinct := nDistinct
	if distinct < 0 { // a fraction of the rows
		distinct = -distinct * total
	}
	if rest := distinct - float64(len(vals)); rest >= 1 {
		st.other = max(0, 1-nullFrac-covered) * total / rest
	}
	return st, nil
}
