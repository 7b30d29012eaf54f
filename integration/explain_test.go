package integration

// Explanations and discovery previews (issue 15) against what the service
// actually does. The world has a resource hierarchy, look-alike paths
// (/programs/p1 and /programs/p10, /a and /ab), records with several paths
// and with none, anonymous and logged-in group grants, a global discovery
// path, decoy grants (another service, other methods) and random grants
// and records on top (seed printed; INDEXD_EXPLAIN_SEED replays).
//
//   - TestExplainAgreesWithReads: for EVERY (caller, record) pair under
//     every setting, GET /admin/explain says visible exactly when the
//     caller's own GET /index/{id} answers 200 and its full list holds the
//     record, and DRS access exactly when the caller's access request
//     answers 200; the what-if answer asked before a change equals the
//     answer after it; each path's grants agree with an oracle written
//     from the grants alone.
//   - TestPreviewMatchesListWalk: every count of POST
//     /admin/discovery/preview (and of PUT /admin/discovery dry_run) equals
//     what full list walks by each caller find before and after the change
//     is made; every sample is the first dids of its bucket.

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/explain"
	"github.com/datacommons/indexd/policy/policytest"
)

// exCaller is a caller of the world: anonymous (name ""), or a user.
type exCaller struct {
	name   string
	auth   string
	grants map[string][]policytest.Action // the user's own grants
}

type exRecord struct {
	did   string
	authz []string
	alias string
}

// exWorld is the world and the oracle's knowledge of it.
type exWorld struct {
	e        *Env
	admin    string // a policy admin's Authorization header
	callers  []*exCaller
	recs     []*exRecord
	universe []string // every did, sorted
	anon     map[string][]policytest.Action
	loggedIn map[string][]policytest.Action
}

func exSeed(t *testing.T) *rand.Rand {
	seed := time.Now().UnixNano()
	if s := os.Getenv("INDEXD_EXPLAIN_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("INDEXD_EXPLAIN_SEED: %v", err)
		}
		seed = n
	}
	t.Logf("explain world seed %d (replay: INDEXD_EXPLAIN_SEED=%d)", seed, seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("FAILED with seed %d (replay: INDEXD_EXPLAIN_SEED=%d)", seed, seed)
		}
	})
	return rand.New(rand.NewSource(seed))
}

func exIndexd(methods ...string) []policytest.Action {
	out := make([]policytest.Action, 0, len(methods))
	for _, m := range methods {
		out = append(out, policytest.Action{Service: "indexd", Method: m})
	}
	return out
}

// newExWorld builds the world on a fresh service with filtering on.
func newExWorld(t *testing.T, rng *rand.Rand) *exWorld {
	t.Helper()
	e := Start(t, WithFiltering(), withSettingsPoll(time.Hour))
	e.Client = azClient()
	w := &exWorld{e: e, admin: e.Writer()}

	fixedPaths := []string{
		"/programs/p1/projects/a", "/programs/p1/projects/a/studies/s1", "/programs/p1/projects/b",
		"/programs/p1/projects/ab", "/programs/p2/projects/c", "/programs/p10/projects/a",
		"/programs/open/x", "/programs/shared/y", "/open-discovery/r",
	}
	regSet := map[string]bool{}
	for _, p := range fixedPaths {
		regSet[p] = true
	}
	for len(regSet) < len(fixedPaths)+20 {
		regSet[orPath(rng, 1+rng.Intn(3))] = true
	}
	registered := make([]string, 0, len(regSet))
	for p := range regSet {
		registered = append(registered, p)
	}
	sort.Strings(registered)
	// Registered paths are listed as keys of their own below every grant
	// (as Arborist lists them): the explanation must see through that.
	e.Policy.RegisterResources(registered...)

	// Records: the fixed ones, then random ones.
	fixed := [][]string{
		{"/programs/p1/projects/a"}, {"/programs/p1/projects/a/studies/s1"}, {"/programs/p1/projects/b"},
		{"/programs/p1/projects/a", "/programs/p2/projects/c"}, {"/programs/p1/projects/a", "/programs/p1/projects/b"},
		{}, {"/programs/p10/projects/a"}, {"/programs/p1/projects/ab"}, {"/programs/open/x"},
		{"/programs/shared/y"}, {"/programs/open/x", "/programs/shared/y"}, {"/open-discovery/r"},
	}
	for range 40 {
		var authz []string
		switch k := rng.Intn(10); {
		case k == 0:
			authz = []string{}
		case k < 6:
			authz = []string{registered[rng.Intn(len(registered))]}
		default:
			for range 2 + rng.Intn(2) {
				authz = append(authz, registered[rng.Intn(len(registered))])
			}
		}
		fixed = append(fixed, authz)
	}
	for i, authz := range fixed {
		did := fmt.Sprintf("dg.EX/00000000-0000-4000-8000-%012d", i+1)
		r := &exRecord{did: did, authz: authz}
		e.Create(w.admin, Rec(did, authz...))
		if i%5 == 0 {
			r.alias = "ex-alias-" + strconv.Itoa(i)
			e.Do(http.MethodPost, "/index/"+did+"/aliases", w.admin,
				map[string]any{"aliases": []map[string]string{{"value": r.alias}}}).MustStatus(t, http.StatusOK)
		}
		w.recs = append(w.recs, r)
		w.universe = append(w.universe, did)
	}
	sort.Strings(w.universe)

	// Group grants, then the users.
	w.anon = map[string][]policytest.Action{"/programs/open": exIndexd("read")}
	w.loggedIn = map[string][]policytest.Action{"/programs/shared": exIndexd("read", "read-storage")}
	e.Policy.SetAnonymous(map[string][]string{"/programs/open": {"read"}})
	e.Policy.SetLoggedIn(map[string][]string{"/programs/shared": {"read", "read-storage"}})
	users := []*exCaller{
		{name: "ex-p1a", grants: map[string][]policytest.Action{"/programs/p1/projects/a": exIndexd("read")}},
		{name: "ex-p1", grants: map[string][]policytest.Action{"/programs/p1": exIndexd("read", "read-storage", "create", "update", "delete")}},
		{name: "ex-global", grants: map[string][]policytest.Action{"/open-discovery": exIndexd("read")}},
		{name: "ex-writer", grants: map[string][]policytest.Action{"/programs/p1": exIndexd("create", "update", "delete")}},
		{name: "ex-decoy", grants: map[string][]policytest.Action{"/programs/p1": {{Service: "fence", Method: "read"}, {Service: "indexd", Method: "read-storage"}}}},
		{name: "ex-star", grants: map[string][]policytest.Action{"/programs/p2": {{Service: "*", Method: "*"}}}},
		{name: "ex-nobody", grants: map[string][]policytest.Action{}},
		{name: "ex-admin", grants: map[string][]policytest.Action{"/services/indexd/admin": exIndexd("admin"), "/programs/p10": exIndexd("read")}},
	}
	for i := range 6 {
		users = append(users, &exCaller{name: fmt.Sprintf("ex-rand-%d", i), grants: orGrants(rng, registered, 1+rng.Intn(4))})
	}
	w.callers = []*exCaller{{name: ""}}
	for _, u := range users {
		tok := Tok(u.name)
		e.Policy.SetUserActions(tok, u.name, u.grants)
		u.auth = Bearer(tok)
		w.callers = append(w.callers, u)
	}
	e.App.Policy.Flush()
	return w
}

// view is the oracle's view of a caller under st (orView, from the grants
// alone).
func (w *exWorld) view(st discovery.Settings, c *exCaller) orView {
	reads := orReads(w.anon)
	if c.name != "" {
		reads = orReads(w.anon, w.loggedIn, c.grants)
	}
	v := orView{unfiltered: st.AreRecordsDiscoverable, reads: reads}
	for _, g := range reads {
		for _, gp := range st.GlobalDiscoveryAuthz {
			if orCovers(g, gp) {
				v.unfiltered = true
			}
		}
	}
	return v
}

// grantsOf lists the caller's paths granting method (service indexd or *)
// from each source.
func (w *exWorld) grantsOf(c *exCaller, method string) map[string][]string {
	of := func(set map[string][]policytest.Action) []string {
		var out []string
		for p, as := range set {
			for _, a := range as {
				if (a.Service == "indexd" || a.Service == "*") && (a.Method == method || a.Method == "*") {
					out = append(out, p)
					break
				}
			}
		}
		return out
	}
	out := map[string][]string{explain.SourceAnonymous: of(w.anon)}
	if c.name != "" {
		out[explain.SourceLoggedIn] = of(w.loggedIn)
		out[explain.SourceUser] = of(c.grants)
	}
	return out
}

func anyCovers(grants []string, p string) bool {
	for _, g := range grants {
		if orCovers(g, p) {
			return true
		}
	}
	return false
}

// explainQuery is the GET /admin/explain path for a caller and an id, with
// what-if settings when st is not nil.
func explainQuery(c *exCaller, id string, st *discovery.Settings) string {
	q := url.Values{"id": {id}}
	if c.name == "" {
		q.Set("anonymous", "true")
	} else {
		q.Set("user", c.name)
	}
	if st != nil {
		q.Set("are_records_discoverable", strconv.FormatBool(st.AreRecordsDiscoverable))
		q.Set("global_discovery_authz", strings.Join(st.GlobalDiscoveryAuthz, ","))
	}
	return "/admin/explain?" + q.Encode()
}

// listWalk returns every did the caller's GET /index walk (cursor paging)
// finds.
func (w *exWorld) listWalk(chk *azChecker, c *exCaller) ([]string, bool) {
	var got []string
	path := "/index?limit=7"
	for pages := 0; pages < 1000; pages++ {
		r, ok := chk.do(w.e, http.MethodGet, path, c.auth, nil)
		if !ok {
			return nil, false
		}
		if r.Status != http.StatusOK {
			chk.fail("GET %s as %q: %d %s", path, c.name, r.Status, azTrunc(r.Body))
			return nil, false
		}
		var page struct {
			Records []struct {
				DID string `json:"did"`
			} `json:"records"`
			Next string `json:"next_cursor"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			chk.fail("GET %s: %v", path, err)
			return nil, false
		}
		for _, rec := range page.Records {
			got = append(got, rec.DID)
		}
		if page.Next == "" {
			return got, true
		}
		path = "/index?limit=7&cursor=" + url.QueryEscape(page.Next)
	}
	chk.fail("list walk as %q does not end", c.name)
	return nil, false
}

// exPairs runs f for every (caller, record) pair, four at a time.
func (w *exWorld) exPairs(f func(c *exCaller, r *exRecord)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, c := range w.callers {
		for _, r := range w.recs {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				f(c, r)
			}()
		}
	}
	wg.Wait()
}

func TestExplainAgreesWithReads(t *testing.T) {
	t.Parallel()
	rng := exSeed(t)
	w := newExWorld(t, rng)
	chk := &azChecker{t: t}
	azRequireDRS(t, w.e)

	rounds := []discovery.Settings{
		{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{}},
		{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{"/open-discovery/r", "/programs/p1/projects/b"}},
		{AreRecordsDiscoverable: true, GlobalDiscoveryAuthz: []string{}},
		// The logged-in group holds read on /programs/shared: every
		// logged-in caller discovers all, anonymous does not.
		{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{"/programs/shared/y"}},
	}
	type key struct{ caller, did string }
	var mu sync.Mutex
	pairs := 0
	for ri, st := range rounds {
		// Asked before the change: what the answer would be.
		whatIf := map[key]explain.Explanation{}
		if ri > 0 {
			w.exPairs(func(c *exCaller, r *exRecord) {
				resp, ok := chk.do(w.e, http.MethodGet, explainQuery(c, r.did, &st), w.admin, nil)
				if !ok || resp.Status != http.StatusOK {
					chk.fail("what-if explain %q %s: %d %s", c.name, r.did, resp.Status, azTrunc(resp.Body))
					return
				}
				var x explain.Explanation
				if err := json.Unmarshal(resp.Body, &x); err != nil {
					chk.fail("what-if explain: %v", err)
					return
				}
				if !x.WhatIf != azSettingsEqual(st, rounds[ri-1]) {
					chk.fail("what-if explain %q %s: what_if %v", c.name, r.did, x.WhatIf)
				}
				mu.Lock()
				whatIf[key{c.name, r.did}] = x
				mu.Unlock()
			})
		}
		azApply(t, st, w.e)
		lists := map[string]map[string]bool{}
		for _, c := range w.callers {
			got, ok := w.listWalk(chk, c)
			if !ok {
				t.FailNow()
			}
			lists[c.name] = map[string]bool{}
			for _, d := range got {
				lists[c.name][d] = true
			}
		}
		w.exPairs(func(c *exCaller, r *exRecord) {
			label := fmt.Sprintf("[round %d %+v caller %q record %s %v]", ri, st, c.name, r.did, r.authz)
			id := r.did
			if r.alias != "" {
				id = r.alias // explain resolves aliases as GET /{id} does
			}
			resp, ok := chk.do(w.e, http.MethodGet, explainQuery(c, id, nil), w.admin, nil)
			if !ok {
				return
			}
			if resp.Status != http.StatusOK {
				chk.fail("%s explain: %d %s", label, resp.Status, azTrunc(resp.Body))
				return
			}
			var x explain.Explanation
			if err := json.Unmarshal(resp.Body, &x); err != nil {
				chk.fail("%s explain: %v", label, err)
				return
			}
			read, ok := chk.do(w.e, http.MethodGet, "/index/"+r.did, c.auth, nil)
			if !ok {
				return
			}
			// The heart: the explanation agrees with the read, the list,
			// and the what-if asked before the change.
			actual := read.Status == http.StatusOK
			if read.Status != http.StatusOK && read.Status != http.StatusForbidden {
				chk.fail("%s GET /index/{id}: %d %s", label, read.Status, azTrunc(read.Body))
			}
			if x.Visible != actual {
				chk.fail("%s explain says visible=%v (%s: %s), GET /index/{id} answers %d", label, x.Visible, x.Rule, x.Reason, read.Status)
			}
			if lists[c.name][r.did] != x.Visible {
				chk.fail("%s explain says visible=%v, the list walk %s it", label, x.Visible, map[bool]string{true: "holds", false: "lacks"}[lists[c.name][r.did]])
			}
			if prev, ok := whatIf[key{c.name, r.did}]; ri > 0 && (!ok || prev.Visible != x.Visible || prev.Rule != x.Rule ||
				string(mustJSON(prev.Paths)) != string(mustJSON(x.Paths)) || prev.DRSAccess != x.DRSAccess) {
				chk.fail("%s the what-if asked before the change (%+v) differs from the answer after it (%+v)", label, prev, x)
			}
			mu.Lock()
			pairs++
			mu.Unlock()

			w.checkExplanation(chk, label, st, c, r, &x)

			// DRS access, for visible records: the access route agrees.
			if x.Visible {
				acc, ok := chk.do(w.e, http.MethodGet, "/ga4gh/drs/v1/objects/"+r.did+"/access/s3", c.auth, nil)
				if !ok {
					return
				}
				if (acc.Status == http.StatusOK) != x.DRSAccess.Allowed || (acc.Status != http.StatusOK && acc.Status != http.StatusForbidden && acc.Status != http.StatusUnauthorized) {
					chk.fail("%s explain says drs_access %+v, the access route answers %d %s", label, x.DRSAccess, acc.Status, azTrunc(acc.Body))
				}
			}
		})
		if t.Failed() {
			t.Fatalf("stopping after round %d", ri)
		}
	}
	t.Logf("figures: %d (caller, record, setting) explanations agreed with the reads, lists and what-ifs (%d requests)", pairs, chk.requests.Load())
}

// checkExplanation holds an explanation to the oracle written from the
// grants alone.
func (w *exWorld) checkExplanation(chk *azChecker, label string, st discovery.Settings, c *exCaller, r *exRecord, x *explain.Explanation) {
	v := w.view(st, c)
	if want := v.visible(r.authz); x.Visible != want {
		chk.fail("%s explain visible=%v, the oracle says %v", label, x.Visible, want)
	}
	if x.Record.DID != r.did || !slices.Equal(x.Record.Authz, r.authz) || x.Record.Alias != r.alias {
		chk.fail("%s explain names record %+v", label, x.Record)
	}
	var wantRule string
	canon := discovery.CanonicalSet(r.authz)
	covered := 0
	for _, p := range canon {
		if anyCovers(v.reads, p) {
			covered++
		}
	}
	switch {
	case st.AreRecordsDiscoverable:
		wantRule = explain.RuleDiscoverable
	case v.unfiltered:
		wantRule = explain.RuleCanDiscoverAll
	case len(canon) == 0:
		wantRule = explain.RuleEmptyAuthz
	case covered == len(canon):
		wantRule = explain.RuleEveryPathCovered
	default:
		wantRule = explain.RuleNotCovered
	}
	if x.Rule != wantRule {
		chk.fail("%s rule %q, want %q", label, x.Rule, wantRule)
	}
	if wantRule == explain.RuleCanDiscoverAll && (x.DiscoverAllVia == nil || !orCovers(x.DiscoverAllVia.Grant.Resource, x.DiscoverAllVia.GlobalPath) ||
		!slices.Contains(st.GlobalDiscoveryAuthz, x.DiscoverAllVia.GlobalPath)) {
		chk.fail("%s discover_all_via %+v", label, x.DiscoverAllVia)
	}
	if len(x.Paths) != len(canon) {
		chk.fail("%s paths %+v, want one per path of %v", label, x.Paths, canon)
		return
	}
	for i, pg := range x.Paths {
		if pg.Path != canon[i] {
			chk.fail("%s path %d is %q, want %q", label, i, pg.Path, canon[i])
		}
		for method, g := range map[string]*explain.Grant{"read": pg.Read, "read-storage": pg.ReadStorage, "create": pg.Create, "update": pg.Update, "delete": pg.Delete} {
			bySource := w.grantsOf(c, method)
			var all []string
			for _, gs := range bySource {
				all = append(all, gs...)
			}
			want := anyCovers(all, pg.Path)
			if (g != nil) != want {
				chk.fail("%s path %s %s grant %+v, the oracle says covered=%v", label, pg.Path, method, g, want)
				continue
			}
			if g == nil {
				continue
			}
			if !orCovers(g.Resource, pg.Path) || g.Method != method && g.Method != "*" || g.Service != "indexd" && g.Service != "*" {
				chk.fail("%s path %s %s: grant %+v does not cover it", label, pg.Path, method, g)
			}
			// Where it came from: the most general source that holds it.
			wantSrc := explain.SourceUser
			switch {
			case anyCovers(bySource[explain.SourceAnonymous], g.Resource):
				wantSrc = explain.SourceAnonymous
			case anyCovers(bySource[explain.SourceLoggedIn], g.Resource):
				wantSrc = explain.SourceLoggedIn
			}
			if g.Source != wantSrc || !anyCovers(bySource[g.Source], g.Resource) {
				chk.fail("%s path %s %s: grant %+v, want source %s", label, pg.Path, method, g, wantSrc)
			}
		}
	}
	// DRS access and writes from the grants (SPEC §3, §4).
	isAdmin := anyCovers(w.grantsOf(c, "admin")[explain.SourceUser], "/services/indexd/admin")
	everyPath := func(method string) bool {
		gs := w.grantsOf(c, method)
		all := append(append(append([]string{}, gs[explain.SourceAnonymous]...), gs[explain.SourceLoggedIn]...), gs[explain.SourceUser]...)
		if len(canon) == 0 {
			return isAdmin
		}
		for _, p := range canon {
			if !anyCovers(all, p) {
				return false
			}
		}
		return true
	}
	wantAccess := x.Visible && c.name != "" && everyPath("read-storage")
	if x.DRSAccess.Allowed != wantAccess {
		chk.fail("%s drs_access %+v, want %v", label, x.DRSAccess, wantAccess)
	}
	for method, got := range map[string]explain.Verdict{"create": x.Create, "update": x.Update, "delete": x.Delete} {
		if want := c.name != "" && everyPath(method); got.Allowed != want {
			chk.fail("%s %s %+v, want %v", label, method, got, want)
		}
	}
	if !x.Visible && len(x.WouldChange) == 0 {
		chk.fail("%s invisible, but nothing would change it: %+v", label, x)
	}
}

// ---- preview ----

// exWalks are the dids each caller's list walk finds.
func (w *exWorld) walks(t *testing.T, chk *azChecker) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, c := range w.callers {
		got, ok := w.listWalk(chk, c)
		if !ok {
			t.FailNow()
		}
		out[c.name] = got
	}
	return out
}

// bucketOf is the sorted dids of in not in out.
func bucketOf(in, out []string) []string {
	res := []string{}
	for _, d := range in {
		if !slices.Contains(out, d) {
			res = append(res, d)
		}
	}
	sort.Strings(res)
	return res
}

func checkCount(t *testing.T, label string, got explain.Count, want []string) {
	t.Helper()
	wantSample := want[:min(len(want), explain.SampleSize)]
	if got.Count != int64(len(want)) || !slices.Equal(got.Sample, wantSample) {
		t.Errorf("%s: count %d sample %v; the list walks find %d: %v", label, got.Count, got.Sample, len(want), wantSample)
	}
}

func TestPreviewMatchesListWalk(t *testing.T) {
	t.Parallel()
	rng := exSeed(t)
	w := newExWorld(t, rng)
	chk := &azChecker{t: t}
	var users []string
	for _, c := range w.callers[1:] {
		users = append(users, c.name)
	}
	// ex-nobody holds nothing of its own: it is "any logged-in caller".
	const anyLoggedIn = "ex-nobody"
	changes := []struct{ before, after discovery.Settings }{
		{discovery.Settings{AreRecordsDiscoverable: true, GlobalDiscoveryAuthz: []string{}},
			discovery.Settings{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{}}},
		{discovery.Settings{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{}},
			discovery.Settings{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{"/open-discovery"}}},
		{discovery.Settings{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{"/programs/shared"}},
			discovery.Settings{AreRecordsDiscoverable: true, GlobalDiscoveryAuthz: []string{}}},
		{discovery.Settings{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{"/programs/p1"}},
			discovery.Settings{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{"/programs/p1"}}},
	}
	for i, ch := range changes {
		azApply(t, ch.before, w.e)
		body := map[string]any{"are_records_discoverable": ch.after.AreRecordsDiscoverable,
			"global_discovery_authz": ch.after.GlobalDiscoveryAuthz, "users": users}
		var p explain.Preview
		w.e.Do(http.MethodPost, "/admin/discovery/preview", w.admin, body).MustStatus(t, http.StatusOK).JSON(t, &p)
		// PUT dry_run answers the same and changes nothing.
		before := w.e.App.Settings.Get()
		dry := map[string]any{"dry_run": true}
		for k, v := range body {
			dry[k] = v
		}
		var pd explain.Preview
		w.e.Do(http.MethodPut, "/admin/discovery", w.admin, dry).MustStatus(t, http.StatusOK).JSON(t, &pd)
		if string(mustJSON(pd)) != string(mustJSON(p)) {
			t.Errorf("change %d: PUT dry_run answers %s, the preview %s", i, mustJSON(pd), mustJSON(p))
		}
		if stored, err := w.e.App.Store.Settings(t.Context()); err != nil || stored.Version != before.Version || w.e.App.Settings.Get().Version != before.Version {
			t.Fatalf("change %d: dry_run changed the settings: %+v (%v)", i, stored, err)
		}

		walkBefore := w.walks(t, chk)
		azApply(t, ch.after, w.e)
		walkAfter := w.walks(t, chk)
		label := fmt.Sprintf("change %d %+v → %+v", i, ch.before, ch.after)
		if p.Changed != !azSettingsEqual(ch.before, ch.after) || !azSettingsEqual(p.Before, ch.before) || !azSettingsEqual(p.After, ch.after) {
			t.Errorf("%s: preview settings %+v → %+v changed=%v", label, p.Before, p.After, p.Changed)
		}
		if p.Total != int64(len(w.universe)) {
			t.Errorf("%s: total %d, want %d", label, p.Total, len(w.universe))
		}
		if len(p.Callers) != 2+len(users) {
			t.Fatalf("%s: %d callers in the preview, want %d", label, len(p.Callers), 2+len(users))
		}
		var unionBefore, unionAfter []string
		for j, cp := range p.Callers {
			name := ""
			switch {
			case j == 0 && cp.Caller == explain.CallerAnonymous:
			case j == 1 && cp.Caller == explain.CallerLoggedIn:
				name = anyLoggedIn
			case j >= 2 && cp.Caller == explain.CallerUser && cp.User == users[j-2]:
				name = cp.User
			default:
				t.Fatalf("%s: caller %d is %+v", label, j, cp)
			}
			b, a := walkBefore[name], walkAfter[name]
			unionBefore, unionAfter = append(unionBefore, b...), append(unionAfter, a...)
			cl := fmt.Sprintf("%s caller %s %q", label, cp.Caller, cp.User)
			checkCount(t, cl+" before", cp.Before, bucketOf(b, nil))
			checkCount(t, cl+" after", cp.After, bucketOf(a, nil))
			checkCount(t, cl+" hidden", cp.Hidden, bucketOf(b, a))
			checkCount(t, cl+" revealed", cp.Revealed, bucketOf(a, b))
		}
		checkCount(t, label+" admins only before", p.AdminsOnly.Before, bucketOf(w.universe, unionBefore))
		checkCount(t, label+" admins only after", p.AdminsOnly.After, bucketOf(w.universe, unionAfter))
		var empty []string
		for _, r := range w.recs {
			if len(r.authz) == 0 {
				empty = append(empty, r.did)
			}
		}
		checkCount(t, label+" empty authz", p.EmptyAuthz, bucketOf(empty, nil))
		if t.Failed() {
			t.FailNow()
		}
	}
}
