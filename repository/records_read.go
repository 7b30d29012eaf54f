package repository

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/jackc/pgx/v5"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
)

// scanRecord reads recordColumns plus the aliases column. The jsonb
// columns arrive as their JSON text and stay that way (indexd.JSONObject):
// decoding them into maps was the largest cost of a list page.
func scanRecord(row pgx.Row, r *indexd.Record, extra ...any) error {
	var hashes, urlsMetadata, metadata []byte
	dest := []any{
		&r.DID, &r.BaseID, &r.Rev, &r.Form, &r.Size, &r.FileName, &r.Version,
		&r.Uploader, &r.Description, &r.CreatedDate, &r.UpdatedDate,
		&r.ContentCreatedDate, &r.ContentUpdatedDate, &hashes, &r.URLs,
		&urlsMetadata, &r.ACL, &r.Authz, &metadata, &r.Aliases,
	}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return err
	}
	r.Hashes, r.URLsMetadata, r.Metadata = hashes, urlsMetadata, metadata
	r.CreatedDate = r.CreatedDate.UTC()
	r.UpdatedDate = r.UpdatedDate.UTC()
	r.ContentCreatedDate = utcPtr(r.ContentCreatedDate)
	r.ContentUpdatedDate = utcPtr(r.ContentUpdatedDate)
	return nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (s *Store) selectRecords(withAliases bool) sq.SelectBuilder {
	cols := append(append([]string{}, recordColumns...), noAliases)
	if withAliases {
		cols[len(cols)-1] = aliasesOfRecord
	}
	return s.sb.Select(cols...).From(recordFrom)
}

func collect(rows pgx.Rows) ([]indexd.Record, error) {
	defer rows.Close()
	out := []indexd.Record{}
	var raw *rawRow
	for n := 0; rows.Next(); n++ {
		if n == 0 {
			raw = newRawRow(rows.FieldDescriptions())
		}
		var r indexd.Record
		if raw == nil || raw.decode(rows.RawValues(), &r) != nil {
			r = indexd.Record{}
			if err := scanRecord(rows, &r); err != nil {
				return nil, fmt.Errorf("repository: scan record: %w", err)
			}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, classify(err)
	}
	return out, nil
}

func (s *Store) query(ctx context.Context, q querier, b sq.SelectBuilder) ([]indexd.Record, error) {
	return s.queryMode(ctx, q, b, pgx.QueryExecModeCacheStatement)
}

func (s *Store) queryMode(ctx context.Context, q querier, b sq.SelectBuilder, mode pgx.QueryExecMode) ([]indexd.Record, error) {
	if mode == pgx.QueryExecModeCacheStatement {
		mode = s.prepared
	}
	sql, args, err := b.ToSql()
	if err != nil {
		return nil, fmt.Errorf("repository: build query: %w", err)
	}
	rows, err := q.Query(ctx, sql, append([]any{mode}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("repository: query records: %w", classify(err))
	}
	return collect(rows)
}

// ListOptions are storage-side options of a list beyond the filter.
type ListOptions struct {
	WithAliases bool
}

// ListRecords returns one page of the records visible under dc that match f,
// in did order, with the did to start after for the next page.
func (s *Store) ListRecords(ctx context.Context, dc discovery.Context, f indexd.ListFilter, opt ListOptions) (indexd.Page, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	limit := f.Limit
	if limit <= 0 || limit > indexd.MaxLimit {
		limit = indexd.DefaultLimit
	}
	q := s.reader(ctx)
	vis, err := s.visibleScope(ctx, q, dc)
	if err != nil {
		return indexd.Page{}, err
	}
	if len(f.Authz) > 0 || f.AuthzNull {
		if vis, err = s.narrowByAuthz(ctx, q, vis, f.Authz, f.AuthzNull); err != nil {
			return indexd.Page{}, err
		}
		f.Authz, f.AuthzNull = nil, false
	}
	where, err := filterClauses(&f)
	if err != nil {
		return indexd.Page{}, err
	}
	// page=N: a plain OFFSET while shallow; deeper, a keyset read from the
	// list's page boundary before it (pagebounds.go), plus an OFFSET below
	// one boundary step.
	var offset uint64
	if f.Page > 0 {
		offset = uint64(f.Page) * uint64(limit)
		if offset > ShallowPageRows {
			pos, err := s.pageStart(ctx, q, sq.And{vis.clause(), where}, f.Page, limit)
			if err != nil {
				return indexd.Page{}, err
			}
			if pos.Empty {
				return indexd.Page{Records: []indexd.Record{}}, nil
			}
			offset = uint64(pos.Offset)
			if pos.After != "" {
				f.Start = pos.After
				if where, err = filterClauses(&f); err != nil {
					return indexd.Page{}, err
				}
			}
		}
		f.Page = -1
	}
	b := s.selectPage(opt.WithAliases).OrderBy(colDID).Limit(uint64(limit) + 1)
	// Planned per execution (an unnamed statement, its result description
	// cached so rows still arrive in binary) where the parameters decide the
	// plan: a cached generic plan for "authz_set_id = ANY($1) ORDER BY did"
	// cannot know whether the caller sees 10 % or 0.01 % of the records,
	// and the wrong plan costs seconds. A plain keyset page or a set walk
	// has one good plan whatever the parameters, so it keeps a prepared
	// statement and skips planning.
	mode := pgx.QueryExecModeCacheDescribe
	switch {
	case !vis.all && len(vis.setIDs) > 0 && offset == 0 && onlyStart(&f) && s.listPath(ctx, vis.setIDs, limit+1) == pathSetWalk:
		cond := ""
		if f.OnlyObjects {
			cond = "i.drs_object" // drsObjectClause on the walked row
		}
		b = b.Where(pageBySets(vis.setIDs, f.Start, uint64(limit)+1, cond))
		mode = pgx.QueryExecModeCacheStatement
	case vis.all && onlyStart(&f):
		b = b.Where(where)
		mode = pgx.QueryExecModeCacheStatement
	default:
		b = b.Where(vis.clause()).Where(where)
	}
	if offset > 0 {
		b = b.Offset(offset)
	}
	recs, err := s.queryMode(ctx, q, b, mode)
	if err != nil {
		return indexd.Page{}, err
	}
	if opt.WithAliases {
		if err := s.fillAliases(ctx, q, recs); err != nil {
			return indexd.Page{}, err
		}
	}
	page := indexd.Page{Records: recs}
	if len(recs) > limit {
		page.Records = recs[:limit]
		page.Next = recs[limit-1].DID
	}
	return page, nil
}

// listPath picks the access path of a filtered page (see accesspath.go).
func (s *Store) listPath(ctx context.Context, ids []int64, n int) listPath {
	if s.forcePath != nil {
		return *s.forcePath
	}
	return chooseListPath(s.setStats(ctx, s.pool), ids, n)
}

// onlyStart reports whether f filters by nothing but the start key and
// OnlyObjects (so the page can be walked set by set, see pageBySets).
func onlyStart(f *indexd.ListFilter) bool {
	return f.Page <= 0 && len(f.IDs) == 0 && f.Size == nil && f.FileName == nil && f.Version == nil &&
		f.Uploader == nil && f.Form == nil && len(f.URLs) == 0 && len(f.Hashes) == 0 && len(f.Metadata) == 0 &&
		len(f.ACL) == 0 && !f.ACLNull && len(f.Authz) == 0 && !f.AuthzNull && len(f.URLsMetadata) == 0 &&
		f.Negate == nil
}

// GetRecords returns the visible records among dids (bulk reads); missing
// and invisible ids are left out alike. Order: did.
func (s *Store) GetRecords(ctx context.Context, dc discovery.Context, dids []string, opt ListOptions) ([]indexd.Record, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if len(dids) == 0 {
		return []indexd.Record{}, nil
	}
	q := s.reader(ctx)
	vis, err := s.visibility(ctx, q, dc)
	if err != nil {
		return nil, err
	}
	b := s.selectPage(opt.WithAliases).Where(vis).Where(sq.Expr("r.did = ANY(?::text[])", dids)).OrderBy(colDID)
	recs, err := s.query(ctx, q, b)
	if err == nil && opt.WithAliases {
		err = s.fillAliases(ctx, q, recs)
	}
	return recs, err
}

// GetRecord returns the record an id names: candidates are the id's
// spellings, literal first (indexd.Spellings); the record holding the
// first of them as its did or an alias is the one (spellings.go). Returns
// indexd.ErrNotFound when none does and indexd.ErrNotVisible when dc may
// not see it: one statement answers both, so the two take the same path.
// Under Options.HideExistence an invisible record is indexd.ErrNotFound
// too, and the statement returns no row for it, as for a missing id.
func (s *Store) GetRecord(ctx context.Context, dc discovery.Context, candidates []string) (*indexd.Record, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.getRecord(ctx, s.reader(ctx), dc, candidates)
}

func (s *Store) getRecord(ctx context.Context, q querier, dc discovery.Context, candidates []string) (*indexd.Record, error) {
	vis, err := s.visibility(ctx, q, dc)
	if err != nil {
		return nil, err
	}
	visSQL, visArgs, err := vis.ToSql()
	if err != nil {
		return nil, fmt.Errorf("repository: build predicate: %w", err)
	}
	cols := append(append([]string{}, recordColumns...), aliasesOfRecord)
	var args []any
	if !s.hide {
		cols = append(cols, "("+visSQL+") AS visible")
		args = append(args, visArgs...)
	}
	id, twin := idAndTwin(candidates)
	args = append(args, id, twin)
	where := ""
	if s.hide {
		where = " WHERE " + visSQL
		args = append(args, visArgs...)
	}
	sql, err := sq.Dollar.ReplacePlaceholders("SELECT " + strings.Join(cols, ", ") + " FROM " + oneID + " " + resolveLateral + where)
	if err != nil {
		return nil, fmt.Errorf("repository: build query: %w", err)
	}
	var r indexd.Record
	visible := true
	var extra []any
	if !s.hide {
		extra = append(extra, &visible)
	}
	if err := scanRecord(q.QueryRow(ctx, sql, args...), &r, extra...); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, indexd.Errorf(indexd.ErrNotFound, "no record found")
		}
		return nil, fmt.Errorf("repository: get record: %w", classify(err))
	}
	if !visible {
		return nil, indexd.Errorf(indexd.ErrNotVisible, "record not visible")
	}
	return &r, nil
}

// ResolveRecords resolves each of ids (bulk reads) the way GetRecord does
// — the record holding the id as its did or an alias, else the one holding
// its twin (twins[i], "" for none) — and returns, aligned with ids, that
// record when dc may see it and nil when it is missing or invisible alike.
// One statement.
func (s *Store) ResolveRecords(ctx context.Context, dc discovery.Context, ids, twins []string, opt ListOptions) ([]*indexd.Record, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	out := make([]*indexd.Record, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	q := s.reader(ctx)
	vis, err := s.visibility(ctx, q, dc)
	if err != nil {
		return nil, err
	}
	visSQL, visArgs, err := vis.ToSql()
	if err != nil {
		return nil, fmt.Errorf("repository: build predicate: %w", err)
	}
	cols := append(append([]string{}, recordColumns...), noAliases, "q.n")
	if opt.WithAliases {
		cols[len(recordColumns)] = aliasesOfRecord
	}
	sql, err := sq.Dollar.ReplacePlaceholders(`SELECT ` + strings.Join(cols, ", ") + `
		FROM unnest(?::text[], ?::text[]) WITH ORDINALITY AS q(id, twin, n) ` + resolveLateral + `
		WHERE ` + visSQL)
	if err != nil {
		return nil, fmt.Errorf("repository: build query: %w", err)
	}
	args := append([]any{ids, twins}, visArgs...)
	rows, err := q.Query(ctx, sql, args...) // prepared: one plan (primary-key probes) fits every id list
	if err != nil {
		return nil, fmt.Errorf("repository: resolve ids: %w", classify(err))
	}
	defer rows.Close()
	for rows.Next() {
		var r indexd.Record
		var n int64
		if err := scanRecord(rows, &r, &n); err != nil {
			return nil, fmt.Errorf("repository: scan record: %w", err)
		}
		out[n-1] = &r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("repository: resolve ids: %w", classify(err))
	}
	return out, nil
}

// Versions returns the visible versions of the chain id names — the
// chain of the record it names (candidates: its spellings, literal first),
// else the chain whose baseid it is (candidates[0]) — oldest first.
// Errors: not found when neither exists; not visible when the named record
// (or, for a baseid, every version) is invisible.
func (s *Store) Versions(ctx context.Context, dc discovery.Context, candidates []string) ([]indexd.Record, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	q := s.reader(ctx)
	vis, err := s.visibility(ctx, q, dc)
	if err != nil {
		return nil, err
	}
	baseid, err := s.resolveChain(ctx, q, vis, candidates)
	if err != nil {
		return nil, err
	}
	b := s.selectRecords(false).Where(vis).Where(sq.Eq{"r.baseid": baseid}).OrderBy("r.created_date", colDID)
	recs, err := s.query(ctx, q, b)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, indexd.Errorf(indexd.ErrNotVisible, "record not visible")
	}
	return recs, nil
}

// Latest returns the newest visible version of id's chain (as Versions
// finds it); hasVersion restricts to versions whose version field is set.
// Errors as Versions: a chain with no visible version is not visible,
// whether or not hasVersion is set (so has_version cannot tell an
// invisible chain from a missing one); only a chain the caller sees, none
// of whose visible versions has a version, is indexd.ErrNotFound "no
// versioned record found".
func (s *Store) Latest(ctx context.Context, dc discovery.Context, candidates []string, hasVersion bool) (*indexd.Record, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	q := s.reader(ctx)
	vis, err := s.visibility(ctx, q, dc)
	if err != nil {
		return nil, err
	}
	baseid, err := s.resolveChain(ctx, q, vis, candidates)
	if err != nil {
		return nil, err
	}
	// One query answers both questions: versioned records sort first, so
	// an unversioned first row means "visible, but none versioned".
	b := s.selectRecords(false).Where(vis).Where(sq.Eq{"r.baseid": baseid})
	if hasVersion {
		b = b.OrderBy("(r.version IS NOT NULL) DESC")
	}
	b = b.OrderBy("r.created_date DESC", colDID+" DESC").Limit(1)
	recs, err := s.query(ctx, q, b)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, indexd.Errorf(indexd.ErrNotVisible, "record not visible")
	}
	if hasVersion && recs[0].Version == nil {
		return nil, indexd.Errorf(indexd.ErrNotFound, "no versioned record found")
	}
	return &recs[0], nil
}

// resolveChain finds the chain an id names, in one statement whether it
// exists, is invisible or is missing (hide_existence: the same path, and no
// row for either under Options.HideExistence): the
// record holding one of candidates (literal first) — which must be visible
// — else the chain whose baseid is candidates[0] — some version of which
// must be visible. Returns the baseid, indexd.ErrNotFound or
// indexd.ErrNotVisible.
func (s *Store) resolveChain(ctx context.Context, q querier, vis sq.Sqlizer, candidates []string) (string, error) {
	visSQL, visArgs, err := vis.ToSql()
	if err != nil {
		return "", fmt.Errorf("repository: build predicate: %w", err)
	}
	sql, err := sq.Dollar.ReplacePlaceholders(`SELECT x.baseid, x.visible FROM (
		(SELECT r.baseid, (` + visSQL + `) AS visible, 0 AS o FROM ` + oneID + ` ` + resolveLateral + `)
		UNION ALL
		(SELECT b.baseid, EXISTS (SELECT 1 FROM record r WHERE r.baseid = b.baseid AND (` + visSQL + `)), 1
			FROM record b WHERE b.baseid = ? LIMIT 1)
	) x ORDER BY x.o LIMIT 1`)
	if err != nil {
		return "", fmt.Errorf("repository: build query: %w", err)
	}
	if s.hide {
		// An invisible chain returns no row, as a missing id does.
		sql = "SELECT y.baseid, y.visible FROM (" + sql + ") y WHERE y.visible"
	}
	// Arguments in the placeholders' order: the first predicate's, the id
	// and its twin, the second predicate's, the baseid.
	id, twin := idAndTwin(candidates)
	var args []any
	args = append(args, visArgs...)
	args = append(args, id, twin)
	args = append(args, visArgs...)
	args = append(args, candidates[0])
	var baseid string
	var visible bool
	err = q.QueryRow(ctx, sql, args...).Scan(&baseid, &visible)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", indexd.Errorf(indexd.ErrNotFound, "no record found")
	}
	if err != nil {
		return "", fmt.Errorf("repository: find version chain: %w", classify(err))
	}
	if !visible {
		return "", indexd.Errorf(indexd.ErrNotVisible, "record not visible")
	}
	return baseid, nil
}

// StatsOptions narrow what Stats counts.
type StatsOptions struct {
	// OnlyObjects counts only DRS objects (indexd.Record.IsDRSObject, the
	// rule ListFilter.OnlyObjects applies), for DRS service-info.
	OnlyObjects bool
}

// Stats counts the live records visible under dc and their total size,
// which saturates at 2^63-1 bytes.
func (s *Store) Stats(ctx context.Context, dc discovery.Context, opt StatsOptions) (indexd.Stats, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	q := s.reader(ctx)
	vis, err := s.visibility(ctx, q, dc)
	if err != nil {
		return indexd.Stats{}, err
	}
	// sum(bigint) is numeric: a total past 2^63-1 bytes (sizes are
	// caller-given, each up to 2^63-1) is reported as 2^63-1 rather than
	// failing the cast for every caller.
	b := s.sb.Select("count(*)", "least(coalesce(sum(r.size), 0), 9223372036854775807)::bigint").From(recordFrom).Where(vis)
	if opt.OnlyObjects {
		b = b.Where(drsObjectClause())
	}
	sql, args, err := b.ToSql()
	if err != nil {
		return indexd.Stats{}, fmt.Errorf("repository: build stats: %w", err)
	}
	var st indexd.Stats
	if err := q.QueryRow(ctx, sql, append([]any{pgx.QueryExecModeCacheDescribe}, args...)...).Scan(&st.FileCount, &st.TotalFileSize); err != nil {
		return indexd.Stats{}, fmt.Errorf("repository: stats: %w", classify(err))
	}
	return st, nil
}
