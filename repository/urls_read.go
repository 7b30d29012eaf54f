package repository

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	sq "github.com/Masterminds/squirrel"
	"github.com/jackc/pgx/v5"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
)

// ListURLs serves GET /urls: the url rows of the records visible under dc
// that match f, in did order and then in the record's url order, one row
// per distinct (did, url), f.Offset rows skipped.
//
// Every record with urls yields at least one row, so the rows wanted lie
// within the first Offset+Limit such records: an inner query picks those in
// did order (bounded, index-driven: record_pkey, a filter's own index, or
// the per-set walk for a filtered caller with no other filter), and the
// outer query expands them into url rows. Without the bound the planner
// sorts the whole table for a deep offset.
func (s *Store) ListURLs(ctx context.Context, dc discovery.Context, f indexd.URLListFilter) ([]indexd.URLEntry, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	limit := f.Limit
	if limit <= 0 || limit > indexd.MaxLimit {
		limit = indexd.DefaultLimit
	}
	offset := max(f.Offset, 0)
	n := uint64(offset + limit)
	q := s.reader(ctx)
	vis, err := s.visibleScope(ctx, q, dc)
	if err != nil {
		return nil, err
	}
	inner := s.sb.Select("r.did", "r.urls", "r.urls_metadata").From(recordFrom).
		Where("cardinality(r.urls) > 0").OrderBy(colDID).Limit(n)
	if !vis.all && len(vis.setIDs) > 0 && len(f.IDs) == 0 && f.Size == nil && len(f.Hashes) == 0 &&
		s.listPath(ctx, vis.setIDs, int(n)) == pathSetWalk {
		inner = inner.Where(pageBySets(vis.setIDs, "", n, "cardinality(i.urls) > 0"))
	} else {
		where, err := filterClauses(&indexd.ListFilter{IDs: f.IDs, Size: f.Size, Hashes: f.Hashes})
		if err != nil {
			return nil, err
		}
		inner = inner.Where(vis.clause()).Where(where)
	}
	b := s.sb.Select("c.did", "u.url", "coalesce(c.urls_metadata -> u.url, '{}'::jsonb)").
		FromSelect(inner, "c").JoinClause("CROSS JOIN LATERAL unnest(c.urls) WITH ORDINALITY AS u(url, n)").
		// first occurrences only: indexd stores a url once per record
		Where("array_position(c.urls, u.url) = u.n").
		OrderBy("c.did", "u.n").Limit(uint64(limit)).Offset(uint64(offset))
	sql, args, err := b.ToSql()
	if err != nil {
		return nil, fmt.Errorf("repository: build url list: %w", err)
	}
	rows, err := q.Query(ctx, sql, append([]any{pgx.QueryExecModeCacheDescribe}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("repository: list urls: %w", classify(err))
	}
	defer rows.Close()
	out := []indexd.URLEntry{}
	for rows.Next() {
		var e indexd.URLEntry
		if err := rows.Scan(&e.DID, &e.URL, &e.Metadata); err != nil {
			return nil, fmt.Errorf("repository: scan url: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("repository: list urls: %w", classify(err))
	}
	return out, nil
}

// QueryURLs serves /_query/urls/q: the visible records with at least one
// url, filtered by url substrings, in did order; each with all its urls.
func (s *Store) QueryURLs(ctx context.Context, dc discovery.Context, uq indexd.URLQuery) ([]indexd.URLMatch, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	vis, err := s.visibility(ctx, s.reader(ctx), dc)
	if err != nil {
		return nil, err
	}
	// As indexd, which searches the url rows: a record without urls never
	// matches a URL query (not even exclude=).
	w := sq.And{vis, sq.Expr("cardinality(r.urls) > 0")}
	if uq.Include != "" {
		// The url rows (record_url, kept equal to record.urls) through
		// their trigram index.
		w = append(w, sq.Expr(`r.did IN (SELECT ru.did FROM record_url ru WHERE ru.url LIKE ? ESCAPE '\')`, "%"+escapeLike(uq.Include)+"%"))
	}
	if uq.Exclude != "" {
		w = append(w, sq.Expr("NOT EXISTS (SELECT 1 FROM unnest(r.urls) x WHERE strpos(x, ?) > 0)", uq.Exclude))
	}
	w = append(w, versionedClause(uq.Versioned)...)
	b := s.sb.Select("r.did", "r.rev", "r.urls").From(recordFrom).Where(w).OrderBy(colDID)
	return s.queryMatches(ctx, pageOf(b, uq), false)
}

// QueryURLMetadata serves /_query/urls/metadata/q: one row per visible
// (record, url) whose urls_metadata holds key = value (and whose url holds
// the substring uq.URL), in did order and then the record's url order; each
// row carries that url only, as indexd answers.
func (s *Store) QueryURLMetadata(ctx context.Context, dc discovery.Context, uq indexd.URLQuery) ([]indexd.URLMatch, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	vis, err := s.visibility(ctx, s.reader(ctx), dc)
	if err != nil {
		return nil, err
	}
	// The jsonpath test is what the GIN index on urls_metadata serves; the
	// lateral rows then name the matching urls exactly.
	path, err := urlsMetadataPath(uq.Key, uq.Value)
	if err != nil {
		return nil, err
	}
	w := sq.And{vis, sq.Expr("r.urls_metadata @@ ?::jsonpath", path), sq.Expr("e.value ->> ? = ?", uq.Key, uq.Value)}
	if uq.URL != "" {
		w = append(w, sq.Expr("strpos(e.key, ?) > 0", uq.URL))
	}
	w = append(w, versionedClause(uq.Versioned)...)
	b := s.sb.Select("r.did", "r.rev", "e.key").From(recordFrom).
		JoinClause("CROSS JOIN LATERAL jsonb_each(r.urls_metadata) AS e").Where(w).
		OrderBy(colDID, "array_position(r.urls, e.key)", "e.key")
	return s.queryMatches(ctx, pageOf(b, uq), true)
}

// escapeLike escapes LIKE's wildcards (and its escape character) so that s
// matches as a plain substring.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// urlsMetadataPath is the jsonpath predicate "some url's metadata has key =
// value": $.*."key" == "value", the key and value as jsonpath string
// literals (JSON string syntax, which jsonpath reads alike).
func urlsMetadataPath(key, value string) (string, error) {
	k, err := json.Marshal(key)
	if err != nil {
		return "", fmt.Errorf("repository: encode metadata key: %w", err)
	}
	v, err := json.Marshal(value)
	if err != nil {
		return "", fmt.Errorf("repository: encode metadata value: %w", err)
	}
	return "$.*." + string(k) + " == " + string(v), nil
}

func versionedClause(v *bool) []sq.Sqlizer {
	switch {
	case v == nil:
		return nil
	case *v:
		return []sq.Sqlizer{sq.Expr("r.version IS NOT NULL")}
	}
	return []sq.Sqlizer{sq.Expr("r.version IS NULL")}
}

func pageOf(b sq.SelectBuilder, uq indexd.URLQuery) sq.SelectBuilder {
	limit := uq.Limit
	if limit <= 0 || limit > indexd.MaxLimit {
		limit = indexd.DefaultLimit
	}
	return b.Limit(uint64(limit)).Offset(uint64(max(uq.Offset, 0)))
}

// queryMatches runs a URL query whose columns are did, rev and either the
// urls array or one url (single).
func (s *Store) queryMatches(ctx context.Context, b sq.SelectBuilder, single bool) ([]indexd.URLMatch, error) {
	sql, args, err := b.ToSql()
	if err != nil {
		return nil, fmt.Errorf("repository: build url query: %w", err)
	}
	rows, err := s.reader(ctx).Query(ctx, sql, append([]any{pgx.QueryExecModeCacheDescribe}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("repository: url query: %w", classify(err))
	}
	defer rows.Close()
	out := []indexd.URLMatch{}
	for rows.Next() {
		var m indexd.URLMatch
		if single {
			var u string
			if err := rows.Scan(&m.DID, &m.Rev, &u); err != nil {
				return nil, fmt.Errorf("repository: scan url match: %w", err)
			}
			m.URLs = []string{u}
		} else if err := rows.Scan(&m.DID, &m.Rev, &m.URLs); err != nil {
			return nil, fmt.Errorf("repository: scan url match: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("repository: url query: %w", classify(err))
	}
	return out, nil
}
