package integration

// Writes are judged on the state they were authorized for (SPEC §3, §6):
// a write authorized against a record's (or a chain's) authz must not land
// on a record or chain that changed while the policy service was deciding.
// The Arborist double holds every decision until the test has changed the
// data, so the window is deterministic, not a matter of timing.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestAuthzWriteRaces(t *testing.T) {
	e := Start(t)
	admin := azAddAdmin(t, e, "wr-admin", "wr-admin-password-1")
	const (
		mine   = "/programs/mine"
		moved  = "/programs/mine/projects/moved"
		secret = "/programs/secret"
	)
	tk := Tok("wr-attacker")
	e.Policy.SetUser(tk, "wr-attacker", map[string][]string{mine: {"create", "update", "delete"}})
	attacker := Bearer(tk)

	type fact struct {
		Rev   string   `json:"rev"`
		Authz []string `json:"authz"`
	}
	read := func(t testing.TB, did string) fact {
		t.Helper()
		r := azMust(t, e, "GET", "/index/"+did, admin, nil)
		var f fact
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &f) != nil {
			t.Fatalf("read %s: %d %s", did, r.Status, r.Body)
		}
		return f
	}
	aliasesOf := func(t testing.TB, did string) string {
		t.Helper()
		r := azMust(t, e, "GET", "/index/"+did+"/aliases", admin, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("aliases of %s: %d %s", did, r.Status, r.Body)
		}
		return string(r.Body)
	}
	create := func(t testing.TB, path, did string, authz ...string) {
		t.Helper()
		if r := azMust(t, e, "POST", path, admin, Rec(did, authz...)); r.Status != http.StatusOK {
			t.Fatalf("create %s: %d %s", did, r.Status, r.Body)
		}
	}
	// held sends the attacker's write, waits until its authorization
	// request is held by the policy double, runs meanwhile (admin writes:
	// no policy call), then releases the decision and returns the answer.
	held := func(t testing.TB, method, path string, body any, meanwhile func()) azResp {
		t.Helper()
		e.Policy.ResetCounters()
		release := e.Policy.HoldRequests()
		defer release()
		done := make(chan azResp, 1)
		go func() {
			r, err := azDo(e, method, path, attacker, body)
			if err != nil {
				r = azResp{Body: []byte(err.Error())}
			}
			done <- r
		}()
		deadline := time.Now().Add(10 * time.Second)
		for e.Policy.RequestCalls() == 0 {
			select {
			case r := <-done:
				t.Fatalf("%s %s answered %d %s before asking the policy service", method, path, r.Status, r.Body)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s %s never asked the policy service", method, path)
			}
			time.Sleep(5 * time.Millisecond)
		}
		meanwhile()
		release()
		return <-done
	}
	expect := func(t testing.TB, label string, r azResp, want int) {
		t.Helper()
		if r.Status != want {
			t.Fatalf("%s: %d %s, want %d", label, r.Status, r.Body, want)
		}
	}
	nothing := func() {}

	t.Run("update all versions: unchanged chain is written", func(t *testing.T) {
		create(t, "/index", "wr-ok-v1", mine)
		create(t, "/index/wr-ok-v1", "wr-ok-v2", mine)
		r := held(t, "PUT", "/index/wr-ok-v1/versions", map[string]any{"authz": []string{moved}}, nothing)
		expect(t, "control", r, http.StatusOK)
		for _, d := range []string{"wr-ok-v1", "wr-ok-v2"} {
			if got := read(t, d).Authz; !slices.Equal(got, []string{moved}) {
				t.Fatalf("%s authz %v, want [%s]", d, got, moved)
			}
		}
	})

	t.Run("update all versions: a version added meanwhile is not overwritten", func(t *testing.T) {
		create(t, "/index", "wr-add-v1", mine)
		before := read(t, "wr-add-v1")
		r := held(t, "PUT", "/index/wr-add-v1/versions", map[string]any{"authz": []string{moved}}, func() {
			create(t, "/index/wr-add-v1", "wr-add-secret", secret)
		})
		expect(t, "PUT versions across an added version", r, http.StatusConflict)
		if got := read(t, "wr-add-secret").Authz; !slices.Equal(got, []string{secret}) {
			t.Fatalf("LEAK: the secret version was moved: authz %v", got)
		}
		if got := read(t, "wr-add-v1"); got.Rev != before.Rev || !slices.Equal(got.Authz, []string{mine}) {
			t.Fatalf("the authorized version changed although the write was refused: %+v, was %+v", got, before)
		}
		// Asked again, the chain now holds the secret version: denied.
		expect(t, "retry", azMust(t, e, "PUT", "/index/wr-add-v1/versions", attacker, map[string]any{"authz": []string{moved}}), http.StatusForbidden)
	})

	t.Run("update all versions: a version whose authz changed meanwhile is not overwritten", func(t *testing.T) {
		create(t, "/index", "wr-chg-v1", mine)
		create(t, "/index/wr-chg-v1", "wr-chg-v2", mine)
		r := held(t, "PUT", "/index/wr-chg-v1/versions", map[string]any{"acl": []string{"x"}, "authz": []string{moved}}, func() {
			rev := read(t, "wr-chg-v2").Rev
			if r := azMust(t, e, "PUT", "/index/wr-chg-v2?rev="+rev, admin, map[string]any{"authz": []string{secret}}); r.Status != http.StatusOK {
				t.Errorf("admin PUT: %d %s", r.Status, r.Body)
			}
		})
		expect(t, "PUT versions across an authz change", r, http.StatusConflict)
		if got := read(t, "wr-chg-v2").Authz; !slices.Equal(got, []string{secret}) {
			t.Fatalf("LEAK: the version moved to %s was moved back: authz %v", secret, got)
		}
	})

	t.Run("update all versions: a version deleted meanwhile", func(t *testing.T) {
		create(t, "/index", "wr-del-v1", mine)
		create(t, "/index/wr-del-v1", "wr-del-v2", mine)
		r := held(t, "PUT", "/index/wr-del-v1/versions", map[string]any{"authz": []string{moved}}, func() {
			rev := read(t, "wr-del-v2").Rev
			if r := azMust(t, e, "DELETE", "/index/wr-del-v2?rev="+rev, admin, nil); r.Status != http.StatusOK {
				t.Errorf("admin DELETE: %d %s", r.Status, r.Body)
			}
		})
		expect(t, "PUT versions across a deleted version", r, http.StatusConflict)
	})

	aliasCases := []struct {
		name, method, path string
		body               any
	}{
		{name: "alias add", method: "POST", path: "/aliases", body: map[string]any{"aliases": []map[string]string{{"value": "wr-new-alias-1"}}}},
		{name: "alias replace", method: "PUT", path: "/aliases", body: map[string]any{"aliases": []map[string]string{{"value": "wr-new-alias-2"}}}},
		{name: "alias delete all", method: "DELETE", path: "/aliases"},
		{name: "alias delete one", method: "DELETE", path: "/aliases/wr-old-alias-one"},
	}
	for i, ac := range aliasCases {
		t.Run(ac.name+": the record's authz changed meanwhile", func(t *testing.T) {
			did := "wr-alias-rec-" + string(rune('a'+i))
			create(t, "/index", did, mine)
			old := "wr-old-alias-" + string(rune('a'+i))
			if ac.path == "/aliases/wr-old-alias-one" {
				old = "wr-old-alias-one"
			}
			if r := azMust(t, e, "POST", "/index/"+did+"/aliases", admin, map[string]any{"aliases": []map[string]string{{"value": old}}}); r.Status != http.StatusOK {
				t.Fatalf("fixture alias: %d %s", r.Status, r.Body)
			}
			before := aliasesOf(t, did)
			r := held(t, ac.method, "/index/"+did+ac.path, ac.body, func() {
				rev := read(t, did).Rev
				if r := azMust(t, e, "PUT", "/index/"+did+"?rev="+rev, admin, map[string]any{"authz": []string{secret}}); r.Status != http.StatusOK {
					t.Errorf("admin PUT: %d %s", r.Status, r.Body)
				}
			})
			expect(t, ac.name+" across an authz change", r, http.StatusConflict)
			if got := aliasesOf(t, did); got != before {
				t.Fatalf("aliases changed although the write was refused: %s, was %s", got, before)
			}
		})
	}

	// Adding versions and updating all versions at once: each update is
	// either whole (200) or refused (409), never a 500 or a deadlock.
	t.Run("update all versions while versions are added", func(t *testing.T) {
		create(t, "/index", "wr-busy-v0", mine)
		const adders, updaters = 8, 4
		var wg sync.WaitGroup
		statuses := make(chan string, adders+updaters)
		for i := range adders + updaters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var r azResp
				var err error
				if i < adders {
					r, err = azDo(e, "POST", "/index/wr-busy-v0", admin, Rec(fmt.Sprintf("wr-busy-v%d", i+1), mine))
				} else {
					r, err = azDo(e, "PUT", "/index/wr-busy-v0/versions", admin, map[string]any{"acl": []string{fmt.Sprint(i)}})
				}
				if err != nil {
					statuses <- err.Error()
					return
				}
				if r.Status != http.StatusOK && (i < adders || r.Status != http.StatusConflict) {
					statuses <- fmt.Sprintf("request %d: %d %s", i, r.Status, r.Body)
				}
			}()
		}
		wg.Wait()
		close(statuses)
		for s := range statuses {
			t.Error(s)
		}
		r := azMust(t, e, "GET", "/index/wr-busy-v0/versions", admin, nil)
		var vs map[string]struct {
			ACL []string `json:"acl"`
		}
		if r.Status != http.StatusOK || json.Unmarshal(r.Body, &vs) != nil || len(vs) != adders+1 {
			t.Fatalf("versions: %d %s, want %d versions", r.Status, azTrunc(r.Body), adders+1)
		}
	})

	t.Run("alias add: unchanged record is written", func(t *testing.T) {
		create(t, "/index", "wr-alias-ok", mine)
		r := held(t, "POST", "/index/wr-alias-ok/aliases", map[string]any{"aliases": []map[string]string{{"value": "wr-alias-ok-1"}}}, nothing)
		expect(t, "control", r, http.StatusOK)
	})
}
