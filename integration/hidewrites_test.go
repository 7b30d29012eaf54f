package integration

import (
	"net/http"
	"testing"
)

// TestHideExistenceCoversWrites: under hide_existence a caller cannot tell
// an invisible record from a missing one by writing to it either (no 409 on
// a wrong rev, no 403), while visible records behave as usual.
func TestHideExistenceCoversWrites(t *testing.T) {
	e := Start(t, WithFiltering(), withHideExistence())
	w := e.Writer()
	e.Create(w, Rec("hw/hidden", "/programs/secret"))
	e.Create(w, Rec("hw/seen", "/programs/p1"))
	tok := Tok("hw-caller")
	e.Policy.SetUser(tok, "hw-caller", map[string][]string{"/programs/p1": {"read"}, "/programs/secret": {"update", "delete"}})
	caller := Bearer(tok)

	missing := e.Do(http.MethodPut, "/index/hw/nothing?rev=00000000", caller, map[string]any{"file_name": "x"})
	missing.MustStatus(t, http.StatusNotFound)
	for _, req := range []struct {
		method, path string
		body         any
	}{
		{http.MethodPut, "/index/hw/hidden?rev=00000000", map[string]any{"file_name": "x"}},
		{http.MethodDelete, "/index/hw/hidden?rev=00000000", nil},
		{http.MethodPost, "/index/hw/hidden/aliases", map[string]any{"aliases": []map[string]string{{"value": "hw-alias"}}}},
		{http.MethodPost, "/index/hw/hidden", Rec("", "/programs/p1")},
	} {
		r := e.Do(req.method, req.path, caller, req.body)
		if r.Status != http.StatusNotFound || string(r.Body) != string(missing.Body) {
			t.Errorf("%s %s: %d %s; want the missing-record 404 %s", req.method, req.path, r.Status, r.Body, missing.Body)
		}
	}
	// A visible record still answers 409 on a stale rev and 403 when denied.
	e.Do(http.MethodPut, "/index/hw/seen?rev=00000000", caller, map[string]any{"file_name": "x"}).MustStatus(t, http.StatusConflict)
	seen := e.Do(http.MethodGet, "/index/hw/seen", caller, nil).MustStatus(t, http.StatusOK).Map(t)
	e.Do(http.MethodPut, "/index/hw/seen?rev="+seen["rev"].(string), caller, map[string]any{"file_name": "x"}).MustStatus(t, http.StatusForbidden)
	// Without hide_existence the same probe answers 409: that is the mode's point.
	e2 := Start(t, WithFiltering())
	e2.Create(e2.Writer(), Rec("hw/hidden", "/programs/secret"))
	e2.Policy.SetUser(tok, "hw-caller", map[string][]string{"/programs/secret": {"update"}})
	e2.Do(http.MethodPut, "/index/hw/hidden?rev=00000000", caller, map[string]any{"file_name": "x"}).MustStatus(t, http.StatusConflict)
}
