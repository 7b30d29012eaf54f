package repository

import (
	"context"
	"errors"
	"fmt"
	"sort"

	sq "github.com/Masterminds/squirrel"
	"github.com/jackc/pgx/v5"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
)

// RecordFacts is what the repository answers about one record for an
// explanation (package explain): the record's authz set, the visibility
// predicate's own verdict under each context asked about, and which of a
// list of grants cover each path of the set — read from the prefix rows
// the predicate resolves grants against, so an explanation and a read can
// never disagree.
type RecordFacts struct {
	DID string
	// Authz is the record's authz as stored.
	Authz []string
	// Paths are the paths of the record's authz set (discovery.CanonicalSet
	// of Authz): what the predicate tests.
	Paths []string
	// Visible is the predicate's answer for each context, in the order asked.
	Visible []bool
	// Covering maps each path of Paths to the grants (of those asked about)
	// that cover it, most general first.
	Covering map[string][]string
}

// ExplainRecord reads the facts of the first of candidates (tried in order,
// as GetRecord) that exists: indexd.ErrNotFound when none does. It is an
// admin read: the record is read whatever the contexts say; each context
// only decides one entry of Visible, through the same predicate every read
// applies (visibility).
func (s *Store) ExplainRecord(ctx context.Context, candidates []string, dcs []discovery.Context, grants []string) (*RecordFacts, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	b := s.sb.Select("r.did", "r.authz", "s.paths", "r.authz_set_id").
		From(recordFrom).Join(tableAuthzSet + " s ON s.id = r.authz_set_id")
	for _, dc := range dcs {
		vis, err := s.visibility(ctx, s.pool, dc)
		if err != nil {
			return nil, err
		}
		visSQL, visArgs, err := vis.ToSql()
		if err != nil {
			return nil, fmt.Errorf("repository: build predicate: %w", err)
		}
		b = b.Column(sq.Expr("("+visSQL+")", visArgs...))
	}
	b = b.Where(sq.Expr("r.did = ANY(?::text[])", candidates)).
		OrderByClause("array_position(?::text[], r.did::text)", candidates).Limit(1)
	sql, args, err := b.ToSql()
	if err != nil {
		return nil, fmt.Errorf("repository: build query: %w", err)
	}
	f := &RecordFacts{Visible: make([]bool, len(dcs)), Covering: map[string][]string{}}
	var setID int64
	dest := []any{&f.DID, &f.Authz, &f.Paths, &setID}
	for i := range f.Visible {
		dest = append(dest, &f.Visible[i])
	}
	if err := s.pool.QueryRow(ctx, sql, args...).Scan(dest...); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, indexd.Errorf(indexd.ErrNotFound, "no record found")
		}
		return nil, fmt.Errorf("repository: explain record: %w", classify(err))
	}
	f.Authz, f.Paths = orEmpty(f.Authz), orEmpty(f.Paths)
	norm := make([]string, 0, len(grants))
	for _, g := range grants {
		if n := discovery.NormalizePath(g); n != "" {
			norm = append(norm, n)
		}
	}
	if len(norm) == 0 || len(f.Paths) == 0 {
		return f, nil
	}
	// The rows resolveVisibleSets counts: a grant g covers a path of the
	// set exactly when the set has a prefix row (path, g).
	rows, err := s.pool.Query(ctx, `SELECT path, prefix FROM authz_set_prefix
		WHERE set_id = $1 AND prefix = ANY($2::text[])`, setID, norm)
	if err != nil {
		return nil, fmt.Errorf("repository: explain coverage: %w", classify(err))
	}
	defer rows.Close()
	for rows.Next() {
		var path, prefix string
		if err := rows.Scan(&path, &prefix); err != nil {
			return nil, fmt.Errorf("repository: scan coverage: %w", err)
		}
		f.Covering[path] = append(f.Covering[path], prefix)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("repository: explain coverage: %w", classify(err))
	}
	for _, gs := range f.Covering {
		sort.Slice(gs, func(i, j int) bool {
			if len(gs[i]) != len(gs[j]) {
				return len(gs[i]) < len(gs[j])
			}
			return gs[i] < gs[j]
		})
	}
	return f, nil
}
