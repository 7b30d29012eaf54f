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
	got := e.Do(http.MethodGet, "/index/dg.TEST/abc-1", "", nil).MustStatus(t, http.StatusOK).Map(t)
	if got["did"] != did {
		t.Fatalf("got %v", got)
	}
	e.Do(http.MethodGet, "/_status", "", nil).MustStatus(t, http.StatusOK)
}
