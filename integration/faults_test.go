package integration

// Failing closed (SPEC §2, §3): when the policy service is down, slow
// beyond the timeout, failing, or answering nonsense, every filtered read
// and every write answers 503 with a JSON error and leaks nothing; the
// service recovers without a restart as soon as the policy service does,
// because errors are never cached.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/policy/policytest"
)

type azReq struct {
	method, path string
	body         any
	drs          bool
	// needsStorage: an access route, which asks the policy service for
	// read-storage for every caller (anonymous ones included, SPEC §4),
	// even while records are discoverable.
	needsStorage bool
	// missing: the request names no existing record.
	missing bool
}

func TestAuthzFaultsFailClosed(t *testing.T) {
	const policyTimeout = 400 * time.Millisecond
	// INDEXD_SOAK=1: every fault three times over, and more endpoints.
	soak := os.Getenv("INDEXD_SOAK") == "1"
	e := Start(t, WithFiltering(), withPolicy(policyTimeout, 0), withSettingsPoll(time.Hour))
	e.Client = azClient()
	w := e.Writer()
	admin := azAddAdmin(t, e, "ft-admin", "ft-admin-password-1")

	const pA = "/programs/p1/projects/a"
	mk := func(did string, authz ...string) map[string]any {
		b := Rec(did, authz...)
		b["acl"] = []string{"ft-acl"}
		b["urls_metadata"] = map[string]any{b["urls"].([]string)[0]: map[string]string{"k": "v"}}
		return b
	}
	dids := []string{"ft-a", "ft-a-v2", "ft-other", "ft-empty", "ft-put", "ft-del"}
	e.Create(w, mk("ft-a", pA))
	if r := azMust(t, e, "POST", "/index/ft-a", w, mk("ft-a-v2", pA)); r.Status != 200 {
		t.Fatalf("new version: %d %s", r.Status, r.Body)
	}
	e.Create(w, mk("ft-other", "/programs/p2"))
	e.Create(w, mk("ft-empty"))
	e.Create(w, mk("ft-put", pA))
	e.Create(w, mk("ft-del", pA))
	if r := azMust(t, e, "POST", "/index/ft-a/aliases", w, map[string]any{"aliases": []map[string]string{{"value": "ft-alias"}}}); r.Status != 200 {
		t.Fatalf("alias: %d %s", r.Status, r.Body)
	}
	blank := azMust(t, e, "POST", "/index/blank", w, map[string]any{"uploader": "ft", "authz": []string{pA}})
	var blankRef struct{ DID, Rev string }
	if blank.Status != http.StatusCreated || json.Unmarshal(blank.Body, &blankRef) != nil {
		t.Fatalf("blank: %d %s", blank.Status, blank.Body)
	}
	dids = append(dids, blankRef.DID)
	revOf := func(did string) string {
		t.Helper()
		r := azMust(t, e, "GET", "/index/"+did, admin, nil)
		var v struct{ Rev string }
		if r.Status != 200 || json.Unmarshal(r.Body, &v) != nil {
			t.Fatalf("read %s: %d %s", did, r.Status, r.Body)
		}
		return v.Rev
	}
	authzOf := map[string][]string{"ft-a": {pA}, "ft-a-v2": {pA}, "ft-other": {"/programs/p2"}, "ft-empty": {}, "ft-put": {pA}, "ft-del": {pA}, blankRef.DID: {pA}}
	revs := map[string]string{}
	for _, d := range dids {
		revs[d] = revOf(d)
	}

	readerTok := Tok("ft-reader")
	e.Policy.SetUser(readerTok, "ft-reader", map[string][]string{"/programs/p1": {"read"}})
	writerTok := Tok("ft-writer")
	e.Policy.SetUser(writerTok, "ft-writer", map[string][]string{"/programs/p1": {"read", "create", "update", "delete", "read-storage"}})
	reader, writer := Bearer(readerTok), Bearer(writerTok)
	azRequireDRS(t, e)
	const drs = true // DRS rows always run (azRequireDRS)

	ids := strings.Join(dids, ",") + ",ft-missing"
	reads := []azReq{
		{method: "GET", path: "/index"},
		{method: "GET", path: "/index?authz=" + url.QueryEscape(pA)},
		{method: "GET", path: "/index?authz=null"},
		{method: "GET", path: "/index?acl=ft-acl"},
		{method: "GET", path: "/index?ids=" + url.QueryEscape(ids)},
		{method: "GET", path: "/urls"},
		{method: "GET", path: "/_query/urls/q?include=s3"},
		{method: "GET", path: "/_query/urls/metadata/q?key=k&value=v"},
		{method: "POST", path: "/bulk/documents", body: append(append([]string{}, dids...), "ft-missing")},
		{method: "GET", path: "/_stats"},
		{method: "GET", path: "/index/ft-a"},
		{method: "GET", path: "/index/ft-missing", missing: true},
		{method: "GET", path: "/ft-a"},
		{method: "GET", path: "/ft-alias"},
		{method: "GET", path: "/ft-missing", missing: true},
		{method: "GET", path: "/index/ft-a/versions"},
		{method: "GET", path: "/index/ft-a/latest"},
		{method: "GET", path: "/index/ft-a/aliases"},
	}
	if drs {
		reads = append(reads,
			azReq{method: "GET", path: "/ga4gh/drs/v1/service-info", drs: true},
			azReq{method: "GET", path: "/ga4gh/drs/v1/objects", drs: true},
			azReq{method: "POST", path: "/ga4gh/drs/v1/objects", body: map[string]any{"bulk_object_ids": dids}, drs: true},
			azReq{method: "OPTIONS", path: "/ga4gh/drs/v1/objects", body: map[string]any{"bulk_object_ids": dids}, drs: true},
			azReq{method: "GET", path: "/ga4gh/drs/v1/objects/ft-a", drs: true},
			azReq{method: "POST", path: "/ga4gh/drs/v1/objects/ft-a", drs: true},
			azReq{method: "OPTIONS", path: "/ga4gh/drs/v1/objects/ft-a", drs: true},
			azReq{method: "GET", path: "/ga4gh/drs/v1/objects/ft-missing", drs: true, missing: true},
			azReq{method: "GET", path: "/ga4gh/drs/v1/objects/ft-a/access/s3", drs: true, needsStorage: true},
		)
	}
	if soak {
		reads = append(reads,
			azReq{method: "GET", path: "/index?limit=2&page=1"},
			azReq{method: "GET", path: "/index?hash=md5:0123456789abcdef0123456789abcdef&form=object"},
			azReq{method: "GET", path: "/index?negate_params=" + url.QueryEscape(`{"authz":["/programs/p2"]}`)},
			azReq{method: "GET", path: "/index?urls_metadata=" + url.QueryEscape(`{"s3://bucket/":{"k":"v"}}`)},
			azReq{method: "GET", path: "/index?limit=1&start=ft-a"},
			azReq{method: "GET", path: "/urls?ids=" + url.QueryEscape(ids)},
			azReq{method: "GET", path: "/index/ft-a/latest?has_version=true", missing: true}, // no version of ft-a has a version string: 404 once readable
			azReq{method: "GET", path: "/index/ft-a-v2/versions"},
			azReq{method: "GET", path: "/index/ft-other"},
			azReq{method: "GET", path: "/index/ft-empty"},
			azReq{method: "GET", path: "/ga4gh/drs/v1/objects?limit=2&authz=" + url.QueryEscape(pA), drs: true},
			azReq{method: "GET", path: "/ga4gh/drs/v1/objects/ft-other", drs: true},
			azReq{method: "POST", path: "/ga4gh/drs/v1/objects/ft-a/access/s3", drs: true, needsStorage: true},
			azReq{method: "POST", path: "/ga4gh/drs/v1/objects/access", body: map[string]any{"bulk_object_access_ids": []map[string]any{{"bulk_object_id": "ft-a", "bulk_access_ids": []string{"s3"}}}}, drs: true, needsStorage: true},
		)
	}
	var writes []azReq
	newWrites := func(round string) []azReq {
		return []azReq{
			{method: "POST", path: "/index", body: mk("ft-new-"+round, pA)},
			{method: "POST", path: "/index", body: mk("ft-new-empty-" + round)},
			{method: "POST", path: "/index/blank", body: map[string]any{"uploader": "ft", "authz": []string{pA}}},
			{method: "PUT", path: "/index/blank/" + blankRef.DID + "?rev=" + revs[blankRef.DID], body: map[string]any{"size": 1, "hashes": map[string]string{"md5": "0123456789abcdef0123456789abcdef"}, "urls": []string{"s3://ft/blank"}}},
			{method: "POST", path: "/index/ft-a", body: mk("ft-v3-"+round, pA)},
			{method: "PUT", path: "/index/ft-put?rev=" + revs["ft-put"], body: map[string]any{"metadata": map[string]string{"x": round}}},
			{method: "PUT", path: "/index/ft-put?rev=" + revs["ft-put"], body: map[string]any{"authz": []string{"/programs/p1/projects/b"}}},
			{method: "PUT", path: "/index/ft-a/versions", body: map[string]any{"authz": []string{"/programs/p1/projects/b"}}},
			{method: "DELETE", path: "/index/ft-del?rev=" + revs["ft-del"]},
			{method: "POST", path: "/index/ft-put/aliases", body: map[string]any{"aliases": []map[string]string{{"value": "ft-new-alias-" + round}}}},
			{method: "PUT", path: "/index/ft-put/aliases", body: map[string]any{"aliases": []map[string]string{{"value": "ft-new-alias-" + round}}}},
			{method: "DELETE", path: "/index/ft-a/aliases/ft-alias"},
			{method: "PUT", path: "/admin/discovery", body: map[string]any{"are_records_discoverable": true}},
		}
	}

	// runAll sends every request concurrently (the slow fault costs the
	// policy timeout per request).
	runAll := func(reqs []azReq, auth string) []azResp {
		out := make([]azResp, len(reqs))
		errs := make([]error, len(reqs))
		var wg sync.WaitGroup
		for i, q := range reqs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out[i], errs[i] = azDo(e, q.method, q.path, auth, q.body)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	failedClosed := 0 // answers checked to fail closed, for the summary
	noLeak := func(label string, q azReq, anonymous bool, r azResp) {
		t.Helper()
		failedClosed++
		status := http.StatusServiceUnavailable
		want := azErrBody(q.drs, status)
		if r.Status != status || !azSameBody(r.Body, want) {
			t.Errorf("%s %s %s: %d %s, want %d %s", label, q.method, q.path, r.Status, azTrunc(r.Body), status, want)
		}
		for _, d := range dids {
			if strings.Contains(string(r.Body), d) {
				t.Errorf("%s %s %s: body names record %s: %s", label, q.method, q.path, d, r.Body)
			}
		}
	}
	visibleTo := discovery.Context{AuthorizedResources: []string{"/programs/p1"}}

	faults := []policytest.Fault{policytest.FaultDown, policytest.FaultSlow, policytest.Fault500, policytest.FaultGarbage, policytest.FaultWrongShape}
	if soak {
		faults = slices.Concat(faults, faults, faults)
	}
	for _, f := range faults {
		t.Run(f.String(), func(t *testing.T) {
			// "down", or "down#01" for a repeat (soak): records written in
			// this subtest carry it in their names.
			name := strings.ReplaceAll(t.Name()[strings.LastIndex(t.Name(), "/")+1:], "#", "-")
			e.App.Policy.Flush() // a cached mapping would (rightly) answer reads within its TTL
			e.Policy.SetDelay(10 * policyTimeout)
			e.Policy.SetFault(f)
			before := e.Policy.MappingCalls() + e.Policy.RequestCalls()
			began := time.Now()
			for _, auth := range []string{"", reader} {
				for i, r := range runAll(reads, auth) {
					noLeak(fmt.Sprintf("read by %q during %s", auth, f), reads[i], auth == "", r)
				}
			}
			writes = newWrites(name)
			for i, r := range runAll(writes, writer) {
				noLeak("write during "+name, writes[i], false, r)
			}
			if f == policytest.FaultSlow {
				// Each answer waited for the policy timeout, not for the double.
				if d := time.Since(began); d < policyTimeout || d > 5*policyTimeout+5*time.Second {
					t.Errorf("slow fault: requests took %s, policy timeout %s", d, policyTimeout)
				}
			}
			if e.Policy.MappingCalls()+e.Policy.RequestCalls() == before {
				t.Errorf("no policy call was made during the fault")
			}
			// A basic-auth admin needs no policy decision to read: unaffected.
			if r := azMust(t, e, "GET", "/index/ft-a", admin, nil); r.Status != 200 {
				t.Errorf("basic-auth admin read during %s: %d %s", f, r.Status, r.Body)
			}
			// An anonymous write is refused before any policy call.
			if r := azMust(t, e, "POST", "/index", "", mk("ft-anon", pA)); r.Status != 401 || !azSameBody(r.Body, azBodyUnauthorized) {
				t.Errorf("anonymous write during %s: %d %s", f, r.Status, r.Body)
			}

			// Recovery, at once: no restart, no cached error.
			e.Policy.SetFault(policytest.FaultNone)
			r := azMust(t, e, "GET", "/index?limit=1024", reader, nil)
			got, err := azParseIndexList(r.Body)
			if r.Status != 200 || err != nil {
				t.Fatalf("after %s recovered: %d %s", f, r.Status, r.Body)
			}
			var want []string
			for _, d := range dids {
				if discovery.Visible(visibleTo, authzOf[d]) {
					want = append(want, d)
				}
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("after %s recovered: list %v, want %v", f, got, want)
			}
			if r := azMust(t, e, "GET", "/index/ft-other", reader, nil); r.Status != 403 {
				t.Errorf("after %s recovered: invisible record %d %s", f, r.Status, r.Body)
			}
			// Nothing was written during the fault.
			for _, d := range dids {
				if got := revOf(d); got != revs[d] {
					t.Errorf("record %s changed during %s: rev %s → %s", d, f, revs[d], got)
				}
			}
			for _, d := range []string{"ft-new-" + name, "ft-v3-" + name, "ft-new-empty-" + name} {
				if r := azMust(t, e, "GET", "/index/"+d, admin, nil); r.Status != 404 {
					t.Errorf("write during %s created %s: %d", f, d, r.Status)
				}
			}
			if st := e.App.Settings.Get(); st.AreRecordsDiscoverable {
				t.Errorf("settings changed during %s", f)
			}
			// Writes work again at once.
			if r := azMust(t, e, "POST", "/index", writer, mk("ft-after-"+name, pA)); r.Status != 200 {
				t.Errorf("write after %s recovered: %d %s", f, r.Status, r.Body)
			}
			dids = append(dids, "ft-after-"+name)
			authzOf["ft-after-"+name] = []string{pA}
			revs["ft-after-"+name] = revOf("ft-after-" + name)
		})
	}

	// With every record discoverable, reads do not ask the policy service,
	// so an outage does not stop them; writes still fail closed.
	t.Run("discoverable-reads-need-no-policy", func(t *testing.T) {
		azApply(t, discovery.Settings{AreRecordsDiscoverable: true, GlobalDiscoveryAuthz: []string{}}, e)
		e.App.Policy.Flush()
		azMust(t, e, "GET", "/_stats", reader, nil) // the reader's token is verified (one cached mapping call) before the outage
		e.Policy.SetFault(policytest.FaultDown)
		defer e.Policy.SetFault(policytest.FaultNone)
		calls := e.Policy.MappingCalls()
		for _, auth := range []string{"", reader} {
			for i, r := range runAll(reads, auth) {
				q := reads[i]
				wantStatus := 200
				if q.missing {
					wantStatus = 404
				}
				if q.needsStorage {
					continue // access needs read-storage, a policy decision (SPEC §4)
				}
				if r.Status != wantStatus {
					t.Errorf("discoverable, policy down: %s %s by %q: %d %s", q.method, q.path, auth, r.Status, azTrunc(r.Body))
				}
			}
		}
		if n := e.Policy.MappingCalls() - calls; n != 0 {
			t.Errorf("discoverable reads made %d mapping calls, want 0", n)
		}
		if r := azMust(t, e, "POST", "/index", writer, mk("ft-discoverable-write", pA)); r.Status != 503 || !azSameBody(r.Body, azBodyUnavailable) {
			t.Errorf("write with policy down: %d %s", r.Status, r.Body)
		}
	})
	t.Logf("figures: faults survived: %d fault rounds (%d kinds) with recovery after each; %d answers checked to fail closed with the exact JSON 503/401 and no record named; %d reads and %d writes per caller and fault",
		len(faults), 5, failedClosed, len(reads), len(writes))
}

// The mapping cache (SPEC §2): one policy call per caller per TTL however
// many requests arrive at once; a revoked grant stops working within the
// TTL; errors are never cached.

func TestAuthzCacheOneMappingCallPerCallerPerTTL(t *testing.T) {
	const ttl = 10 * time.Second // far longer than a burst, even on a busy machine
	e := Start(t, WithFiltering(), withPolicy(0, ttl), withSettingsPoll(time.Hour))
	e.Client = azClient()
	w := e.Writer()
	did := e.Create(w, Rec("ca-rec", "/programs/p1/projects/a"))
	type caller struct {
		auth string
		want int
	}
	callers := []caller{{"", 403}, {azAddAdmin(t, e, "ca-admin", "ca-admin-password-1"), 200}}
	for i := range 3 {
		tk := Tok(fmt.Sprintf("ca-user-%d", i))
		e.Policy.SetUser(tk, "", map[string][]string{"/programs/p1": {"read"}})
		callers = append(callers, caller{Bearer(tk), 200})
	}
	const perCaller = 16
	burst := func() time.Time {
		var wg sync.WaitGroup
		for _, c := range callers {
			for i := range perCaller {
				wg.Add(1)
				go func() {
					defer wg.Done()
					path, want := "/index/"+did, c.want
					if i%2 == 1 {
						path, want = "/index?limit=10", 200
					}
					r, err := azDo(e, "GET", path, c.auth, nil)
					if err != nil || r.Status != want {
						t.Errorf("GET %s by %.20q: %v %d %s, want %d", path, c.auth, err, r.Status, r.Body, want)
					}
				}()
			}
		}
		wg.Wait()
		return time.Now()
	}
	e.App.Policy.Flush()
	e.Policy.ResetCounters()
	start := time.Now()
	end := burst()
	if end.Sub(start) >= ttl {
		t.Fatalf("the burst took %s, not shorter than the TTL %s: cannot tell one call per TTL", end.Sub(start), ttl)
	}
	// Anonymous + 3 token holders; the basic-auth admin needs no mapping.
	if n := e.Policy.MappingCalls(); n != 4 {
		t.Fatalf("%d requests by 4 policy callers made %d mapping calls, want 4", perCaller*len(callers), n)
	}
	if end2 := burst(); end2.Sub(start) >= ttl {
		t.Fatalf("two bursts took %s, not shorter than the TTL %s", end2.Sub(start), ttl)
	}
	// Still within the TTL of every entry (each was filled after start).
	if n := e.Policy.MappingCalls(); n != 4 {
		t.Fatalf("a second burst within the TTL made %d mapping calls in all, want 4", n)
	}
	t.Logf("first burst %s", end.Sub(start))
	time.Sleep(time.Until(end.Add(ttl + 100*time.Millisecond))) // every entry was filled before end: all expired
	again := time.Now()
	if end3 := burst(); end3.Sub(again) >= ttl {
		t.Fatalf("the burst took %s, not shorter than the TTL %s", end3.Sub(again), ttl)
	}
	if n := e.Policy.MappingCalls(); n != 8 {
		t.Fatalf("after the TTL: %d mapping calls in all, want 8 (one more per caller)", n)
	}
}

func TestAuthzCacheRevocationWithinTTL(t *testing.T) {
	const ttl = 300 * time.Millisecond
	e := Start(t, WithFiltering(), withPolicy(0, ttl), withSettingsPoll(time.Hour))
	w := e.Writer()
	did := e.Create(w, Rec("rv-rec", "/programs/p1/projects/a"))
	tk := Tok("rv-user")
	grants := map[string][]string{"/programs/p1": {"read"}}
	e.Policy.SetUser(tk, "rv-user", grants)
	auth := Bearer(tk)

	// watch polls until well past the TTL after a change made at changed:
	// before changed+TTL the old answer may persist, from then on only the
	// new one; once the new answer is seen the old never comes back.
	watch := func(label string, changed time.Time, old, new int) {
		t.Helper()
		seenNew := false
		for !seenNew || time.Since(changed) < ttl+200*time.Millisecond {
			if time.Since(changed) > 10*time.Second {
				t.Fatalf("%s: never answered %d", label, new)
			}
			sent := time.Now()
			r := azMust(t, e, "GET", "/index/"+did, auth, nil)
			switch r.Status {
			case new:
				seenNew = true
			case old:
				if seenNew {
					t.Fatalf("%s: the old answer %d came back after the new one", label, old)
				}
				if sent.After(changed.Add(ttl)) {
					t.Fatalf("%s: still %d for a request sent %s after the change (TTL %s)", label, old, sent.Sub(changed), ttl)
				}
			default:
				t.Fatalf("%s: %d %s", label, r.Status, r.Body)
			}
			time.Sleep(15 * time.Millisecond)
		}
	}

	if r := azMust(t, e, "GET", "/index/"+did, auth, nil); r.Status != 200 {
		t.Fatalf("before revocation: %d %s", r.Status, r.Body)
	}
	changed := time.Now()
	e.Policy.RevokeAll(tk)
	watch("grant revoked", changed, 200, 403)
	if r := azMust(t, e, "GET", "/index?limit=100", auth, nil); r.Status != 200 || strings.Contains(string(r.Body), did) {
		t.Fatalf("list after revocation: %d %s", r.Status, r.Body)
	}

	e.Policy.SetUser(tk, "rv-user", grants)
	changed = time.Now()
	watch("grant restored", changed, 403, 200)

	changed = time.Now()
	e.Policy.RemoveUser(tk) // the token is now one the policy service rejects
	watch("token rejected", changed, 200, 401)

	// A rejection is not cached: the moment the token is good again, it works.
	e.Policy.SetUser(tk, "rv-user", grants)
	if r := azMust(t, e, "GET", "/index/"+did, auth, nil); r.Status != 200 {
		t.Fatalf("right after the token became good again: %d %s", r.Status, r.Body)
	}
}
