package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/policy"
	"github.com/datacommons/indexd/repository"
)

// ---- fakes: enough of Store, policy.Service and Authenticator for DRS ----

type drsFakeStore struct {
	Store // nil: any other method panics, so a test notices an unexpected call
	recs  []indexd.Record
}

func (f *drsFakeStore) visible(dc discovery.Context, r *indexd.Record) bool {
	return discovery.Visible(dc, r.Authz)
}

func (f *drsFakeStore) GetRecord(_ context.Context, dc discovery.Context, cands []string) (*indexd.Record, error) {
	for _, c := range cands {
		for i := range f.recs {
			if f.recs[i].DID == c {
				if !f.visible(dc, &f.recs[i]) {
					return nil, indexd.Errorf(indexd.ErrNotVisible, "record not visible")
				}
				r := f.recs[i]
				return &r, nil
			}
		}
	}
	return nil, indexd.Errorf(indexd.ErrNotFound, "no record found")
}

func (f *drsFakeStore) GetRecords(_ context.Context, dc discovery.Context, dids []string, _ repository.ListOptions) ([]indexd.Record, error) {
	out := []indexd.Record{}
	for _, r := range f.recs {
		for _, d := range dids {
			if r.DID == d && f.visible(dc, &r) {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

func (f *drsFakeStore) ListRecords(_ context.Context, dc discovery.Context, fl indexd.ListFilter, _ repository.ListOptions) (indexd.Page, error) {
	p := indexd.Page{Records: []indexd.Record{}}
	for _, r := range f.recs {
		if r.DID > fl.Start && f.visible(dc, &r) {
			if len(p.Records) == fl.Limit {
				p.Next = p.Records[len(p.Records)-1].DID
				break
			}
			p.Records = append(p.Records, r)
		}
	}
	return p, nil
}

func (f *drsFakeStore) Stats(_ context.Context, dc discovery.Context, opt repository.StatsOptions) (indexd.Stats, error) {
	var st indexd.Stats
	for _, r := range f.recs {
		if f.visible(dc, &r) && (!opt.OnlyObjects || r.IsDRSObject()) {
			st.FileCount++
			if r.Size != nil {
				st.TotalFileSize += *r.Size
			}
		}
	}
	return st, nil
}

// drsFakePolicy grants per token: path → methods (hierarchical).
type drsFakePolicy struct {
	grants map[string]map[string][]string
	calls  int
	fail   bool
}

func (p *drsFakePolicy) Mapping(_ context.Context, c policy.Caller) (policy.Mapping, error) {
	if p.fail {
		return nil, policy.ErrUnavailable
	}
	m := policy.Mapping{}
	for path, methods := range p.grants[c.Token] {
		for _, meth := range methods {
			m[path] = append(m[path], policy.Action{Service: "indexd", Method: meth})
		}
	}
	return m, nil
}

func (p *drsFakePolicy) Authorize(_ context.Context, c policy.Caller, reqs []policy.Request) (bool, error) {
	p.calls++
	if p.fail {
		return false, policy.ErrUnavailable
	}
	for _, r := range reqs {
		ok := false
		for path, methods := range p.grants[c.Token] {
			for _, m := range methods {
				if (m == r.Method || m == "*") && discovery.Covers(path, r.Resource) {
					ok = true
				}
			}
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

type drsFakeAuthn struct{}

func (drsFakeAuthn) Authenticate(_ context.Context, h string) (policy.Caller, error) {
	switch {
	case h == "":
		return policy.Caller{}, nil
	case h == "Basic admin":
		return policy.Caller{BasicAdmin: true, Username: "admin"}, nil
	case strings.HasPrefix(h, "Bearer ") && h != "Bearer bad":
		return policy.Caller{Token: strings.TrimPrefix(h, "Bearer ")}, nil
	}
	return policy.Caller{}, indexd.ErrUnauthenticated
}

func drsPtr[T any](v T) *T { return &v }

func drsFixture() []indexd.Record {
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 600000000, time.UTC)
	return []indexd.Record{
		{
			DID: "dg.T/a1", BaseID: "b1", Rev: "r1", Size: drsPtr(int64(10)), FileName: drsPtr("a.bam"), Version: drsPtr("v1"),
			Description: drsPtr("desc"), CreatedDate: t0, UpdatedDate: t0.Add(time.Hour),
			Hashes: indexd.ObjectOf(map[string]string{"md5": strings.Repeat("a", 32), "sha256": strings.Repeat("b", 64), "crc": "0badc0de"}),
			URLs:   []string{"s3://bkt/a", "https://h/a", "s3://bkt2/a", "http://h/a", "az://c/a", "gs://g/a"},
			Authz:  []string{"/programs/p1/projects/a"}, Aliases: []string{"al-1"},
		},
		{DID: "dg.T/blank", BaseID: "b2", Rev: "r2", CreatedDate: t0, UpdatedDate: t0, Authz: []string{"/programs/p1/projects/a"}},
		{
			DID: "dg.T/b2", BaseID: "b3", Rev: "r3", Size: drsPtr(int64(5)), CreatedDate: t0, UpdatedDate: t0,
			Hashes: indexd.ObjectOf(map[string]string{"md5": strings.Repeat("c", 32)}), URLs: []string{"gs://g/b"}, Authz: []string{"/programs/p2"},
		},
		{
			DID: "open", BaseID: "b4", Rev: "r4", Size: drsPtr(int64(1)), CreatedDate: t0, UpdatedDate: t0,
			Hashes: indexd.ObjectOf(map[string]string{"etag": strings.Repeat("d", 32) + "-2"}), URLs: []string{"s3://x/y"},
		},
	}
}

type drsHarness struct {
	t   *testing.T
	srv *Server
	pol *drsFakePolicy
	st  *SettingsHolder
}

func newDRSHarness(t *testing.T, cfg Config, st discovery.Settings) *drsHarness {
	t.Helper()
	pol := &drsFakePolicy{grants: map[string]map[string][]string{
		"reader":  {"/programs/p1/projects/a": {"read"}},
		"storage": {"/programs/p1": {"read", "read-storage"}},
	}}
	holder := NewSettingsHolder(st)
	if cfg.DRSMaxBulk == 0 {
		cfg.DRSMaxBulk = 1000
	}
	srv, err := New(cfg, &drsFakeStore{recs: drsFixture()}, pol, drsFakeAuthn{}, holder, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &drsHarness{t: t, srv: srv, pol: pol, st: holder}
}

func (h *drsHarness) do(method, path, auth, body string) (int, map[string]any) {
	h.t.Helper()
	var req *http.Request
	if body != "" {
		req = httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.srv.Handler().ServeHTTP(rec, req)
	var m map[string]any
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
			h.t.Fatalf("%s %s: body is not a JSON object: %s", method, path, rec.Body)
		}
	}
	return rec.Code, m
}

// ---- mapping ----

func TestDRSChecksumsAndMethods(t *testing.T) {
	h := newDRSHarness(t, Config{Hostname: "drs.example.org"}, discovery.DefaultSettings())
	recs := drsFixture()
	o := h.srv.toDRS(&recs[0], "drs.example.org")
	b, _ := json.Marshal(o)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	if o.SelfURI != "drs://drs.example.org/dg.T%2Fa1" {
		t.Errorf("self_uri %q", o.SelfURI)
	}
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
	// A record without optional fields omits them: no nulls.
	o2 := h.srv.toDRS(&recs[3], "h:1")
	b2, _ := json.Marshal(o2)
	if strings.Contains(string(b2), "null") {
		t.Errorf("null in %s", b2)
	}
	for _, k := range []string{`"name"`, `"version"`, `"description"`, `"aliases"`} {
		if strings.Contains(string(b2), k) {
			t.Errorf("%s present in %s", k, b2)
		}
	}
	if o2.SelfURI != "drs://h:1/open" {
		t.Errorf("self uri %q", o2.SelfURI)
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

// ---- handlers (fakes; the integration tests cover the real stack) ----

func TestDRSHandlersFiltering(t *testing.T) {
	h := newDRSHarness(t, Config{DRSMaxBulk: 3}, discovery.Settings{AreRecordsDiscoverable: false})
	const base = "/ga4gh/drs/v1/objects/"

	code, body := h.do("GET", base+"dg.T/a1", "Bearer reader", "")
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
	if code, body = h.do("GET", base+"dg.T/blank", "Bearer reader", ""); code != 404 || !strings.Contains(body["msg"].(string), "blank") {
		t.Fatalf("blank: %d %v", code, body)
	}
	// Access: read without read-storage → 403; read-storage → url; anonymous → 401.
	if code, _ = h.do("GET", base+"dg.T/a1/access/s3", "Bearer reader", ""); code != 403 {
		t.Fatalf("reader access: %d", code)
	}
	if code, _ = h.do("GET", base+"dg.T/a1/access/s3", "", ""); code != 401 {
		t.Fatalf("anonymous access: %d", code)
	}
	code, body = h.do("POST", base+"dg.T/a1/access/s3-2", "Bearer storage", `{"passports":["x.y.z"]}`)
	if code != 200 || body["url"] != "s3://bkt2/a" || len(body) != 1 {
		t.Fatalf("storage access: %d %v", code, body)
	}
	if code, _ = h.do("GET", base+"dg.T/a1/access/az", "Bearer storage", ""); code != 404 {
		t.Fatalf("unknown access id: %d", code)
	}
	// Empty authz: admins only.
	h.st.Set(discovery.DefaultSettings())
	if code, _ = h.do("GET", base+"open/access/s3", "Bearer storage", ""); code != 403 {
		t.Fatalf("empty authz non-admin: %d", code)
	}
	if code, body = h.do("GET", base+"open/access/s3", "Basic admin", ""); code != 200 || body["url"] != "s3://x/y" {
		t.Fatalf("empty authz admin: %d %v", code, body)
	}
	h.st.Set(discovery.Settings{AreRecordsDiscoverable: false})

	// Bulk: visible, invisible and missing; invisible and missing alike.
	code, body = h.do("POST", "/ga4gh/drs/v1/objects", "Bearer reader", `{"bulk_object_ids":["dg.T/a1","dg.T/b2","nope"]}`)
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
	if code, _ = h.do("POST", "/ga4gh/drs/v1/objects", "Bearer reader", `{"bulk_object_ids":["a","b","c","d"]}`); code != 413 {
		t.Fatalf("413: %d", code)
	}
	if code, _ = h.do("POST", "/ga4gh/drs/v1/objects", "Bearer reader", `{"bulk_object_ids":[]}`); code != 400 {
		t.Fatalf("empty bulk: %d", code)
	}
	if code, _ = h.do("POST", "/ga4gh/drs/v1/objects", "Bearer reader", `{"bulk_object_ids":["a"],"passports":[1]}`); code != 400 {
		t.Fatalf("non-string passport: %d", code)
	}
	// Policy failure fails closed.
	h.pol.fail = true
	if code, _ = h.do("GET", base+"dg.T/a1", "Bearer reader", ""); code != 503 {
		t.Fatalf("policy down: %d", code)
	}
	h.pol.fail = false
	if code, _ = h.do("GET", base+"dg.T/a1", "Bearer bad", ""); code != 401 {
		t.Fatalf("bad token: %d", code)
	}
}

func TestDRSBulkAccessFake(t *testing.T) {
	h := newDRSHarness(t, Config{}, discovery.Settings{AreRecordsDiscoverable: false})
	body := `{"bulk_object_access_ids":[
		{"bulk_object_id":"dg.T/a1","bulk_access_ids":["s3","https","nope"]},
		{"bulk_object_id":"dg.T/b2","bulk_access_ids":["gs"]},
		{"bulk_object_id":"bad//id","bulk_access_ids":["s3"]}]}`
	code, m := h.do("POST", "/ga4gh/drs/v1/objects/access", "Bearer storage", body)
	if code != 200 {
		t.Fatalf("%d %v", code, m)
	}
	sum := m["summary"].(map[string]any)
	if sum["requested"] != float64(5) || sum["resolved"] != float64(2) || sum["unresolved"] != float64(3) {
		t.Fatalf("summary %v", sum)
	}
	got := map[float64][]any{}
	for _, g := range m["unresolved_drs_objects"].([]any) {
		gm := g.(map[string]any)
		got[gm["error_code"].(float64)] = gm["object_ids"].([]any)
	}
	if len(got[400]) != 1 || len(got[404]) != 2 {
		t.Fatalf("unresolved %v", got)
	}
	if code, _ = h.do("POST", "/ga4gh/drs/v1/objects/access", "", body); code != 401 {
		t.Fatalf("anonymous bulk access: %d", code)
	}
	// Reader (no read-storage): 403 per object, one policy question per authz set.
	h.pol.calls = 0
	code, m = h.do("POST", "/ga4gh/drs/v1/objects/access", "Bearer reader", `{"bulk_object_access_ids":[{"bulk_object_id":"dg.T/a1","bulk_access_ids":["s3","gs"]}]}`)
	if code != 200 || m["unresolved_drs_objects"].([]any)[0].(map[string]any)["error_code"] != float64(403) || h.pol.calls != 1 {
		t.Fatalf("reader bulk access: %d %v calls=%d", code, m, h.pol.calls)
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
	h12 := newDRSHarness(t, Config{DRSServiceInfo12: true}, discovery.DefaultSettings())
	_, m = h12.do("GET", "/ga4gh/drs/v1/service-info", "", "")
	if m["type"].(map[string]any)["version"] != "1.2.0" || m["drs"] != nil || m["maxBulkRequestLength"] != nil {
		t.Fatalf("1.2 shape %v", m)
	}
}

func TestDRSBearerIssuers(t *testing.T) {
	h := newDRSHarness(t, Config{DRSBearerIssuers: []string{"https://issuer.example.org"}}, discovery.Settings{AreRecordsDiscoverable: false})
	code, m := h.do("OPTIONS", "/ga4gh/drs/v1/objects/dg.T/a1", "Bearer reader", "")
	if code != 200 || fmt.Sprint(m["bearer_auth_issuers"]) != "[https://issuer.example.org]" || fmt.Sprint(m["supported_types"]) != "[BearerAuth]" {
		t.Fatalf("%d %v", code, m)
	}
	_, m = h.do("GET", "/ga4gh/drs/v1/objects/dg.T/a1", "Bearer reader", "")
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
