package repository

import (
	"context"
	"crypto/sha256"
	"fmt"

	sq "github.com/Masterminds/squirrel"

	"github.com/datacommons/indexd/discovery"
)

// visibility is THE visibility predicate (SPEC §2). Every read query passes
// through it: lists, searches, bulk, single reads, versions, latest, aliases,
// DRS. It returns a clause over the record alias "r".
//
// Unfiltered contexts (discoverable, or can-discover-all) see everything.
// Otherwise the caller's grants are resolved against the small authz_set
// table first (resolveVisibleSets): a set is visible when every one of its
// paths equals or lies below some grant. Records then match by a plain
// indexed equality on authz_set_id. Empty authz sets have no paths and are
// never visible when filtering is on.
func (s *Store) visibility(ctx context.Context, q querier, dc discovery.Context) (sq.Sqlizer, error) {
	scope, err := s.visibleScope(ctx, q, dc)
	if err != nil {
		return nil, err
	}
	return scope.clause(), nil
}

// scope is the resolved visibility of one request: everything, or the
// records whose authz set is one of setIDs (none when setIDs is empty).
type scope struct {
	all    bool
	setIDs []int64
}

func (v scope) clause() sq.Sqlizer {
	switch {
	case v.all:
		return sq.Expr("TRUE")
	case len(v.setIDs) == 0:
		return sq.Expr("FALSE")
	}
	return sq.Expr(colAuthzSetID+" = ANY(?::bigint[])", v.setIDs)
}

// visibleScope resolves dc once; both the WHERE clause and the
// per-set page walk (ListRecords) are derived from it.
func (s *Store) visibleScope(ctx context.Context, q querier, dc discovery.Context) (scope, error) {
	if dc.Unfiltered() {
		return scope{all: true}, nil
	}
	ids, err := s.resolveVisibleSets(ctx, q, dc.AuthorizedResources)
	if err != nil {
		return scope{}, err
	}
	return scope{setIDs: ids}, nil
}

// narrowByAuthz intersects the scope with the authz sets that hold every
// path of an explicit authz= filter (or the empty set for authz=null): an
// explicit filter can only ever narrow what is visible.
func (s *Store) narrowByAuthz(ctx context.Context, q querier, v scope, paths []string, null bool) (scope, error) {
	var cond string
	var args []any
	if null {
		cond = "paths = '{}'::text[]" // the empty set, through the unique index on paths
	} else {
		norm := make([]string, 0, len(paths))
		for _, p := range paths {
			norm = append(norm, discovery.NormalizePath(p))
		}
		cond, args = "paths @> $1::text[]", []any{norm} // authz_set_paths_gin_idx
	}
	if null && len(paths) > 0 {
		return scope{setIDs: nil}, nil // empty and containing a path: nothing
	}
	rows, err := q.Query(ctx, "SELECT id FROM authz_set WHERE "+cond, args...)
	if err != nil {
		return scope{}, fmt.Errorf("repository: match authz filter: %w", classify(err))
	}
	defer rows.Close()
	match := map[int64]bool{}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return scope{}, fmt.Errorf("repository: scan authz set: %w", err)
		}
		match[id] = true
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return scope{}, fmt.Errorf("repository: match authz filter: %w", classify(err))
	}
	if v.all {
		return scope{setIDs: ids}, nil
	}
	var both []int64
	for _, id := range v.setIDs {
		if match[id] {
			both = append(both, id)
		}
	}
	return scope{setIDs: both}, nil
}

// pageBySets is the access path for a filtered list page with no other
// filter: walk the (authz_set_id, did) index of each visible set from the
// start key, take the first n dids of each (index-only), merge, keep the
// first n, then fetch those rows by primary key. Its cost is bounded by
// sets × n index entries whatever the caller's selectivity, where a scan of
// the did index with the set test as a filter costs n / selectivity rows.
// See docs/schema.md.
//
// cond, when not empty, is a further condition on the walked row i (e.g.
// "i.drs_object", an INCLUDE column of the index, which keeps the walk
// index-only).
func pageBySets(ids []int64, start string, n uint64, cond string) sq.Sqlizer {
	if cond != "" {
		cond = " AND " + cond
	}
	return sq.Expr(`r.did = ANY(ARRAY(
		SELECT x.did FROM unnest(?::bigint[]) AS vs(id)
		CROSS JOIN LATERAL (
			SELECT i.did FROM record i
			WHERE i.authz_set_id = vs.id AND i.did > ?`+cond+`
			ORDER BY i.did LIMIT ?) x
		ORDER BY x.did LIMIT ?))`, ids, start, n, n)
}

// resolveVisibleSetsSQL: a grant on g covers every (set, path) that has a
// prefix row equal to g; a set is visible when all its paths are covered.
const resolveVisibleSetsSQL = `
SELECT p.set_id
FROM authz_set_prefix p
JOIN authz_set s ON s.id = p.set_id
WHERE p.prefix = ANY($1::text[])
GROUP BY p.set_id, s.n_paths
HAVING count(DISTINCT p.path) = s.n_paths`

func (s *Store) resolveVisibleSets(ctx context.Context, q querier, grants []string) ([]int64, error) {
	if len(grants) == 0 {
		return nil, nil
	}
	norm := grants
	if !isCanonical(grants) { // a cached mapping's reads already are
		norm = discovery.CanonicalSet(grants)
	}
	if len(norm) > 0 && norm[0] == "" {
		norm = norm[1:]
	}
	if s.sets == nil || freshRead(ctx) {
		// A read with a commit position must see sets created up to it,
		// which a cached answer (another instance's, or a lagging
		// replica's) may lack.
		return s.queryVisibleSets(ctx, q, norm)
	}
	key := grantsKey(norm)
	if ids, ok := s.sets.Get(key); ok {
		return ids, nil
	}
	ids, err := s.queryVisibleSets(ctx, q, norm)
	if err != nil {
		return nil, err
	}
	s.sets.Set(key, ids, 24+8*int64(len(ids)))
	return ids, nil
}

// isCanonical reports whether paths is already in discovery.CanonicalSet's
// form (normalised, sorted, no duplicates), so it need not be copied.
func isCanonical(paths []string) bool {
	for i, p := range paths {
		if discovery.NormalizePath(p) != p || (i > 0 && paths[i-1] >= p) {
			return false
		}
	}
	return true
}

// grantsKey is the SHA-256 of a canonical grant list.
func grantsKey(norm []string) string {
	h := sha256.New()
	for _, g := range norm {
		h.Write([]byte(g))
		h.Write([]byte{0})
	}
	return string(h.Sum(nil))
}

func (s *Store) queryVisibleSets(ctx context.Context, q querier, norm []string) ([]int64, error) {
	rows, err := q.Query(ctx, resolveVisibleSetsSQL, norm)
	if err != nil {
		return nil, fmt.Errorf("repository: resolve visible authz sets: %w", classify(err))
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("repository: scan visible set: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("repository: resolve visible authz sets: %w", classify(err))
	}
	return ids, nil
}

// VisibilitySQL renders the predicate for dc, for EXPLAIN in docs, benchmarks
// and the bench harness's raw-SQL comparison.
func (s *Store) VisibilitySQL(ctx context.Context, dc discovery.Context) (string, []any, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	pred, err := s.visibility(ctx, s.pool, dc)
	if err != nil {
		return "", nil, err
	}
	return pred.ToSql()
}
