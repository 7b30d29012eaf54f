package integration

// The leak oracle's attack phase (issue 12): before the read rounds, every
// caller class — anonymous, a forged token, the basic-auth admin and each
// random token holder — tries to take over other records' ids: to create a
// record under a record's prefix twin, literal did or alias; to graft a
// record onto a chain by its baseid (on the plain and on the
// hide_existence instance); to start a chain whose baseid is another
// record's did; and to claim another record's spelling as an alias. Each
// answer is checked against an oracle of the write rules written here from
// SPEC §3 and docs/authorization.md (create on the new authz; for a new
// version, update on every version of the chain too; empty authz needs an
// admin; anonymous and forged 401; under hide_existence a chain the caller
// sees no version of is the missing-record 404). Grafts the rules allow
// are real writes: they join the model, and the read rounds then check
// every spelling of every record still answers that record.

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"strings"

	"github.com/datacommons/indexd/policy/policytest"
	"github.com/datacommons/indexd/repository"
)

// orPrefix is the oracle instances' DEFAULT_PREFIX: every id has a twin.
const orPrefix = "dg.OR/"

// orTwin is id's other spelling under orPrefix.
func orTwin(id string) string {
	if rest, ok := strings.CutPrefix(id, orPrefix); ok {
		return rest
	}
	return orPrefix + id
}

// orMay reports whether caller c may do method on every path of every
// set: a basic-auth admin may do anything; a token holder needs, for each
// path, a grant on it or above it (its own, the anonymous or the logged-in
// group's) for service indexd or "*" with that method or "*"; an empty set
// needs admin (admin on /services/indexd/admin).
func orMay(c *orCaller, groups []map[string][]policytest.Action, method string, sets ...[]string) bool {
	if c.kind == "basic-admin" {
		return true
	}
	if c.kind != "token" {
		return false
	}
	grants := append([]map[string][]policytest.Action{c.grants}, groups...)
	holds := func(m, path string) bool {
		for _, g := range grants {
			for gp, actions := range g {
				if !orCovers(gp, path) {
					continue
				}
				for _, a := range actions {
					if (a.Service == "indexd" || a.Service == "*") && (a.Method == m || a.Method == "*") {
						return true
					}
				}
			}
		}
		return false
	}
	for _, set := range sets {
		if len(set) == 0 && !holds("admin", "/services/indexd/admin") {
			return false
		}
		for _, p := range set {
			if !holds(method, p) {
				return false
			}
		}
	}
	return true
}

// orTakeover is the attack phase's world.
type orTakeover struct {
	chk           *azChecker
	e, hidden     *Env
	rng           *rand.Rand
	groups        []map[string][]policytest.Action // anonymous and logged-in grants
	view          func(*orCaller) orView           // under the current settings
	registered    []string
	recs          []*orRecord
	byDID         map[string]*orRecord
	grafted       []*orRecord
	attemptsBy    map[string]int
	successGrafts int
}

// chainOf lists the model's versions of baseid.
func (o *orTakeover) chainOf(baseid string) []*orRecord {
	var out []*orRecord
	for _, r := range o.recs {
		if r.baseid == baseid {
			out = append(out, r)
		}
	}
	return out
}

// expect sends one attack and checks its status (and, for 401/404, the
// exact body).
func (o *orTakeover) expect(inst *Env, c *orCaller, label, method, path string, body any, want int) azResp {
	r, ok := o.chk.do(inst, method, path, c.auth, body)
	if !ok {
		return r
	}
	o.chk.cases.Add(1)
	o.attemptsBy[c.kind]++
	where := fmt.Sprintf("takeover %s by %s (hide=%v): %s %s", label, c.name, inst.App.Config.HideExistence, method, path)
	if r.Status != want {
		o.chk.fail("%s: %d %s, want %d", where, r.Status, azTrunc(r.Body), want)
		return r
	}
	if want == http.StatusUnauthorized || want == http.StatusNotFound {
		if !azSameBody(r.Body, azErrBody(false, want)) {
			o.chk.fail("%s: body %s, want %s", where, azTrunc(r.Body), azErrBody(false, want))
		}
	}
	return r
}

// body is a full record body like the world's records.
func (o *orTakeover) body(did string, authz []string) (map[string]any, *orRecord) {
	n := len(o.recs) + len(o.grafted)
	r := &orRecord{did: did, size: int64(o.rng.Intn(1 << 20)), acl: "acl-x", md5: fmt.Sprintf("%032x", 1<<20+n), authz: authz}
	r.url = "s3://or-bucket/" + strings.ReplaceAll(r.did, "/", "_")
	return map[string]any{
		"did": r.did, "form": "object", "size": r.size, "hashes": map[string]string{"md5": r.md5},
		"urls": []string{r.url}, "urls_metadata": map[string]any{r.url: map[string]string{"k": "v"}},
		"acl": []string{r.acl}, "authz": r.authz,
	}, r
}

// growable returns a record whose chain c may update and a path c may
// create on, when the world has both (else v and p unchanged).
func (o *orTakeover) growable(c *orCaller, v *orRecord, p string) (*orRecord, string) {
	var path string
	for _, i := range o.rng.Perm(len(o.registered)) {
		if orMay(c, o.groups, "create", []string{o.registered[i]}) {
			path = o.registered[i]
			break
		}
	}
	if path == "" {
		return v, p
	}
	for _, i := range o.rng.Perm(len(o.recs)) {
		var sets [][]string
		for _, cv := range o.chainOf(o.recs[i].baseid) {
			sets = append(sets, cv.authz)
		}
		if orMay(c, o.groups, "update", sets...) {
			return o.recs[i], path
		}
	}
	return v, p
}

// run makes every caller try every attack on a few victims.
func (o *orTakeover) run(callers []*orCaller, victimsPer int) {
	forged := &orCaller{name: "forged", kind: "forged", auth: Bearer(Tok("or-forged-token"))}
	for _, c := range append(append([]*orCaller{}, callers...), forged) {
		for k := range victimsPer {
			v := o.recs[o.rng.Intn(len(o.recs))]
			p := o.registered[o.rng.Intn(len(o.registered))]
			if k < 2 && c.kind == "token" {
				// Steer the first attacks to a chain the caller may grow,
				// if there is one, so that allowed grafts by token holders
				// (and their 404 under hide_existence) are exercised too.
				v, p = o.growable(c, v, p)
			}
			inst := o.e
			if k%2 == 1 {
				inst = o.hidden
			}
			unauth := c.kind == "anonymous" || c.kind == "forged"
			creates := func() int {
				switch {
				case unauth:
					return http.StatusUnauthorized
				case !orMay(c, o.groups, "create", []string{p}):
					return http.StatusForbidden
				}
				return http.StatusConflict
			}

			// A record under the victim's twin, literal did or alias: 409
			// once the create permission is granted, whoever asks.
			spellings := []string{orTwin(v.did), v.did}
			if v.alias != "" {
				spellings = append(spellings, v.alias, orTwin(v.alias))
			}
			for _, s := range spellings {
				b, _ := o.body(s, []string{p})
				o.expect(inst, c, "create under "+s, http.MethodPost, "/index", b, creates())
			}

			// A chain whose caller-given baseid is the victim's did.
			b, _ := o.body("or-takeover-"+repository.NewUUID(), []string{p})
			b["baseid"] = v.did
			o.expect(inst, c, "baseid = a record's did", http.MethodPost, "/index", b, creates())

			// A graft: a caller-given baseid naming the victim's chain is a
			// new version of it.
			chain := o.chainOf(v.baseid)
			var sets [][]string
			seen := false
			for _, cv := range chain {
				sets = append(sets, cv.authz)
				seen = seen || o.view(c).visible(cv.authz)
			}
			b, nr := o.body("or-graft-"+repository.NewUUID(), []string{p})
			b["baseid"] = v.baseid
			want := http.StatusOK
			switch {
			case unauth:
				want = http.StatusUnauthorized
			case inst.App.Config.HideExistence && !seen:
				want = http.StatusNotFound
			case !orMay(c, o.groups, "create", []string{p}) || !orMay(c, o.groups, "update", sets...):
				want = http.StatusForbidden
			}
			if r := o.expect(inst, c, "graft onto "+v.baseid, http.MethodPost, "/index", b, want); r.Status == http.StatusOK && want == http.StatusOK {
				var ref struct{ DID, BaseID string }
				if json.Unmarshal(r.Body, &ref) != nil || ref.DID != nr.did || ref.BaseID != v.baseid {
					o.chk.fail("graft by %s: answer %s, want %s in chain %s", c.name, azTrunc(r.Body), nr.did, v.baseid)
				}
				nr.baseid = v.baseid
				o.recs = append(o.recs, nr)
				o.byDID[nr.did] = nr
				o.grafted = append(o.grafted, nr)
				o.successGrafts++
			}

			// Claiming a victim's spelling as an alias of another record.
			var target *orRecord
			for target == nil || target == v {
				target = o.recs[o.rng.Intn(len(o.recs))]
			}
			claim := spellings[o.rng.Intn(len(spellings))]
			want = http.StatusConflict
			switch {
			case unauth:
				want = http.StatusUnauthorized
			case inst.App.Config.HideExistence && !o.view(c).visible(target.authz):
				want = http.StatusNotFound
			case !orMay(c, o.groups, "update", target.authz):
				want = http.StatusForbidden
			}
			o.expect(inst, c, "alias "+claim+" on "+target.did, http.MethodPost, "/index/"+target.did+"/aliases",
				map[string]any{"aliases": []map[string]string{{"value": claim}}}, want)
		}
	}
}
