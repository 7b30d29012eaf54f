package repository

import (
	"context"
	"fmt"
	"slices"

	sq "github.com/Masterminds/squirrel"
	"github.com/jackc/pgx/v5"

	"github.com/datacommons/indexd/discovery"
)

// Bucket names a set of records by visibility: the records some context of
// Within sees (every record when Within is nil) that no context of Outside
// sees. A discovery preview (package explain) asks for a handful: what a
// caller sees before and after a settings change, what it loses and gains,
// what no caller sees.
type Bucket struct {
	Within  []discovery.Context
	Outside []discovery.Context
}

// BucketCount is a bucket's size and the first dids of it in did order.
type BucketCount struct {
	Count  int64
	Sample []string
}

// PreviewResult answers Preview: the number of records, and each bucket in
// the order asked.
type PreviewResult struct {
	Total   int64
	Buckets []BucketCount
}

// MaxPreviewSample bounds the sample of a bucket.
const MaxPreviewSample = 100

// Preview counts the records of each bucket and samples up to sample dids
// of each (did order), all in one read-only snapshot.
//
// It never looks at records one by one in Go. Each context is resolved to
// the authz sets it sees by the predicate's own resolution
// (visibleScope: everything, or the visible set ids); a bucket is then a
// list of set ids (set algebra over the small authz_set table). One
// statement counts the records of every set (an index-only pass over the
// (authz_set_id, did) index) and sums them per bucket; each sample is the
// set walk of list pages (pageBySets).
func (s *Store) Preview(ctx context.Context, buckets []Bucket, sample int) (PreviewResult, error) {
	sample = max(0, min(sample, MaxPreviewSample))
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var res PreviewResult
	err := s.readSnapshot(ctx, func(tx pgx.Tx) error {
		// The same caller's grants recur in several buckets: resolve each
		// grant list once.
		scopes := map[string]scope{}
		resolve := func(dcs []discovery.Context) (scope, error) {
			var u scope
			for _, dc := range dcs {
				if dc.Unfiltered() {
					return scope{all: true}, nil
				}
				key := grantsKey(discovery.CanonicalSet(dc.AuthorizedResources))
				v, ok := scopes[key]
				if !ok {
					var err error
					if v, err = s.visibleScope(ctx, tx, dc); err != nil {
						return scope{}, err
					}
					scopes[key] = v
				}
				u.setIDs = append(u.setIDs, v.setIDs...)
			}
			slices.Sort(u.setIDs)
			u.setIDs = slices.Compact(u.setIDs)
			return u, nil
		}
		var allSets []int64 // read once, when some bucket needs a complement
		sets := make([]scope, len(buckets))
		for i, b := range buckets {
			in := scope{all: true}
			if b.Within != nil {
				var err error
				if in, err = resolve(b.Within); err != nil {
					return err
				}
			}
			out, err := resolve(b.Outside)
			if err != nil {
				return err
			}
			switch {
			case out.all:
				sets[i] = scope{}
			case len(out.setIDs) == 0:
				sets[i] = in
			default:
				if in.all {
					if allSets == nil {
						if allSets, err = allSetIDs(ctx, tx); err != nil {
							return err
						}
					}
					in = scope{setIDs: allSets}
				}
				sets[i] = scope{setIDs: without(in.setIDs, out.setIDs)}
			}
		}
		var err error
		res, err = countBuckets(ctx, tx, sets)
		if err != nil {
			return err
		}
		if sample > 0 {
			return sampleBuckets(ctx, tx, sets, res.Buckets, sample)
		}
		return nil
	})
	return res, err
}

// readSnapshot runs fn in a read-only REPEATABLE READ transaction, so that
// every statement of fn sees the same data.
func (s *Store) readSnapshot(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return s.inTxWith(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn)
}

func allSetIDs(ctx context.Context, q querier) ([]int64, error) {
	rows, err := q.Query(ctx, "SELECT id FROM authz_set ORDER BY id")
	if err != nil {
		return nil, fmt.Errorf("repository: list authz sets: %w", classify(err))
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("repository: list authz sets: %w", classify(err))
	}
	return orEmpty(ids), nil
}

// without returns the ids of a (sorted) not in b (sorted).
func without(a, b []int64) []int64 {
	out := make([]int64, 0, len(a))
	for _, id := range a {
		if _, found := slices.BinarySearch(b, id); !found {
			out = append(out, id)
		}
	}
	return out
}

// countBucketsSQL counts the records of every authz set once and sums the
// counts per bucket over (bucket, set) pairs; bucket -1 is the total.
const countBucketsSQL = `
WITH n AS MATERIALIZED (SELECT authz_set_id AS set_id, count(*) AS n FROM record GROUP BY authz_set_id)
SELECT b.bucket, sum(n.n)::bigint
FROM unnest($1::int[], $2::bigint[]) AS b(bucket, set_id) JOIN n ON n.set_id = b.set_id
GROUP BY b.bucket
UNION ALL
SELECT -1, coalesce(sum(n), 0)::bigint FROM n`

func countBuckets(ctx context.Context, q querier, sets []scope) (PreviewResult, error) {
	var bucketOf []int32
	var setOf []int64
	for i, sc := range sets {
		if sc.all {
			continue
		}
		for _, id := range sc.setIDs {
			bucketOf = append(bucketOf, int32(i))
			setOf = append(setOf, id)
		}
	}
	rows, err := q.Query(ctx, countBucketsSQL, bucketOf, setOf)
	if err != nil {
		return PreviewResult{}, fmt.Errorf("repository: count preview: %w", classify(err))
	}
	defer rows.Close()
	res := PreviewResult{Buckets: make([]BucketCount, len(sets))}
	for rows.Next() {
		var b int32
		var n int64
		if err := rows.Scan(&b, &n); err != nil {
			return PreviewResult{}, fmt.Errorf("repository: scan preview count: %w", err)
		}
		if b < 0 {
			res.Total = n
		} else {
			res.Buckets[b].Count = n
		}
	}
	if err := rows.Err(); err != nil {
		return PreviewResult{}, fmt.Errorf("repository: count preview: %w", classify(err))
	}
	for i, sc := range sets {
		if sc.all {
			res.Buckets[i].Count = res.Total
		}
	}
	return res, nil
}

// sampleBuckets fills the first n dids of every non-empty bucket, in one
// round trip: the set walk of a list page (pageBySets), or the primary key
// for a bucket of every record.
func sampleBuckets(ctx context.Context, q pgx.Tx, sets []scope, counts []BucketCount, n int) error {
	batch := &pgx.Batch{}
	var which []int
	for i, sc := range sets {
		if counts[i].Count == 0 {
			continue
		}
		if sc.all {
			batch.Queue("SELECT did FROM record ORDER BY did LIMIT $1", n)
		} else {
			sql, args, err := pageBySets(sc.setIDs, "", uint64(n), "").ToSql()
			if err != nil {
				return fmt.Errorf("repository: build sample: %w", err)
			}
			batch.Queue("SELECT r.did FROM record r WHERE "+dollarize(sql)+" ORDER BY r.did", args...)
		}
		which = append(which, i)
	}
	if len(which) == 0 {
		return nil
	}
	br := q.SendBatch(ctx, batch)
	defer br.Close()
	for _, i := range which {
		rows, err := br.Query()
		if err != nil {
			return fmt.Errorf("repository: sample preview: %w", classify(err))
		}
		dids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("repository: sample preview: %w", classify(err))
		}
		counts[i].Sample = dids
	}
	return br.Close()
}

// dollarize numbers a squirrel "?" fragment's placeholders $1, $2, ...
func dollarize(sql string) string {
	out, err := sq.Dollar.ReplacePlaceholders(sql)
	if err != nil {
		return sql
	}
	return out
}
