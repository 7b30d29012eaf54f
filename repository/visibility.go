package repository

import (
	"context"
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
	if dc.Unfiltered() {
		return sq.Expr("TRUE"), nil
	}
	ids, err := s.resolveVisibleSets(ctx, q, dc.AuthorizedResources)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return sq.Expr("FALSE"), nil
	}
	return sq.Expr(colAuthzSetID+" = ANY(?::bigint[])", ids), nil
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
	norm := make([]string, 0, len(grants))
	for _, g := range grants {
		if n := discovery.NormalizePath(g); n != "" {
			norm = append(norm, n)
		}
	}
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
