package integration

// The leak oracle: random resource trees, grants, records and callers, and
// every read endpoint checked over real HTTP against a visibility rule
// written here from SPEC §2 alone (orVisible), independent of package
// discovery and of the SQL.
//
//	INDEXD_ORACLE_SEED=n   replay a seed (printed by every run)
//	INDEXD_SOAK=1          ≥ 100,000 (caller, record, endpoint) triples
//
// Every settings round checks, per caller: the lists (plain, with explicit
// filters, by ids, paged by cursor), /urls (plain and filtered), the URL
// queries, bulk, /_stats, the DRS lists (plain, filtered, paged) and DRS
// bulk; and single reads of sampled records on the plain and on the
// hide_existence instance: /index/{id}, /{id}, /{alias}, versions (by did
// and by baseid), latest (plain and has_version=true), aliases, and DRS
// GET, POST and OPTIONS objects/{id}; and the same reads by the id's other
// spellings (its prefix twin under DEFAULT_PREFIX, its alias, the alias's
// twin), in bulk and DRS bulk too. The rounds cover filtering with no
// global path, filtering with global paths, and every record discoverable.
// Before the rounds every caller class attacks ids, aliases and chains
// (oracle_takeover_test.go).

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
	"github.com/datacommons/indexd/policy/policytest"
)

// ---- the independent oracle ----

// orCovers: a grant on g covers p when p is g or lies below g on whole
// segments; "/" covers every path.
func orCovers(g, p string) bool {
	if g == "/" {
		return strings.HasPrefix(p, "/")
	}
	return p == g || strings.HasPrefix(p, g+"/")
}

// orReads lists the paths on which the action sets grant read to indexd:
// service indexd or "*", method read or "*".
func orReads(sets ...map[string][]policytest.Action) []string {
	var out []string
	for _, set := range sets {
		for path, actions := range set {
			for _, a := range actions {
				if (a.Service == "indexd" || a.Service == "*") && (a.Method == "read" || a.Method == "*") {
					out = append(out, path)
					break
				}
			}
		}
	}
	return out
}

// orView is what the oracle knows about one caller under one setting.
type orView struct {
	unfiltered bool // discoverable, basic admin, or read on a global path
	reads      []string
}

func (v orView) visible(authz []string) bool {
	if v.unfiltered {
		return true
	}
	if len(authz) == 0 {
		return false
	}
	for _, p := range authz {
		ok := false
		for _, g := range v.reads {
			if orCovers(g, p) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// ---- the random world ----

type orCaller struct {
	name   string
	auth   string
	grants map[string][]policytest.Action // the user's own grants
	kind   string                         // "token", "anonymous", "basic-admin", "apitoken"
	// scope is an API token caller's scope (kind "apitoken"; grants are
	// then its user's).
	scope []orScopeEntry
}

// orScopeEntry is one entry of an API token's scope.
type orScopeEntry struct {
	Resource string   `json:"resource"`
	Methods  []string `json:"methods"`
}

// orScopedReads is what an API token may read: where its user may read
// (reads) and a scope entry with read (or "*") covers the path; a scope
// entry below a user's read path is readable itself.
func orScopedReads(reads []string, scope []orScopeEntry) []string {
	var out []string
	for _, e := range scope {
		if !slices.Contains(e.Methods, "read") && !slices.Contains(e.Methods, "*") {
			continue
		}
		for _, g := range reads {
			switch {
			case orCovers(e.Resource, g):
				out = append(out, g)
			case orCovers(g, e.Resource):
				out = append(out, e.Resource)
			}
		}
	}
	return out
}

type orRecord struct {
	did, alias, url, acl string
	authz                []string
	size                 int64
	md5                  string
	version              string // "" when the record has none
	baseid               string
	chain                []string // dids of the chain, oldest first
}

var orSegments = []string{"a", "ab", "a_b", "a-b", "a1", "a10", "b"}

func orPath(rng *rand.Rand, depth int) string {
	var sb strings.Builder
	for range depth {
		sb.WriteString("/")
		sb.WriteString(orSegments[rng.Intn(len(orSegments))])
	}
	return sb.String()
}

func orParents(p string) []string {
	var out []string
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			out = append(out, p[:i])
		}
	}
	return out
}

func orActions(rng *rand.Rand) []policytest.Action {
	services := []string{"indexd", "indexd", "indexd", "indexd", "*", "fence"}
	methods := []string{"read", "read", "read", "read", "*", "read-storage", "create", "update"}
	n := 1 + rng.Intn(2)
	out := make([]policytest.Action, 0, n)
	for range n {
		out = append(out, policytest.Action{Service: services[rng.Intn(len(services))], Method: methods[rng.Intn(len(methods))]})
	}
	return out
}

// orGrants draws grants on registered paths, on their parents (which cover
// them), and on unregistered paths.
func orGrants(rng *rand.Rand, registered []string, n int) map[string][]policytest.Action {
	g := map[string][]policytest.Action{}
	for range n {
		var p string
		switch r := rng.Intn(10); {
		case r < 5:
			p = registered[rng.Intn(len(registered))]
		case r < 8:
			base := registered[rng.Intn(len(registered))]
			if ps := orParents(base); len(ps) > 0 {
				p = ps[rng.Intn(len(ps))]
			} else {
				p = base
			}
		default:
			p = orPath(rng, 1+rng.Intn(3))
		}
		g[p] = append(g[p], orActions(rng)...)
	}
	return g
}

func TestAuthzLeakOracle(t *testing.T) {
	seed := time.Now().UnixNano()
	if s := os.Getenv("INDEXD_ORACLE_SEED"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("INDEXD_ORACLE_SEED: %v", err)
		}
		seed = n
	}
	soak := os.Getenv("INDEXD_SOAK") == "1"
	t.Logf("leak oracle seed %d (replay: INDEXD_ORACLE_SEED=%d)", seed, seed)
	defer func() {
		if t.Failed() {
			t.Logf("FAILED with seed %d (replay: INDEXD_ORACLE_SEED=%d)", seed, seed)
		}
	}()
	rng := rand.New(rand.NewSource(seed))

	size := struct{ paths, records, callers, rounds, singles int }{30, 150, 14, 3, 6}
	minTriples := int64(10_000)
	if soak {
		size = struct{ paths, records, callers, rounds, singles int }{60, 400, 30, 5, 10}
		minTriples = 100_000
	}

	// DEFAULT_PREFIX: every id has a prefix twin (a quarter of the dids
	// carry the prefix, the rest are bare).
	e := Start(t, WithFiltering(), withSettingsPoll(time.Hour), withPrefix(orPrefix, false))
	hidden := e.StartAnother(t, withSettingsPoll(time.Hour), withHideExistence(), withPrefix(orPrefix, false))
	e.Client, hidden.Client = azClient(), azClient()
	w := e.Writer()

	// The registered resource tree.
	regSet := map[string]bool{}
	for len(regSet) < size.paths {
		regSet[orPath(rng, 1+rng.Intn(4))] = true
	}
	registered := make([]string, 0, len(regSet))
	for p := range regSet {
		registered = append(registered, p)
	}
	sort.Strings(registered)

	// Records: empty authz, one path, several (sometimes repeated or nested),
	// rarely the root; about a fifth are new versions of an earlier record.
	acls := []string{"acl-x", "acl-y", "acl-z"}
	recs := make([]*orRecord, 0, size.records)
	byDID := map[string]*orRecord{}
	for i := range size.records {
		r := &orRecord{did: fmt.Sprintf("or-%04d-%x", i, rng.Int63()), size: int64(rng.Intn(1 << 20)), acl: acls[rng.Intn(len(acls))], md5: fmt.Sprintf("%032x", i+1)}
		if i%4 == 3 {
			r.did = orPrefix + r.did
		}
		if rng.Intn(3) == 0 {
			r.version = fmt.Sprintf("v%d", i) // latest?has_version=true picks among these
		}
		r.url = "s3://or-bucket/" + strings.ReplaceAll(r.did, "/", "_")
		switch k := rng.Intn(20); {
		case k < 2:
			r.authz = []string{}
		case k < 3:
			r.authz = []string{"/"}
		case k < 13:
			r.authz = []string{registered[rng.Intn(len(registered))]}
		default:
			for range 2 + rng.Intn(2) {
				r.authz = append(r.authz, registered[rng.Intn(len(registered))])
			}
		}
		if rng.Intn(3) == 0 {
			r.alias = "or-alias-" + r.did
		}
		body := map[string]any{
			"did": r.did, "form": "object", "size": r.size, "hashes": map[string]string{"md5": r.md5},
			"urls": []string{r.url}, "urls_metadata": map[string]any{r.url: map[string]string{"k": "v"}},
			"acl": []string{r.acl}, "authz": r.authz,
		}
		if r.version != "" {
			body["version"] = r.version
		}
		path := "/index"
		if len(recs) > 0 && rng.Intn(5) == 0 {
			path = "/index/" + recs[rng.Intn(len(recs))].did // a new version of an earlier record
		}
		resp := azMust(t, e, http.MethodPost, path, w, body)
		var ref struct{ DID, BaseID string }
		if resp.Status != http.StatusOK || json.Unmarshal(resp.Body, &ref) != nil || ref.DID != r.did {
			t.Fatalf("create %s via %s: %d %s", r.did, path, resp.Status, resp.Body)
		}
		r.baseid = ref.BaseID
		if r.alias != "" {
			if a := azMust(t, e, http.MethodPost, "/index/"+r.did+"/aliases", w, map[string]any{"aliases": []map[string]string{{"value": r.alias}}}); a.Status != http.StatusOK {
				t.Fatalf("alias %s: %d %s", r.did, a.Status, a.Body)
			}
		}
		recs = append(recs, r)
		byDID[r.did] = r
	}
	// Group grants every caller gets (anonymous) or every token holder gets
	// (logged-in); then random token holders, an anonymous caller and a
	// basic-auth admin.
	// The double takes group grants for service indexd only.
	groupGrants := func() map[string][]policytest.Action {
		if rng.Intn(2) == 0 {
			return map[string][]policytest.Action{}
		}
		p := registered[rng.Intn(len(registered))]
		return map[string][]policytest.Action{p: {{Service: "indexd", Method: []string{"read", "create", "*"}[rng.Intn(3)]}}}
	}
	methodsOf := func(g map[string][]policytest.Action) map[string][]string {
		out := map[string][]string{}
		for p, as := range g {
			for _, a := range as {
				out[p] = append(out[p], a.Method)
			}
		}
		return out
	}
	anonGrants, loggedInGrants := groupGrants(), groupGrants()
	e.Policy.SetAnonymous(methodsOf(anonGrants))
	e.Policy.SetLoggedIn(methodsOf(loggedInGrants))
	t.Logf("group grants: anonymous %v, logged-in %v", anonGrants, loggedInGrants)
	callers := []*orCaller{{name: "anonymous", kind: "anonymous"}, {name: "basic-admin", kind: "basic-admin", auth: azAddAdmin(t, e, "or-admin", "or-admin-password-1")}}
	for i := range size.callers {
		c := &orCaller{name: fmt.Sprintf("user-%02d", i), kind: "token", grants: orGrants(rng, registered, 1+rng.Intn(4))}
		// A decoy on a registered path: an action that must not count as
		// read for indexd (another service's read, or another method).
		decoys := []policytest.Action{{Service: "fence", Method: "read"}, {Service: "fence", Method: "*"}, {Service: "indexd", Method: "read-storage"},
			{Service: "indexd", Method: "create"}, {Service: "*", Method: "update"}, {Service: "indexd", Method: "reader"}}
		dp := registered[rng.Intn(len(registered))]
		c.grants[dp] = append(c.grants[dp], decoys[rng.Intn(len(decoys))])
		if rng.Intn(12) == 0 {
			c.grants["/"] = []policytest.Action{{Service: "indexd", Method: "read"}}
		}
		// The token claims the name the policy service knows the user by
		// (as Arborist reads context.user.name): API tokens are issued for
		// that name and decided from the mapping by that name.
		tk := Tok(c.name)
		e.Policy.SetUserActions(tk, c.name, c.grants)
		c.auth = Bearer(tk)
		callers = append(callers, c)
	}
	// Mappings must not have been cached before the grants were set.
	e.App.Policy.Flush()
	hidden.App.Policy.Flush()
	azRequireDRS(t, e)
	const drs = true // DRS rows always run (azRequireDRS)
	var view func(st discovery.Settings, c *orCaller) orView

	// The attack phase (oracle_takeover_test.go), under the first round's
	// settings (filtering, no global path): every caller class tries to
	// take over ids, aliases and chains; allowed grafts join the world.
	first := discovery.Settings{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{}}
	azApply(t, first, e, hidden)
	ot := &orTakeover{chk: &azChecker{t: t}, e: e, hidden: hidden, rng: rng, groups: []map[string][]policytest.Action{anonGrants, loggedInGrants},
		view: func(c *orCaller) orView { return view(first, c) }, registered: registered, recs: recs, byDID: byDID, attemptsBy: map[string]int{}}
	defer func() {
		t.Logf("figures: leak oracle takeover phase: %d attacks (%v), %d grafts the rules allow", ot.chk.cases.Load(), ot.attemptsBy, ot.successGrafts)
	}()

	chains := map[string][]string{}
	var universe []string
	urlToDID := map[string]string{}
	world := func() {
		chains = map[string][]string{}
		for _, r := range recs {
			chains[r.baseid] = append(chains[r.baseid], r.did)
		}
		for _, r := range recs {
			r.chain = chains[r.baseid]
		}
		universe = make([]string, 0, len(recs))
		for _, r := range recs {
			universe = append(universe, r.did)
			urlToDID[r.url] = r.did
		}
	}
	view = func(st discovery.Settings, c *orCaller) orView {
		var reads []string
		switch c.kind {
		case "anonymous":
			reads = orReads(anonGrants)
		case "token":
			reads = orReads(anonGrants, loggedInGrants, c.grants)
		case "apitoken":
			reads = orScopedReads(orReads(anonGrants, loggedInGrants, c.grants), c.scope)
		}
		v := orView{unfiltered: st.AreRecordsDiscoverable || c.kind == "basic-admin", reads: reads}
		for _, g := range reads {
			for _, gp := range st.GlobalDiscoveryAuthz {
				if orCovers(g, gp) {
					v.unfiltered = true
				}
			}
		}
		return v
	}
	victims := 3
	if soak {
		victims = 8
	}
	ot.run(callers, victims)
	recs = ot.recs
	world()
	if t.Failed() {
		t.Fatalf("stopping after the takeover phase")
	}
	// API token callers (issue 14): tokens users issue to themselves with
	// random scopes over their random grants; they see what their user may
	// read within the scope.
	users := slices.Clone(callers[2:]) // the token users; API token callers cannot issue tokens
	for i := range max(4, size.callers/3) {
		user := users[rng.Intn(len(users))]
		var scope []orScopeEntry
		for range 1 + rng.Intn(3) {
			res := registered[rng.Intn(len(registered))]
			switch rng.Intn(6) {
			case 0:
				res = "/"
			case 1:
				res = strings.TrimSuffix(res, "/") + "/" + orSegments[rng.Intn(len(orSegments))]
			}
			ms := [][]string{{"read"}, {"create"}, {"*"}, {"read", "read-storage"}, {"update", "read"}}[rng.Intn(5)]
			scope = append(scope, orScopeEntry{Resource: res, Methods: ms})
		}
		r := e.Do(http.MethodPost, "/tokens", user.auth, map[string]any{"expires_in": "1h", "scope": scope}).MustStatus(t, http.StatusCreated)
		var it struct{ Token string }
		r.JSON(t, &it)
		callers = append(callers, &orCaller{name: fmt.Sprintf("apitoken-%02d-of-%s", i, user.name), kind: "apitoken",
			auth: Bearer(it.Token), grants: user.grants, scope: scope})
	}

	chk := &azChecker{t: t}
	start := time.Now()
	for round := range size.rounds {
		st := discovery.Settings{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{}}
		switch {
		case round == 0:
		case round == size.rounds-1:
			st.AreRecordsDiscoverable = true
		default:
			// A registered path, and one at or below a path some caller
			// holds a grant on (so that someone may discover all).
			st.GlobalDiscoveryAuthz = append(st.GlobalDiscoveryAuthz, registered[rng.Intn(len(registered))])
			holder := callers[2+rng.Intn(len(callers)-2)]
			held := make([]string, 0, len(holder.grants))
			for p := range holder.grants {
				held = append(held, p)
			}
			sort.Strings(held) // map order is random; the seed must replay
			p := held[rng.Intn(len(held))]
			if rng.Intn(2) == 0 {
				p = strings.TrimSuffix(p, "/") + "/" + orSegments[rng.Intn(len(orSegments))]
			}
			st.GlobalDiscoveryAuthz = append(st.GlobalDiscoveryAuthz, p)
		}
		azApply(t, st, e, hidden)
		anonView := view(st, callers[0]) // DRS OPTIONS offers "None" exactly where anonymous callers see
		// Plans are drawn here, on the test goroutine (rng is not shared).
		type plan struct {
			c       *orCaller
			v       orView
			filters []string
			ids     []string
			page    int
			singles []*orRecord
			probe   *orRecord // its hash and size filter /urls
		}
		plans := make([]plan, 0, len(callers))
		for _, c := range callers {
			p := plan{c: c, v: view(st, c), page: 7 + rng.Intn(40)}
			some := registered[rng.Intn(len(registered))]
			two := registered[rng.Intn(len(registered))] + "," + registered[rng.Intn(len(registered))]
			p.filters = []string{"authz=" + url.QueryEscape(some), "authz=" + url.QueryEscape(two), "authz=null", "acl=" + acls[rng.Intn(len(acls))],
				"negate_params=" + url.QueryEscape(fmt.Sprintf(`{"authz":[%q]}`, some))}
			for _, i := range rng.Perm(len(recs))[:min(30, len(recs))] {
				p.ids = append(p.ids, recs[i].did)
			}
			p.ids = append(p.ids, "or-missing-id")
			for _, i := range rng.Perm(len(recs))[:size.singles] {
				p.singles = append(p.singles, recs[i])
			}
			p.probe = recs[rng.Intn(len(recs))]
			plans = append(plans, p)
		}
		shown, pairs := 0, 0
		for _, p := range plans {
			for _, r := range recs {
				pairs++
				if p.v.visible(r.authz) {
					shown++
				}
			}
		}
		t.Logf("round %d: settings %+v; %d of %d (caller, record) pairs visible", round, st, shown, pairs)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 6)
		for _, p := range plans {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				label := fmt.Sprintf("[round %d settings %+v caller %s]", round, st, p.c.name)
				orCheckCaller(chk, e, hidden, label, p.c.auth, p.v, anonView, recs, byDID, universe, urlToDID, p.filters, p.ids, p.page, p.singles, p.probe, drs)
			}()
		}
		wg.Wait()
		if t.Failed() {
			t.Fatalf("stopping after round %d", round)
		}
	}
	n := chk.cases.Load()
	t.Logf("figures: leak oracle: %d (caller, record, endpoint) triples checked with %d HTTP requests; %d records (%d authz paths registered), %d callers, %d settings rounds, DRS %v; %s",
		n, chk.requests.Load(), len(recs), len(registered), len(callers), size.rounds, drs, time.Since(start).Round(time.Millisecond))
	if n < minTriples {
		t.Fatalf("only %d triples checked, want at least %d", n, minTriples)
	}
}

// orCheckCaller runs every read endpoint for one caller under one setting.
func orCheckCaller(chk *azChecker, e, hidden *Env, label, auth string, v, anon orView, recs []*orRecord, byDID map[string]*orRecord, universe []string, urlToDID map[string]string, filters, ids []string, page int, singles []*orRecord, probe *orRecord, drs bool) {
	vis := func(did string) bool { return v.visible(byDID[did].authz) }
	filterOf := func(f string) func(*orRecord) bool {
		k, raw, _ := strings.Cut(f, "=")
		val, _ := url.QueryUnescape(raw)
		switch {
		case k == "authz" && val == "null":
			return func(r *orRecord) bool { return len(r.authz) == 0 }
		case k == "authz":
			want := strings.Split(val, ",")
			return func(r *orRecord) bool {
				for _, p := range want {
					if !slices.Contains(r.authz, p) {
						return false
					}
				}
				return true
			}
		case k == "acl":
			return func(r *orRecord) bool { return r.acl == val }
		case k == "negate_params":
			var n struct{ Authz []string }
			_ = json.Unmarshal([]byte(val), &n)
			return func(r *orRecord) bool {
				for _, p := range n.Authz {
					if slices.Contains(r.authz, p) {
						return false
					}
				}
				return true
			}
		}
		panic("unknown filter " + f)
	}
	list := func(method, path string, body any, drsRoute bool, parse func([]byte) ([]string, error), keep func(*orRecord) bool) {
		r, ok := chk.do(e, method, path, auth, body)
		if ok {
			chk.membership(method+" "+path+" "+label, r, http.StatusOK, drsRoute, parse, universe, func(did string) bool { return vis(did) && keep(byDID[did]) })
		}
	}
	all := func(*orRecord) bool { return true }
	list("GET", "/index?limit=1024", nil, false, azParseIndexList, all)
	for _, f := range filters {
		list("GET", "/index?limit=1024&"+f, nil, false, azParseIndexList, filterOf(f))
	}
	idSet := map[string]bool{}
	for _, id := range ids {
		idSet[id] = true
	}
	list("GET", "/index?ids="+url.QueryEscape(strings.Join(ids, ",")), nil, false, azParseIndexList, func(r *orRecord) bool { return idSet[r.did] })
	list("GET", "/urls?limit=1024", nil, false, azParseURLs(urlToDID), all)
	list("GET", "/urls?limit=1024&ids="+url.QueryEscape(strings.Join(ids, ",")), nil, false, azParseURLs(urlToDID), func(r *orRecord) bool { return idSet[r.did] })
	list("GET", "/urls?limit=1024&hash=md5:"+probe.md5, nil, false, azParseURLs(urlToDID), func(r *orRecord) bool { return r.md5 == probe.md5 })
	list("GET", "/urls?limit=1024&size="+strconv.FormatInt(probe.size, 10), nil, false, azParseURLs(urlToDID), func(r *orRecord) bool { return r.size == probe.size })
	list("GET", "/_query/urls/q?limit=1024&include="+url.QueryEscape("s3://or-bucket/"), nil, false, azParseRecordArray, all)
	list("GET", "/_query/urls/metadata/q?limit=1024&key=k&value=v&url="+url.QueryEscape("s3://or-bucket/"), nil, false, azParseRecordArray, all)
	list("POST", "/bulk/documents", universe, false, azParseRecordArray, all)
	// Every id by another spelling: its prefix twin, or its alias (each
	// names the record, visible or not, exactly as its did does).
	var others []string
	for _, d := range universe {
		if a := byDID[d].alias; a != "" && len(others)%2 == 0 {
			others = append(others, a)
		} else {
			others = append(others, orTwin(d))
		}
	}
	list("POST", "/bulk/documents", others, false, azParseRecordArray, all)
	orPaged(chk, e, "/index?limit="+strconv.Itoa(page), "records", label, auth, universe, vis)
	if drs {
		orPaged(chk, e, "/ga4gh/drs/v1/objects?limit="+strconv.Itoa(page), "drs_objects", label, auth, universe, vis)
		list("POST", "/ga4gh/drs/v1/objects", map[string]any{"bulk_object_ids": ids}, true, azParseDRSBulk, func(r *orRecord) bool { return idSet[r.did] })
		twinIDs := make([]string, 0, len(ids))
		for _, id := range ids {
			twinIDs = append(twinIDs, orTwin(id))
		}
		list("POST", "/ga4gh/drs/v1/objects", map[string]any{"bulk_object_ids": twinIDs}, true, azParseDRSBulk, func(r *orRecord) bool { return idSet[r.did] })
		for _, f := range filters {
			list("GET", "/ga4gh/drs/v1/objects?limit=1024&"+f, nil, true, azDRSListIDs, filterOf(f))
		}
	}
	if r, ok := chk.do(e, "GET", "/_stats", auth, nil); ok {
		chk.cases.Add(1)
		var got, want struct{ FileCount, TotalFileSize int64 }
		for _, rec := range recs {
			if vis(rec.did) {
				want.FileCount++
				want.TotalFileSize += rec.size
			}
		}
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &got) != nil || got != want {
			chk.fail("GET /_stats %s: %d %s, want %+v", label, r.Status, r.Body, want)
		}
	}

	// Single reads, on the plain and on the hide_existence instance.
	for i, rec := range singles {
		inst := e
		if i%2 == 1 {
			inst = hidden
		}
		hide := inst.App.Config.HideExistence
		var visChain []string
		for _, d := range rec.chain {
			if vis(d) {
				visChain = append(visChain, d)
			}
		}
		type read struct {
			method, path string
			drs          bool
			wantDID      string // the did a 200 must name ("" for versions)
			shown        bool   // the condition for an answer other than the invisible one
			// check judges a shown answer (nil: 200 judged by orCheckShown).
			check func(r azResp) error
		}
		// latest?has_version=true: the newest visible version that has a
		// version string; a visible chain without one is 404 with its own
		// message (the caller sees the chain, so that tells nothing new).
		var versioned []string
		for _, d := range visChain {
			if byDID[d].version != "" {
				versioned = append(versioned, d)
			}
		}
		hasVersion := func(r azResp) error {
			if len(versioned) == 0 {
				if r.Status != http.StatusNotFound || !azSameBody(r.Body, `{"error":"no versioned record found"}`) {
					return fmt.Errorf("status %d, want 404 no versioned record found", r.Status)
				}
				return nil
			}
			if r.Status != http.StatusOK {
				return fmt.Errorf("status %d, want 200", r.Status)
			}
			return orCheckShown(r.Body, "", versioned[len(versioned)-1], nil)
		}
		aliases := func(r azResp) error {
			var got struct{ Aliases []struct{ Value string } }
			if r.Status != http.StatusOK || json.Unmarshal(r.Body, &got) != nil {
				return fmt.Errorf("status %d, want 200 with aliases", r.Status)
			}
			want := []string{}
			if rec.alias != "" {
				want = append(want, rec.alias)
			}
			var names []string
			for _, a := range got.Aliases {
				names = append(names, a.Value)
			}
			if !slices.Equal(names, want) {
				return fmt.Errorf("aliases %v, want %v", names, want)
			}
			return nil
		}
		options := func(r azResp) error {
			var got struct {
				DrsObjectID    string   `json:"drs_object_id"`
				SupportedTypes []string `json:"supported_types"`
			}
			if r.Status != http.StatusOK || json.Unmarshal(r.Body, &got) != nil {
				return fmt.Errorf("status %d, want 200 with Authorizations", r.Status)
			}
			if got.DrsObjectID != rec.did {
				return fmt.Errorf("drs_object_id %q", got.DrsObjectID)
			}
			if none := slices.Contains(got.SupportedTypes, "None"); none != anon.visible(rec.authz) {
				return fmt.Errorf("supported_types %v: None offered %v, but anonymous callers see the record: %v", got.SupportedTypes, none, anon.visible(rec.authz))
			}
			return nil
		}
		reads := []read{
			{"GET", "/index/" + rec.did, false, rec.did, vis(rec.did), nil},
			{"GET", "/" + rec.did, false, rec.did, vis(rec.did), nil},
			{"GET", "/index/" + rec.did + "/versions", false, "", vis(rec.did), nil},
			{"GET", "/index/" + rec.did + "/latest", false, "", vis(rec.did), nil},
			{"GET", "/index/" + rec.did + "/latest?has_version=true", false, "", vis(rec.did), hasVersion},
			{"GET", "/index/" + rec.did + "/aliases", false, "", vis(rec.did), aliases},
			{"GET", "/index/" + rec.baseid + "/versions", false, "", len(visChain) > 0, nil},
			{"GET", "/index/" + rec.baseid + "/latest", false, "", len(visChain) > 0, nil},
			{"GET", "/index/" + rec.baseid + "/latest?has_version=true", false, "", len(visChain) > 0, hasVersion},
		}
		// The same record by every other spelling: its prefix twin, its
		// alias and the alias's twin, on every single-read route.
		twin := orTwin(rec.did)
		reads = append(reads,
			read{"GET", "/index/" + twin, false, rec.did, vis(rec.did), nil},
			read{"GET", "/" + twin, false, rec.did, vis(rec.did), nil},
			read{"GET", "/index/" + twin + "/versions", false, "", vis(rec.did), nil},
			read{"GET", "/index/" + twin + "/latest", false, "", vis(rec.did), nil},
		)
		if rec.alias != "" {
			reads = append(reads,
				read{"GET", "/" + rec.alias, false, rec.did, vis(rec.did), nil},
				read{"GET", "/index/" + rec.alias, false, rec.did, vis(rec.did), nil},
				read{"GET", "/" + orTwin(rec.alias), false, rec.did, vis(rec.did), nil},
				read{"GET", "/index/" + rec.alias + "/latest", false, "", vis(rec.did), nil},
			)
		}
		if drs {
			reads = append(reads,
				read{"GET", "/ga4gh/drs/v1/objects/" + rec.did, true, rec.did, vis(rec.did), nil},
				read{"POST", "/ga4gh/drs/v1/objects/" + rec.did, true, rec.did, vis(rec.did), nil},
				read{"OPTIONS", "/ga4gh/drs/v1/objects/" + rec.did, true, rec.did, vis(rec.did), options},
				read{"GET", "/ga4gh/drs/v1/objects/" + twin, true, rec.did, vis(rec.did), nil},
			)
			if rec.alias != "" {
				reads = append(reads, read{"GET", "/ga4gh/drs/v1/objects/" + rec.alias, true, rec.did, vis(rec.did), nil})
			}
		}
		for _, rd := range reads {
			r, ok := chk.do(inst, rd.method, rd.path, auth, nil)
			if !ok {
				continue
			}
			chk.cases.Add(1)
			where := fmt.Sprintf("%s %s (hide=%v) %s", rd.method, rd.path, hide, label)
			switch {
			case rd.shown && rd.check != nil:
				if err := rd.check(r); err != nil {
					chk.fail("%s: %v: %s", where, err, azTrunc(r.Body))
				}
			case rd.shown:
				if r.Status != http.StatusOK {
					chk.fail("%s: status %d, want 200: %s", where, r.Status, azTrunc(r.Body))
					continue
				}
				if err := orCheckShown(r.Body, rd.path, rd.wantDID, visChain); err != nil {
					chk.fail("%s: %v", where, err)
				}
			case hide:
				if r.Status != http.StatusNotFound || !azSameBody(r.Body, azErrBody(rd.drs, 404)) {
					chk.fail("%s: LEAK? %d %s, want 404 %s", where, r.Status, azTrunc(r.Body), azErrBody(rd.drs, 404))
				}
			default:
				if r.Status != http.StatusForbidden || !azSameBody(r.Body, azErrBody(rd.drs, 403)) {
					chk.fail("%s: LEAK? %d %s, want 403 %s", where, r.Status, azTrunc(r.Body), azErrBody(rd.drs, 403))
				}
			}
		}
	}
}

// orCheckShown checks a 200 single read: the named record, or exactly the
// visible versions (oldest first), or the newest visible version.
func orCheckShown(body []byte, path, wantDID string, visChain []string) error {
	switch {
	case strings.HasSuffix(path, "/versions"):
		var m map[string]struct {
			DID string `json:"did"`
		}
		if err := json.Unmarshal(body, &m); err != nil {
			return err
		}
		got := make([]string, len(m))
		for i := range got {
			got[i] = m[strconv.Itoa(i)].DID
		}
		if !slices.Equal(got, visChain) {
			return fmt.Errorf("versions %v, want the visible versions %v", got, visChain)
		}
	case strings.HasSuffix(path, "/latest"):
		wantDID = visChain[len(visChain)-1]
		fallthrough
	default:
		var v struct {
			DID string `json:"did"`
			ID  string `json:"id"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			return err
		}
		if v.DID != wantDID && v.ID != wantDID {
			return fmt.Errorf("answer names %q/%q, want %s", v.DID, v.ID, wantDID)
		}
	}
	return nil
}

// orPaged walks a cursor-paged list (next_cursor) and checks the union of
// its pages against the visible set: every page full but the last, in did
// order, nothing twice, nothing invisible.
func orPaged(chk *azChecker, e *Env, first, key, label, auth string, universe []string, vis func(string) bool) {
	var got []string
	path := first
	want := 0
	for _, d := range universe {
		if vis(d) {
			want++
		}
	}
	limit, _ := strconv.Atoi(first[strings.LastIndex(first, "=")+1:])
	for pages := 0; ; pages++ {
		if pages > want/limit+2 {
			chk.fail("GET %s %s: more pages than %d visible records need", first, label, want)
			return
		}
		r, ok := chk.do(e, "GET", path, auth, nil)
		if !ok {
			return
		}
		if r.Status != http.StatusOK {
			chk.fail("GET %s %s: status %d: %s", path, label, r.Status, azTrunc(r.Body))
			return
		}
		var env map[string]json.RawMessage
		var items []struct {
			DID string `json:"did"`
			ID  string `json:"id"`
		}
		var next string
		if err := json.Unmarshal(r.Body, &env); err != nil || json.Unmarshal(env[key], &items) != nil {
			chk.fail("GET %s %s: not a paged list: %s", path, label, azTrunc(r.Body))
			return
		}
		if raw, ok := env["next_cursor"]; ok {
			_ = json.Unmarshal(raw, &next)
		}
		ids := make([]string, 0, len(items))
		for _, it := range items {
			ids = append(ids, it.DID+it.ID)
		}
		if !sort.StringsAreSorted(ids) || (len(got) > 0 && len(ids) > 0 && ids[0] <= got[len(got)-1]) {
			chk.fail("GET %s %s: page out of did order: %v after %d records", path, label, ids, len(got))
		}
		if next != "" && len(ids) != limit {
			chk.fail("GET %s %s: a page of %d records with a next cursor, limit %d", path, label, len(ids), limit)
		}
		got = append(got, ids...)
		if next == "" {
			break
		}
		base := first[:strings.Index(first, "?")]
		path = base + "?limit=" + strconv.Itoa(limit) + "&cursor=" + url.QueryEscape(next)
	}
	chk.membership("GET "+first+" (all pages) "+label, azResp{Status: http.StatusOK, Body: mustJSON(got)}, http.StatusOK, false,
		func(b []byte) ([]string, error) {
			var ids []string
			err := json.Unmarshal(b, &ids)
			return ids, err
		}, universe, vis)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
