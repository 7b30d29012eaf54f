package repository

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/jackc/pgx/v5"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
)

// NewRev returns a fresh 8-hex-character revision.
func NewRev() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewUUID returns a random (version 4) UUID string.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ensureAuthzSet returns the id of the canonical authz set for paths,
// creating it (and its prefix rows) on first use.
// created is set when the set is new (the caller flushes the visible-set
// cache after its transaction commits).
func ensureAuthzSet(ctx context.Context, q querier, paths []string, created *bool) (int64, error) {
	canon := discovery.CanonicalSet(paths)
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO authz_set (paths, n_paths) VALUES ($1::text[], $2)
		ON CONFLICT (paths) DO NOTHING RETURNING id`, canon, len(canon)).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		if err := q.QueryRow(ctx, "SELECT id FROM authz_set WHERE paths = $1::text[]", canon).Scan(&id); err != nil {
			return 0, fmt.Errorf("repository: find authz set: %w", classify(err))
		}
		return id, nil
	}
	if err != nil {
		return 0, fmt.Errorf("repository: create authz set: %w", classify(err))
	}
	*created = true
	var ps, pres []string
	for _, p := range canon {
		for _, pre := range discovery.Prefixes(p) {
			ps, pres = append(ps, p), append(pres, pre)
		}
	}
	if len(ps) > 0 {
		if _, err := q.Exec(ctx, `INSERT INTO authz_set_prefix (set_id, path, prefix)
			SELECT $1, p, pre FROM unnest($2::text[], $3::text[]) AS t(p, pre)
			ON CONFLICT DO NOTHING`, id, ps, pres); err != nil {
			return 0, fmt.Errorf("repository: create authz prefixes: %w", classify(err))
		}
	}
	return id, nil
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func orEmptyMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return map[K]V{}
	}
	return m
}

// Create inserts a new record that starts a version chain: its baseid is
// minted, or caller-given and then unused (no record carries it, no other
// record answers to it: see checkNewChain; a caller-given baseid naming a
// chain is a new version of it, NewVersion). Returns indexd.ErrConflict when
// the did, an alias or the baseid is taken under any spelling.
func (s *Store) Create(ctx context.Context, n indexd.NewRecord) (indexd.Ref, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if n.DID == "" {
		n.DID = NewUUID()
	}
	givenBase := n.BaseID != ""
	if !givenBase {
		n.BaseID = NewUUID() // random: no other chain or record has it
	}
	var ref indexd.Ref
	var created bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		ids := append([]string{n.DID}, n.Aliases...)
		if givenBase {
			ids = append(ids, n.BaseID)
		}
		if err := s.lockIDs(ctx, tx, ids...); err != nil {
			return err
		}
		var err error
		if ref, err = s.insert(ctx, tx, n, &created); err != nil {
			return err
		}
		if givenBase {
			return s.checkNewChain(ctx, tx, n.DID, n.BaseID)
		}
		return nil
	})
	s.afterWrite(err, created)
	return ref, err
}

// insert writes a record and its spellings. The caller holds the locks of
// its ids (lockIDs) and, for a version, of its chain.
func (s *Store) insert(ctx context.Context, tx pgx.Tx, n indexd.NewRecord, created *bool) (indexd.Ref, error) {
	setID, err := ensureAuthzSet(ctx, tx, n.Authz, created)
	if err != nil {
		return indexd.Ref{}, err
	}
	now := time.Now().UTC()
	ref := indexd.Ref{DID: n.DID, BaseID: n.BaseID, Rev: NewRev()}
	sql, args, err := s.sb.Insert(tableRecord).Columns(
		"did", "baseid", "rev", "form", "size", "file_name", "version", "uploader", "description",
		"created_date", "updated_date", "content_created_date", "content_updated_date",
		"hashes", "urls", "urls_metadata", "acl", "authz", "metadata", "authz_set_id",
	).Values(
		ref.DID, ref.BaseID, ref.Rev, n.Form, n.Size, n.FileName, n.Version, n.Uploader, n.Description,
		now, now, n.ContentCreatedDate, n.ContentUpdatedDate,
		orEmptyMap(n.Hashes), orEmpty(n.URLs), orEmptyMap(n.URLsMetadata), orEmpty(n.ACL), orEmpty(n.Authz),
		orEmptyMap(n.Metadata), setID,
	).Suffix("ON CONFLICT (did) DO NOTHING").ToSql()
	if err != nil {
		return indexd.Ref{}, fmt.Errorf("repository: build insert: %w", err)
	}
	tag, err := tx.Exec(ctx, sql, args...)
	if err != nil {
		return indexd.Ref{}, fmt.Errorf("repository: insert record: %w", classify(err))
	}
	if tag.RowsAffected() == 0 {
		return indexd.Ref{}, indexd.Errorf(indexd.ErrConflict, "record %s already exists", n.DID)
	}
	if err := s.claimSpellings(ctx, tx, ref.DID, ref.BaseID, spellingDID, []string{ref.DID}); err != nil {
		return indexd.Ref{}, err
	}
	if err := syncURLs(ctx, tx, ref.DID, n.URLs, false); err != nil {
		return indexd.Ref{}, err
	}
	if err := s.claimSpellings(ctx, tx, ref.DID, ref.BaseID, spellingAlias, n.Aliases); err != nil {
		return indexd.Ref{}, err
	}
	for _, a := range n.Aliases {
		tag, err := tx.Exec(ctx, "INSERT INTO alias (name, did) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", a, ref.DID)
		if err != nil {
			return indexd.Ref{}, fmt.Errorf("repository: add alias: %w", classify(err))
		}
		if tag.RowsAffected() == 0 {
			return indexd.Ref{}, indexd.Errorf(indexd.ErrConflict, "alias %s is already in use", a)
		}
	}
	return ref, nil
}

// GetForWrite reads a record without visibility filtering, for write paths
// that authorize against the policy service themselves. candidates are the
// spellings of one id, literal first (indexd.Spellings). Returns
// indexd.ErrNotFound when no record answers to them.
func (s *Store) GetForWrite(ctx context.Context, candidates []string) (*indexd.Record, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.getRecord(ctx, s.pool, discovery.Open, candidates)
}

// ChainVisible reports whether dc sees some version of baseid's chain
// (false too when there is none).
func (s *Store) ChainVisible(ctx context.Context, dc discovery.Context, baseid string) (bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	vis, err := s.visibility(ctx, s.pool, dc)
	if err != nil {
		return false, err
	}
	sql, args, err := s.sb.Select("1").From(recordFrom).Where(sq.Eq{"r.baseid": baseid}).Where(vis).Prefix("SELECT EXISTS (").Suffix(")").ToSql()
	if err != nil {
		return false, fmt.Errorf("repository: build query: %w", err)
	}
	var ok bool
	if err := s.pool.QueryRow(ctx, sql, args...).Scan(&ok); err != nil {
		return false, fmt.Errorf("repository: find version chain: %w", classify(err))
	}
	return ok, nil
}

// NewVersion adds n as a version of baseid's chain, which must still be
// covered by what the write was authorized on: authorized are the chain's
// versions as read for the decision (update on every one's authz, SPEC §3
// and docs/authorization.md), and every version the chain holds now must
// have an authz within the union of theirs (an empty one only if one of
// theirs was), else indexd.ErrConflict (nothing written). A version added
// meanwhile under the same paths does not conflict. The chain's versions
// are held (FOR SHARE) until the version is in. Returns indexd.ErrConflict
// also when the chain has no version left or an id of n is taken.
func (s *Store) NewVersion(ctx context.Context, baseid string, authorized []Version, n indexd.NewRecord) (indexd.Ref, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if n.DID == "" {
		n.DID = NewUUID()
	}
	n.BaseID = baseid
	var ref indexd.Ref
	var created bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// Adding a version changes the chain's membership: take the chain
		// lock (waiting for, and holding off, an update of all versions)
		// before the ids' locks and any row lock.
		if err := lockChain(ctx, tx, baseid); err != nil {
			return err
		}
		if err := s.lockIDs(ctx, tx, append([]string{n.DID}, n.Aliases...)...); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT did, authz FROM record WHERE baseid = $1 FOR SHARE", baseid)
		if err != nil {
			return fmt.Errorf("repository: lock version chain: %w", classify(err))
		}
		current, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Version, error) {
			var v Version
			err := r.Scan(&v.DID, &v.Authz)
			return v, err
		})
		if err != nil {
			return fmt.Errorf("repository: lock version chain: %w", classify(err))
		}
		if len(current) == 0 || !coveredBy(current, authorized) {
			return indexd.Errorf(indexd.ErrConflict, "the version chain changed while the new version was being authorized; read it again and retry")
		}
		ref, err = s.insert(ctx, tx, n, &created)
		return err
	})
	s.afterWrite(err, created)
	return ref, err
}

// coveredBy reports whether every version of current has an authz within
// the union of authorized's (an empty authz only if one of those was
// empty): a decision on authorized then holds for current.
func coveredBy(current, authorized []Version) bool {
	paths := map[string]bool{}
	empty := false
	for _, v := range authorized {
		empty = empty || len(v.Authz) == 0
		for _, p := range v.Authz {
			paths[p] = true
		}
	}
	for _, v := range current {
		if len(v.Authz) == 0 && !empty {
			return false
		}
		for _, p := range v.Authz {
			if !paths[p] {
				return false
			}
		}
	}
	return true
}

// Update applies u to the record did if its rev is still rev. Returns
// indexd.ErrNotFound or indexd.ErrConflict (rev mismatch).
func (s *Store) Update(ctx context.Context, did, rev string, u indexd.RecordUpdate) (indexd.Ref, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var ref indexd.Ref
	var created bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		set := map[string]any{"updated_date": time.Now().UTC()}
		if u.URLs != nil {
			set["urls"] = orEmpty(*u.URLs)
			if u.URLsMetadata == nil {
				// Keep metadata only for urls that remain.
				set["urls_metadata"] = sq.Expr(`coalesce((SELECT jsonb_object_agg(e.key, e.value)
					FROM jsonb_each(urls_metadata) e WHERE e.key = ANY(?::text[])), '{}'::jsonb)`, orEmpty(*u.URLs))
			}
		}
		if u.URLsMetadata != nil {
			set["urls_metadata"] = orEmptyMap(*u.URLsMetadata)
		}
		if u.ACL != nil {
			set["acl"] = orEmpty(*u.ACL)
		}
		if u.Authz != nil {
			id, err := ensureAuthzSet(ctx, tx, *u.Authz, &created)
			if err != nil {
				return err
			}
			set["authz"] = orEmpty(*u.Authz)
			set["authz_set_id"] = id
		}
		for col, v := range map[string]*string{"file_name": u.FileName, "version": u.Version, "uploader": u.Uploader, "description": u.Description} {
			if v != nil {
				set[col] = *v
			}
		}
		if u.Metadata != nil {
			set["metadata"] = orEmptyMap(*u.Metadata)
		}
		if u.ContentCreatedDate != nil {
			set["content_created_date"] = *u.ContentCreatedDate
		}
		if u.ContentUpdatedDate != nil {
			set["content_updated_date"] = *u.ContentUpdatedDate
		}
		if u.Size != nil {
			set["size"] = *u.Size
		}
		if u.Hashes != nil {
			set["hashes"] = orEmptyMap(*u.Hashes)
		}
		newRev := NewRev()
		set["rev"] = newRev
		sql, args, err := s.sb.Update(tableRecord).SetMap(set).
			Where(sq.Eq{"did": did, "rev": rev}).Suffix("RETURNING did, baseid, rev").ToSql()
		if err != nil {
			return fmt.Errorf("repository: build update: %w", err)
		}
		err = tx.QueryRow(ctx, sql, args...).Scan(&ref.DID, &ref.BaseID, &ref.Rev)
		if errors.Is(err, pgx.ErrNoRows) {
			return s.missOrConflict(ctx, tx, did)
		}
		if err != nil {
			return fmt.Errorf("repository: update record: %w", classify(err))
		}
		if u.URLs != nil {
			if err := syncURLs(ctx, tx, ref.DID, *u.URLs, true); err != nil {
				return err
			}
		}
		return nil
	})
	s.afterWrite(err, created)
	return ref, err
}

// missOrConflict explains why a rev-guarded write touched no row.
func (s *Store) missOrConflict(ctx context.Context, q querier, did string) error {
	var exists bool
	if err := q.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM record WHERE did = $1)", did).Scan(&exists); err != nil {
		return fmt.Errorf("repository: check record: %w", classify(err))
	}
	if !exists {
		return indexd.Errorf(indexd.ErrNotFound, "no record found")
	}
	return indexd.Errorf(indexd.ErrConflict, "revision mismatch")
}

// Delete removes the record did if its rev is still rev (its aliases go with it).
func (s *Store) Delete(ctx context.Context, did, rev string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM record WHERE did = $1 AND rev = $2", did, rev)
		if err != nil {
			return fmt.Errorf("repository: delete record: %w", classify(err))
		}
		if tag.RowsAffected() == 0 {
			return s.missOrConflict(ctx, tx, did)
		}
		return nil
	})
}

// Version is one version of a chain as a write was authorized against it:
// its did, rev and authz.
type Version struct {
	DID   string
	Rev   string
	Authz []string
}

// Chain returns every version of baseid's chain (did, rev, authz), for the
// write authorization of UpdateAllVersions, which then checks that the
// chain is still exactly this. Order: did.
func (s *Store) Chain(ctx context.Context, baseid string) ([]Version, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, "SELECT did, rev, authz FROM record WHERE baseid = $1 ORDER BY did", baseid)
	if err != nil {
		return nil, fmt.Errorf("repository: read version chain: %w", classify(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Version, error) {
		var v Version
		err := r.Scan(&v.DID, &v.Rev, &v.Authz)
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("repository: read version chain: %w", classify(err))
	}
	return out, nil
}

// chainLockClass namespaces the advisory locks that serialize the writes
// that change a chain's membership (NewVersion, UpdateAllVersions).
const chainLockClass = 0x1dd0c4a1

// lockChain takes the transaction-scoped advisory lock of baseid's chain.
// While it is held no version can be added to the chain.
func lockChain(ctx context.Context, tx pgx.Tx, baseid string) error {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1::int, hashtext($2))", chainLockClass, baseid); err != nil {
		return fmt.Errorf("repository: lock version chain: %w", classify(err))
	}
	return nil
}

// UpdateAllVersions sets acl and/or authz on every version of baseid in one
// transaction, returning each version's new ref, oldest first. The write
// happens only if the chain is still exactly authorized — the same dids at
// the same revs, none added, none removed — so a version added or changed
// between the authorization and the write is never overwritten. Returns
// indexd.ErrNotFound when the chain has no version, indexd.ErrConflict when
// it differs from authorized.
func (s *Store) UpdateAllVersions(ctx context.Context, baseid string, authorized []Version, acl, authz *[]string) ([]indexd.Ref, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var refs []indexd.Ref
	var created bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockChain(ctx, tx, baseid); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT did, rev FROM record WHERE baseid = $1 ORDER BY did FOR UPDATE", baseid)
		if err != nil {
			return fmt.Errorf("repository: lock versions: %w", classify(err))
		}
		current, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Version, error) {
			var v Version
			err := r.Scan(&v.DID, &v.Rev)
			return v, err
		})
		if err != nil {
			return fmt.Errorf("repository: lock versions: %w", classify(err))
		}
		if len(current) == 0 {
			return indexd.Errorf(indexd.ErrNotFound, "no record found")
		}
		if !sameRevs(current, authorized) {
			return indexd.Errorf(indexd.ErrConflict, "the version chain changed while the update was being authorized; read it again and retry")
		}
		set := map[string]any{"updated_date": time.Now().UTC(), "rev": sq.Expr("substr(md5(random()::text || did), 1, 8)")}
		if acl != nil {
			set["acl"] = orEmpty(*acl)
		}
		if authz != nil {
			id, err := ensureAuthzSet(ctx, tx, *authz, &created)
			if err != nil {
				return err
			}
			set["authz"] = orEmpty(*authz)
			set["authz_set_id"] = id
		}
		sql, args, err := s.sb.Update(tableRecord).SetMap(set).Where(sq.Eq{"baseid": baseid}).
			Suffix("RETURNING did, baseid, rev, created_date").ToSql()
		if err != nil {
			return fmt.Errorf("repository: build update: %w", err)
		}
		rows, err = tx.Query(ctx, sql, args...)
		if err != nil {
			return fmt.Errorf("repository: update versions: %w", classify(err))
		}
		type row struct {
			ref indexd.Ref
			at  time.Time
		}
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var x row
			err := r.Scan(&x.ref.DID, &x.ref.BaseID, &x.ref.Rev, &x.at)
			return x, err
		})
		if err != nil {
			return fmt.Errorf("repository: update versions: %w", classify(err))
		}
		if len(got) != len(current) {
			// Cannot happen while the chain lock is held; never write more
			// than was authorized.
			return indexd.Errorf(indexd.ErrConflict, "the version chain changed while the update was being authorized; read it again and retry")
		}
		sortRows(got, func(a, b row) bool { return a.at.Before(b.at) || a.at.Equal(b.at) && a.ref.DID < b.ref.DID })
		for _, x := range got {
			refs = append(refs, x.ref)
		}
		return nil
	})
	s.afterWrite(err, created)
	return refs, err
}

// sameRevs reports whether two chains hold the same dids at the same revs.
func sameRevs(a, b []Version) bool {
	if len(a) != len(b) {
		return false
	}
	revs := make(map[string]string, len(a))
	for _, v := range a {
		revs[v.DID] = v.Rev
	}
	for _, v := range b {
		if r, ok := revs[v.DID]; !ok || r != v.Rev {
			return false
		}
		delete(revs, v.DID)
	}
	return len(revs) == 0
}

// syncURLs keeps the record_url index table in step with record.urls.
func syncURLs(ctx context.Context, q querier, did string, urls []string, replace bool) error {
	if replace {
		if _, err := q.Exec(ctx, "DELETE FROM record_url WHERE did = $1", did); err != nil {
			return fmt.Errorf("repository: clear record urls: %w", classify(err))
		}
	}
	if len(urls) == 0 {
		return nil
	}
	if _, err := q.Exec(ctx, `INSERT INTO record_url (url, did) SELECT DISTINCT u, $2 FROM unnest($1::text[]) AS u
		ON CONFLICT DO NOTHING`, urls, did); err != nil {
		return fmt.Errorf("repository: index record urls: %w", classify(err))
	}
	return nil
}
