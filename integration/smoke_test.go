package integration

import (
	"net/http"
	"testing"
)

func TestSmokeCreateAndRead(t *testing.T) {
	e := Start(t)
	w := e.Writer()
	did := e.Create(w, Rec("dg.TEST/abc-1", "/programs/p1"))
	if did != "dg.TEST/abc-1" {
		t.Fatalf("did %q", did)
	}
	r := e.Do(http.MethodGet, "/index/dg.TEST/abc-1", "", nil).MustStatus(t, http.StatusOK)
	if got := r.Map(t); got["did"] != did {
		t.Fatalf("got %v", got)
	}
	// Stored JSON objects pass through unescaped: no content sniffing.
	if ct, nosniff := r.Header.Get("Content-Type"), r.Header.Get("X-Content-Type-Options"); ct != "application/json" || nosniff != "nosniff" {
		t.Fatalf("Content-Type %q, X-Content-Type-Options %q", ct, nosniff)
	}
	e.Do(http.MethodGet, "/_status", "", nil).MustStatus(t, http.StatusOK)
}
