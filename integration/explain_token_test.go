package integration

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/google/uuid"
)

// TestExplainTokenID: GET /admin/explain?token_id= explains for an API
// token's caller — its user's grants ∩ its scope, the rule every request
// with the token is decided by — and agrees with what the token is
// actually answered; the user's own explanation differs where the scope
// is narrower. Unknown ids are 404; naming two callers is 400.
func TestExplainTokenID(t *testing.T) {
	t.Parallel()
	e := Start(t, WithFiltering())
	c := e.Checked(t)
	admin := e.Writer()
	p1, p2 := "dg.TEST/"+uuid.NewString(), "dg.TEST/"+uuid.NewString()
	e.Create(admin, Rec(p1, "/programs/p1"))
	e.Create(admin, Rec(p2, "/programs/p2"))
	alice := Tok("alice")
	e.Policy.SetUser(alice, "alice", map[string][]string{"/programs/p1": {"read"}, "/programs/p2": {"read"}})
	narrow := issueToken(t, c, Bearer(alice), map[string]any{"expires_in": "1h",
		"scope": []map[string]any{{"resource": "/programs/p1", "methods": []string{"read"}}}})

	explainVisible := func(q string) bool {
		t.Helper()
		var x struct {
			Visible bool `json:"visible"`
		}
		e.Do(http.MethodGet, "/admin/explain?"+q, admin, nil).MustStatus(t, http.StatusOK).JSON(t, &x)
		return x.Visible
	}
	readable := func(auth, did string) bool {
		return e.Do(http.MethodGet, "/index/"+did, auth, nil).Status == http.StatusOK
	}
	for _, did := range []string{p1, p2} {
		id := "&id=" + url.QueryEscape(did)
		byUser, byToken := explainVisible("user=alice"+id), explainVisible("token_id="+narrow.ID+id)
		if byUser != readable(Bearer(alice), did) || byToken != readable(Bearer(narrow.Token), did) {
			t.Errorf("%s: explain user %v token %v; reads user %v token %v", did, byUser, byToken,
				readable(Bearer(alice), did), readable(Bearer(narrow.Token), did))
		}
	}
	if !explainVisible("token_id="+narrow.ID+"&id="+url.QueryEscape(p1)) || explainVisible("token_id="+narrow.ID+"&id="+url.QueryEscape(p2)) {
		t.Error("the token's explanation is not its scope's: want p1 visible, p2 not")
	}
	if !explainVisible("user=alice&id=" + url.QueryEscape(p2)) {
		t.Error("alice's own explanation should see p2")
	}
	e.Do(http.MethodGet, "/admin/explain?token_id="+uuid.NewString()+"&id="+url.QueryEscape(p1), admin, nil).MustStatus(t, http.StatusNotFound)
	e.Do(http.MethodGet, "/admin/explain?token_id=not-a-token&id="+url.QueryEscape(p1), admin, nil).MustStatus(t, http.StatusNotFound)
	e.Do(http.MethodGet, "/admin/explain?user=alice&token_id="+narrow.ID+"&id="+url.QueryEscape(p1), admin, nil).MustStatus(t, http.StatusBadRequest)
	// Admin-only: the token's own user may not ask.
	e.Do(http.MethodGet, "/admin/explain?token_id="+narrow.ID+"&id="+url.QueryEscape(p1), Bearer(alice), nil).MustStatus(t, http.StatusForbidden)
}
