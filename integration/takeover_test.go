package integration

// Issue 12: no one can take over a record, an id, an alias or a version
// chain that is not theirs. Each test here is one finding of the security
// review, written as the attack: it reproduced against the service before
// the fix (the commit that added it says what it got) and pins the fix.

import (
	"net/http"
	"strings"
	"testing"

	"github.com/datacommons/indexd/repository"
)

// Finding 1: a caller with create on its own program grafted a record onto
// another user's version chain by giving its baseid to POST /index, which
// skipped every check of a new version. Now a caller-given baseid that
// names a chain is a new version of it, with the checks, lock and answers
// of POST /index/{id}: the chain must be found (404 under hide_existence
// when invisible), and growing it needs update on the chain as well as
// create on the new record's authz.
func TestTakeoverGraftOntoAnotherChain(t *testing.T) {
	e := Start(t, WithFiltering())
	hidden := e.StartAnother(t, withHideExistence())
	e.Policy.SetAnonymous(map[string][]string{"/programs/open": {"read"}})
	alice := tkUser(e, "tk-alice", map[string][]string{"/programs/alice": {"read", "create", "update"}})
	mallory := tkUser(e, "tk-mallory", map[string][]string{"/programs/open": {"read", "create", "update"}})

	aliceDID, _, baseid := tkRef(t, e.Do(http.MethodPost, "/index", alice, Rec(tkDID("dg.T/"), "/programs/alice")).MustStatus(t, http.StatusOK))
	evil := func(did string) map[string]any {
		r := Rec(did, "/programs/open")
		r["urls"] = []string{"https://evil.example/payload"}
		r["baseid"] = baseid
		return r
	}

	// The graft, on the instance that tells invisible from missing: 403,
	// nothing written.
	graft := tkDID("dg.T/")
	r := e.Do(http.MethodPost, "/index", mallory, evil(graft))
	if r.Status != http.StatusForbidden {
		t.Errorf("graft by baseid: %d %s, want 403", r.Status, r.Body)
	}
	e.Do(http.MethodGet, "/index/"+graft, e.Writer(), nil).MustStatus(t, http.StatusNotFound)
	// The same through the new-version routes.
	r = e.Do(http.MethodPost, "/index/"+aliceDID, mallory, Rec(tkDID("dg.T/"), "/programs/open"))
	if r.Status != http.StatusForbidden {
		t.Errorf("graft by POST /index/{id}: %d %s, want 403", r.Status, r.Body)
	}
	r = e.Do(http.MethodPost, "/index/blank/"+aliceDID, mallory, map[string]any{"uploader": "m", "authz": []string{"/programs/open"}})
	if r.Status != http.StatusForbidden {
		t.Errorf("graft by POST /index/blank/{id}: %d %s, want 403", r.Status, r.Body)
	}

	// Under hide_existence the chain mallory cannot see is missing to her.
	missing := hidden.Do(http.MethodPost, "/index/"+tkDID("dg.T/"), mallory, Rec(tkDID("dg.T/"), "/programs/open")).MustStatus(t, http.StatusNotFound)
	r = hidden.Do(http.MethodPost, "/index", mallory, evil(tkDID("dg.T/")))
	if r.Status != http.StatusNotFound || string(r.Body) != string(missing.Body) {
		t.Errorf("graft by baseid under hide_existence: %d %s, want the missing-record 404 %s", r.Status, r.Body, missing.Body)
	}

	// Alice's chain is hers: latest is her record, anonymous callers get
	// nothing by the baseid, and she can still update every version.
	if got := tkDIDOf(e.Do(http.MethodGet, "/index/"+aliceDID+"/latest", alice, nil)); got != aliceDID {
		t.Errorf("alice's latest names %q, want %s", got, aliceDID)
	}
	if r := e.Do(http.MethodGet, "/index/"+baseid+"/latest", "", nil); r.Status != http.StatusForbidden {
		t.Errorf("anonymous latest by baseid: %d %s, want 403", r.Status, r.Body)
	}
	e.Do(http.MethodPut, "/index/"+aliceDID+"/versions", alice, map[string]any{"acl": []string{"a"}}).MustStatus(t, http.StatusOK)

	// The owner may grow her chain by baseid: it is a new version.
	v2, _, b2 := tkRef(t, e.Do(http.MethodPost, "/index", alice, map[string]any{
		"did": tkDID("dg.T/"), "baseid": baseid, "form": "object", "size": 1,
		"hashes": map[string]string{"md5": "0123456789abcdef0123456789abcdef"}, "urls": []string{"s3://a/v2"}, "authz": []string{"/programs/alice"},
	}).MustStatus(t, http.StatusOK))
	if b2 != baseid {
		t.Errorf("new version by baseid has baseid %s, want %s", b2, baseid)
	}
	if got := tkDIDOf(e.Do(http.MethodGet, "/index/"+aliceDID+"/latest", alice, nil)); got != v2 {
		t.Errorf("latest after alice's version names %q, want %s", got, v2)
	}

	// A caller-given baseid that names no chain must not be another
	// record's id: /versions would find that record first.
	r = e.Do(http.MethodPost, "/index", mallory, func() map[string]any { m := Rec(tkDID("dg.T/"), "/programs/open"); m["baseid"] = aliceDID; return m }())
	if r.Status != http.StatusConflict {
		t.Errorf("baseid naming another record's did: %d %s, want 409", r.Status, r.Body)
	}
	// A fresh baseid starts a chain.
	fresh := tkDID("base-")
	m := Rec(tkDID("dg.T/"), "/programs/open")
	m["baseid"] = fresh
	if _, _, b := tkRef(t, e.Do(http.MethodPost, "/index", mallory, m).MustStatus(t, http.StatusOK)); b != fresh {
		t.Errorf("fresh baseid: got %s, want %s", b, fresh)
	}
}

// Finding 2: with DEFAULT_PREFIX a did has two spellings, and a record
// answers to its aliases too; another caller could create a record under
// a spelling of someone else's record and take over its reads. Creating a
// did or an alias that any other record answers to is now 409, whoever
// asks, and every read resolves an id the same way.
func TestTakeoverShadowByPrefixTwinOrAlias(t *testing.T) {
	const prefix = "dg.TEST/"
	e := Start(t, WithFiltering(), withPrefix(prefix, true))
	alice := tkUser(e, "tk2-alice", map[string][]string{"/programs/alice": {"read", "create", "update"}})
	mallory := tkUser(e, "tk2-mallory", map[string][]string{"/programs/open": {"read", "create", "update"}, "/programs/alice": {"read"}})
	admin := azAddAdmin(t, e, "tk2-admin", "tk2-admin-password")

	// Alice's record, minted under the prefix; its bare twin.
	aliceDID, _, _ := tkRef(t, e.Do(http.MethodPost, "/index", alice, Rec("", "/programs/alice")).MustStatus(t, http.StatusOK))
	if !strings.HasPrefix(aliceDID, prefix) {
		t.Fatalf("minted did %s lacks the prefix", aliceDID)
	}
	bare := strings.TrimPrefix(aliceDID, prefix)
	// A record of hers stored bare; its prefixed twin.
	bare2 := repository.NewUUID()
	e.Do(http.MethodPost, "/index", alice, Rec(bare2, "/programs/alice")).MustStatus(t, http.StatusOK)
	// An alias of hers.
	const alias = "ALICE-STUDY-42"
	e.Do(http.MethodPost, "/index/"+aliceDID+"/aliases", alice, map[string]any{"aliases": []map[string]string{{"value": alias}}}).MustStatus(t, http.StatusOK)

	// Mallory (and even an admin) cannot create a record under any of them.
	for _, did := range []string{bare, prefix + bare2, alias, aliceDID} {
		for who, auth := range map[string]string{"mallory": mallory, "admin": admin} {
			r := e.Do(http.MethodPost, "/index", auth, Rec(did, "/programs/open"))
			if r.Status != http.StatusConflict {
				t.Errorf("%s creates %s: %d %s, want 409", who, did, r.Status, r.Body)
			}
		}
	}
	// Nor claim one as an alias of her own record.
	own, _, _ := tkRef(t, e.Do(http.MethodPost, "/index", mallory, Rec(tkDID(prefix), "/programs/open")).MustStatus(t, http.StatusOK))
	for _, a := range []string{bare, prefix + bare2, alias, aliceDID, bare2} {
		r := e.Do(http.MethodPost, "/index/"+own+"/aliases", mallory, map[string]any{"aliases": []map[string]string{{"value": a}}})
		if r.Status != http.StatusConflict {
			t.Errorf("mallory claims alias %s: %d %s, want 409", a, r.Status, r.Body)
		}
	}

	// Every spelling, on every read path, answers alice's record.
	for _, c := range []struct{ id, want string }{{aliceDID, aliceDID}, {bare, aliceDID}, {alias, aliceDID}, {bare2, bare2}, {prefix + bare2, bare2}} {
		for _, path := range []string{"/index/" + c.id, "/" + c.id, "/ga4gh/drs/v1/objects/" + c.id} {
			if got := tkDIDOf(e.Do(http.MethodGet, path, alice, nil)); got != c.want {
				t.Errorf("GET %s names %q, want %s", path, got, c.want)
			}
		}
		var bulk []struct{ DID string }
		e.Do(http.MethodPost, "/bulk/documents", alice, []string{c.id}).MustStatus(t, http.StatusOK).JSON(t, &bulk)
		if len(bulk) != 1 || bulk[0].DID != c.want {
			t.Errorf("bulk %s: %+v, want %s", c.id, bulk, c.want)
		}
		var drsBulk struct {
			Resolved []struct{ ID string } `json:"resolved_drs_object"`
		}
		e.Do(http.MethodPost, "/ga4gh/drs/v1/objects", alice, map[string]any{"bulk_object_ids": []string{c.id}}).MustStatus(t, http.StatusOK).JSON(t, &drsBulk)
		if len(drsBulk.Resolved) != 1 || drsBulk.Resolved[0].ID != c.want {
			t.Errorf("DRS bulk %s: %+v, want %s", c.id, drsBulk.Resolved, c.want)
		}
	}
}

// Finding 2, the race: two concurrent creates of a did and its prefix
// twin, or of a did and an alias of the same name, never both win.
func TestTakeoverSpellingRace(t *testing.T) {
	const prefix = "dg.RACE/"
	e := Start(t, withPrefix(prefix, false))
	w := e.Writer()
	holder, _, _ := tkRef(t, e.Do(http.MethodPost, "/index", w, Rec(tkDID("race-holder-"))).MustStatus(t, http.StatusOK))
	for i := range 20 {
		id := repository.NewUUID()
		statuses := make(chan int, 2)
		var ops [2]func() int
		ops[0] = func() int { return e.Do(http.MethodPost, "/index", w, Rec(id)).Status }
		if i%2 == 0 {
			ops[1] = func() int { return e.Do(http.MethodPost, "/index", w, Rec(prefix+id)).Status }
		} else {
			ops[1] = func() int {
				return e.Do(http.MethodPost, "/index/"+holder+"/aliases", w, map[string]any{"aliases": []map[string]string{{"value": id}}}).Status
			}
		}
		for _, op := range ops {
			go func() { statuses <- op() }()
		}
		a, b := <-statuses, <-statuses
		if !(a == http.StatusOK && b == http.StatusConflict || a == http.StatusConflict && b == http.StatusOK) {
			t.Errorf("round %d (%s): statuses %d and %d, want one 200 and one 409", i, id, a, b)
		}
		// Whichever won, the id resolves to exactly one record.
		e.Do(http.MethodGet, "/"+id, w, nil).MustStatus(t, http.StatusOK)
	}
}
