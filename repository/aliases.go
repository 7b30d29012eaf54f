package repository

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/datacommons/indexd"
)

// Aliases returns the aliases of a record, sorted. The caller has already
// read the record through GetRecord (which applies visibility).
func (s *Store) Aliases(ctx context.Context, did string) ([]string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.reader(ctx).Query(ctx, "SELECT name FROM alias WHERE did = $1 ORDER BY name", did)
	if err != nil {
		return nil, fmt.Errorf("repository: list aliases: %w", classify(err))
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("repository: list aliases: %w", classify(err))
	}
	return orEmpty(names), nil
}

// AddAliases claims aliases for did, provided the record is still at rev
// (the revision its authz was authorized at); replace first drops the
// record's other aliases. Returns indexd.ErrConflict when the record's rev
// is no longer rev or an alias is taken — by any record, including this
// one on add, under any spelling (a did, an alias, a prefix twin of
// either, another chain's baseid: spellings.go) — and indexd.ErrNotFound
// when did does not exist. All or nothing.
func (s *Store) AddAliases(ctx context.Context, did, rev string, aliases []string, replace bool) ([]string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var out []string
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		seen := map[string]bool{}
		for _, a := range aliases {
			if seen[a] {
				return indexd.Invalidf("alias %q is given twice", a)
			}
			seen[a] = true
		}
		if err := s.lockIDs(ctx, tx, aliases...); err != nil {
			return err
		}
		baseid, err := lockRecordAt(ctx, tx, did, rev)
		if err != nil {
			return err
		}
		if replace {
			if err := dropAliases(ctx, tx, did, ""); err != nil {
				return err
			}
		}
		for _, a := range aliases {
			tag, err := tx.Exec(ctx, "INSERT INTO alias (name, did) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING", a, did)
			if err != nil {
				return fmt.Errorf("repository: add alias: %w", classify(err))
			}
			if tag.RowsAffected() == 0 {
				return indexd.Errorf(indexd.ErrConflict, "alias %s is already in use", a)
			}
		}
		if err := s.claimSpellings(ctx, tx, did, baseid, spellingAlias, aliases); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT name FROM alias WHERE did = $1 ORDER BY name", did)
		if err != nil {
			return fmt.Errorf("repository: list aliases: %w", classify(err))
		}
		if out, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			// The connection may drop while the rows are read: classified
			// like every other statement's error (503, not 500).
			return fmt.Errorf("repository: list aliases: %w", classify(err))
		}
		return nil
	})
	return orEmpty(out), err
}

// dropAliases deletes did's aliases (only alias when not ""), with their
// spellings; it returns how many aliases it deleted.
func dropAliases(ctx context.Context, tx pgx.Tx, did, alias string) error {
	_, err := dropAliasesN(ctx, tx, did, alias)
	return err
}

func dropAliasesN(ctx context.Context, tx pgx.Tx, did, alias string) (int64, error) {
	tag, err := tx.Exec(ctx, "DELETE FROM alias WHERE did = $1 AND ($2 = '' OR name = $2)", did, alias)
	if err != nil {
		return 0, fmt.Errorf("repository: delete aliases: %w", classify(err))
	}
	if _, err := tx.Exec(ctx, "DELETE FROM record_spelling WHERE did = $1 AND kind = 'alias' AND ($2 = '' OR spelling = $2)", did, alias); err != nil {
		return 0, fmt.Errorf("repository: delete alias spellings: %w", classify(err))
	}
	return tag.RowsAffected(), nil
}

// DeleteAliases removes all aliases of did, or only alias when it is not "",
// provided the record is still at rev (the revision its authz was
// authorized at). Returns indexd.ErrNotFound when did does not exist or the
// named alias is not did's, indexd.ErrConflict when the rev changed.
func (s *Store) DeleteAliases(ctx context.Context, did, rev, alias string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := lockRecordAt(ctx, tx, did, rev); err != nil {
			return err
		}
		n, err := dropAliasesN(ctx, tx, did, alias)
		if err != nil {
			return err
		}
		if alias != "" && n == 0 {
			return indexd.Errorf(indexd.ErrNotFound, "alias %s not found", alias)
		}
		return nil
	})
}

// lockRecordAt locks the record did for the rest of the transaction and
// checks that it is still at rev: the alias writes were authorized against
// the record's authz at that revision, and any change since (a new authz
// included) makes the write a conflict. It returns the record's baseid.
func lockRecordAt(ctx context.Context, tx pgx.Tx, did, rev string) (string, error) {
	var cur, baseid string
	err := tx.QueryRow(ctx, "SELECT rev, baseid FROM record WHERE did = $1 FOR UPDATE", did).Scan(&cur, &baseid)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", indexd.Errorf(indexd.ErrNotFound, "no record found")
	}
	if err != nil {
		return "", fmt.Errorf("repository: lock record: %w", classify(err))
	}
	if cur != rev {
		return "", indexd.Errorf(indexd.ErrConflict, "the record changed while the alias change was being authorized; read it again and retry")
	}
	return baseid, nil
}
