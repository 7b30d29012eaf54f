package demo

import (
	"context"
	"testing"

	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/internal/testdb"
	"github.com/datacommons/indexd/repository"
)

// TestReset: a second `make run` restores the demo state the first one
// printed, after the README's own PUT made everything discoverable and a
// demo record was deleted.
func TestReset(t *testing.T) {
	ctx := context.Background()
	store, err := repository.Open(ctx, testdb.NewDatabase(t), repository.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.InitSettings(ctx, Settings()); err != nil {
		t.Fatal(err)
	}
	if n, err := Reset(ctx, store, "test", Settings()); err != nil || n != len(Records()) {
		t.Fatalf("first reset: %d %v", n, err)
	}
	if _, err := store.SetSettings(ctx, "readme", discovery.Settings{AreRecordsDiscoverable: true, GlobalDiscoveryAuthz: []string{"/programs"}}); err != nil {
		t.Fatal(err)
	}
	first := Records()[0]
	cur, err := store.GetForWrite(ctx, []string{first.DID})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(ctx, cur.DID, cur.Rev); err != nil {
		t.Fatal(err)
	}
	if n, err := Reset(ctx, store, "test", Settings()); err != nil || n != len(Records()) {
		t.Fatalf("second reset: %d %v", n, err)
	}
	st, err := store.Settings(ctx)
	if err != nil || st.AreRecordsDiscoverable || len(st.GlobalDiscoveryAuthz) != 0 {
		t.Fatalf("settings after reset: %+v %v", st, err)
	}
	for _, r := range Records() {
		if _, err := store.GetForWrite(ctx, []string{r.DID}); err != nil {
			t.Errorf("%s after reset: %v", r.DID, err)
		}
	}
}
