package integration

import (
	"net/http"
	"testing"
	"time"
)

// TestVisibleSetCacheFreshness: resolved visible authz sets are cached, but
// a record in a brand-new authz set is visible at once on the instance that
// wrote it, and within the cache TTL on another instance.
func TestVisibleSetCacheFreshness(t *testing.T) {
	a := Start(t, WithFiltering())
	b := a.StartAnother(t, WithFiltering())
	w := a.Writer()
	tok := Tok("sc-reader")
	a.Policy.SetUser(tok, "sc-reader", map[string][]string{"/programs/sc": {"read"}})
	reader := Bearer(tok)
	count := func(e *Env) int {
		var page struct{ Records []map[string]any }
		e.Do(http.MethodGet, "/index?authz=/programs/sc/new", reader, nil).MustStatus(t, http.StatusOK).JSON(t, &page)
		return len(page.Records)
	}
	a.Create(w, Rec("sc/old", "/programs/sc/old"))
	if n := count(a) + count(b); n != 0 { // both instances now hold a cached resolution
		t.Fatalf("before the write: %d records", n)
	}
	a.Create(w, Rec("sc/new", "/programs/sc/new")) // creates a new authz set
	if n := count(a); n != 1 {
		t.Fatalf("writing instance: %d records right after the write, want 1", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for count(b) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("other instance still does not see the record after 5 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
