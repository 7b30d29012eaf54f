// Package pageindex answers indexd's page=N at any depth without reading
// the N × limit rows before the page (issue 10). For one list — a
// visibility scope, its filters and a page size, at one data version — it
// keeps the did that ends every Step-th row (the page boundaries), computed
// by the repository in one statement. Page N is then a keyset read from
// the boundary before it plus an OFFSET below one step: the same plan as a
// next_cursor walk, whatever the depth.
//
// The boundaries of a list are computed once per data version: concurrent
// requests for the same list share one computation (singleflight) and the
// answer is kept in a bounded cache (package boundedcache). A new data
// version (any record write) is a new key: the old entry is never served
// for it and ages out.
package pageindex

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/datacommons/indexd/boundedcache"
)

// Granule is the fewest rows between two kept boundaries: with small pages
// every page's first row would make a long list, so boundaries are kept
// every Step(limit) rows and a page is reached by an OFFSET below Granule
// from the one before it.
const Granule = 1024

// Step is the number of rows between two kept boundaries for pages of
// limit rows: the smallest multiple of limit not below Granule.
func Step(limit int) int {
	if limit <= 0 {
		limit = 1
	}
	return (Granule + limit - 1) / limit * limit
}

// Boundaries are the kept boundaries of one list: DIDs[j] is the did of
// row (j+1) × Step (1-based, in did order), the last row before chunk j+1.
type Boundaries struct {
	Step int
	DIDs []string
}

// Position is where page N of a list starts: after the did After ("" for
// the list's own start) and Offset rows further. Empty reports a page past
// the end of the list (it has no rows).
type Position struct {
	After  string
	Offset int
	Empty  bool
}

// Locate finds page (0-based) of limit rows in b.
func (b *Boundaries) Locate(page, limit int) Position {
	row := page * limit // rows before the page
	j := row / b.Step   // whole chunks before it
	off := row - j*b.Step
	if j == 0 {
		return Position{Offset: off}
	}
	if j > len(b.DIDs) {
		return Position{Empty: true}
	}
	return Position{After: b.DIDs[j-1], Offset: off}
}

// size is the bytes an entry holds, for the cache bound.
func (b *Boundaries) size() int64 {
	n := int64(48 + 16*len(b.DIDs))
	for _, d := range b.DIDs {
		n += int64(len(d))
	}
	return n
}

// Computed is what a computation returns: the boundary dids and whether
// they may be kept for the full TTL. A computation that may have missed a
// write in flight (Settled false) is kept for the short TTL only.
type Computed struct {
	DIDs    []string
	Settled bool
}

// Options bound an Index. Zero fields take the defaults.
type Options struct {
	// TTL is how long settled boundaries are kept (default 10 minutes);
	// ShortTTL how long unsettled ones are (default 2 s).
	TTL, ShortTTL time.Duration
	// MaxEntries and MaxBytes bound the cache (defaults 1,000 and 64 MiB).
	MaxEntries int
	MaxBytes   int64
}

// Index caches page boundaries. Safe for concurrent use.
type Index struct {
	cache    *boundedcache.Cache[*Boundaries]
	group    singleflight.Group
	shortTTL time.Duration
	ttl      time.Duration
}

// New makes an Index bounded by o.
func New(o Options) *Index {
	if o.TTL <= 0 {
		o.TTL = 10 * time.Minute
	}
	if o.ShortTTL <= 0 {
		o.ShortTTL = 2 * time.Second
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 1000
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = 64 << 20
	}
	return &Index{
		cache: boundedcache.New[*Boundaries](boundedcache.Options{TTL: o.TTL, Cleanup: time.Minute,
			MaxEntries: o.MaxEntries, MaxBytes: o.MaxBytes}),
		shortTTL: o.ShortTTL, ttl: o.TTL,
	}
}

// Key is the cache key of a list: a hash of the statement that computes
// its boundaries (which names the visibility scope and every filter), its
// arguments, the step and the data version.
func Key(statement string, args []any, step int, version int64) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d\x00%d\x00%s\x00", step, version, statement)
	for _, a := range args {
		fmt.Fprintf(h, "%T:%#v\x00", a, a)
	}
	return string(h.Sum(nil))
}

// Get returns the boundaries kept under key, computing them with compute
// (once for all concurrent callers of the same key) when none are kept.
func (x *Index) Get(ctx context.Context, key string, step int, compute func(context.Context) (Computed, error)) (*Boundaries, error) {
	if b, ok := x.cache.Get(key); ok {
		return b, nil
	}
	ch := x.group.DoChan(key, func() (any, error) {
		if b, ok := x.cache.Get(key); ok {
			return b, nil
		}
		// The computation outlives a caller that gives up (others may
		// wait for it) but not the caller's deadline.
		cctx := context.WithoutCancel(ctx)
		if dl, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			cctx, cancel = context.WithDeadline(cctx, dl)
			defer cancel()
		}
		c, err := compute(cctx)
		if err != nil {
			return nil, err
		}
		b := &Boundaries{Step: step, DIDs: c.DIDs}
		ttl := x.ttl
		if !c.Settled {
			ttl = x.shortTTL
		}
		x.cache.SetTTL(key, b, b.size(), ttl)
		return b, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Boundaries), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Stats reports the cache's size and bounds.
func (x *Index) Stats() boundedcache.Stats { return x.cache.Stats() }
