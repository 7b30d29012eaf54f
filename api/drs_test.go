package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/policy/policytest"
)

func drsPtr[T any](v T) *T { return &v }

// drsT0 is the fixture's content dates (fractional seconds on purpose).
var drsT0 = time.Date(2024, 1, 2, 3, 4, 5, 600000000, time.UTC)

// drsFixture is created through the store by newDRSHarness. dg.T/a1 and
// dg.T/blank are under /programs/p1/projects/a, dg.T/b2 under
// /programs/p2, open has no authz; dg.T/blank is not a DRS object.
func drsFixture() []indexd.NewRecord {
	return []indexd.NewRecord{
		{
			DID: "dg.T/a1", BaseID: "b1", Size: drsPtr(int64(10)), FileName: drsPtr("a.bam"), Version: drsPtr("v1"),
			Description: drsPtr("desc"), ContentCreatedDate: drsPtr(drsT0), ContentUpdatedDate: drsPtr(drsT0.Add(time.Hour)),
			Hashes: map[string]string{"md5": strings.Repeat("a", 32), "sha256": strings.Repeat("b", 64), "crc": "0badc0de"},
			URLs:   []string{"s3://bkt/a", "https://h/a", "s3://bkt2/a", "http://h/a", "az://c/a", "gs://g/a"},
			Authz:  []string{"/programs/p1/projects/a"}, Aliases: []string{"al-1"},
		},
		{DID: "dg.T/blank", BaseID: "b2", Authz: []string{"/programs/p1/projects/a"}},
		{
			DID: "dg.T/b2", BaseID: "b3", Size: drsPtr(int64(5)),
			Hashes: map[string]string{"md5": strings.Repeat("c", 32)}, URLs: []string{"gs://g/b"}, Authz: []string{"/programs/p2"},
		},
		{
			DID: "open", BaseID: "b4", Size: drsPtr(int64(1)),
			Hashes: map[string]string{"etag": strings.Repeat("d", 32) + "-2"}, URLs: []string{"s3://x/y"},
		},
	}
}

// drsHarness is an api.Server on the real stack (testStack) holding
// drsFixture, with three callers: reader (read on /programs/p1/projects/a),
// storage (read and read-storage on /programs/p1) and a basic-auth admin.
type drsHarness struct {
	t       *testing.T
	stack   *testStack
	srv     *Server
	st      *SettingsHolder
	reader  string // Authorization header values
	storage string
	admin   string
}

func newDRSHarness(t *testing.T, cfg Config, st discovery.Settings) *drsHarness {
	t.Helper()
	stack := newTestStack(t)
	for _, n := range drsFixture() {
		if _, err := stack.store.Create(context.Background(), n); err != nil {
			t.Fatalf("create %s: %v", n.DID, err)
		}
	}
	h := &drsHarness{
		t:       t,
		stack:   stack,
		reader:  stack.bearer("reader", map[string][]string{"/programs/p1/projects/a": {"read"}}),
		storage: stack.bearer("storage", map[string][]string{"/programs/p1": {"read", "read-storage"}}),
		admin:   stack.basicAdmin("admin", "admin-password"),
	}
	h.srv, h.st = stack.server(cfg, st)
	return h
}

// another is a second server on the same database and policy service.
func (h *drsHarness) another(cfg Config, st discovery.Settings) *drsHarness {
	h.t.Helper()
	o := *h
	o.srv, o.st = h.stack.server(cfg, st)
	return &o
}

// send serves one request; target may be a path or an absolute URL (whose
// host becomes the request's Host).
func (h *drsHarness) send(method, target, auth, body string) *httptest.ResponseRecorder {
	h.t.Helper()
	var req *http.Request
	if body != "" {
		req = httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, target, nil)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, req)
	return rec
}

func (h *drsHarness) do(method, target, auth, body string) (int, map[string]any) {
	h.t.Helper()
	rec := h.send(method, target, auth, body)
	var m map[string]any
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			h.t.Fatalf("%s %s: body is not a JSON object: %s", method, target, rec.Body)
		}
	}
	return rec.Code, m
}

// ---- mapping ----

// The DrsObject of a stored record, as served.
func TestDRSChecksumsAndMethods(t *testing.T) {
	h := newDRSHarness(t, Config{Hostname: "drs.example.org"}, discovery.DefaultSettings())
	rec := h.send("GET", "/ga4gh/drs/v1/objects/dg.T%2Fa1", "", "")
	if rec.Code != 200 {
		t.Fatalf("GET a1: %d %s", rec.Code, rec.Body)
	}
	var o drsObject
	if err := json.Unmarshal(rec.Body.Bytes(), &o); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if o.SelfURI != "drs://drs.example.org/dg.T%2Fa1" {
		t.Errorf("self_uri %q", o.SelfURI)
	}
	// Content dates win over the store's own dates.
	if o.CreatedTime != "2024-01-02T03:04:05.6Z" || o.UpdatedTime != "2024-01-02T04:04:05.6Z" {
		t.Errorf("times %q %q", o.CreatedTime, o.UpdatedTime)
	}
	wantSums := []drsChecksum{{strings.Repeat("b", 64), "sha-256"}, {strings.Repeat("a", 32), "md5"}, {"0badc0de", "crc32"}}
	if len(o.Checksums) != len(wantSums) {
		t.Fatalf("checksums %+v", o.Checksums)
	}
	for i := range wantSums {
		if o.Checksums[i] != wantSums[i] {
			t.Errorf("checksum %d = %+v, want %+v", i, o.Checksums[i], wantSums[i])
		}
	}
	type am struct{ typ, id, url string }
	want := []am{{"s3", "s3", ""}, {"https", "https", "https://h/a"}, {"s3", "s3-2", ""}, {"https", "http", "http://h/a"}, {"gs", "gs", ""}}
	if len(o.AccessMethods) != len(want) {
		t.Fatalf("access methods %+v", o.AccessMethods)
	}
	for i, w := range want {
		got := o.AccessMethods[i]
		u := ""
		if got.AccessURL != nil {
			u = got.AccessURL.URL
		}
		if got.Type != w.typ || got.AccessID != w.id || u != w.url {
			t.Errorf("access method %d = %+v (url %q), want %+v", i, got, u, w)
		}
	}
	for _, k := range []string{"mime_type", "contents"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s present", k)
		}
	}
	if m["name"] != "a.bam" || m["version"] != "v1" || m["description"] != "desc" {
		t.Errorf("fields: %v", m)
	}

	// A record without optional fields omits them: no nulls. Without a
	// configured hostname the request's host makes the self URI, and
	// without content dates the store's dates are the times.
	rec = h.another(Config{}, discovery.DefaultSettings()).send("GET", "http://h:1/ga4gh/drs/v1/objects/open", "", "")
	if rec.Code != 200 {
		t.Fatalf("GET open: %d %s", rec.Code, rec.Body)
	}
	b2 := rec.Body.String()
	if strings.Contains(b2, "null") {
		t.Errorf("null in %s", b2)
	}
	for _, k := range []string{`"name"`, `"version"`, `"description"`, `"aliases"`} {
		if strings.Contains(b2, k) {
			t.Errorf("%s present in %s", k, b2)
		}
	}
	var o2 drsObject
	if err := json.Unmarshal(rec.Body.Bytes(), &o2); err != nil {
		t.Fatal(err)
	}
	if o2.SelfURI != "drs://h:1/open" {
		t.Errorf("self uri %q", o2.SelfURI)
	}
	stored, err := h.stack.store.GetForWrite(context.Background(), []string{"open"})
	if err != nil {
		t.Fatal(err)
	}
	if o2.CreatedTime != drsTime(stored.CreatedDate) || o2.UpdatedTime != drsTime(stored.UpdatedDate) {
		t.Errorf("times %q %q, stored %v %v", o2.CreatedTime, o2.UpdatedTime, stored.CreatedDate, stored.UpdatedDate)
	}
}

func TestDRSSelfURICompact(t *testing.T) {
	for _, tc := range []struct {
		name, prefix, defaultPrefix, did, want string
	}{
		{"no compact prefix", "", "", "dg.T/abc", "drs://h/dg.T%2Fabc"},
		{"under the prefix", "dg.T", "dg.X/", "dg.T/abc", "drs://dg.T:abc"},
		{"accession keeps : @ + =", "dg.T", "", "dg.T/ark:1@2+3=4", "drs://dg.T:ark:1@2+3=4"},
		{"accession encodes /", "dg.T", "", "dg.T/x/y@z", "drs://dg.T:x%2Fy@z"},
		{"accession with an access segment", "dg.T", "", "dg.T/x/access/y", "drs://dg.T:x%2Faccess%2Fy"},
		{"under DEFAULT_PREFIX only", "dg.T", "dg.X/", "dg.X/abc", "drs://h/dg.X%2Fabc"},
		{"unprefixed, DEFAULT_PREFIX is the compact prefix", "dg.T", "dg.T/", "abc", "drs://h/abc"},
		{"unprefixed", "dg.T", "", "plain", "drs://h/plain"},
		{"prefix look-alike", "dg.T", "", "dg.TX/abc", "drs://h/dg.TX%2Fabc"},
		{"other characters", "dg.T", "", "a/b:c", "drs://h/a%2Fb%3Ac"},
		{"empty accession", "dg.T", "", "dg.T/", "drs://h/dg.T%2F"},
	} {
		s := &Server{cfg: Config{DRSCompactPrefix: tc.prefix, DefaultPrefix: tc.defaultPrefix}}
		if got := s.selfURI(tc.did, "h"); got != tc.want {
			t.Errorf("%s: selfURI(%q) = %q, want %q", tc.name, tc.did, got, tc.want)
		}
	}
	if got := EncodeDRSID("A-z0._~ /:+"); got != "A-z0._~%20%2F%3A%2B" {
		t.Errorf("EncodeDRSID = %q", got)
	}
	if got := encodeAccession("a%b c/d\x80"); got != "a%25b%20c%2Fd%80" {
		t.Errorf("encodeAccession = %q", got)
	}
}

func TestParseDRSTarget(t *testing.T) {
	cases := []struct {
		raw    string
		want   drsTarget
		errSub string
	}{
		{raw: "abc", want: drsTarget{ID: "abc"}},
		{raw: "dg.1/abc/", want: drsTarget{ID: "dg.1/abc"}},
		{raw: "dg.1%2Fabc", want: drsTarget{ID: "dg.1/abc"}},
		{raw: "dg.1/abc/access/s3", want: drsTarget{ID: "dg.1/abc", AccessID: "s3", Access: true}},
		{raw: "dg.1%2Fabc/access/s3-2", want: drsTarget{ID: "dg.1/abc", AccessID: "s3-2", Access: true}},
		{raw: "x%2Faccess%2Fs3", want: drsTarget{ID: "x/access/s3"}},
		{raw: "x/access/", errSub: "access_id is required"},
		{raw: "x/access", errSub: "access_id is required"},
		{raw: "x/access/a%2Fb", errSub: "one non-empty path segment"},
		{raw: "bad%zz", errSub: "percent-encoded"},
		{raw: "a//b", errSub: "empty path segment"},
		{raw: "a/versions", errSub: "reserved"},
	}
	for _, c := range cases {
		got, err := ParseDRSTarget(c.raw)
		if c.errSub != "" {
			if err == nil || !strings.Contains(indexd.Message(err), c.errSub) {
				t.Errorf("ParseDRSTarget(%q) err = %v, want %q", c.raw, err, c.errSub)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseDRSTarget(%q) = %+v, %v; want %+v", c.raw, got, err, c.want)
		}
	}
}

func TestParseExpand(t *testing.T) {
	for v, want := range map[string]bool{"true": true, "TRUE": true, "True": true, "false": false, "FaLsE": false} {
		got, err := ParseExpand(v, true)
		if err != nil || got != want {
			t.Errorf("ParseExpand(%q) = %v, %v", v, got, err)
		}
	}
	for _, v := range []string{"", "yes", "2", "tru", "1", "0", " true"} {
		if _, err := ParseExpand(v, true); err == nil {
			t.Errorf("ParseExpand(%q) accepted", v)
		}
	}
	if got, err := ParseExpand("", false); got || err != nil {
		t.Errorf("absent expand = %v, %v", got, err)
	}
}

func TestServiceID(t *testing.T) {
	for host, want := range map[string]string{"data.example.org": "org.example.data.drs", "127.0.0.1:8080": "indexd.drs", "localhost": "indexd.drs", "a.b:443": "b.a.drs"} {
		if got := serviceID(host); got != want {
			t.Errorf("serviceID(%q) = %q, want %q", host, got, want)
		}
	}
}

// ---- handlers, on the real store, policy client and authenticator ----

func TestDRSHandlersFiltering(t *testing.T) {
	h := newDRSHarness(t, Config{DRSMaxBulk: 3}, discovery.Settings{AreRecordsDiscoverable: false})
	const base = "/ga4gh/drs/v1/objects/"

	code, body := h.do("GET", base+"dg.T/a1", h.reader, "")
	if code != 200 || body["id"] != "dg.T/a1" {
		t.Fatalf("reader GET: %d %v", code, body)
	}
	code, body = h.do("GET", base+"dg.T%2Fa1", "", "")
	if code != 403 || body["status_code"] != float64(403) || body["msg"] == "" {
		t.Fatalf("anonymous GET invisible: %d %v", code, body)
	}
	if code, _ = h.do("GET", base+"nope", "", ""); code != 404 {
		t.Fatalf("missing: %d", code)
	}
	if code, body = h.do("GET", base+"dg.T/blank", h.reader, ""); code != 404 || !strings.Contains(body["msg"].(string), "blank") {
		t.Fatalf("blank: %d %v", code, body)
	}
	// Access: read without read-storage → 403; read-storage → url; anonymous → 401.
	if code, _ = h.do("GET", base+"dg.T/a1/access/s3", h.reader, ""); code != 403 {
		t.Fatalf("reader access: %d", code)
	}
	if code, _ = h.do("GET", base+"dg.T/a1/access/s3", "", ""); code != 401 {
		t.Fatalf("anonymous access: %d", code)
	}
	code, body = h.do("POST", base+"dg.T/a1/access/s3-2", h.storage, `{"passports":["x.y.z"]}`)
	if code != 200 || body["url"] != "s3://bkt2/a" || len(body) != 1 {
		t.Fatalf("storage access: %d %v", code, body)
	}
	if code, _ = h.do("GET", base+"dg.T/a1/access/az", h.storage, ""); code != 404 {
		t.Fatalf("unknown access id: %d", code)
	}
	// Empty authz: admins only.
	h.st.Set(discovery.DefaultSettings())
	if code, _ = h.do("GET", base+"open/access/s3", h.storage, ""); code != 403 {
		t.Fatalf("empty authz non-admin: %d", code)
	}
	if code, body = h.do("GET", base+"open/access/s3", h.admin, ""); code != 200 || body["url"] != "s3://x/y" {
		t.Fatalf("empty authz admin: %d %v", code, body)
	}
	h.st.Set(discovery.Settings{AreRecordsDiscoverable: false})

	// Bulk: visible, invisible and missing; invisible and missing alike.
	code, body = h.do("POST", "/ga4gh/drs/v1/objects", h.reader, `{"bulk_object_ids":["dg.T/a1","dg.T/b2","nope"]}`)
	if code != 200 {
		t.Fatalf("bulk: %d %v", code, body)
	}
	sum := body["summary"].(map[string]any)
	if sum["requested"] != float64(3) || sum["resolved"] != float64(1) || sum["unresolved"] != float64(2) {
		t.Fatalf("summary %v", sum)
	}
	un := body["unresolved_drs_objects"].([]any)
	if len(un) != 1 || un[0].(map[string]any)["error_code"] != float64(404) || len(un[0].(map[string]any)["object_ids"].([]any)) != 2 {
		t.Fatalf("unresolved %v", un)
	}
	if code, _ = h.do("POST", "/ga4gh/drs/v1/objects", h.reader, `{"bulk_object_ids":["a","b","c","d"]}`); code != 413 {
		t.Fatalf("413: %d", code)
	}
	if code, _ = h.do("POST", "/ga4gh/drs/v1/objects", h.reader, `{"bulk_object_ids":[]}`); code != 400 {
		t.Fatalf("empty bulk: %d", code)
	}
	if code, _ = h.do("POST", "/ga4gh/drs/v1/objects", h.reader, `{"bulk_object_ids":["a"],"passports":[1]}`); code != 400 {
		t.Fatalf("non-string passport: %d", code)
	}
	// Policy failure fails closed. A fresh token of the reader: the cached
	// mapping of h.reader would answer without asking the policy service.
	fresh := h.stack.bearer("reader", nil)
	for _, f := range []policytest.Fault{policytest.Fault500, policytest.FaultDown} {
		h.stack.arb.SetFault(f)
		if code, _ = h.do("GET", base+"dg.T/a1", fresh, ""); code != 503 {
			t.Fatalf("policy %v: %d", f, code)
		}
	}
	h.stack.arb.SetFault(policytest.FaultNone)
	if code, _ = h.do("GET", base+"dg.T/a1", fresh, ""); code != 200 {
		t.Fatalf("policy back: %d", code)
	}
	if code, _ = h.do("GET", base+"dg.T/a1", "Bearer bad", ""); code != 401 {
		t.Fatalf("bad token: %d", code)
	}
}

func TestDRSBulkAccess(t *testing.T) {
	h := newDRSHarness(t, Config{}, discovery.Settings{AreRecordsDiscoverable: false})
	body := `{"bulk_object_access_ids":[
		{"bulk_object_id":"dg.T/a1","bulk_access_ids":["s3","https","nope"]},
		{"bulk_object_id":"dg.T/b2","bulk_access_ids":["gs"]},
		{"bulk_object_id":"bad//id","bulk_access_ids":["s3"]}]}`
	code, m := h.do("POST", "/ga4gh/drs/v1/objects/access", h.storage, body)
	if code != 200 {
		t.Fatalf("%d %v", code, m)
	}
	// dg.T/a1 fails as a whole on "nope" (never both resolved and
	// unresolved); dg.T/b2 is invisible to this caller; bad//id malformed.
	sum := m["summary"].(map[string]any)
	if sum["requested"] != float64(5) || sum["resolved"] != float64(0) || sum["unresolved"] != float64(5) {
		t.Fatalf("summary %v", sum)
	}
	var got []string
	for _, g := range m["unresolved_drs_objects"].([]any) {
		gm := g.(map[string]any)
		got = append(got, fmt.Sprintf("%v:%v:%v", gm["error_code"], gm["object_ids"], gm["access_ids"]))
	}
	if strings.Join(got, " ") != "400:[bad//id]:[s3] 404:[dg.T/a1]:[nope] 404:[dg.T/b2]:[gs]" {
		t.Fatalf("unresolved %v", got)
	}
	code, m = h.do("POST", "/ga4gh/drs/v1/objects/access", h.storage, `{"bulk_object_access_ids":[{"bulk_object_id":"dg.T/a1","bulk_access_ids":["s3","https"]}]}`)
	if code != 200 || len(m["resolved_drs_object_access_urls"].([]any)) != 2 || len(m["unresolved_drs_objects"].([]any)) != 0 {
		t.Fatalf("resolved bulk access: %d %v", code, m)
	}
	// Anonymous: each object the anonymous grants do not cover is 401.
	code, m = h.do("POST", "/ga4gh/drs/v1/objects/access", "", body)
	if code != 200 || fmt.Sprint(m["unresolved_drs_objects"]) != "[map[access_ids:[s3] error_code:400 object_ids:[bad//id]] map[access_ids:[s3 https nope] error_code:404 object_ids:[dg.T/a1]] map[access_ids:[gs] error_code:404 object_ids:[dg.T/b2]]]" {
		t.Fatalf("anonymous bulk access: %d %v", code, m)
	}
	// Reader (no read-storage): 403 per object, one policy question per authz set.
	h.stack.arb.ResetCounters()
	code, m = h.do("POST", "/ga4gh/drs/v1/objects/access", h.reader, `{"bulk_object_access_ids":[{"bulk_object_id":"dg.T/a1","bulk_access_ids":["s3","gs"]}]}`)
	if calls := h.stack.arb.RequestCalls(); code != 200 || m["unresolved_drs_objects"].([]any)[0].(map[string]any)["error_code"] != float64(403) || calls != 1 {
		t.Fatalf("reader bulk access: %d %v calls=%d", code, m, calls)
	}
}

func TestDRSServiceInfoShapes(t *testing.T) {
	h := newDRSHarness(t, Config{Hostname: "data.example.org", Version: "1.2.3", DRSMaxBulk: 7}, discovery.DefaultSettings())
	code, m := h.do("GET", "/ga4gh/drs/v1/service-info", "", "")
	if code != 200 || m["maxBulkRequestLength"] != float64(7) {
		t.Fatalf("%d %v", code, m)
	}
	drs := m["drs"].(map[string]any)
	if drs["maxBulkRequestLength"] != float64(7) || drs["objectCount"] != float64(3) || drs["totalObjectSize"] != float64(16) {
		t.Fatalf("drs %v", drs)
	}
	if m["type"].(map[string]any)["version"] != "1.5.0" || m["id"] != "org.example.data.drs" {
		t.Fatalf("type/id %v", m)
	}
	h12 := h.another(Config{DRS12: true}, discovery.DefaultSettings())
	_, m = h12.do("GET", "/ga4gh/drs/v1/service-info", "", "")
	if m["type"].(map[string]any)["version"] != "1.2.0" || m["drs"] != nil || m["maxBulkRequestLength"] != nil {
		t.Fatalf("1.2 shape %v", m)
	}
}

func TestDRSBearerIssuers(t *testing.T) {
	h := newDRSHarness(t, Config{DRSBearerIssuers: []string{"https://issuer.example.org"}}, discovery.Settings{AreRecordsDiscoverable: false})
	code, m := h.do("OPTIONS", "/ga4gh/drs/v1/objects/dg.T/a1", h.reader, "")
	if code != 200 || fmt.Sprint(m["bearer_auth_issuers"]) != "[https://issuer.example.org]" || fmt.Sprint(m["supported_types"]) != "[BearerAuth]" {
		t.Fatalf("%d %v", code, m)
	}
	_, m = h.do("GET", "/ga4gh/drs/v1/objects/dg.T/a1", h.reader, "")
	am := m["access_methods"].([]any)[0].(map[string]any)
	if fmt.Sprint(am["authorizations"]) != "map[bearer_auth_issuers:[https://issuer.example.org] supported_types:[BearerAuth]]" {
		t.Fatalf("access method authorizations %v", am["authorizations"])
	}
}

func TestDRSLocation(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name, url     string
		meta          map[string]string
		cloud, region string
		available     *bool
	}{
		{name: "s3 is aws", url: "s3://bkt/k", cloud: "aws"},
		{name: "gs is gcp", url: "gs://bkt/k", cloud: "gcp"},
		{name: "scheme case", url: "GS://bkt/k", cloud: "gcp"},
		{name: "aws https host", url: "https://bkt.s3.us-east-1.amazonaws.com/k", cloud: "aws"},
		{name: "gcp https host", url: "https://storage.googleapis.com/bkt/k", cloud: "gcp"},
		{name: "azure https host", url: "https://acct.blob.core.windows.net/c/k", cloud: "azure"},
		{name: "look-alike host", url: "https://notstorage.googleapis.com.example.org/k", cloud: ""},
		{name: "other https host", url: "https://example.org/k", cloud: ""},
		{name: "ftp unknown", url: "ftp://example.org/k", cloud: ""},
		{name: "metadata cloud wins", url: "s3://minio/k", meta: map[string]string{"cloud": "onprem"}, cloud: "onprem"},
		{name: "region and available", url: "s3://bkt/k", meta: map[string]string{"region": "us-west-2", "available": "TRUE"}, cloud: "aws", region: "us-west-2", available: &yes},
		{name: "unavailable", url: "gs://bkt/k", meta: map[string]string{"available": "false"}, cloud: "gcp", available: &no},
		{name: "unparsable available ignored", url: "gs://bkt/k", meta: map[string]string{"available": "soon"}, cloud: "gcp"},
		{name: "other keys ignored", url: "file:///data/k", meta: map[string]string{"state": "validated"}},
	} {
		cloud, region, avail := drsLocation(tc.url, tc.meta)
		if cloud != tc.cloud || region != tc.region || fmt.Sprint(derefBool(avail)) != fmt.Sprint(derefBool(tc.available)) {
			t.Errorf("%s: drsLocation(%q, %v) = %q, %q, %v; want %q, %q, %v", tc.name, tc.url, tc.meta, cloud, region, derefBool(avail), tc.cloud, tc.region, derefBool(tc.available))
		}
	}
}

func derefBool(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}
