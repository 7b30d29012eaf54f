package repository

import (
	"context"
	"fmt"

	sq "github.com/Masterminds/squirrel"

	"github.com/datacommons/indexd"
)

// selectPage is selectRecords for a list of records: their aliases, when
// wanted, are read for the whole page at once (fillAliases).
func (s *Store) selectPage(withAliases bool) sq.SelectBuilder {
	cols := append(append([]string{}, recordColumns...), noAliases)
	if withAliases {
		cols[len(cols)-1] = aliasesLater
	}
	return s.sb.Select(cols...).From(recordFrom)
}

// fillAliases reads the aliases of the records of a page selected with
// selectPage(true) whose aliases column was NULL (some alias exists), in
// one query; it sends none when no alias exists at all.
func (s *Store) fillAliases(ctx context.Context, q querier, recs []indexd.Record) error {
	var dids []string
	at := map[string]int{}
	for i := range recs {
		if recs[i].Aliases == nil {
			at[recs[i].DID] = i
			dids = append(dids, recs[i].DID)
			recs[i].Aliases = []string{}
		}
	}
	if len(dids) == 0 {
		return nil
	}
	rows, err := q.Query(ctx, "SELECT did, name FROM alias WHERE did = ANY($1::text[]) ORDER BY did, name", dids)
	if err != nil {
		return fmt.Errorf("repository: read aliases: %w", classify(err))
	}
	defer rows.Close()
	for rows.Next() {
		var did, name string
		if err := rows.Scan(&did, &name); err != nil {
			return fmt.Errorf("repository: read aliases: %w", classify(err))
		}
		if i, ok := at[did]; ok {
			recs[i].Aliases = append(recs[i].Aliases, name)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("repository: read aliases: %w", classify(err))
	}
	return nil
}
