package integration

// Acceptance tests of the indexd record endpoints (issue "The record index on
// PostgreSQL"): every endpoint over HTTP against the real server, database
// and Arborist double. Helpers shared by list_test.go, validation_test.go and
// concurrency_test.go are prefixed "ix".

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/internal/app"
	"github.com/datacommons/indexd/urlsmeta"
)

const (
	ixMD5a   = "d41d8cd98f00b204e9800998ecf8427e"
	ixMD5b   = "0cc175b9c0f1b6a831c399e269772661"
	ixSHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

var (
	ixRevRe  = regexp.MustCompile(`^[0-9a-f]{8}$`)
	ixUUIDRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	ixDateRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$`)
)

// ixWithPrefix configures DEFAULT_PREFIX, PREPEND_PREFIX and ADD_PREFIX_ALIAS.
func ixWithPrefix(prefix string, prepend, alias bool) Option {
	return func(c *app.Config) {
		c.DefaultPrefix, c.PrependPrefix, c.AddPrefixAlias = prefix, prepend, alias
	}
}

// ixRaw sends body as is with the given Content-Type ("" sends none).
func ixRaw(e *Env, method, path, auth, ctype string, body []byte) *Response {
	e.T.Helper()
	req, err := http.NewRequest(method, e.URL+path, bytes.NewReader(body))
	if err != nil {
		e.T.Fatalf("new request: %v", err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatalf("read body: %v", err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// ixErrMsg asserts the status and a JSON body that is exactly
// {"error": <string>}, and returns the message.
func ixErrMsg(t testing.TB, r *Response, status int) string {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error content type %q, want application/json; body: %s", ct, r.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("error body is not a JSON object (%v): %s", err, r.Body)
	}
	msg, ok := m["error"].(string)
	if _, reason := m["reason"].(string); reason && status == http.StatusUnauthorized {
		delete(m, "reason") // a 401's reason (issue 10)
	}
	if !ok || len(m) != 1 || msg == "" {
		t.Fatalf(`error body is not {"error": "..."}: %s`, r.Body)
	}
	return msg
}

// ixErrIs asserts status and the exact error message.
func ixErrIs(t testing.TB, r *Response, status int, want string) {
	t.Helper()
	if got := ixErrMsg(t, r, status); got != want {
		t.Fatalf("error %q, want %q", got, want)
	}
}

// ixErrHas asserts status and an error message containing every part.
func ixErrHas(t testing.TB, r *Response, status int, parts ...string) {
	t.Helper()
	got := ixErrMsg(t, r, status)
	for _, p := range parts {
		if !strings.Contains(got, p) {
			t.Fatalf("error %q does not mention %q", got, p)
		}
	}
}

// ixNorm round-trips v through JSON so it compares with decoded bodies.
func ixNorm(t testing.TB, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// ixEqual fails unless got (a decoded body) equals want after ixNorm.
func ixEqual(t testing.TB, what string, got, want any) {
	t.Helper()
	want = ixDerivedURLsMetadata(t, want)
	if w := ixNorm(t, want); !reflect.DeepEqual(ixNorm(t, got), w) {
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(w)
		t.Fatalf("%s:\n got  %s\n want %s", what, gj, wj)
	}
}

// ixJSONBody asserts status 200 and a JSON content type, and decodes.
func ixOK(t testing.TB, r *Response) map[string]any {
	t.Helper()
	r.MustStatus(t, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q, want application/json", ct)
	}
	return r.Map(t)
}

// ixGetRecord GETs /index/{id} (200) and returns the record with its
// created/updated dates checked for format and removed.
func ixGetRecord(t testing.TB, e *Env, id string) map[string]any {
	t.Helper()
	return ixDates(t, ixOK(t, e.Do(http.MethodGet, "/index/"+id, "", nil)))
}

// ixDates checks created_date/updated_date are indexd-formatted, ordered,
// and removes them (they are not predictable).
func ixDates(t testing.TB, rec map[string]any) map[string]any {
	t.Helper()
	var ts [2]time.Time
	for i, k := range []string{"created_date", "updated_date"} {
		s, ok := rec[k].(string)
		if !ok || !ixDateRe.MatchString(s) {
			t.Fatalf("%s %v is not an indexd date", k, rec[k])
		}
		ts[i] = ixParseDate(t, s)
		delete(rec, k)
	}
	if ts[1].Before(ts[0]) {
		t.Fatalf("updated_date %v before created_date %v", ts[1], ts[0])
	}
	return rec
}

func ixParseDate(t testing.TB, s string) time.Time {
	t.Helper()
	for _, l := range []string{"2006-01-02T15:04:05.000000", "2006-01-02T15:04:05"} {
		if d, err := time.Parse(l, s); err == nil {
			return d
		}
	}
	t.Fatalf("date %q does not parse", s)
	return time.Time{}
}

// ixRef decodes a write answer: exactly {did, baseid, rev}.
func ixRef(t testing.TB, r *Response, status int) indexd.Ref {
	t.Helper()
	r.MustStatus(t, status)
	m := r.Map(t)
	if len(m) != 3 {
		t.Fatalf("ref %s: want exactly did, baseid, rev", r.Body)
	}
	var ref indexd.Ref
	r.JSON(t, &ref)
	if ref.DID == "" || ref.BaseID == "" || !ixRevRe.MatchString(ref.Rev) {
		t.Fatalf("bad ref %s", r.Body)
	}
	return ref
}

// ixSeed inserts records straight through the repository (fast fixtures).
func ixSeed(t testing.TB, e *Env, recs ...indexd.NewRecord) []indexd.Ref {
	t.Helper()
	refs := make([]indexd.Ref, 0, len(recs))
	for _, n := range recs {
		ref, err := e.App.Store.Create(context.Background(), n)
		if err != nil {
			t.Fatalf("seed %s: %v", n.DID, err)
		}
		refs = append(refs, ref)
	}
	return refs
}

func ixStr(s string) *string { return &s }
func ixI64(n int64) *int64   { return &n }

// ixWire is the indexd wire record for a fixture body (as posted), with
// identity fields filled in: what GET /index/{id} must answer (minus dates).
// ixDerivedURLsMetadata: a wanted record (a map with urls and
// urls_metadata) answers its urls_metadata as indexd 6.x does (issue 10,
// package urlsmeta; TestURLsMetadataDerived checks the literal values).
func ixDerivedURLsMetadata(t testing.TB, want any) any {
	b, err := json.Marshal(want)
	if err != nil {
		return want
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return want
	}
	return ixExpandRecords(v)
}

func ixExpandRecords(v any) any {
	switch x := v.(type) {
	case []any:
		for i := range x {
			x[i] = ixExpandRecords(x[i])
		}
	case map[string]any:
		if x["did"] != nil && x["urls"] != nil && x["urls_metadata"] != nil {
			var urls []string
			var stored map[string]map[string]string
			uj, _ := json.Marshal(x["urls"])
			mj, _ := json.Marshal(x["urls_metadata"])
			if json.Unmarshal(uj, &urls) == nil && json.Unmarshal(mj, &stored) == nil {
				x["urls_metadata"] = urlsmeta.Expand(urls, stored)
			}
			return x
		}
		for k := range x {
			x[k] = ixExpandRecords(x[k])
		}
	}
	return v
}

func ixWire(ref indexd.Ref, body map[string]any) map[string]any {
	out := map[string]any{
		"did": ref.DID, "baseid": ref.BaseID, "rev": ref.Rev,
		"form": nil, "size": nil, "file_name": nil, "version": nil, "uploader": nil, "description": nil,
		"urls": []string{}, "urls_metadata": map[string]any{}, "acl": []string{}, "authz": []string{},
		"hashes": map[string]any{}, "metadata": map[string]any{},
		"content_created_date": nil, "content_updated_date": nil,
	}
	for k, v := range body {
		if k != "did" {
			out[k] = v
		}
	}
	return out
}

func ixDIDs(t testing.TB, recs any) []string {
	t.Helper()
	list, ok := recs.([]any)
	if !ok {
		t.Fatalf("records is %T, not a list", recs)
	}
	out := make([]string, 0, len(list))
	for _, r := range list {
		out = append(out, r.(map[string]any)["did"].(string))
	}
	return out
}

func TestRecordsLifecycle(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	body := map[string]any{
		"did": "dg.TEST/life-1", "form": "object", "size": 2048, "file_name": "a.bam", "version": "v1",
		"uploader": "alice", "description": "a file",
		"hashes":        map[string]string{"md5": ixMD5a, "sha256": ixSHA256},
		"urls":          []string{"s3://b/a", "gs://b/a"},
		"urls_metadata": map[string]any{"s3://b/a": map[string]string{"state": "uploaded"}},
		"acl":           []string{"phs1", "phs0"},
		"authz":         []string{"/programs/p1/projects/b", "/programs/p1/projects/a"},
		"metadata":      map[string]string{"k": "v"},
		// a zone offset is converted to UTC; whole seconds print without fraction
		"content_created_date": "2020-01-02T05:04:05+02:00",
		"content_updated_date": "2021-01-02T03:04:05.25Z",
	}
	ref := ixRef(t, e.Do(http.MethodPost, "/index", w, body), http.StatusOK)
	if ref.DID != "dg.TEST/life-1" || !ixUUIDRe.MatchString(ref.BaseID) {
		t.Fatalf("ref %+v", ref)
	}
	want := ixWire(ref, body)
	want["content_created_date"] = "2020-01-02T03:04:05"
	want["content_updated_date"] = "2021-01-02T03:04:05.250000"
	ixEqual(t, "GET /index/{id}", ixGetRecord(t, e, "dg.TEST/life-1"), want)
	// /{id} and an escaped slash find the same record
	ixEqual(t, "GET /{id}", ixDates(t, ixOK(t, e.Do(http.MethodGet, "/dg.TEST/life-1", "", nil))), want)
	ixEqual(t, "GET escaped", ixGetRecord(t, e, "dg.TEST%2Flife-1"), want)

	t.Run("duplicate did", func(t *testing.T) {
		ixErrIs(t, e.Do(http.MethodPost, "/index", w, body), http.StatusConflict, "record dg.TEST/life-1 already exists")
	})
	t.Run("put without rev", func(t *testing.T) {
		ixErrIs(t, e.Do(http.MethodPut, "/index/dg.TEST/life-1", w, map[string]any{"file_name": "x"}), http.StatusConflict, "rev is required")
	})
	t.Run("put wrong rev", func(t *testing.T) {
		ixErrIs(t, e.Do(http.MethodPut, "/index/dg.TEST/life-1?rev=00000000", w, map[string]any{"file_name": "x"}), http.StatusConflict, "revision mismatch")
	})
	t.Run("put unknown", func(t *testing.T) {
		ixErrIs(t, e.Do(http.MethodPut, "/index/dg.TEST/nope?rev="+ref.Rev, w, map[string]any{"file_name": "x"}), http.StatusNotFound, "no record found")
	})
	ixEqual(t, "after refused puts", ixGetRecord(t, e, "dg.TEST/life-1"), want)

	upd := map[string]any{
		"file_name": "b.bam", "version": "v2", "description": "new", "acl": []string{"phs2"},
		"urls": []string{"s3://b/a", "s3://b/c"}, "metadata": map[string]string{"k2": "v2"},
	}
	before := ixOK(t, e.Do(http.MethodGet, "/index/dg.TEST/life-1", "", nil))
	ref2 := ixRef(t, e.Do(http.MethodPut, "/index/dg.TEST/life-1?rev="+ref.Rev, w, upd), http.StatusOK)
	after := ixOK(t, e.Do(http.MethodGet, "/index/dg.TEST/life-1", "", nil))
	if after["created_date"] != before["created_date"] || !ixParseDate(t, after["updated_date"].(string)).After(ixParseDate(t, before["updated_date"].(string))) {
		t.Fatalf("dates before %v/%v, after %v/%v: created must stay, updated must move", before["created_date"], before["updated_date"], after["created_date"], after["updated_date"])
	}
	if ref2.DID != ref.DID || ref2.BaseID != ref.BaseID || ref2.Rev == ref.Rev {
		t.Fatalf("update ref %+v after %+v", ref2, ref)
	}
	for k, v := range upd {
		want[k] = v
	}
	want["rev"] = ref2.Rev
	// metadata of the url that went away is dropped, the rest kept
	want["urls_metadata"] = map[string]any{"s3://b/a": map[string]string{"state": "uploaded"}}
	ixEqual(t, "after PUT", ixGetRecord(t, e, "dg.TEST/life-1"), want)
	ixErrIs(t, e.Do(http.MethodPut, "/index/dg.TEST/life-1?rev="+ref.Rev, w, upd), http.StatusConflict, "revision mismatch")

	t.Run("delete", func(t *testing.T) {
		ixErrIs(t, e.Do(http.MethodDelete, "/index/dg.TEST/life-1", w, nil), http.StatusBadRequest, "rev is required")
		ixErrIs(t, e.Do(http.MethodDelete, "/index/dg.TEST/life-1?rev="+ref.Rev, w, nil), http.StatusConflict, "revision mismatch")
		ixErrIs(t, e.Do(http.MethodDelete, "/index/dg.TEST/nope?rev="+ref2.Rev, w, nil), http.StatusNotFound, "no record found")
		ixEqual(t, "after refused deletes", ixGetRecord(t, e, "dg.TEST/life-1"), want)
		r := e.Do(http.MethodDelete, "/index/dg.TEST/life-1?rev="+ref2.Rev, w, nil).MustStatus(t, http.StatusOK)
		if len(r.Body) != 0 {
			t.Fatalf("delete body %q, want empty", r.Body)
		}
		ixErrIs(t, e.Do(http.MethodGet, "/index/dg.TEST/life-1", "", nil), http.StatusNotFound, "no record found")
		ixErrIs(t, e.Do(http.MethodGet, "/dg.TEST/life-1", "", nil), http.StatusNotFound, "no record found")
		ixErrIs(t, e.Do(http.MethodDelete, "/index/dg.TEST/life-1?rev="+ref2.Rev, w, nil), http.StatusNotFound, "no record found")
		// the did is free again
		ixRef(t, e.Do(http.MethodPost, "/index", w, body), http.StatusOK)
	})

	t.Run("minted did", func(t *testing.T) {
		b := Rec("", "/programs/p1")
		r := ixRef(t, e.Do(http.MethodPost, "/index/", w, b), http.StatusOK)
		if !ixUUIDRe.MatchString(r.DID) || !ixUUIDRe.MatchString(r.BaseID) || r.DID == r.BaseID {
			t.Fatalf("minted ref %+v", r)
		}
		ixEqual(t, "minted record", ixGetRecord(t, e, r.DID), ixWire(r, b))
	})

	t.Run("anonymous writes", func(t *testing.T) {
		ixErrIs(t, e.Do(http.MethodPost, "/index", "", Rec("anon-1", "/programs/p1")), http.StatusUnauthorized, "unauthorized")
		ixErrIs(t, e.Do(http.MethodGet, "/index/anon-1", "", nil), http.StatusNotFound, "no record found")
	})
}

func TestRecordsSlashAndOddIDs(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	for _, id := range []string{"dg.4503/a/b/c", "ark:/99999/fk4x", "x~y_z.1+2=3@h", "UPPER-lower"} {
		t.Run(id, func(t *testing.T) {
			b := Rec(id, "/programs/p1")
			ref := ixRef(t, e.Do(http.MethodPost, "/index", w, b), http.StatusOK)
			ixEqual(t, "get", ixGetRecord(t, e, id), ixWire(ref, b))
			ixEqual(t, "global get", ixDates(t, ixOK(t, e.Do(http.MethodGet, "/"+id, "", nil))), ixWire(ref, b))
			vs := ixOK(t, e.Do(http.MethodGet, "/index/"+id+"/versions", "", nil))
			if len(vs) != 1 || vs["0"].(map[string]any)["did"] != id {
				t.Fatalf("versions %v", vs)
			}
			if l := ixOK(t, e.Do(http.MethodGet, "/index/"+id+"/latest", "", nil)); l["did"] != id {
				t.Fatalf("latest %v", l)
			}
			ixEqual(t, "aliases", ixOK(t, e.Do(http.MethodGet, "/index/"+id+"/aliases", "", nil)), map[string]any{"aliases": []any{}})
			ref2 := ixRef(t, e.Do(http.MethodPut, "/index/"+id+"?rev="+ref.Rev, w, map[string]any{"version": "2"}), http.StatusOK)
			e.Do(http.MethodDelete, "/index/"+id+"?rev="+ref2.Rev, w, nil).MustStatus(t, http.StatusOK)
			ixErrIs(t, e.Do(http.MethodGet, "/index/"+id, "", nil), http.StatusNotFound, "no record found")
		})
	}
}

func TestRecordsVersions(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	b0 := Rec("ver/v0", "/programs/p1")
	b0["version"] = "1"
	r0 := ixRef(t, e.Do(http.MethodPost, "/index", w, b0), http.StatusOK)

	b1 := Rec("ver/v1", "/programs/p1")
	b1["version"] = "2"
	r1 := ixRef(t, e.Do(http.MethodPost, "/index/ver/v0", w, b1), http.StatusOK)
	if r1.DID != "ver/v1" || r1.BaseID != r0.BaseID {
		t.Fatalf("new version ref %+v, base %+v", r1, r0)
	}
	b2 := Rec("", "/programs/p2") // minted did, no version field
	r2 := ixRef(t, e.Do(http.MethodPost, "/index/ver/v1", w, b2), http.StatusOK)
	if !ixUUIDRe.MatchString(r2.DID) || r2.BaseID != r0.BaseID {
		t.Fatalf("minted version ref %+v", r2)
	}
	want := map[string]any{"0": ixWire(r0, b0), "1": ixWire(r1, b1), "2": ixWire(r2, b2)}
	for _, id := range []string{"ver/v0", "ver/v1", r2.DID, r0.BaseID} {
		got := ixOK(t, e.Do(http.MethodGet, "/index/"+id+"/versions", "", nil))
		for _, v := range got {
			ixDates(t, v.(map[string]any))
		}
		ixEqual(t, "versions of "+id, got, want)
	}
	for _, id := range []string{"ver/v0", "ver/v1", r2.DID, r0.BaseID} {
		ixEqual(t, "latest of "+id, ixDates(t, ixOK(t, e.Do(http.MethodGet, "/index/"+id+"/latest", "", nil))), ixWire(r2, b2))
		ixEqual(t, "latest versioned of "+id, ixDates(t, ixOK(t, e.Do(http.MethodGet, "/index/"+id+"/latest?has_version=true", "", nil))), ixWire(r1, b1))
	}

	t.Run("errors", func(t *testing.T) {
		ixErrIs(t, e.Do(http.MethodGet, "/index/ver/none/versions", "", nil), http.StatusNotFound, "no record found")
		ixErrIs(t, e.Do(http.MethodGet, "/index/ver/none/latest", "", nil), http.StatusNotFound, "no record found")
		ixErrIs(t, e.Do(http.MethodPost, "/index/ver/none", w, Rec("", "/programs/p1")), http.StatusNotFound, "no record found")
		ixErrIs(t, e.Do(http.MethodPost, "/index/ver/v0", w, Rec("ver/v1", "/programs/p1")), http.StatusConflict, "record ver/v1 already exists")
		ixErrIs(t, e.Do(http.MethodPost, "/index/ver/v0", w, map[string]any{"form": "object"}), http.StatusBadRequest, "size is required")
		single := ixRef(t, e.Do(http.MethodPost, "/index", w, Rec("ver/single", "/programs/p1")), http.StatusOK)
		_ = single
		ixErrIs(t, e.Do(http.MethodGet, "/index/ver/single/latest?has_version=true", "", nil), http.StatusNotFound, "no versioned record found")
	})

	t.Run("update all versions", func(t *testing.T) {
		ixErrIs(t, e.Do(http.MethodPut, "/index/ver/v1/versions", w, map[string]any{}), http.StatusBadRequest, "give acl and/or authz")
		ixErrIs(t, e.Do(http.MethodPut, "/index/ver/none/versions", w, map[string]any{"acl": []string{"a"}}), http.StatusNotFound, "no record found")
		ixErrHas(t, e.Do(http.MethodPut, "/index/ver/v1/versions", w, map[string]any{"authz": []string{"programs"}}), http.StatusBadRequest, `authz path "programs" must start with '/'`)
		ixErrIs(t, e.Do(http.MethodPut, "/index/ver/v1/versions", w, map[string]any{"size": 1}), http.StatusBadRequest, `unknown field "size"`)
		r := e.Do(http.MethodPut, "/index/ver/v1/versions", w, map[string]any{"acl": []string{"phs9"}, "authz": []string{"/programs/p3"}}).MustStatus(t, http.StatusOK)
		var refs []indexd.Ref
		r.JSON(t, &refs)
		if len(refs) != 3 || refs[0].DID != r0.DID || refs[1].DID != r1.DID || refs[2].DID != r2.DID {
			t.Fatalf("refs %s", r.Body)
		}
		old := map[string]string{r0.DID: r0.Rev, r1.DID: r1.Rev, r2.DID: r2.Rev}
		for _, ref := range refs {
			if ref.BaseID != r0.BaseID || !ixRevRe.MatchString(ref.Rev) || ref.Rev == old[ref.DID] {
				t.Fatalf("ref %+v", ref)
			}
			got := ixGetRecord(t, e, ref.DID)
			if got["rev"] != ref.Rev {
				t.Fatalf("rev %v, want %s", got["rev"], ref.Rev)
			}
			ixEqual(t, "acl", got["acl"], []string{"phs9"})
			ixEqual(t, "authz", got["authz"], []string{"/programs/p3"})
		}
		// the other chain is untouched
		ixEqual(t, "other chain", ixGetRecord(t, e, "ver/single")["authz"], []string{"/programs/p1"})
	})

	t.Run("join by baseid, delete a version", func(t *testing.T) {
		b := Rec("ver/joined", "/programs/p1")
		b["baseid"] = r0.BaseID
		j := ixRef(t, e.Do(http.MethodPost, "/index", w, b), http.StatusOK)
		if j.BaseID != r0.BaseID {
			t.Fatalf("joined ref %+v", j)
		}
		if l := ixOK(t, e.Do(http.MethodGet, "/index/ver/v0/latest", "", nil)); l["did"] != "ver/joined" {
			t.Fatalf("latest %v, want ver/joined", l["did"])
		}
		e.Do(http.MethodDelete, "/index/ver/joined?rev="+j.Rev, w, nil).MustStatus(t, http.StatusOK)
		cur := ixGetRecord(t, e, "ver/v1")
		e.Do(http.MethodDelete, "/index/ver/v1?rev="+cur["rev"].(string), w, nil).MustStatus(t, http.StatusOK)
		vs := ixOK(t, e.Do(http.MethodGet, "/index/"+r0.BaseID+"/versions", "", nil))
		if len(vs) != 2 || vs["0"].(map[string]any)["did"] != "ver/v0" || vs["1"].(map[string]any)["did"] != r2.DID {
			t.Fatalf("versions after deletes: %v", ccKeys(vs))
		}
		if l := ixOK(t, e.Do(http.MethodGet, "/index/ver/v0/latest", "", nil)); l["did"] != r2.DID {
			t.Fatalf("latest %v, want %s", l["did"], r2.DID)
		}
		// v1 (version "2") is gone: the newest with a version is v0 (version "1")
		if l := ixOK(t, e.Do(http.MethodGet, "/index/"+r2.DID+"/latest?has_version=true", "", nil)); l["did"] != "ver/v0" {
			t.Fatalf("latest versioned %v, want ver/v0", l["did"])
		}
		ixErrIs(t, e.Do(http.MethodGet, "/index/ver/v1/versions", "", nil), http.StatusNotFound, "no record found")
	})
}

func TestRecordsBlank(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	// uploader is optional, as indexd (issue 10).
	if noUp := ixRef(t, e.Do(http.MethodPost, "/index/blank", w, map[string]any{}), http.StatusCreated); ixGetRecord(t, e, noUp.DID)["uploader"] != nil {
		t.Fatalf("blank without uploader: uploader %v", ixGetRecord(t, e, noUp.DID)["uploader"])
	}
	ixErrIs(t, e.Do(http.MethodPost, "/index/blank", w, map[string]any{"uploader": "bob", "size": 1}), http.StatusBadRequest, `unknown field "size"`)
	ixErrIs(t, e.Do(http.MethodPost, "/index/blank", "", map[string]any{"uploader": "bob"}), http.StatusUnauthorized, "unauthorized")

	ref := ixRef(t, e.Do(http.MethodPost, "/index/blank/", w, map[string]any{"uploader": "bob", "file_name": "f.txt", "authz": []string{"/programs/p1"}}), http.StatusCreated)
	if !ixUUIDRe.MatchString(ref.DID) {
		t.Fatalf("blank did %q", ref.DID)
	}
	blank := ixWire(ref, map[string]any{"uploader": "bob", "file_name": "f.txt", "authz": []string{"/programs/p1"}})
	ixEqual(t, "blank record", ixGetRecord(t, e, ref.DID), blank)

	fill := map[string]any{"size": 10, "hashes": map[string]string{"md5": ixMD5a}, "urls": []string{"s3://b/f.txt"}}
	ixErrIs(t, e.Do(http.MethodPut, "/index/blank/"+ref.DID, w, fill), http.StatusConflict, "rev is required")
	ixErrIs(t, e.Do(http.MethodPut, "/index/blank/"+ref.DID+"?rev=ffffffff", w, fill), http.StatusConflict, "revision mismatch")
	ixErrIs(t, e.Do(http.MethodPut, "/index/blank/nope?rev="+ref.Rev, w, fill), http.StatusNotFound, "no record found")
	ixErrIs(t, e.Do(http.MethodPut, "/index/blank/"+ref.DID+"?rev="+ref.Rev, w, map[string]any{"size": 10}), http.StatusBadRequest, "size and hashes are required")
	ixErrIs(t, e.Do(http.MethodPut, "/index/blank/"+ref.DID+"?rev="+ref.Rev, w, map[string]any{"size": -1, "hashes": map[string]string{"md5": ixMD5a}}), http.StatusBadRequest, "size must be >= 0")
	ixErrIs(t, e.Do(http.MethodPut, "/index/blank/"+ref.DID+"?rev="+ref.Rev, w, map[string]any{"size": 1, "hashes": map[string]string{"md5": "nothex"}}), http.StatusBadRequest, `hash md5 value "nothex" is malformed`)
	ixEqual(t, "blank after refused fills", ixGetRecord(t, e, ref.DID), blank)

	ref2 := ixRef(t, e.Do(http.MethodPut, "/index/blank/"+ref.DID+"?rev="+ref.Rev, w, fill), http.StatusOK)
	if ref2.DID != ref.DID || ref2.BaseID != ref.BaseID || ref2.Rev == ref.Rev {
		t.Fatalf("fill ref %+v", ref2)
	}
	filled := ixWire(ref2, map[string]any{"uploader": "bob", "file_name": "f.txt", "authz": []string{"/programs/p1"}})
	for k, v := range fill {
		filled[k] = v
	}
	ixEqual(t, "filled record", ixGetRecord(t, e, ref.DID), filled)
	// size and hashes are set once: a second fill (even with the right rev)
	// and a fill of an ordinary record are refused.
	ixErrIs(t, e.Do(http.MethodPut, "/index/blank/"+ref.DID+"?rev="+ref2.Rev, w, map[string]any{"size": 99, "hashes": map[string]string{"md5": ixMD5b}}),
		http.StatusBadRequest, "record "+ref.DID+" is not blank: size and hashes are already set")
	ixEqual(t, "filled record after refused refill", ixGetRecord(t, e, ref.DID), filled)
	full := ixRef(t, e.Do(http.MethodPost, "/index", w, Rec("blank-full", "/programs/p1")), http.StatusOK)
	ixErrIs(t, e.Do(http.MethodPut, "/index/blank/blank-full?rev="+full.Rev, w, map[string]any{"size": 1, "hashes": map[string]string{"md5": ixMD5b}}),
		http.StatusBadRequest, "record blank-full is not blank: size and hashes are already set")
}

// TestRecordsBlankVersion: POST /index/blank/{id} makes a blank new version
// (indexd's add_blank_version; INDEXD-WIRE "Keep"). It has its own route:
// PUT /index/blank/* would otherwise shadow POST /index/* (Echo answers 405).
func TestRecordsBlankVersion(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	ref := ixRef(t, e.Do(http.MethodPost, "/index/blank", w, map[string]any{"uploader": "bob", "authz": []string{"/programs/p1"}, "acl": []string{"phs1"}}), http.StatusCreated)
	// inherits authz and acl; explicit did
	v := ixRef(t, e.Do(http.MethodPost, "/index/blank/"+ref.DID, w, map[string]any{"uploader": "carol", "did": "blank-v2"}), http.StatusCreated)
	if v.DID != "blank-v2" || v.BaseID != ref.BaseID {
		t.Fatalf("blank version ref %+v", v)
	}
	ixEqual(t, "blank version", ixGetRecord(t, e, "blank-v2"), ixWire(v, map[string]any{"uploader": "carol", "authz": []string{"/programs/p1"}, "acl": []string{"phs1"}}))
	// own authz (and no inherited acl), minted did
	v2 := ixRef(t, e.Do(http.MethodPost, "/index/blank/blank-v2", w, map[string]any{"uploader": "dan", "file_name": "g", "authz": []string{"/programs/p2"}}), http.StatusCreated)
	if !ixUUIDRe.MatchString(v2.DID) || v2.BaseID != ref.BaseID {
		t.Fatalf("blank version ref %+v", v2)
	}
	ixEqual(t, "own authz", ixGetRecord(t, e, v2.DID), ixWire(v2, map[string]any{"uploader": "dan", "file_name": "g", "authz": []string{"/programs/p2"}}))
	ixEqual(t, "latest", ixOK(t, e.Do(http.MethodGet, "/index/"+ref.DID+"/latest", "", nil))["did"], v2.DID)
	ixErrIs(t, e.Do(http.MethodPost, "/index/blank/nope", w, map[string]any{"uploader": "x"}), http.StatusNotFound, "no record found")
	ixErrIs(t, e.Do(http.MethodPost, "/index/blank/"+ref.DID, w, map[string]any{"uploader": "x", "did": "blank-v2"}), http.StatusConflict, "record blank-v2 already exists")
	ixErrIs(t, e.Do(http.MethodPost, "/index/blank/"+ref.DID, "", map[string]any{"uploader": "x"}), http.StatusUnauthorized, "unauthorized")
	if vs := ixOK(t, e.Do(http.MethodGet, "/index/"+ref.DID+"/versions", "", nil)); len(vs) != 3 {
		t.Fatalf("%d versions, want 3", len(vs))
	}
}

func TestRecordsAliases(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	ra := ixRef(t, e.Do(http.MethodPost, "/index", w, Rec("al/a", "/programs/p1")), http.StatusOK)
	rb := ixRef(t, e.Do(http.MethodPost, "/index", w, Rec("al/b", "/programs/p1")), http.StatusOK)
	aliases := func(vals ...string) map[string]any {
		list := []map[string]string{}
		for _, v := range vals {
			list = append(list, map[string]string{"value": v})
		}
		return map[string]any{"aliases": list}
	}
	get := func(id string) map[string]any {
		return ixOK(t, e.Do(http.MethodGet, "/index/"+id+"/aliases", "", nil))
	}
	ixEqual(t, "no aliases", get("al/a"), aliases())
	ixEqual(t, "post", ixOK(t, e.Do(http.MethodPost, "/index/al/a/aliases", w, aliases("alias-2", "alias-1"))), aliases("alias-1", "alias-2"))
	// trailing slash form (indexd's), and an alias with ':' and '/'
	ixEqual(t, "post slash", ixOK(t, e.Do(http.MethodPost, "/index/al/a/aliases/", w, aliases("ark:/9/x"))), aliases("alias-1", "alias-2", "ark:/9/x"))
	ixEqual(t, "get", get("al/a"), aliases("alias-1", "alias-2", "ark:/9/x"))

	t.Run("resolve", func(t *testing.T) {
		for _, a := range []string{"alias-1", "ark:/9/x"} {
			ixEqual(t, "GET /"+a, ixDates(t, ixOK(t, e.Do(http.MethodGet, "/"+a, "", nil))), ixWire(ra, Rec("al/a", "/programs/p1")))
		}
		ixErrIs(t, e.Do(http.MethodGet, "/alias-none", "", nil), http.StatusNotFound, "no record found")
		ixErrIs(t, e.Do(http.MethodGet, "/a%20b", "", nil), http.StatusNotFound, "no record found")
	})
	t.Run("conflicts and bad input", func(t *testing.T) {
		ixErrIs(t, e.Do(http.MethodPost, "/index/al/b/aliases", w, aliases("alias-1")), http.StatusConflict, "alias alias-1 is already in use")
		ixErrIs(t, e.Do(http.MethodPost, "/index/al/a/aliases", w, aliases("alias-1")), http.StatusConflict, "alias alias-1 is already in use")
		// all or nothing: fresh-1 is not kept when alias-2 is taken
		ixErrIs(t, e.Do(http.MethodPost, "/index/al/b/aliases", w, aliases("fresh-1", "alias-2")), http.StatusConflict, "alias alias-2 is already in use")
		ixEqual(t, "b unchanged", get("al/b"), aliases())
		ixErrIs(t, e.Do(http.MethodPost, "/index/al/b/aliases", w, aliases("dup", "dup")), http.StatusBadRequest, `alias "dup" is given twice`)
		ixErrIs(t, e.Do(http.MethodPost, "/index/al/none/aliases", w, aliases("x1")), http.StatusNotFound, "no record found")
		ixErrIs(t, e.Do(http.MethodPost, "/index/al/b/aliases", w, map[string]any{}), http.StatusBadRequest, "aliases is required")
		ixErrIs(t, e.Do(http.MethodPost, "/index/al/b/aliases", w, map[string]any{"aliases": []map[string]string{{"name": "x"}}}), http.StatusBadRequest, `unknown field "name"`)
		ixErrHas(t, e.Do(http.MethodPost, "/index/al/b/aliases", w, aliases("a b")), http.StatusBadRequest, "alias: ", "not allowed")
		ixErrHas(t, e.Do(http.MethodPost, "/index/al/b/aliases", w, aliases("")), http.StatusBadRequest, "alias: id must not be empty")
		ixErrHas(t, e.Do(http.MethodPost, "/index/al/b/aliases", w, aliases("x/latest")), http.StatusBadRequest, `reserved segment "latest"`)
		ixErrIs(t, e.Do(http.MethodPost, "/index/al/b/aliases", "", aliases("x2")), http.StatusUnauthorized, "unauthorized")
		ixErrIs(t, e.Do(http.MethodGet, "/index/al/none/aliases", "", nil), http.StatusNotFound, "no record found")
		ixEqual(t, "b unchanged", get("al/b"), aliases())
	})
	t.Run("replace", func(t *testing.T) {
		ixEqual(t, "put", ixOK(t, e.Do(http.MethodPut, "/index/al/a/aliases", w, aliases("alias-3"))), aliases("alias-3"))
		ixErrIs(t, e.Do(http.MethodGet, "/alias-1", "", nil), http.StatusNotFound, "no record found")
		ixEqual(t, "post b", ixOK(t, e.Do(http.MethodPost, "/index/al/b/aliases", w, aliases("b-1"))), aliases("b-1"))
		// all or nothing: a's aliases survive a replace that hits a taken alias
		ixErrIs(t, e.Do(http.MethodPut, "/index/al/a/aliases", w, aliases("alias-4", "b-1")), http.StatusConflict, "alias b-1 is already in use")
		ixEqual(t, "a unchanged", get("al/a"), aliases("alias-3"))
		ixEqual(t, "put empty", ixOK(t, e.Do(http.MethodPut, "/index/al/a/aliases", w, map[string]any{"aliases": []any{}})), aliases())
		ixEqual(t, "put again", ixOK(t, e.Do(http.MethodPut, "/index/al/a/aliases", w, aliases("alias-3", "alias-1"))), aliases("alias-1", "alias-3"))
	})
	t.Run("delete", func(t *testing.T) {
		del := func(path string) {
			t.Helper()
			r := e.Do(http.MethodDelete, path, w, nil).MustStatus(t, http.StatusOK)
			var s string
			r.JSON(t, &s)
			if s != "Aliases deleted successfully" {
				t.Fatalf("delete body %s", r.Body)
			}
		}
		del("/index/al/a/aliases/alias-3")
		ixEqual(t, "after delete one", get("al/a"), aliases("alias-1"))
		ixErrIs(t, e.Do(http.MethodDelete, "/index/al/a/aliases/alias-3", w, nil), http.StatusNotFound, "alias alias-3 not found")
		ixErrIs(t, e.Do(http.MethodDelete, "/index/al/a/aliases/b-1", w, nil), http.StatusNotFound, "alias b-1 not found")
		ixErrIs(t, e.Do(http.MethodDelete, "/index/al/none/aliases", w, nil), http.StatusNotFound, "no record found")
		ixErrIs(t, e.Do(http.MethodDelete, "/index/al/a/aliases/alias-1", "", nil), http.StatusUnauthorized, "unauthorized")
		del("/index/al/b/aliases")
		ixEqual(t, "b after delete all", get("al/b"), aliases())
		ixEqual(t, "a untouched", get("al/a"), aliases("alias-1"))
		// a record's aliases go with it, and are free again
		e.Do(http.MethodDelete, "/index/al/a?rev="+ra.Rev, w, nil).MustStatus(t, http.StatusOK)
		ixErrIs(t, e.Do(http.MethodGet, "/alias-1", "", nil), http.StatusNotFound, "no record found")
		ixEqual(t, "reuse", ixOK(t, e.Do(http.MethodPost, "/index/al/b/aliases", w, aliases("alias-1"))), aliases("alias-1"))
		_ = rb
	})
}

func TestRecordsPrefix(t *testing.T) {
	t.Parallel()
	t.Run("prepend", func(t *testing.T) {
		e := Start(t, ixWithPrefix("dg.TEST/", true, false))
		w := e.Writer()
		ref := ixRef(t, e.Do(http.MethodPost, "/index", w, Rec("", "/programs/p1")), http.StatusOK)
		uuid, ok := strings.CutPrefix(ref.DID, "dg.TEST/")
		if !ok || !ixUUIDRe.MatchString(uuid) {
			t.Fatalf("minted did %q is not dg.TEST/<uuid>", ref.DID)
		}
		plain := ixRef(t, e.Do(http.MethodPost, "/index", w, Rec("plain-1", "/programs/p1")), http.StatusOK)
		// found with and without the prefix, on every read path
		for _, c := range []struct{ path, did string }{
			{"/index/" + uuid, ref.DID}, {"/index/" + ref.DID, ref.DID}, {"/" + uuid, ref.DID},
			{"/index/dg.TEST/plain-1", "plain-1"}, {"/index/plain-1", "plain-1"}, {"/dg.TEST/plain-1", "plain-1"},
			{"/index/" + uuid + "/latest", ref.DID}, {"/index/dg.TEST/plain-1/latest", "plain-1"},
		} {
			if got := ixOK(t, e.Do(http.MethodGet, c.path, "", nil)); got["did"] != c.did {
				t.Fatalf("GET %s: did %v, want %s", c.path, got["did"], c.did)
			}
		}
		if vs := ixOK(t, e.Do(http.MethodGet, "/index/"+uuid+"/versions", "", nil)); len(vs) != 1 || vs["0"].(map[string]any)["did"] != ref.DID {
			t.Fatalf("versions %v", vs)
		}
		r := e.Do(http.MethodPost, "/bulk/documents", "", []string{uuid, "dg.TEST/plain-1", "dg.TEST/none"}).MustStatus(t, http.StatusOK)
		var docs []map[string]any
		r.JSON(t, &docs)
		if got := ixDIDs(t, ixNorm(t, docs)); !reflect.DeepEqual(got, []string{ref.DID, "plain-1"}) {
			t.Fatalf("bulk dids %v", got)
		}
		lst := ixOK(t, e.Do(http.MethodGet, "/index?ids="+uuid+",dg.TEST/plain-1", "", nil))
		if got := ixDIDs(t, lst["records"]); !reflect.DeepEqual(got, []string{ref.DID, "plain-1"}) {
			t.Fatalf("ids dids %v", got)
		}
		ixEqual(t, "ids echo", lst["ids"], []string{uuid, "dg.TEST/plain-1"})
		// writes find the record through the other form too
		ref2 := ixRef(t, e.Do(http.MethodPut, "/index/"+uuid+"?rev="+ref.Rev, w, map[string]any{"version": "2"}), http.StatusOK)
		if ref2.DID != ref.DID {
			t.Fatalf("put ref %+v", ref2)
		}
		nv := ixRef(t, e.Do(http.MethodPost, "/index/dg.TEST/plain-1", w, Rec("", "/programs/p1")), http.StatusOK)
		if !strings.HasPrefix(nv.DID, "dg.TEST/") || nv.BaseID != plain.BaseID {
			t.Fatalf("new version ref %+v", nv)
		}
		blank := ixRef(t, e.Do(http.MethodPost, "/index/blank", w, map[string]any{"uploader": "u"}), http.StatusCreated)
		if !strings.HasPrefix(blank.DID, "dg.TEST/") {
			t.Fatalf("blank did %q", blank.DID)
		}
		e.Do(http.MethodDelete, "/index/"+uuid+"?rev="+ref2.Rev, w, nil).MustStatus(t, http.StatusOK)
		ixErrIs(t, e.Do(http.MethodGet, "/index/"+ref.DID, "", nil), http.StatusNotFound, "no record found")
		var mint struct{ GUIDs []string }
		mr := e.Do(http.MethodGet, "/guid/mint?count=3", "", nil)
		ixOK(t, mr)
		mr.JSON(t, &mint)
		if len(mint.GUIDs) != 3 {
			t.Fatalf("mint %v", mint)
		}
		for _, g := range mint.GUIDs {
			if u, ok := strings.CutPrefix(g, "dg.TEST/"); !ok || !ixUUIDRe.MatchString(u) {
				t.Fatalf("minted guid %q", g)
			}
		}
	})

	t.Run("prefix alias", func(t *testing.T) {
		e := Start(t, ixWithPrefix("dg.TEST/", false, true))
		w := e.Writer()
		ref := ixRef(t, e.Do(http.MethodPost, "/index", w, Rec("", "/programs/p1")), http.StatusOK)
		if !ixUUIDRe.MatchString(ref.DID) {
			t.Fatalf("minted did %q should carry no prefix", ref.DID)
		}
		alias := "dg.TEST/" + ref.DID
		ixEqual(t, "aliases", ixOK(t, e.Do(http.MethodGet, "/index/"+ref.DID+"/aliases", "", nil)), map[string]any{"aliases": []map[string]string{{"value": alias}}})
		if got := ixOK(t, e.Do(http.MethodGet, "/"+alias, "", nil)); got["did"] != ref.DID {
			t.Fatalf("GET /%s: %v", alias, got["did"])
		}
		// a prefixed did gets no alias
		pre := ixRef(t, e.Do(http.MethodPost, "/index", w, Rec("dg.TEST/already", "/programs/p1")), http.StatusOK)
		ixEqual(t, "no alias", ixOK(t, e.Do(http.MethodGet, "/index/"+pre.DID+"/aliases", "", nil)), map[string]any{"aliases": []any{}})
		// a blank record gets the alias; a new version gets none (docs/decisions.md)
		blank := ixRef(t, e.Do(http.MethodPost, "/index/blank", w, map[string]any{"uploader": "u", "authz": []string{"/programs/p1"}}), http.StatusCreated)
		ixEqual(t, "blank alias", ixOK(t, e.Do(http.MethodGet, "/index/"+blank.DID+"/aliases", "", nil)), map[string]any{"aliases": []map[string]string{{"value": "dg.TEST/" + blank.DID}}})
		v2 := ixRef(t, e.Do(http.MethodPost, "/index/"+pre.DID, w, Rec("v2-of-already", "/programs/p1")), http.StatusOK)
		ixEqual(t, "new version alias", ixOK(t, e.Do(http.MethodGet, "/index/"+v2.DID+"/aliases", "", nil)), map[string]any{"aliases": []any{}})
		// the generated alias round-trips through PUT and can be deleted alone
		body := ixOK(t, e.Do(http.MethodGet, "/index/"+ref.DID+"/aliases", "", nil))
		ixEqual(t, "put back", ixOK(t, e.Do(http.MethodPut, "/index/"+ref.DID+"/aliases", w, body)), body)
		r := e.Do(http.MethodDelete, "/index/"+ref.DID+"/aliases/"+alias, w, nil).MustStatus(t, http.StatusOK)
		if string(bytes.TrimSpace(r.Body)) != `"Aliases deleted successfully"` {
			t.Fatalf("delete body %s", r.Body)
		}
		ixEqual(t, "deleted", ixOK(t, e.Do(http.MethodGet, "/index/"+ref.DID+"/aliases", "", nil)), map[string]any{"aliases": []any{}})

		// the record and its alias are one write: a taken alias fails the create
		other := ixRef(t, e.Do(http.MethodPost, "/index", w, Rec("other-1", "/programs/p1")), http.StatusOK)
		ixOK(t, e.Do(http.MethodPost, "/index/"+other.DID+"/aliases", w, map[string]any{"aliases": []map[string]string{{"value": "dg.TEST/x-1"}}}))
		// (x-1 itself is taken: its prefix twin is another record's alias)
		ixErrIs(t, e.Do(http.MethodPost, "/index", w, Rec("x-1", "/programs/p1")), http.StatusConflict, "id x-1 is already in use by another record")
		if got := ixOK(t, e.Do(http.MethodGet, "/index?ids=x-1", "", nil)); len(got["records"].([]any)) != 0 {
			t.Fatalf("x-1 was written: %v", got["records"])
		}
		var mint struct{ GUIDs []string }
		mr := e.Do(http.MethodGet, "/guid/mint", "", nil)
		ixOK(t, mr)
		mr.JSON(t, &mint)
		if len(mint.GUIDs) != 1 || !ixUUIDRe.MatchString(mint.GUIDs[0]) {
			t.Fatalf("mint without PREPEND_PREFIX: %v", mint.GUIDs)
		}
	})
}

func TestRecordsBulkDocuments(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	bodies := map[string]map[string]any{}
	refs := map[string]indexd.Ref{}
	for _, id := range []string{"bk/2", "bk/1", "bk/3"} {
		bodies[id] = Rec(id, "/programs/p1")
		refs[id] = ixRef(t, e.Do(http.MethodPost, "/index", w, bodies[id]), http.StatusOK)
	}
	r := e.Do(http.MethodPost, "/bulk/documents", "", []string{"bk/3", "bk/none", "bk/1"}).MustStatus(t, http.StatusOK)
	var got []map[string]any
	r.JSON(t, &got)
	for _, m := range got {
		ixDates(t, m)
	}
	ixEqual(t, "bulk", got, []any{ixWire(refs["bk/1"], bodies["bk/1"]), ixWire(refs["bk/3"], bodies["bk/3"])})
	r = e.Do(http.MethodPost, "/bulk/documents", "", []string{"bk/none"}).MustStatus(t, http.StatusOK)
	if string(bytes.TrimSpace(r.Body)) != "[]" {
		t.Fatalf("no matches: %s", r.Body)
	}
	ixErrIs(t, e.Do(http.MethodPost, "/bulk/documents", "", []string{}), http.StatusBadRequest, "body must be a non-empty JSON array of ids")
	ixErrIs(t, e.Do(http.MethodPost, "/bulk/documents", "", "null"), http.StatusBadRequest, "body must be a non-empty JSON array of ids")
	ixErrIs(t, e.Do(http.MethodPost, "/bulk/documents", "", map[string]any{"ids": []string{"bk/1"}}), http.StatusBadRequest, "request body must be an array, not object")
	ixErrIs(t, e.Do(http.MethodPost, "/bulk/documents", "", []any{1}), http.StatusBadRequest, "request body: expected a string, got number")
	ixErrHas(t, e.Do(http.MethodPost, "/bulk/documents", "", []string{"bk/1", "a b"}), http.StatusBadRequest, `id "a b" contains a character that is not allowed`)
	many := make([]string, indexd.MaxBulkIDs+1)
	for i := range many {
		many[i] = fmt.Sprintf("id-%d", i)
	}
	ixErrIs(t, e.Do(http.MethodPost, "/bulk/documents", "", many), http.StatusBadRequest, "at most 1024 ids per request")
}

func TestRecordsURLQueries(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	mk := func(did string, urls []string, um map[string]any, version string) indexd.Ref {
		b := Rec(did, "/programs/p1")
		b["urls"] = urls
		if um != nil {
			b["urls_metadata"] = um
		}
		if version != "" {
			b["version"] = version
		}
		if did == "uq-4" {
			b["size"], b["hashes"] = 7, map[string]string{"md5": ixMD5b}
		}
		return ixRef(t, e.Do(http.MethodPost, "/index", w, b), http.StatusOK)
	}
	u1 := mk("uq-1", []string{"s3://bkt/one", "gs://bkt/one"}, map[string]any{"s3://bkt/one": map[string]string{"state": "validated", "tier": "hot"}}, "1")
	u2 := mk("uq-2", []string{"s3://other/two"}, map[string]any{"s3://other/two": map[string]string{"state": "uploaded"}}, "")
	mk("uq-3", []string{}, nil, "")
	// a url listed twice is one url (indexd stores a url once per record)
	u4 := mk("uq-4", []string{"s3://d/4b", "s3://d/4a", "s3://d/4b"}, map[string]any{
		"s3://d/4a": map[string]string{"state": "validated"}, "s3://d/4b": map[string]string{"state": "validated", "k": "v"},
	}, "")
	entry := func(u string, md map[string]string) map[string]any { return map[string]any{"url": u, "metadata": md} }
	e1s := entry("s3://bkt/one", map[string]string{"state": "validated", "tier": "hot"})
	e1g := entry("gs://bkt/one", map[string]string{})
	e2 := entry("s3://other/two", map[string]string{"state": "uploaded"})
	e4b := entry("s3://d/4b", map[string]string{"state": "validated", "k": "v"})
	e4a := entry("s3://d/4a", map[string]string{"state": "validated"})
	env := func(urls []any, limit, start int, size any, hashes map[string]string) map[string]any {
		return map[string]any{"urls": urls, "limit": limit, "start": start, "size": size, "hashes": hashes}
	}
	none := map[string]string{}

	t.Run("urls", func(t *testing.T) {
		get := func(path string) map[string]any { t.Helper(); return ixOK(t, e.Do(http.MethodGet, path, "", nil)) }
		all := []any{e1s, e1g, e2, e4b, e4a}
		// indexd's envelope; one entry per (record, url), in did then url order
		ixEqual(t, "/urls", get("/urls"), env(all, 100, 0, nil, none))
		ixEqual(t, "/urls/ (indexd's spelling)", get("/urls/"), env(all, 100, 0, nil, none))
		ixEqual(t, "ids", get("/urls?ids=uq-2,uq-3,nope"), env([]any{e2}, 100, 0, nil, none))
		ixEqual(t, "empty ids", get("/urls?ids="), env(all, 100, 0, nil, none))
		// limit and start count url entries, not records
		ixEqual(t, "limit", get("/urls?limit=1"), env([]any{e1s}, 1, 0, nil, none))
		ixEqual(t, "start offset", get("/urls?start=1&limit=2"), env([]any{e1g, e2}, 2, 1, nil, none))
		ixEqual(t, "start past the end", get("/urls?start=5"), env([]any{}, 100, 5, nil, none))
		ixEqual(t, "limit 0", get("/urls?limit=0"), env([]any{}, 0, 0, nil, none))
		ixEqual(t, "size", get("/urls?size=7"), env([]any{e4b, e4a}, 100, 0, 7, none))
		ixEqual(t, "size 0", get("/urls?size=0"), env([]any{}, 100, 0, 0, none))
		ixEqual(t, "hash", get("/urls?hash=md5:"+ixMD5b), env([]any{e4b, e4a}, 100, 0, nil, map[string]string{"md5": ixMD5b}))
		ixEqual(t, "hash repeated, last wins", get("/urls?hash=md5:"+ixMD5b+"&hash=md5:0123456789abcdef0123456789abcdef&ids=uq-1"),
			env([]any{e1s, e1g}, 100, 0, nil, map[string]string{"md5": "0123456789abcdef0123456789abcdef"}))
		ixEqual(t, "all filters", get("/urls?ids=uq-4,uq-1&size=7&hash=md5:"+ixMD5b+"&start=1&limit=5"),
			env([]any{e4a}, 5, 1, 7, map[string]string{"md5": ixMD5b}))
		ixErrIs(t, e.Do(http.MethodGet, "/urls?limit=2000", "", nil), http.StatusBadRequest, "limit must be an integer between 0 and 1024")
		ixErrIs(t, e.Do(http.MethodGet, "/urls?hash=md5:zz", "", nil), http.StatusBadRequest, `hash md5 value "zz" is malformed`)
		ixErrIs(t, e.Do(http.MethodGet, "/urls?start=uq-1", "", nil), http.StatusBadRequest, "start must be an integer >= 0 (an offset into the urls)")
		ixErrIs(t, e.Do(http.MethodGet, "/urls?start=100001", "", nil), http.StatusBadRequest, "start may not pass 100000 urls")
		ixErrIs(t, e.Do(http.MethodGet, "/urls?size=-1", "", nil), http.StatusBadRequest, "size must be an integer >= 0")
		ixErrIs(t, e.Do(http.MethodGet, "/urls?url=s3://bkt/one", "", nil), http.StatusBadRequest, `unknown query parameter "url" (GET /urls takes ids, hash, size, start and limit)`)
	})
	q := func(path string) []any {
		t.Helper()
		r := e.Do(http.MethodGet, path, "", nil).MustStatus(t, http.StatusOK)
		var out []any
		r.JSON(t, &out)
		return out
	}
	t.Run("urls/q", func(t *testing.T) {
		// indexd's default fields: did and urls
		full1 := map[string]any{"did": "uq-1", "urls": []string{"s3://bkt/one", "gs://bkt/one"}}
		full2 := map[string]any{"did": "uq-2", "urls": []string{"s3://other/two"}}
		full4 := map[string]any{"did": "uq-4", "urls": []string{"s3://d/4b", "s3://d/4a", "s3://d/4b"}}
		// a record without urls never matches
		ixEqual(t, "all", q("/_query/urls/q"), []any{full1, full2, full4})
		ixEqual(t, "trailing slash", q("/_query/urls/q/"), []any{full1, full2, full4})
		ixEqual(t, "include", q("/_query/urls/q?include=bkt/"), []any{full1})
		ixEqual(t, "exclude", q("/_query/urls/q?exclude=gs://"), []any{full2, full4})
		ixEqual(t, "include+exclude", q("/_query/urls/q?include=s3://&exclude=gs://"), []any{full2, full4})
		ixEqual(t, "versioned", q("/_query/urls/q?versioned=true"), []any{full1})
		ixEqual(t, "versioned y", q("/_query/urls/q?versioned=Y"), []any{full1})
		ixEqual(t, "unversioned", q("/_query/urls/q?versioned=false"), []any{full2, full4})
		ixEqual(t, "fields", q("/_query/urls/q?fields=did"), []any{map[string]any{"did": "uq-1"}, map[string]any{"did": "uq-2"}, map[string]any{"did": "uq-4"}})
		ixEqual(t, "fields with rev", q("/_query/urls/q?fields=did,rev&exclude=d/4"), []any{map[string]any{"did": "uq-1", "rev": u1.Rev}, map[string]any{"did": "uq-2", "rev": u2.Rev}})
		ixEqual(t, "limit offset", q("/_query/urls/q?limit=1&offset=1"), []any{full2})
		ixEqual(t, "limit 0", q("/_query/urls/q?limit=0"), []any{})
		ixEqual(t, "offset at the cap", q("/_query/urls/q?offset=100000"), []any{})
		ixErrIs(t, e.Do(http.MethodGet, "/_query/urls/q?offset=100001", "", nil), http.StatusBadRequest, "offset may not pass 100000 records")
		ixErrIs(t, e.Do(http.MethodGet, "/_query/urls/q?foo=1", "", nil), http.StatusBadRequest, `unknown query parameter "foo"`)
		ixErrIs(t, e.Do(http.MethodGet, "/_query/urls/q?key=state", "", nil), http.StatusBadRequest, `unknown query parameter "key"`)
		// Unknown field names are ignored, as indexd (issue 10).
		ixEqual(t, "fields with unknown names", q("/_query/urls/q?fields=did,file_name,size&exclude=d/4"), []any{map[string]any{"did": "uq-1"}, map[string]any{"did": "uq-2"}})
		ixErrIs(t, e.Do(http.MethodGet, "/_query/urls/q?versioned=maybe", "", nil), http.StatusBadRequest, "versioned must be true or false")
		ixErrIs(t, e.Do(http.MethodGet, "/_query/urls/q?limit=-1", "", nil), http.StatusBadRequest, "limit must be an integer between 0 and 1024")
		ixErrIs(t, e.Do(http.MethodGet, "/_query/urls/q?offset=x", "", nil), http.StatusBadRequest, "offset must be a non-negative integer")
		ixErrIs(t, e.Do(http.MethodGet, "/_query/urls/q?include=%ff", "", nil), http.StatusBadRequest, `query parameter "include" is not valid UTF-8 text`)
	})
	t.Run("urls/metadata/q", func(t *testing.T) {
		// one row per matching (did, url), carrying that url only
		row := func(did, u, rev string) map[string]any {
			return map[string]any{"did": did, "urls": []string{u}, "rev": rev}
		}
		r1 := row("uq-1", "s3://bkt/one", u1.Rev)
		r4b, r4a := row("uq-4", "s3://d/4b", u4.Rev), row("uq-4", "s3://d/4a", u4.Rev)
		ixEqual(t, "key value", q("/_query/urls/metadata/q?key=state&value=validated"), []any{r1, r4b, r4a})
		ixEqual(t, "trailing slash", q("/_query/urls/metadata/q/?key=state&value=validated"), []any{r1, r4b, r4a})
		ixEqual(t, "key value url", q("/_query/urls/metadata/q?key=state&value=validated&url=s3://bkt"), []any{r1})
		ixEqual(t, "url substring picks one url of a record", q("/_query/urls/metadata/q?key=state&value=validated&url=4a"), []any{r4a})
		ixEqual(t, "other key", q("/_query/urls/metadata/q?key=k&value=v"), []any{r4b})
		ixEqual(t, "url mismatch", q("/_query/urls/metadata/q?key=state&value=validated&url=gs://"), []any{})
		ixEqual(t, "versioned", q("/_query/urls/metadata/q?key=state&value=uploaded&versioned=true"), []any{})
		ixEqual(t, "unversioned", q("/_query/urls/metadata/q?key=state&value=validated&versioned=false"), []any{r4b, r4a})
		ixEqual(t, "limit offset count rows", q("/_query/urls/metadata/q?key=state&value=validated&limit=1&offset=2"), []any{r4a})
		ixEqual(t, "fields", q("/_query/urls/metadata/q?key=state&value=uploaded&fields=did,rev"), []any{map[string]any{"did": "uq-2", "rev": u2.Rev}})
		ixErrIs(t, e.Do(http.MethodGet, "/_query/urls/metadata/q?key=state", "", nil), http.StatusBadRequest, "key and value are required")
		ixErrIs(t, e.Do(http.MethodGet, "/_query/urls/metadata/q?key=state&value=x&include=a", "", nil), http.StatusBadRequest, `unknown query parameter "include"`)
		ixErrIs(t, e.Do(http.MethodGet, "/_query/urls/metadata/q?key=state&value=x&offset=100001", "", nil), http.StatusBadRequest, "offset may not pass 100000 records")
	})
}

// TestRecordsURLQueriesLiteral: search terms are literal text, whatever
// they hold — LIKE wildcards (% and _) and backslashes in include=, quotes
// and jsonpath syntax in a metadata key or value — and short include terms
// (fewer than three characters, which the trigram index cannot serve) still
// find their records.
func TestRecordsURLQueriesLiteral(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	mk := func(did, u string, um map[string]string) {
		b := Rec(did, "/programs/p1")
		b["urls"] = []string{u}
		b["urls_metadata"] = map[string]any{u: um}
		ixRef(t, e.Do(http.MethodPost, "/index", w, b), http.StatusOK)
	}
	mk("lit-1", `s3://b/a_b%c\\d`, map[string]string{`we"ird key`: `$.* ? (@ == "x")`})
	mk("lit-2", "s3://b/aXbYc", map[string]string{"plain": "v"})
	dids := func(path string) string {
		t.Helper()
		var out []map[string]any
		e.Do(http.MethodGet, path, "", nil).MustStatus(t, http.StatusOK).JSON(t, &out)
		var ds []string
		for _, m := range out {
			ds = append(ds, m["did"].(string))
		}
		return strings.Join(ds, ",")
	}
	for _, c := range []struct{ include, want string }{
		{"a_b%c", "lit-1"}, // not a pattern: aXbYc does not match
		{`c\\d`, "lit-1"},
		{"_", "lit-1"},
		{"%", "lit-1"},
		{"aX", "lit-2"},
		{"s3://b/a", "lit-1,lit-2"},
		{"nothing", ""},
	} {
		if got := dids("/_query/urls/q?include=" + url.QueryEscape(c.include)); got != c.want {
			t.Errorf("include=%q: %q, want %q", c.include, got, c.want)
		}
	}
	if got := dids("/_query/urls/metadata/q?key=" + url.QueryEscape(`we"ird key`) + "&value=" + url.QueryEscape(`$.* ? (@ == "x")`)); got != "lit-1" {
		t.Errorf("metadata with jsonpath syntax: %q", got)
	}
	if got := dids("/_query/urls/metadata/q?key=plain&value=V"); got != "" {
		t.Errorf("metadata values compare exactly: %q", got)
	}
}

func TestRecordsServiceEndpoints(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	r := e.Do(http.MethodGet, "/_status", "", nil).MustStatus(t, http.StatusOK)
	if string(r.Body) != "Healthy" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("_status %q (%s)", r.Body, r.Header.Get("Content-Type"))
	}
	ixEqual(t, "_version", ixOK(t, e.Do(http.MethodGet, "/_version", "", nil)), map[string]string{"version": app.Version, "commit": app.Commit})
	ixEqual(t, "_stats empty", ixOK(t, e.Do(http.MethodGet, "/_stats", "", nil)), map[string]int{"fileCount": 0, "totalFileSize": 0})
	for i, size := range []int{100, 200, 300} {
		b := Rec(fmt.Sprintf("st-%d", i), "/programs/p1")
		b["size"] = size
		ixRef(t, e.Do(http.MethodPost, "/index", w, b), http.StatusOK)
	}
	ixRef(t, e.Do(http.MethodPost, "/index/blank", w, map[string]any{"uploader": "u"}), http.StatusCreated)
	cur := ixGetRecord(t, e, "st-1")
	e.Do(http.MethodDelete, "/index/st-1?rev="+cur["rev"].(string), w, nil).MustStatus(t, http.StatusOK)
	ixEqual(t, "_stats", ixOK(t, e.Do(http.MethodGet, "/_stats", "", nil)), map[string]int{"fileCount": 3, "totalFileSize": 400})

	t.Run("guid mint", func(t *testing.T) {
		var m struct{ GUIDs []string }
		r := e.Do(http.MethodGet, "/guid/mint", "", nil)
		ixOK(t, r)
		r.JSON(t, &m)
		if len(m.GUIDs) != 1 || !ixUUIDRe.MatchString(m.GUIDs[0]) {
			t.Fatalf("mint %s", r.Body)
		}
		r = e.Do(http.MethodGet, "/guid/mint?count=50", "", nil)
		ixOK(t, r)
		r.JSON(t, &m)
		seen := map[string]bool{}
		for _, g := range m.GUIDs {
			if !ixUUIDRe.MatchString(g) || seen[g] {
				t.Fatalf("guid %q bad or repeated", g)
			}
			seen[g] = true
		}
		if len(seen) != 50 {
			t.Fatalf("%d guids", len(seen))
		}
		ixEqual(t, "count=0", ixOK(t, e.Do(http.MethodGet, "/guid/mint?count=0", "", nil)), map[string]any{"guids": []any{}})
		for _, bad := range []string{"abc", "-1", "10001", "1.5"} {
			ixErrIs(t, e.Do(http.MethodGet, "/guid/mint?count="+bad, "", nil), http.StatusBadRequest, "count must be an integer between 0 and 10000")
		}
	})
	t.Run("unknown routes and methods", func(t *testing.T) {
		ixErrIs(t, e.Do(http.MethodGet, "/index/st-0/aliases/x", "", nil), http.StatusMethodNotAllowed, "method not allowed")
		ixErrIs(t, e.Do(http.MethodGet, "/no/such/record", "", nil), http.StatusNotFound, "no record found")
	})
}
