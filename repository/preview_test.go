package repository

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/internal/testdb"
)

// TestPreviewBuckets holds every bucket kind (within a context, within a
// union, within all, outside a union, a complement) to the Go rule
// (discovery.Visible) over the same records, counts and samples, with the
// visible-set cache on and off.
func TestPreviewBuckets(t *testing.T) {
	ctx := context.Background()
	dbURL := testdb.NewDatabase(t)
	var dids []string
	authzOf := map[string][]string{}
	seed, err := Open(ctx, dbURL, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(seed.Close)
	for i := range 90 {
		var authz []string
		switch {
		case i%9 == 8:
		case i%5 == 0:
			authz = []string{"/p1/a", "/p2"}
		default:
			authz = []string{fmt.Sprintf("/p%d/%c", i%3, 'a'+rune(i%4))}
		}
		did := fmt.Sprintf("pv-%03d", (i*37)%90) // created out of did order
		if _, err := seed.Create(ctx, indexd.NewRecord{DID: did, Authz: authz}); err != nil {
			t.Fatal(err)
		}
		dids = append(dids, did)
		authzOf[did] = authz
	}
	slices.Sort(dids)
	ctxs := []discovery.Context{
		{AuthorizedResources: []string{"/p1"}},
		{AuthorizedResources: []string{"/p1/a", "/p2"}},
		{AuthorizedResources: []string{"/p0/b"}},
		{AuthorizedResources: []string{"/nothing"}},
		{Discoverable: true},
		{CanDiscoverAll: true, AuthorizedResources: []string{"/x"}},
		{AuthorizedResources: []string{"/"}},
	}
	seen := func(dcs []discovery.Context, did string) bool {
		for _, dc := range dcs {
			if discovery.Visible(dc, authzOf[did]) {
				return true
			}
		}
		return false
	}
	var buckets []Bucket
	for i := range ctxs {
		for j := range ctxs {
			buckets = append(buckets,
				Bucket{Within: ctxs[i : i+1]},
				Bucket{Within: []discovery.Context{ctxs[i], ctxs[j]}},
				Bucket{Within: ctxs[i : i+1], Outside: ctxs[j : j+1]},
				Bucket{Outside: []discovery.Context{ctxs[i], ctxs[j]}},
			)
		}
	}
	for _, ttl := range []time.Duration{0, -1} { // the default cache; none
		st, err := Open(ctx, dbURL, Options{VisibleSetTTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		res, err := st.Preview(ctx, buckets, 7)
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != int64(len(dids)) || len(res.Buckets) != len(buckets) {
			t.Fatalf("total %d, %d buckets", res.Total, len(res.Buckets))
		}
		for k, b := range buckets {
			var want []string
			for _, d := range dids {
				if (b.Within == nil || seen(b.Within, d)) && !seen(b.Outside, d) {
					want = append(want, d)
				}
			}
			got := res.Buckets[k]
			if got.Count != int64(len(want)) || !slices.Equal(got.Sample, want[:min(7, len(want))]) {
				t.Errorf("cache ttl %v, bucket %d %+v: count %d sample %v, want %d %v", ttl, k, b, got.Count, got.Sample, len(want), want[:min(7, len(want))])
			}
		}
	}
	if got := without([]int64{1, 2, 3, 5, 8}, []int64{2, 5, 9}); !slices.Equal(got, []int64{1, 3, 8}) {
		t.Errorf("without = %v", got)
	}
}
