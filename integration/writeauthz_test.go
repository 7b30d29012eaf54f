package integration

// Write authorization (SPEC §3): create needs create on every new authz
// path; update needs update on old ∪ new; update-all-versions checks the new
// authz too; delete needs delete; alias add/replace need update and alias
// delete needs delete; empty authz is admin-only; anonymous is 401, denied
// is 403, and a denied write changes nothing.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/datacommons/indexd/policy/policytest"
)

func TestAuthzWrites(t *testing.T) {
	// DEFAULT_PREFIX: every id has a prefix twin, an attack input below.
	const prefix = "dg.WA/"
	e := Start(t, withPrefix(prefix, false))
	fixture := e.Writer()
	basicAdmin := azAddAdmin(t, e, "wa-admin", "wa-admin-password-1")

	const (
		pA      = "/programs/p1/projects/a"
		pAChild = "/programs/p1/projects/a/studies/s1"
		pAB     = "/programs/p1/projects/ab"
		pB      = "/programs/p1/projects/b"
	)
	user := func(name string, grants map[string][]string) string {
		tk := Tok("wa-" + name)
		e.Policy.SetUser(tk, "wa-"+name, grants)
		return Bearer(tk)
	}
	var (
		creatorA    = user("creator-a", map[string][]string{pA: {"create"}})
		creatorP1   = user("creator-p1", map[string][]string{"/programs/p1": {"create"}})
		updA        = user("upd-a", map[string][]string{pA: {"update"}})
		updB        = user("upd-b", map[string][]string{pB: {"update"}})
		updAB       = user("upd-ab", map[string][]string{pA: {"update"}, pB: {"update"}})
		delA        = user("del-a", map[string][]string{pA: {"delete"}})
		allButAdmin = user("all-methods", map[string][]string{"/programs": {"create", "update", "delete", "read"}})
		reader      = user("reader", map[string][]string{"/programs": {"read", "read-storage"}})
		otherSvc    = user("other-service", nil)
		policyAdmin = user("policy-admin", map[string][]string{"/services/indexd/admin": {"admin"}})
		invalid     = Bearer(Tok("wa-unknown-to-policy"))
		anonymous   = ""
	)
	e.Policy.SetUserActions(Tok("wa-other-service"), "wa-other-service", map[string][]policytest.Action{
		"/programs": {{Service: "fence", Method: "*"}, {Service: "indexd", Method: "read"}},
	})

	var seq atomic.Int64
	// fresh creates a record through the fixture writer; returns did, rev.
	fresh := func(authz ...string) (string, string) {
		t.Helper()
		did := fmt.Sprintf("wa-%03d", seq.Add(1))
		r := azMust(t, e, "POST", "/index", fixture, Rec(did, authz...))
		var ref struct{ DID, Rev string }
		if r.Status != 200 || json.Unmarshal(r.Body, &ref) != nil {
			t.Fatalf("fixture %s: %d %s", did, r.Status, r.Body)
		}
		return ref.DID, ref.Rev
	}
	revOf := func(did string) (string, int) {
		t.Helper()
		r := azMust(t, e, "GET", "/index/"+did, basicAdmin, nil)
		var v struct{ Rev string }
		_ = json.Unmarshal(r.Body, &v)
		return v.Rev, r.Status
	}
	// expect sends a write and checks the status; 401 and 403 bodies must
	// say no more than their name.
	expect := func(label string, method, path, auth string, body any, want int) azResp {
		t.Helper()
		r := azMust(t, e, method, path, auth, body)
		if r.Status != want {
			t.Errorf("%s: %s %s: %d %s, want %d", label, method, path, r.Status, r.Body, want)
		}
		switch want {
		case http.StatusUnauthorized:
			if !azSameBody(r.Body, azBodyUnauthorized) {
				t.Errorf("%s: 401 body %q, want exactly %s", label, r.Body, azBodyUnauthorized)
			}
		case http.StatusForbidden:
			if !azSameBody(r.Body, azBodyForbidden) {
				t.Errorf("%s: 403 body %q, want exactly %s", label, r.Body, azBodyForbidden)
			}
		}
		return r
	}
	// unchanged checks that a refused write left the record as it was.
	unchanged := func(label, did, rev string) {
		t.Helper()
		if got, status := revOf(did); status != 200 || got != rev {
			t.Errorf("%s: refused write changed %s (status %d, rev %s → %s)", label, did, status, rev, got)
		}
	}
	absent := func(label, did string) {
		t.Helper()
		if _, status := revOf(did); status != 404 {
			t.Errorf("%s: refused create left %s behind (status %d)", label, did, status)
		}
	}

	t.Run("create", func(t *testing.T) {
		cases := []struct {
			name  string
			auth  string
			authz []string
			want  int
		}{
			{"create on the path", creatorA, []string{pA}, 200},
			{"create on a parent covers a child path", creatorA, []string{pAChild}, 200},
			{"create on a program covers both projects", creatorP1, []string{pA, pB}, 200},
			{"create on one of two paths", creatorA, []string{pA, pB}, 403},
			{"look-alike path is not below", creatorA, []string{pAB}, 403},
			{"update is not create", updA, []string{pA}, 403},
			{"read is not create", reader, []string{pA}, 403},
			{"another service's grant is not create", otherSvc, []string{pA}, 403},
			{"empty authz by a non-admin with create everywhere", allButAdmin, []string{}, 403},
			{"empty authz by a policy admin", policyAdmin, []string{}, 200},
			{"empty authz by a basic-auth admin", basicAdmin, []string{}, 200},
			{"anonymous", anonymous, []string{pA}, 401},
			{"token the policy service rejects", invalid, []string{pA}, 401},
		}
		for _, c := range cases {
			did := fmt.Sprintf("wa-new-%03d", seq.Add(1))
			expect("POST /index: "+c.name, "POST", "/index", c.auth, Rec(did, c.authz...), c.want)
			if c.want != 200 {
				absent(c.name, did)
			}
		}
		// Blank records: the same rule.
		expect("blank by creator", "POST", "/index/blank", creatorA, map[string]any{"uploader": "wa", "authz": []string{pA}}, 201)
		expect("blank outside the grant", "POST", "/index/blank", creatorA, map[string]any{"uploader": "wa", "authz": []string{pB}}, 403)
		expect("blank with empty authz by non-admin", "POST", "/index/blank", creatorA, map[string]any{"uploader": "wa"}, 403)
		expect("blank by anonymous", "POST", "/index/blank", anonymous, map[string]any{"uploader": "wa", "authz": []string{pA}}, 401)
	})

	t.Run("new version needs create on its authz and update on the chain", func(t *testing.T) {
		did, rev := fresh(pB)
		createAUpdB := user("create-a-update-b", map[string][]string{pA: {"create"}, pB: {"update"}})
		v := func() string { return fmt.Sprintf("wa-ver-%03d", seq.Add(1)) }
		n := v()
		expect("version into a path without create", "POST", "/index/"+did, creatorA, Rec(n, pB), 403)
		absent("version denied", n)
		n = v()
		expect("version by an updater of the chain without create", "POST", "/index/"+did, updAB, Rec(n, pA), 403)
		absent("version by updater", n)
		n = v()
		expect("version with create on its authz but no update on the chain", "POST", "/index/"+did, creatorA, Rec(n, pA), 403)
		absent("version without update on the chain", n)
		expect("version by anonymous", "POST", "/index/"+did, anonymous, Rec(v(), pA), 401)
		expect("version with create on its authz and update on the chain", "POST", "/index/"+did, createAUpdB, Rec(v(), pA), 200)
		unchanged("new version", did, rev)
		// The chain now holds a pA version too: growing it needs update on
		// pA as well.
		expect("version once the chain grew beyond the caller's update", "POST", "/index/"+did, createAUpdB, Rec(v(), pA), 403)

		// Blank versions: the new authz, or the old one when none is given.
		did, rev = fresh(pB)
		expect("blank version into a path without create", "POST", "/index/blank/"+did, createAUpdB, map[string]any{"uploader": "wa", "authz": []string{pB}}, 403)
		expect("blank version inheriting a path without create", "POST", "/index/blank/"+did, createAUpdB, map[string]any{"uploader": "wa"}, 403)
		expect("blank version without update on the chain", "POST", "/index/blank/"+did, creatorA, map[string]any{"uploader": "wa", "authz": []string{pA}}, 403)
		expect("blank version by anonymous", "POST", "/index/blank/"+did, anonymous, map[string]any{"uploader": "wa", "authz": []string{pA}}, 401)
		expect("blank version with create on the new authz and update on the chain", "POST", "/index/blank/"+did, createAUpdB, map[string]any{"uploader": "wa", "authz": []string{pA}}, 201)
		unchanged("blank version", did, rev)
	})

	t.Run("update needs update on old and new authz", func(t *testing.T) {
		move := map[string]any{"authz": []string{pB}}
		did, rev := fresh(pA)
		expect("update on the new path only", "PUT", "/index/"+did+"?rev="+rev, updB, move, 403)
		expect("update on the old path only", "PUT", "/index/"+did+"?rev="+rev, updA, move, 403)
		expect("read, not update", "PUT", "/index/"+did+"?rev="+rev, reader, move, 403)
		expect("anonymous", "PUT", "/index/"+did+"?rev="+rev, anonymous, move, 401)
		expect("rejected token", "PUT", "/index/"+did+"?rev="+rev, invalid, move, 401)
		unchanged("denied moves", did, rev)
		expect("update on both", "PUT", "/index/"+did+"?rev="+rev, updAB, move, 200)

		did, rev = fresh(pA)
		meta := map[string]any{"metadata": map[string]string{"k": "v"}}
		expect("metadata without update", "PUT", "/index/"+did+"?rev="+rev, updB, meta, 403)
		unchanged("denied metadata", did, rev)
		// Cheap local checks come first: a stale rev or a missing record is
		// answered before the policy service is asked.
		expect("stale rev", "PUT", "/index/"+did+"?rev=00000000", updA, meta, 409)
		expect("missing record", "PUT", "/index/wa-missing?rev=00000000", updA, meta, 404)
		expect("metadata with update on the path", "PUT", "/index/"+did+"?rev="+rev, updA, meta, 200)

		did, rev = fresh(pA)
		expect("to empty authz by a non-admin", "PUT", "/index/"+did+"?rev="+rev, updA, map[string]any{"authz": []string{}}, 403)
		unchanged("to empty", did, rev)

		did, rev = fresh()
		expect("empty-authz record by a non-admin", "PUT", "/index/"+did+"?rev="+rev, allButAdmin, map[string]any{"authz": []string{pA}}, 403)
		expect("empty-authz record metadata by a non-admin", "PUT", "/index/"+did+"?rev="+rev, allButAdmin, meta, 403)
		unchanged("empty-authz record", did, rev)
		expect("empty-authz record by a policy admin", "PUT", "/index/"+did+"?rev="+rev, policyAdmin, meta, 200)
	})

	t.Run("update of all versions checks every old and the new authz", func(t *testing.T) {
		did, _ := fresh(pA)
		v2 := fmt.Sprintf("wa-ver-%03d", seq.Add(1))
		expect("second version", "POST", "/index/"+did, fixture, Rec(v2, pAChild), 200)
		rev1, _ := revOf(did)
		rev2, _ := revOf(v2)
		move := map[string]any{"authz": []string{pB}}
		expect("versions: update on old only", "PUT", "/index/"+did+"/versions", updA, move, 403)
		expect("versions: update on new only", "PUT", "/index/"+did+"/versions", updB, move, 403)
		expect("versions: anonymous", "PUT", "/index/"+did+"/versions", anonymous, move, 401)
		unchanged("versions v1", did, rev1)
		unchanged("versions v2", v2, rev2)
		expect("versions: acl only, update on old", "PUT", "/index/"+did+"/versions", updA, map[string]any{"acl": []string{"x"}}, 200)
		expect("versions: update on both", "PUT", "/index/"+did+"/versions", updAB, move, 200)
		var got struct{ Authz []string }
		r := azMust(t, e, "GET", "/index/"+v2, basicAdmin, nil)
		if json.Unmarshal(r.Body, &got) != nil || len(got.Authz) != 1 || got.Authz[0] != pB {
			t.Errorf("after update of all versions: %s", r.Body)
		}
	})

	t.Run("delete needs delete", func(t *testing.T) {
		did, rev := fresh(pA)
		expect("update is not delete", "DELETE", "/index/"+did+"?rev="+rev, updA, nil, 403)
		expect("delete elsewhere", "DELETE", "/index/"+did+"?rev="+rev, user("del-b", map[string][]string{pB: {"delete"}}), nil, 403)
		expect("anonymous", "DELETE", "/index/"+did+"?rev="+rev, anonymous, nil, 401)
		unchanged("denied delete", did, rev)
		expect("stale rev", "DELETE", "/index/"+did+"?rev=00000000", delA, nil, 409)
		expect("delete", "DELETE", "/index/"+did+"?rev="+rev, delA, nil, 200)
		absent("deleted", did)

		did, rev = fresh()
		expect("empty authz by a non-admin", "DELETE", "/index/"+did+"?rev="+rev, allButAdmin, nil, 403)
		unchanged("empty authz delete", did, rev)
		expect("empty authz by a basic-auth admin", "DELETE", "/index/"+did+"?rev="+rev, basicAdmin, nil, 200)
	})

	t.Run("aliases: add and replace need update, delete needs delete", func(t *testing.T) {
		did, _ := fresh(pA)
		aliases := func(names ...string) map[string]any {
			var l []map[string]string
			for _, n := range names {
				l = append(l, map[string]string{"value": n})
			}
			return map[string]any{"aliases": l}
		}
		list := func() string {
			r := azMust(t, e, "GET", "/index/"+did+"/aliases", basicAdmin, nil)
			return string(r.Body)
		}
		expect("add without update", "POST", "/index/"+did+"/aliases", delA, aliases("wa-al-1"), 403)
		expect("add with update elsewhere", "POST", "/index/"+did+"/aliases", updB, aliases("wa-al-1"), 403)
		expect("add by anonymous", "POST", "/index/"+did+"/aliases", anonymous, aliases("wa-al-1"), 401)
		if got := list(); !azSameBody([]byte(got), `{"aliases":[]}`) {
			t.Errorf("refused alias adds changed the aliases: %s", got)
		}
		expect("add with update", "POST", "/index/"+did+"/aliases", updA, aliases("wa-al-1"), 200)
		expect("replace without update", "PUT", "/index/"+did+"/aliases", delA, aliases("wa-al-2"), 403)
		expect("replace by anonymous", "PUT", "/index/"+did+"/aliases", anonymous, aliases("wa-al-2"), 401)
		expect("delete with update only", "DELETE", "/index/"+did+"/aliases/wa-al-1", updA, nil, 403)
		expect("delete all with update only", "DELETE", "/index/"+did+"/aliases", updA, nil, 403)
		expect("delete by anonymous", "DELETE", "/index/"+did+"/aliases/wa-al-1", anonymous, nil, 401)
		if got := list(); !azSameBody([]byte(got), `{"aliases":[{"value":"wa-al-1"}]}`) {
			t.Errorf("refused alias writes changed the aliases: %s", got)
		}
		expect("replace with update", "PUT", "/index/"+did+"/aliases", updA, aliases("wa-al-2"), 200)
		expect("delete with delete", "DELETE", "/index/"+did+"/aliases/wa-al-2", delA, nil, 200)
		if got := list(); !azSameBody([]byte(got), `{"aliases":[]}`) {
			t.Errorf("after delete: %s", got)
		}

		empty, _ := fresh()
		expect("alias on an empty-authz record by a non-admin", "POST", "/index/"+empty+"/aliases", allButAdmin, aliases("wa-al-3"), 403)
		expect("alias on an empty-authz record by a policy admin", "POST", "/index/"+empty+"/aliases", policyAdmin, aliases("wa-al-3"), 200)
	})

	t.Run("blank fill needs update", func(t *testing.T) {
		r := azMust(t, e, "POST", "/index/blank", fixture, map[string]any{"uploader": "wa", "authz": []string{pA}})
		var ref struct{ DID, Rev string }
		if r.Status != 201 || json.Unmarshal(r.Body, &ref) != nil {
			t.Fatalf("blank: %d %s", r.Status, r.Body)
		}
		fill := map[string]any{"size": 10, "hashes": map[string]string{"md5": "0123456789abcdef0123456789abcdef"}, "urls": []string{"s3://wa/blank"}}
		expect("fill without update", "PUT", "/index/blank/"+ref.DID+"?rev="+ref.Rev, updB, fill, 403)
		expect("fill by creator", "PUT", "/index/blank/"+ref.DID+"?rev="+ref.Rev, creatorA, fill, 403)
		expect("fill by anonymous", "PUT", "/index/blank/"+ref.DID+"?rev="+ref.Rev, anonymous, fill, 401)
		unchanged("denied fill", ref.DID, ref.Rev)
		expect("fill moving authz without update on the new path", "PUT", "/index/blank/"+ref.DID+"?rev="+ref.Rev, updA,
			map[string]any{"size": 10, "hashes": map[string]string{"md5": "0123456789abcdef0123456789abcdef"}, "authz": []string{pB}}, 403)
		expect("fill with update", "PUT", "/index/blank/"+ref.DID+"?rev="+ref.Rev, updA, fill, 200)
	})

	// Issue 12: another record's id, under any spelling, and its version
	// chain are not takeable by any caller class. Inputs: the victim's
	// prefix twin, literal did, alias and the alias's twin (as a new did,
	// or as an alias claimed on another record), its did as a new chain's
	// baseid, and its chain's baseid (a graft: a new version, allowed only
	// with create on the new authz and update on the chain).
	t.Run("ids, aliases and chains of other records", func(t *testing.T) {
		type class struct {
			name                     string
			auth                     string
			createA, updateA, updAll bool // create on pA; update on pA; update on pB (the victims' path)
		}
		classes := []class{
			{"anonymous", anonymous, false, false, false},
			{"token the policy service rejects", invalid, false, false, false},
			{"creator on the path", creatorA, true, false, false},
			{"creator on the program", creatorP1, true, false, false},
			{"updater of the path", updA, false, true, false},
			{"updater of the victims' path", updB, false, false, true},
			{"updater of both", updAB, false, true, true},
			{"deleter", delA, false, false, false},
			{"reader", reader, false, false, false},
			{"another service's grants", otherSvc, false, false, false},
			{"policy admin", policyAdmin, false, false, false},
			{"every method but admin", allButAdmin, true, true, true},
			{"basic-auth admin", basicAdmin, true, true, true},
		}
		for i, c := range classes {
			unauth := c.auth == anonymous || c.auth == invalid
			status := func(allowed bool, ok int) int {
				switch {
				case unauth:
					return http.StatusUnauthorized
				case !allowed:
					return http.StatusForbidden
				}
				return ok
			}
			// A victim of its own per class (an allowed graft changes its chain).
			victim, vrev := fresh(pB)
			alias := fmt.Sprintf("wa-victim-alias-%02d", i)
			r := azMust(t, e, "POST", "/index/"+victim+"/aliases", fixture, map[string]any{"aliases": []map[string]string{{"value": alias}}})
			if r.Status != 200 {
				t.Fatalf("victim alias: %d %s", r.Status, r.Body)
			}
			vrev, _ = revOf(victim)
			var v struct{ BaseID string }
			_ = json.Unmarshal(azMust(t, e, "GET", "/index/"+victim, basicAdmin, nil).Body, &v)
			target, _ := fresh(pA)
			spellings := []string{prefix + victim, victim, alias, prefix + alias}
			for _, sp := range spellings {
				expect(c.name+": record under "+sp, "POST", "/index", c.auth, Rec(sp, pA), status(c.createA, 409))
				expect(c.name+": alias "+sp+" on another record", "POST", "/index/"+target+"/aliases", c.auth,
					map[string]any{"aliases": []map[string]string{{"value": sp}}}, status(c.updateA, 409))
			}
			chainFromDID := Rec(fmt.Sprintf("wa-chain-%03d", seq.Add(1)), pA)
			chainFromDID["baseid"] = victim
			expect(c.name+": a chain whose baseid is the victim's did", "POST", "/index", c.auth, chainFromDID, status(c.createA, 409))
			absent(c.name+": chain from a did", chainFromDID["did"].(string))
			graft := Rec(fmt.Sprintf("wa-graft-%03d", seq.Add(1)), pA)
			graft["baseid"] = v.BaseID
			expect(c.name+": graft onto the victim's chain", "POST", "/index", c.auth, graft, status(c.createA && c.updAll, 200))

			// Every spelling still names the victim, unchanged; its chain
			// grew only by an allowed graft.
			unchanged(c.name, victim, vrev)
			for _, sp := range spellings {
				var got struct{ DID string }
				rr := azMust(t, e, "GET", "/"+sp, basicAdmin, nil)
				if json.Unmarshal(rr.Body, &got) != nil || got.DID != victim {
					t.Errorf("%s: GET /%s: %d %s, want %s", c.name, sp, rr.Status, azTrunc(rr.Body), victim)
				}
			}
			var latest struct{ DID string }
			_ = json.Unmarshal(azMust(t, e, "GET", "/index/"+v.BaseID+"/latest", basicAdmin, nil).Body, &latest)
			want := victim
			if c.createA && c.updAll {
				want = graft["did"].(string)
			}
			if latest.DID != want {
				t.Errorf("%s: the victim's latest is %s, want %s", c.name, latest.DID, want)
			}
		}
	})
}
