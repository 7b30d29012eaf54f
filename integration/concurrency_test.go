package integration

// SPEC §6: concurrent writes. Same-rev updates: exactly one wins, the others
// get 409 and nothing is lost; alias claims and new versions never
// duplicate.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"testing"
)

// ccRun runs n requests at once (released together) and returns the
// responses in goroutine order.
func ccRun(e *Env, n int, do func(i int) *Response) []*Response {
	out := make([]*Response, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		go func(i int) {
			defer done.Done()
			ready.Done()
			<-start
			out[i] = do(i)
		}(i)
	}
	ready.Wait()
	close(start)
	done.Wait()
	return out
}

// ccDo is e.Do without t.Fatalf (which must not run off the test goroutine):
// a transport error comes back as status 0.
func ccDo(e *Env, method, path, auth string, body any) *Response {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return &Response{Body: []byte(err.Error())}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		return &Response{Body: []byte(err.Error())}
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		return &Response{Body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	buf, err := io.ReadAll(resp.Body)
	if err != nil {
		return &Response{Body: []byte(err.Error())}
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: buf}
}

// ccSplit returns the indexes of 200 answers and checks every other answer
// is the expected status with the expected error message.
func ccSplit(t *testing.T, rs []*Response, ok, loser int, loserMsg string) []int {
	t.Helper()
	var wins []int
	for i, r := range rs {
		if r.Status == ok {
			wins = append(wins, i)
			continue
		}
		ixErrIs(t, r, loser, loserMsg)
	}
	return wins
}

func TestConcurrencySameRevUpdate(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	ref := ixRef(t, e.Do(http.MethodPost, "/index", w, Rec("cc/rec", "/programs/p1")), http.StatusOK)
	const n = 16
	rs := ccRun(e, n, func(i int) *Response {
		return ccDo(e, http.MethodPut, "/index/cc/rec?rev="+ref.Rev, w, map[string]any{
			"file_name": fmt.Sprintf("writer-%d", i), "metadata": map[string]string{"writer": fmt.Sprint(i)},
			"urls": []string{fmt.Sprintf("s3://w/%d", i)},
			// one new authz set for all: its creation races too
			"authz": []string{"/programs/shared-new"},
		})
	})
	wins := ccSplit(t, rs, http.StatusOK, http.StatusConflict, "revision mismatch")
	if len(wins) != 1 {
		t.Fatalf("%d updates succeeded with the same rev, want exactly 1", len(wins))
	}
	win := wins[0]
	wref := ixRef(t, rs[win], http.StatusOK)
	got := ixGetRecord(t, e, "cc/rec")
	if got["rev"] != wref.Rev || got["file_name"] != fmt.Sprintf("writer-%d", win) {
		t.Fatalf("final record %v is not the winner's (%d, %s)", got, win, wref.Rev)
	}
	ixEqual(t, "winner's metadata", got["metadata"], map[string]string{"writer": fmt.Sprint(win)})
	ixEqual(t, "winner's urls", got["urls"], []string{fmt.Sprintf("s3://w/%d", win)})
	ixEqual(t, "authz", got["authz"], []string{"/programs/shared-new"})
}

// TestConcurrencyNoLostUpdates: writers that re-read and retry on 409 each
// add their own metadata key; at the end every key is there.
func TestConcurrencyNoLostUpdates(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	ixRef(t, e.Do(http.MethodPost, "/index", w, Rec("cc/counter", "/programs/p1")), http.StatusOK)
	const n = 8
	errs := make([]string, n)
	ccRun(e, n, func(i int) *Response {
		for attempt := 0; attempt < 200; attempt++ {
			r := ccDo(e, http.MethodGet, "/index/cc/counter", "", nil)
			var cur struct {
				Rev      string            `json:"rev"`
				Metadata map[string]string `json:"metadata"`
			}
			if r.Status != http.StatusOK || json.Unmarshal(r.Body, &cur) != nil {
				errs[i] = fmt.Sprintf("read: %d %s", r.Status, r.Body)
				return nil
			}
			cur.Metadata[fmt.Sprintf("w%d", i)] = "done"
			u := ccDo(e, http.MethodPut, "/index/cc/counter?rev="+cur.Rev, w, map[string]any{"metadata": cur.Metadata})
			switch u.Status {
			case http.StatusOK:
				return nil
			case http.StatusConflict:
				continue
			default:
				errs[i] = fmt.Sprintf("update: %d %s", u.Status, u.Body)
				return nil
			}
		}
		errs[i] = "gave up after 200 conflicts"
		return nil
	})
	for i, err := range errs {
		if err != "" {
			t.Fatalf("writer %d: %s", i, err)
		}
	}
	want := map[string]string{}
	for i := 0; i < n; i++ {
		want[fmt.Sprintf("w%d", i)] = "done"
	}
	ixEqual(t, "metadata after racing writers", ixGetRecord(t, e, "cc/counter")["metadata"], want)
}

func TestConcurrencyAliasClaims(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	const n = 10
	dids := make([]string, n)
	for i := range dids {
		dids[i] = fmt.Sprintf("cc/al-%d", i)
		ixRef(t, e.Do(http.MethodPost, "/index", w, Rec(dids[i], "/programs/p1")), http.StatusOK)
	}
	claim := map[string]any{"aliases": []map[string]string{{"value": "hot-alias"}}}
	// different records racing for one alias, half by POST, half by PUT
	rs := ccRun(e, n, func(i int) *Response {
		m := http.MethodPost
		if i%2 == 1 {
			m = http.MethodPut
		}
		return ccDo(e, m, "/index/"+dids[i]+"/aliases", w, claim)
	})
	wins := ccSplit(t, rs, http.StatusOK, http.StatusConflict, "alias hot-alias is already in use")
	if len(wins) != 1 {
		t.Fatalf("%d records got the alias, want exactly 1", len(wins))
	}
	winner := dids[wins[0]]
	ixEqual(t, "winner's answer", rs[wins[0]].Map(t), claim)
	if got := ixOK(t, e.Do(http.MethodGet, "/hot-alias", "", nil)); got["did"] != winner {
		t.Fatalf("/hot-alias resolves to %v, want %s", got["did"], winner)
	}
	for i, did := range dids {
		want := map[string]any{"aliases": []any{}}
		if i == wins[0] {
			want = claim
		}
		ixEqual(t, "aliases of "+did, ixOK(t, e.Do(http.MethodGet, "/index/"+did+"/aliases", "", nil)), want)
	}

	// one record, many claimants of distinct aliases at once: all kept
	rs = ccRun(e, n, func(i int) *Response {
		return ccDo(e, http.MethodPost, "/index/cc/al-0/aliases", w, map[string]any{"aliases": []map[string]string{{"value": fmt.Sprintf("many-%02d", i)}}})
	})
	for i, r := range rs {
		if r.Status != http.StatusOK {
			t.Fatalf("adding distinct alias many-%02d: %d %s", i, r.Status, r.Body)
		}
	}
	var got struct{ Aliases []struct{ Value string } }
	e.Do(http.MethodGet, "/index/cc/al-0/aliases", "", nil).MustStatus(t, http.StatusOK).JSON(t, &got)
	var names []string
	for _, a := range got.Aliases {
		if a.Value != "hot-alias" {
			names = append(names, a.Value)
		}
	}
	if len(names) != n || !sort.StringsAreSorted(names) {
		t.Fatalf("aliases %v", names)
	}
}

func TestConcurrencyNewVersions(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	base := ixRef(t, e.Do(http.MethodPost, "/index", w, Rec("cc/v0", "/programs/p1")), http.StatusOK)
	const n = 12
	// minted dids: every one succeeds, each a distinct version
	rs := ccRun(e, n, func(i int) *Response {
		return ccDo(e, http.MethodPost, "/index/cc/v0", w, Rec("", "/programs/p1"))
	})
	seen := map[string]bool{base.DID: true}
	for _, r := range rs {
		ref := ixRef(t, r, http.StatusOK)
		if ref.BaseID != base.BaseID || seen[ref.DID] {
			t.Fatalf("version ref %+v (base %s) repeated or in the wrong chain", ref, base.BaseID)
		}
		seen[ref.DID] = true
	}
	// one explicit did raced by many: exactly one version gets it
	rs = ccRun(e, n, func(i int) *Response {
		return ccDo(e, http.MethodPost, "/index/cc/v0", w, Rec("cc/same", "/programs/p1"))
	})
	if wins := ccSplit(t, rs, http.StatusOK, http.StatusConflict, "record cc/same already exists"); len(wins) != 1 {
		t.Fatalf("%d versions created with one did, want 1", len(wins))
	}
	seen["cc/same"] = true

	vs := ixOK(t, e.Do(http.MethodGet, "/index/"+base.BaseID+"/versions", "", nil))
	if len(vs) != len(seen) {
		t.Fatalf("%d versions, want %d", len(vs), len(seen))
	}
	got := map[string]bool{}
	for i := 0; i < len(vs); i++ {
		v, ok := vs[fmt.Sprint(i)].(map[string]any)
		if !ok {
			t.Fatalf("versions lacks key %d: %v", i, ccKeys(vs))
		}
		did := v["did"].(string)
		if got[did] || !seen[did] {
			t.Fatalf("version %d: did %s repeated or unknown", i, did)
		}
		got[did] = true
	}
	if first := vs["0"].(map[string]any)["did"]; first != base.DID {
		t.Fatalf("oldest version %v, want %s", first, base.DID)
	}
}

// TestConcurrencyCreatesAndDeletes: one did created by many at once, then
// deleted by many with the same rev.
func TestConcurrencyCreatesAndDeletes(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	const n = 12
	rs := ccRun(e, n, func(i int) *Response {
		b := Rec("cc/one", "/programs/p1")
		b["file_name"] = fmt.Sprintf("creator-%d", i)
		return ccDo(e, http.MethodPost, "/index", w, b)
	})
	wins := ccSplit(t, rs, http.StatusOK, http.StatusConflict, "record cc/one already exists")
	if len(wins) != 1 {
		t.Fatalf("%d creates of one did succeeded, want 1", len(wins))
	}
	ref := ixRef(t, rs[wins[0]], http.StatusOK)
	got := ixGetRecord(t, e, "cc/one")
	if got["file_name"] != fmt.Sprintf("creator-%d", wins[0]) || got["rev"] != ref.Rev {
		t.Fatalf("record %v is not the winning create's", got)
	}
	rs = ccRun(e, n, func(i int) *Response {
		return ccDo(e, http.MethodDelete, "/index/cc/one?rev="+ref.Rev, w, nil)
	})
	oks := 0
	for _, r := range rs {
		if r.Status == http.StatusOK {
			oks++
			if len(r.Body) != 0 {
				t.Fatalf("delete body %q", r.Body)
			}
			continue
		}
		// the record is gone for every loser
		ixErrIs(t, r, http.StatusNotFound, "no record found")
	}
	if oks != 1 {
		t.Fatalf("%d deletes succeeded, want 1", oks)
	}
	ixErrIs(t, e.Do(http.MethodGet, "/index/cc/one", "", nil), http.StatusNotFound, "no record found")
	if st := ixOK(t, e.Do(http.MethodGet, "/_stats", "", nil)); st["fileCount"] != float64(0) {
		t.Fatalf("stats %v", st)
	}
}

func ccKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
