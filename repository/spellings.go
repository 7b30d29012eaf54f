package repository

// Spellings: one rule for every way an id is spelled (indexd.Spellings).
//
// A record answers to its did and its aliases — rows of record_spelling,
// whose primary key lets one spelling name at most one record — and, when
// the service has a default prefix, to the prefix twin of each, which is
// configuration and not stored. A version chain answers to its baseid
// through /versions and /latest.
//
// Writes: creating a did or an alias that another record already answers
// to, literally or as a twin, or that is the baseid of another chain, is
// indexd.ErrConflict, whoever asks; a new chain's caller-given baseid must
// be no chain's and no other record's spelling. Every write that claims an
// id first takes a transaction-scoped advisory lock on the id's unprefixed
// form (indexd.SpellingKey) — so an id and its twin, or a did and a
// baseid of the same name, are decided one after the other — and only
// then checks and inserts: two concurrent creates of twin spellings, or of
// a did and an alias of one name, never both win. Lock order: a chain's
// lock (lockChain) before id locks, id locks (sorted) before row locks.
//
// Reads (getRecord, resolveChain, ResolveRecords): an id resolves to the
// record holding it literally, else to the record holding its twin (the
// candidates, literal first), and only then is that record's visibility
// applied — never "the first visible one", which would let spellings
// disagree. /versions and /latest fall back to a chain's baseid. Each of
// these is one statement, so an invisible record and a missing id take
// the same path (hide_existence).

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/datacommons/indexd"
)

// resolveLateral resolves the id of each row of q (columns id and twin —
// the id's prefix twin, ” for none) to the record r it names: the record
// whose did it is, else whose alias it is, else the same for its twin;
// the first found (one primary-key probe for a did). Visibility is applied
// to r afterwards, never inside: an id names one record, visible or not.
// Every read by id — single, bulk, versions and latest — goes through it.
const resolveLateral = `CROSS JOIN LATERAL (
		(SELECT x.* FROM record x WHERE x.did = q.id)
		UNION ALL (SELECT x.* FROM record_spelling m JOIN record x ON x.did = m.did WHERE m.spelling = q.id AND m.kind = 'alias')
		UNION ALL (SELECT x.* FROM record x WHERE x.did = q.twin)
		UNION ALL (SELECT x.* FROM record_spelling m JOIN record x ON x.did = m.did WHERE m.spelling = q.twin AND m.kind = 'alias')
		LIMIT 1) r`

// oneID is the q of resolveLateral for a single id: its placeholders
// take the id and its twin (idAndTwin).
const oneID = `(SELECT ?::text AS id, ?::text AS twin) q`

// idAndTwin splits a read's candidates (indexd.Spellings: the id, then its
// twin if any) into resolveLateral's two columns.
func idAndTwin(candidates []string) (string, string) {
	if len(candidates) > 1 {
		return candidates[0], candidates[1]
	}
	return candidates[0], ""
}

// idLockClass namespaces the advisory locks on ids (lockIDs).
const idLockClass = 0x1dd0c4a2

// Kinds of record_spelling rows.
const (
	spellingDID   = "did"
	spellingAlias = "alias"
)

// twinsOf returns ids with the prefix twin of each.
func (s *Store) twinsOf(ids []string) []string {
	out := make([]string, 0, 2*len(ids))
	for _, id := range ids {
		out = append(out, indexd.Spellings(id, s.prefix)...)
	}
	return out
}

// lockIDs takes the advisory locks of ids' unprefixed forms, sorted.
func (s *Store) lockIDs(ctx context.Context, tx pgx.Tx, ids ...string) error {
	keys := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			keys = append(keys, indexd.SpellingKey(id, s.prefix))
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	if len(keys) == 0 {
		return nil
	}
	// One statement; unnest keeps the sorted order, so two writers never
	// wait on each other's locks crosswise.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1::int, hashtext(k))
		FROM unnest($2::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n`, idLockClass, keys); err != nil {
		return fmt.Errorf("repository: lock ids: %w", classify(err))
	}
	return nil
}

// claimSpellings records names (of kind) as spellings of did, whose chain
// is baseid, after checking — in the same statement, after the caller took
// the names' locks (lockIDs) in an earlier one — that no other record
// answers to any of them or to its twin and that none is (with its twin)
// the baseid of another chain. The record is inserted already. Returns
// indexd.ErrConflict naming the first taken name (nothing is kept: the
// transaction rolls back).
func (s *Store) claimSpellings(ctx context.Context, tx pgx.Tx, did, baseid, kind string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	twins := make([]string, len(names))
	for i, n := range names {
		twins[i] = indexd.PrefixTwin(n, s.prefix)
	}
	// ON CONFLICT: a name the record itself already answers to (an alias
	// equal to its own did) is kept once.
	var taken string
	err := tx.QueryRow(ctx, `WITH t AS (
			SELECT n.name FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS n(name, twin, i)
			WHERE EXISTS (SELECT 1 FROM record_spelling WHERE spelling IN (n.name, n.twin) AND did <> $3)
			   OR EXISTS (SELECT 1 FROM record WHERE baseid IN (n.name, n.twin) AND baseid <> $4)
			ORDER BY n.i LIMIT 1),
		ins AS (INSERT INTO record_spelling (spelling, did, kind) SELECT name, $3, $5 FROM unnest($1::text[]) AS name
			ON CONFLICT (spelling) DO NOTHING)
		SELECT coalesce((SELECT name FROM t), '')`, names, twins, did, baseid, kind).Scan(&taken)
	if err != nil {
		return fmt.Errorf("repository: claim spellings: %w", classify(err))
	}
	switch {
	case taken == "":
		return nil
	case kind == spellingAlias:
		return indexd.Errorf(indexd.ErrConflict, "alias %s is already in use", taken)
	}
	return indexd.Errorf(indexd.ErrConflict, "id %s is already in use by another record", taken)
}

// checkNewChain checks a caller-given baseid of a new chain started by
// did: no other record may carry it (it would be that chain's version, see
// NewVersion), and no other record may answer to it or its twin (reads
// resolve a spelling before a baseid, so the chain could never be read by
// it). The caller holds the baseid's lock.
func (s *Store) checkNewChain(ctx context.Context, tx pgx.Tx, did, baseid string) error {
	var chain, spelled bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM record WHERE baseid = $1 AND did <> $2),
		EXISTS (SELECT 1 FROM record_spelling WHERE spelling = ANY($3::text[]) AND did <> $2)`,
		baseid, did, indexd.Spellings(baseid, s.prefix)).Scan(&chain, &spelled)
	if err != nil {
		return fmt.Errorf("repository: check baseid: %w", classify(err))
	}
	switch {
	case chain:
		return indexd.Errorf(indexd.ErrConflict, "the version chain %s changed while the write was being authorized; read it again and retry", baseid)
	case spelled:
		return indexd.Errorf(indexd.ErrConflict, "baseid %s is already in use as the id of another record", baseid)
	}
	return nil
}
