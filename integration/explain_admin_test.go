package integration

// The admin questions (issue 15) as an attacker and an operator see them:
// admin-only, audited, bad input a clear 400, a policy-service failure 503
// (never a guess), and the documented walk-through (docs/authorization.md).

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/datacommons/indexd/explain"
	"github.com/datacommons/indexd/policy/policytest"
)

const exDID = "dg.EX/00000000-0000-4000-8000-0000000000a1"

// exAdminRoutes are the admin questions, each a request an admin may make.
var exAdminRoutes = []struct {
	method, path string
	body         any
}{
	{http.MethodGet, "/admin/explain?anonymous=true&id=" + url.QueryEscape(exDID), nil},
	{http.MethodGet, "/admin/explain?user=ex-reader&id=" + url.QueryEscape(exDID), nil},
	{http.MethodPost, "/admin/discovery/preview", map[string]any{"are_records_discoverable": true, "users": []string{"ex-reader"}}},
	{http.MethodPut, "/admin/discovery", map[string]any{"are_records_discoverable": true, "dry_run": true}},
	{http.MethodGet, "/admin/explain/audit", nil},
}

func auditRows(t *testing.T, e *Env) int {
	t.Helper()
	var n int
	if err := e.App.Store.Pool().QueryRow(t.Context(), "SELECT count(*) FROM admin_query_audit").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestExplainAdminOnly: every admin question is 401 without a credential
// and with a credential the policy service rejects, 403 for a reader (who
// learns nothing: the body is the bare error), and leaves no trace; an
// admin — by policy grant or basic auth — gets the answer.
func TestExplainAdminOnly(t *testing.T) {
	t.Parallel()
	e := Start(t, WithFiltering())
	w := e.Writer()
	e.Create(w, Rec(exDID, "/programs/p1/projects/a"))
	reader := Tok("ex-reader")
	e.Policy.SetUser(reader, "ex-reader", map[string][]string{"/programs/p1": {"read"}})
	forged := Tok("ex-forged") // never registered: the double rejects it
	basic := azAddAdmin(t, e, "ex-basic-admin", "ex-basic-admin-password")
	before := e.App.Settings.Get()

	for _, rt := range exAdminRoutes {
		for _, c := range []struct {
			name, auth string
			status     int
			body       string
		}{
			{"anonymous", "", http.StatusUnauthorized, `{"error":"unauthorized","reason":"missing"}`},
			{"forged token", Bearer(forged), http.StatusUnauthorized, `{"error":"unauthorized","reason":"unknown to the policy service"}`},
			{"reader", Bearer(reader), http.StatusForbidden, `{"error":"forbidden"}`},
		} {
			r := e.Do(rt.method, rt.path, c.auth, rt.body)
			if r.Status != c.status || strings.TrimSpace(string(r.Body)) != c.body {
				t.Errorf("%s %s as %s: %d %s, want %d %s", rt.method, rt.path, c.name, r.Status, r.Body, c.status, c.body)
			}
		}
	}
	if n := auditRows(t, e); n != 0 {
		t.Errorf("denied questions left %d audit rows", n)
	}
	for _, auth := range []string{w, basic} {
		for _, rt := range exAdminRoutes {
			e.Do(rt.method, rt.path, auth, rt.body).MustStatus(t, http.StatusOK)
		}
	}
	if n := auditRows(t, e); n != 8 { // 4 questions (not the audit read) × 2 admins
		t.Errorf("%d audit rows after 8 admin questions", n)
	}
	if got := e.App.Settings.Get(); got.Version != before.Version || got.AreRecordsDiscoverable {
		t.Errorf("a dry run changed the settings: %+v", got)
	}
}

// TestExplainAudited: each question is recorded with who asked and what,
// and never the credential.
func TestExplainAudited(t *testing.T) {
	t.Parallel()
	e := Start(t, WithFiltering())
	w := e.Writer()
	e.Create(w, Rec(exDID, "/programs/p1/projects/a"))
	basic := azAddAdmin(t, e, "ex-auditor", "ex-auditor-password")
	e.Do(http.MethodGet, "/admin/explain?user=ex-reader&are_records_discoverable=true&id="+url.QueryEscape(exDID), w, nil).MustStatus(t, http.StatusOK)
	e.Do(http.MethodPost, "/admin/discovery/preview", basic, map[string]any{"global_discovery_authz": []string{"/g"}, "users": []string{"ex-reader"}}).MustStatus(t, http.StatusOK)
	r := e.Do(http.MethodGet, "/admin/explain/audit?limit=10", basic, nil).MustStatus(t, http.StatusOK)
	var got struct {
		Questions []struct {
			AskedBy  string          `json:"asked_by"`
			AskedAt  time.Time       `json:"asked_at"`
			Kind     string          `json:"kind"`
			Question json.RawMessage `json:"question"`
		} `json:"questions"`
	}
	r.JSON(t, &got)
	if len(got.Questions) != 2 {
		t.Fatalf("audit: %s", r.Body)
	}
	pv, ex := got.Questions[0], got.Questions[1] // newest first
	if pv.Kind != "preview" || pv.AskedBy != "ex-auditor" || !strings.Contains(string(pv.Question), `"users":["ex-reader"]`) || !strings.Contains(string(pv.Question), `"/g"`) {
		t.Errorf("preview audit row: %+v %s", pv, pv.Question)
	}
	if ex.Kind != "explain" || !strings.HasPrefix(ex.AskedBy, "token:") || !strings.Contains(string(ex.Question), exDID) ||
		!strings.Contains(string(ex.Question), `"user":"ex-reader"`) || !strings.Contains(string(ex.Question), `"what_if":true`) || time.Since(ex.AskedAt) > time.Minute {
		t.Errorf("explain audit row: %+v %s", ex, ex.Question)
	}
	tok := strings.TrimPrefix(w, "Bearer ")
	if strings.Contains(string(r.Body), tok) || strings.Contains(string(r.Body), "ex-auditor-password") {
		t.Errorf("the audit holds a credential: %s", r.Body)
	}
	e.Do(http.MethodGet, "/admin/explain/audit?limit=0", basic, nil).MustStatus(t, http.StatusBadRequest)
}

// TestExplainPolicyFailure: when the policy service is down, slow, failing
// or talking nonsense, every question is 503 with the generic body —
// never an answer built from a partial or guessed mapping — and the next
// question after it recovers is answered.
func TestExplainPolicyFailure(t *testing.T) {
	t.Parallel()
	e := Start(t, WithFiltering(), withPolicy(300*time.Millisecond, time.Minute))
	w := e.Writer()
	e.Create(w, Rec(exDID, "/programs/p1/projects/a"))
	basic := azAddAdmin(t, e, "ex-admin-f", "ex-admin-f-password") // decided without the policy service
	e.Policy.SetDelay(2 * time.Second)
	for _, f := range []policytest.Fault{policytest.FaultDown, policytest.FaultSlow, policytest.Fault500, policytest.FaultGarbage, policytest.FaultWrongShape} {
		e.App.Policy.Flush()
		e.Policy.SetFault(f)
		for _, rt := range exAdminRoutes[:4] {
			r := e.Do(rt.method, rt.path, basic, rt.body)
			if r.Status != http.StatusServiceUnavailable || strings.TrimSpace(string(r.Body)) != `{"error":"service unavailable, try again later"}` {
				t.Errorf("fault %s: %s %s: %d %s", f, rt.method, rt.path, r.Status, r.Body)
			}
		}
		e.Policy.SetFault(policytest.FaultNone)
		e.Do(exAdminRoutes[1].method, exAdminRoutes[1].path, basic, nil).MustStatus(t, http.StatusOK)
	}
	if st := e.App.Settings.Get(); st.AreRecordsDiscoverable {
		t.Errorf("a failed dry run changed the settings: %+v", st)
	}
}

// TestExplainBadInput: bad questions are a 400 naming the problem; a
// missing record is 404; nothing is a 500.
func TestExplainBadInput(t *testing.T) {
	t.Parallel()
	e := Start(t, WithFiltering())
	w := e.Writer()
	e.Create(w, Rec(exDID, "/programs/p1/projects/a"))
	id := "id=" + url.QueryEscape(exDID)
	for _, c := range []struct{ query, want string }{
		{"anonymous=true", "id is required"},
		{"anonymous=true&id=", "id is required"},
		{id, "name exactly one caller"},
		{id + "&anonymous=false", "name exactly one caller"},
		{id + "&anonymous=true&user=alice", "name exactly one caller"},
		{id + "&user=", "user must not be empty"},
		{id + "&user=%01bob", "control characters"},
		{id + "&user=" + strings.Repeat("u", 257), "longer than 256"},
		{id + "&anonymous=maybe", "anonymous must be true or false"},
		{id + "&anonymous=true&are_records_discoverable=yes", "are_records_discoverable must be true or false"},
		{id + "&anonymous=true&global_discovery_authz=relative/path", "must start with '/'"},
		{id + "&anonymous=true&global_discovery_authz=/a/", "empty segment"},
		{id + "&anonymous=true&token_id=abc", "name exactly one caller"},
		{id + "&token_id=", "token_id must not be empty"},
		{id + "&bogus=1", "unknown parameter bogus"},
		{id + "&anonymous=true&users=alice", "unknown parameter users"},
		{id + "&" + id + "&anonymous=true", "given more than once"},
	} {
		r := e.Do(http.MethodGet, "/admin/explain?"+c.query, w, nil)
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), c.want) {
			t.Errorf("GET /admin/explain?%s: %d %s, want 400 with %q", c.query, r.Status, r.Body, c.want)
		}
	}
	r := e.Do(http.MethodGet, "/admin/explain?anonymous=true&id=dg.EX/00000000-0000-4000-8000-0000000000ff", w, nil)
	if r.Status != http.StatusNotFound || strings.TrimSpace(string(r.Body)) != `{"error":"no record found"}` {
		t.Errorf("explain of a missing record: %d %s", r.Status, r.Body)
	}
	many := make([]string, explain.MaxUsers+1)
	for i := range many {
		many[i] = "u" + strings.Repeat("x", i%7) + string(rune('a'+i%26))
	}
	for _, c := range []struct {
		method, path string
		body         any
		want         string
	}{
		{http.MethodPost, "/admin/discovery/preview", map[string]any{"users": many}, "at most 100"},
		{http.MethodPost, "/admin/discovery/preview", map[string]any{"users": []string{"ok", " "}}, "must not be empty"},
		{http.MethodPost, "/admin/discovery/preview", map[string]any{"user": []string{"x"}}, "unknown field"},
		{http.MethodPost, "/admin/discovery/preview", map[string]any{"global_discovery_authz": []string{"g"}}, "must start with '/'"},
		{http.MethodPost, "/admin/discovery/preview", `{"users": [`, "malformed JSON"},
		{http.MethodPost, "/admin/discovery/preview", `[]`, "must be an object"},
		{http.MethodPut, "/admin/discovery", map[string]any{"are_records_discoverable": true, "users": []string{"x"}}, "only with dry_run"},
		{http.MethodPut, "/admin/discovery", map[string]any{"dry_run": "yes"}, "expected a boolean"},
	} {
		r := e.Do(c.method, c.path, w, c.body)
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), c.want) {
			t.Errorf("%s %s %v: %d %s, want 400 with %q", c.method, c.path, c.body, r.Status, r.Body, c.want)
		}
	}
	if st := e.App.Settings.Get(); st.AreRecordsDiscoverable {
		t.Errorf("a rejected PUT changed the settings: %+v", st)
	}
}

// TestExplainWalkThrough pins the example of docs/authorization.md
// ("Explaining a verdict"): where each grant comes from, and what would
// change the answer.
func TestExplainWalkThrough(t *testing.T) {
	t.Parallel()
	e := Start(t, WithFiltering())
	w := e.Writer()
	e.Policy.SetAnonymous(map[string][]string{"/programs/open": {"read"}})
	e.Policy.SetLoggedIn(map[string][]string{"/programs/shared": {"read"}})
	e.Policy.SetUser(Tok("alice"), "alice", map[string][]string{"/programs/p1": {"read", "read-storage", "create", "update", "delete"}})
	ab := "dg.EX/00000000-0000-4000-8000-0000000000b1"
	e.Create(w, Rec(ab, "/programs/p1/projects/a", "/programs/p2/projects/c"))
	shared := "dg.EX/00000000-0000-4000-8000-0000000000b2"
	e.Create(w, Rec(shared, "/programs/p1/projects/a", "/programs/shared/s", "/programs/open/o"))

	explainAs := func(q string) explain.Explanation {
		var x explain.Explanation
		e.Do(http.MethodGet, "/admin/explain?"+q, w, nil).MustStatus(t, http.StatusOK).JSON(t, &x)
		return x
	}
	x := explainAs("user=alice&id=" + url.QueryEscape(ab))
	if x.Visible || x.Rule != explain.RuleNotCovered || x.Paths[0].Read == nil || x.Paths[0].Read.Resource != "/programs/p1" ||
		x.Paths[0].Read.Source != explain.SourceUser || x.Paths[1].Read != nil ||
		!slices.Contains(x.WouldChange, "a grant of read on /programs/p2/projects/c would make it visible") {
		t.Errorf("alice, %s: %s", ab, mustJSON(x))
	}
	x = explainAs("user=alice&id=" + url.QueryEscape(shared))
	src := func(i int) string { return x.Paths[i].Read.Source }
	if !x.Visible || x.Rule != explain.RuleEveryPathCovered || src(0) != explain.SourceAnonymous || src(1) != explain.SourceUser ||
		src(2) != explain.SourceLoggedIn || x.DRSAccess.Allowed || x.Update.Allowed {
		t.Errorf("alice, %s: %s", shared, mustJSON(x))
	}
	// What if /programs/shared were a global discovery path: alice (logged
	// in) discovers all; the anonymous caller does not.
	x = explainAs("user=alice&global_discovery_authz=/programs/shared&id=" + url.QueryEscape(ab))
	if !x.Visible || x.Rule != explain.RuleCanDiscoverAll || !x.WhatIf || x.VisibleNow == nil || *x.VisibleNow ||
		x.DiscoverAllVia == nil || x.DiscoverAllVia.Grant.Source != explain.SourceLoggedIn {
		t.Errorf("alice what-if: %s", mustJSON(x))
	}
	x = explainAs("anonymous=true&global_discovery_authz=/programs/shared&id=" + url.QueryEscape(ab))
	if x.Visible || x.Rule != explain.RuleNotCovered || len(x.Paths) != 2 || x.Paths[0].Read != nil {
		t.Errorf("anonymous what-if: %s", mustJSON(x))
	}
}
