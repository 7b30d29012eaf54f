package repository_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/internal/testdb"
	"github.com/datacommons/indexd/repository"
)

// TestVisibleSetCacheBounded: the visible-set cache is keyed by grant
// lists, which arrive with callers' tokens; a flood of distinct lists keeps
// it within its bounds of entries and bytes, and every answer stays right.
func TestVisibleSetCacheBounded(t *testing.T) {
	ctx := context.Background()
	st, err := repository.Open(ctx, testdb.NewDatabase(t), repository.Options{VisibleSetTTL: time.Hour, VisibleSetMaxEntries: 20, VisibleSetMaxBytes: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if _, err := st.Create(ctx, indexd.NewRecord{DID: "sc/00000000-0000-4000-8000-000000000001", Authz: []string{"/programs/sc"}}); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		// Each caller holds the program and some grant of its own.
		dc := discovery.Context{AuthorizedResources: []string{"/programs/sc", fmt.Sprintf("/flood/%d", i)}}
		page, err := st.ListRecords(ctx, dc, indexd.ListFilter{Limit: 10}, repository.ListOptions{})
		if err != nil || len(page.Records) != 1 {
			t.Fatalf("caller %d: %v %d records", i, err, len(page.Records))
		}
		if cs := st.VisibleSetCacheStats(); cs.Entries > 20 || cs.Bytes > 8<<10 {
			t.Fatalf("after %d callers: %+v exceeds the bounds", i+1, cs)
		}
	}
	if cs := st.VisibleSetCacheStats(); cs.Evictions == 0 {
		t.Fatalf("the flood never filled the cache: %+v", cs)
	}
}
