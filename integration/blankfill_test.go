package integration

import (
	"net/http"
	"testing"
)

// Finding 6: a caller with no grants learned whether an invisible record
// had been filled: the blank check answered before rev and permission.
func TestBlankFillStateAfterRevAndAuthz(t *testing.T) {
	e := Start(t, WithFiltering())
	w := e.Writer()
	nobody := tkUser(e, "tk6-nobody", nil)
	blankDID, blankRev, _ := tkRef(t, e.Do(http.MethodPost, "/index/blank", w, map[string]any{"uploader": "u", "authz": []string{"/programs/secret"}}).MustStatus(t, http.StatusCreated))
	filledDID, filledRev, _ := tkRef(t, e.Do(http.MethodPost, "/index", w, Rec(tkDID("dg.T/"), "/programs/secret")).MustStatus(t, http.StatusOK))
	fill := map[string]any{"size": 1, "hashes": map[string]string{"md5": "0123456789abcdef0123456789abcdef"}}
	same := func(label string, a, b *Response, want int) {
		t.Helper()
		if a.Status != want || b.Status != want || string(a.Body) != string(b.Body) {
			t.Errorf("%s: blank %d %s, filled %d %s; want the same %d", label, a.Status, a.Body, b.Status, b.Body, want)
		}
	}
	same("wrong rev", e.Do(http.MethodPut, "/index/blank/"+blankDID+"?rev=zzzzzzzz", nobody, fill),
		e.Do(http.MethodPut, "/index/blank/"+filledDID+"?rev=zzzzzzzz", nobody, fill), http.StatusConflict)
	same("right rev, no permission", e.Do(http.MethodPut, "/index/blank/"+blankDID+"?rev="+blankRev, nobody, fill),
		e.Do(http.MethodPut, "/index/blank/"+filledDID+"?rev="+filledRev, nobody, fill), http.StatusForbidden)
	// The writer is told.
	e.Do(http.MethodPut, "/index/blank/"+filledDID+"?rev="+filledRev, w, fill).MustStatus(t, http.StatusBadRequest)
	e.Do(http.MethodPut, "/index/blank/"+blankDID+"?rev="+blankRev, w, fill).MustStatus(t, http.StatusOK)
}
