package integration

import (
	"net/http"
	"strings"
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

// TestHideExistenceCreateConflict pins the one answer that must reveal an
// invisible record under hide_existence (docs/security.md, known limits):
// a did is globally unique, so creating a record under the did of an
// existing one is 409 whoever can see it. The conflict is decided only
// after the create permission on the new authz: anonymous callers and
// callers who may not create there get exactly what they get for a free
// did, and the 409 is the same as for a record the caller sees.
func TestHideExistenceCreateConflict(t *testing.T) {
	e := Start(t, WithFiltering(), withHideExistence())
	w := e.Writer()
	e.Create(w, Rec("hc/hidden", "/programs/secret"))
	e.Create(w, Rec("hc/seen", "/programs/mine"))
	user := func(name string, grants map[string][]string) string {
		tk := Tok(name)
		e.Policy.SetUser(tk, name, grants)
		return Bearer(tk)
	}
	creator := user("hc-creator", map[string][]string{"/programs/mine": {"read", "create", "update"}})
	reader := user("hc-reader", map[string][]string{"/programs/mine": {"read"}})
	e.Do(http.MethodGet, "/index/hc/hidden", creator, nil).MustStatus(t, http.StatusNotFound)

	create := func(auth, did string, authz ...string) *Response {
		return e.Do(http.MethodPost, "/index", auth, Rec(did, authz...))
	}
	newVersion := func(auth, did string, authz ...string) *Response {
		return e.Do(http.MethodPost, "/index/hc/seen", auth, Rec(did, authz...))
	}
	same := func(label string, got, want *Response) {
		t.Helper()
		if got.Status != want.Status || string(got.Body) != string(want.Body) {
			t.Errorf("%s: %d %s; want %d %s, as for a free did", label, got.Status, got.Body, want.Status, want.Body)
		}
	}
	for _, write := range []struct {
		name string
		do   func(auth, did string, authz ...string) *Response
	}{{"POST /index", create}, {"POST /index/{id} (new version)", newVersion}} {
		// Before the create permission: nothing tells the taken did apart.
		same(write.name+" anonymous", write.do("", "hc/hidden", "/programs/mine"), write.do("", "hc/free-1", "/programs/mine"))
		same(write.name+" without create", write.do(reader, "hc/hidden", "/programs/mine"), write.do(reader, "hc/free-2", "/programs/mine"))
		same(write.name+" create elsewhere only", write.do(creator, "hc/hidden", "/programs/secret"), write.do(creator, "hc/free-3", "/programs/secret"))
		// With it: 409, worded as for a record the caller sees.
		hidden := write.do(creator, "hc/hidden", "/programs/mine").MustStatus(t, http.StatusConflict)
		seen := write.do(creator, "hc/seen", "/programs/mine").MustStatus(t, http.StatusConflict)
		if strings.ReplaceAll(string(hidden.Body), "hc/hidden", "hc/seen") != string(seen.Body) {
			t.Errorf("%s: conflict on an invisible record %s differs from one on a visible record %s", write.name, hidden.Body, seen.Body)
		}
	}
	got := e.Do(http.MethodGet, "/index/hc/hidden", w, nil).MustStatus(t, http.StatusOK).Map(t)
	if authz, _ := got["authz"].([]any); len(authz) != 1 || authz[0] != "/programs/secret" {
		t.Fatalf("the invisible record changed: %v", got)
	}
}
