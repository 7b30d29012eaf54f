package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/internal/app"
	"github.com/datacommons/indexd/policy/policytest"
)

const drsBase = "/ga4gh/drs/v1"

// DRS operation templates in openapi.yaml.
const (
	tplInfo       = drsBase + "/service-info"
	tplObjects    = drsBase + "/objects"
	tplObject     = drsBase + "/objects/{object_id}"
	tplAccess     = drsBase + "/objects/{object_id}/access/{access_id}"
	tplBulkAccess = drsBase + "/objects/access"
)

const globalPath = "/global"

// drsWorld is a running service with the DRS fixture records and one
// credential per caller class.
type drsWorld struct {
	*Checked
	t testing.TB

	anon, proj, parent, global, noStorage, storage, invalid string

	adminOnce sync.Once
	admin     string
}

// adminAuth creates the basic-auth admin on first use (hashing its password
// is deliberately slow).
func (w *drsWorld) adminAuth() string {
	w.adminOnce.Do(func() { w.admin = w.E.AddAdmin("drs-admin", "drs-admin-password") })
	return w.admin
}

// Fixture records.
const (
	recA     = "dg.TEST/a-1" // /programs/p1/projects/a; s3, https, s3 urls
	recB     = "dg.TEST/b-1" // /programs/p2/projects/b; gs url
	recM     = "dg.TEST/m-1" // both paths
	recE     = "empty-1"     // empty authz
	recBlank = "dg.TEST/blank-1"
)

var callerClasses = []string{"anon", "proj", "parent", "global", "noStorage", "storage", "admin", "invalid"}

func (w *drsWorld) auth(class string) string {
	if class == "admin" {
		return w.adminAuth()
	}
	return map[string]string{
		"anon": w.anon, "proj": w.proj, "parent": w.parent, "global": w.global,
		"noStorage": w.noStorage, "storage": w.storage, "invalid": w.invalid,
	}[class]
}

func withDRS(f func(*app.Config)) Option { return Option(f) }

// startDRS starts a service with discovery filtering on (global discovery
// path /global) and the fixture. Its storage configuration has no bucket
// and passes locations through as stored (unless an option replaces it),
// so these tests see the stored URLs; signing is tested in
// drs_signing_test.go and the access matrix.
func startDRS(t *testing.T, opts ...Option) *drsWorld {
	t.Helper()
	e := Start(t, append([]Option{WithFiltering(globalPath), WithStorage(t, "unsigned: passthrough\n")}, opts...)...)
	w := &drsWorld{Checked: e.Checked(t), t: t}
	writer := e.Writer()
	set := func(name string, grants map[string][]string) string {
		tok := Tok(name)
		e.Policy.SetUser(tok, name, grants)
		return Bearer(tok)
	}
	w.proj = set("proj", map[string][]string{"/programs/p1/projects/a": {"read"}})
	w.parent = set("parent", map[string][]string{"/programs/p1": {"read"}})
	w.global = set("global", map[string][]string{globalPath: {"read"}})
	w.noStorage = set("nostorage", map[string][]string{"/programs/p1": {"read"}, "/programs/p2": {"read"}})
	w.storage = set("storage", map[string][]string{"/programs/p1/projects/a": {"read", "read-storage"}, "/programs/p2/projects/b": {"read"}})
	w.invalid = Bearer(drsExpiredToken("expired"))

	a := Rec(recA, "/programs/p1/projects/a")
	a["urls"] = []string{"s3://bkt/a-1", "https://example.org/a-1", "s3://bkt2/a-1"}
	a["hashes"] = map[string]string{"md5": "0123456789abcdef0123456789abcdef", "sha256": strings.Repeat("ab", 32), "crc": "0badc0de"}
	a["file_name"], a["version"], a["description"] = "a.bam", "v1", "record a"
	a["urls_metadata"] = map[string]map[string]string{
		"s3://bkt/a-1":  {"region": "us-east-1", "available": "true", "state": "validated"},
		"s3://bkt2/a-1": {"cloud": "onprem", "available": "FALSE"},
	}
	e.Create(writer, a)
	b := Rec(recB, "/programs/p2/projects/b")
	b["urls"] = []string{"gs://g/b-1"}
	e.Create(writer, b)
	e.Create(writer, Rec(recM, "/programs/p1/projects/a", "/programs/p2/projects/b"))
	e.Create(writer, Rec(recE))
	e.Do(http.MethodPost, "/index/blank", writer, map[string]any{"did": recBlank, "uploader": "u", "authz": []string{"/programs/p1/projects/a"}}).MustStatus(t, http.StatusCreated)
	e.Do(http.MethodPost, "/index/"+recA+"/aliases", writer, map[string]any{"aliases": []map[string]string{{"value": "alias-a1"}}}).MustStatus(t, http.StatusOK)
	return w
}

// setDiscoverable switches filtering and waits until this instance holds
// the new value steadily: the settings watcher may apply a value it read
// just before the change, until the change's NOTIFY arrives.
func (w *drsWorld) setDiscoverable(on bool) {
	w.t.Helper()
	w.E.SetDiscovery(discovery.Settings{AreRecordsDiscoverable: on, GlobalDiscoveryAuthz: []string{globalPath}})
	deadline := time.Now().Add(5 * time.Second)
	for steady := 0; steady < 2; {
		if time.Now().After(deadline) {
			w.t.Fatalf("discovery setting %v did not settle", on)
		}
		time.Sleep(50 * time.Millisecond)
		if w.E.App.Settings.Get().AreRecordsDiscoverable == on {
			steady++
		} else {
			steady = 0
			w.E.App.Settings.Set(discovery.Settings{AreRecordsDiscoverable: on, GlobalDiscoveryAuthz: []string{globalPath}})
		}
	}
}

// drsErr checks a DRS error body: {"msg", "status_code"} with the status.
func drsErr(t testing.TB, r *Response, status int) {
	t.Helper()
	r.MustStatus(t, status)
	var body map[string]any
	r.JSON(t, &body)
	if len(body) != 2 || body["status_code"] != float64(status) {
		t.Fatalf("DRS error body %s, want {msg, status_code: %d}", r.Body, status)
	}
	if m, ok := body["msg"].(string); !ok || m == "" {
		t.Fatalf("DRS error body without msg: %s", r.Body)
	}
}

func objPath(id string) string { return drsBase + "/objects/" + id }

// TestDRSObjectVisibility: GET, POST and OPTIONS objects/{id} for every
// caller class, with discovery filtering on and off.
func TestDRSObjectVisibility(t *testing.T) {
	t.Parallel()
	w := startDRS(t)
	// Expected GET status per caller class and record, filtering on.
	filtered := map[string]map[string]int{
		recA:      {"anon": 403, "proj": 200, "parent": 200, "global": 200, "noStorage": 200, "storage": 200, "admin": 200},
		recB:      {"anon": 403, "proj": 403, "parent": 403, "global": 200, "noStorage": 200, "storage": 200, "admin": 200},
		recM:      {"anon": 403, "proj": 403, "parent": 403, "global": 200, "noStorage": 200, "storage": 200, "admin": 200},
		recE:      {"anon": 403, "proj": 403, "parent": 403, "global": 200, "noStorage": 403, "storage": 403, "admin": 200},
		recBlank:  {"anon": 403, "proj": 404, "parent": 404, "global": 404, "noStorage": 404, "storage": 404, "admin": 404},
		"missing": {"anon": 404, "proj": 404, "parent": 404, "global": 404, "noStorage": 404, "storage": 404, "admin": 404},
	}
	for _, on := range []bool{false, true} {
		w.setDiscoverable(on)
		for id, byClass := range filtered {
			for _, class := range callerClasses {
				want := byClass[class]
				switch {
				case class == "invalid":
					want = 401
				case on && id != recBlank && id != "missing":
					want = 200
				case on && id == recBlank:
					want = 404
				}
				name := fmt.Sprintf("discoverable=%v/%s/%s", on, class, id)
				for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodOptions} {
					if class == "admin" && !adminCase(on, id, method) {
						continue // basic auth is bcrypt (slow): a few admin cases suffice
					}
					if method != http.MethodGet && id != recA && id != recE && id != "missing" {
						continue // POST and OPTIONS share GET's lookup: a subset keeps the test fast
					}
					var body any
					if method == http.MethodPost {
						body = map[string]any{"passports": []string{"eyJ.eyJ.sig"}}
					}
					r := w.Do(method, tplObject, objPath(id), w.auth(class), body)
					if r.Status != want {
						t.Errorf("%s %s: status %d, want %d; body %s", name, method, r.Status, want, r.Body)
						continue
					}
					if want != 200 {
						drsErr(t, r, want)
						continue
					}
					m := r.Map(t)
					switch method {
					case http.MethodOptions:
						types := fmt.Sprint(m["supported_types"])
						wantTypes := "[BearerAuth]"
						if on {
							wantTypes = "[None BearerAuth]"
						}
						if m["drs_object_id"] != id || types != wantTypes {
							t.Errorf("%s OPTIONS: %v", name, m)
						}
					default:
						if m["id"] != id {
							t.Errorf("%s %s: id %v", name, method, m["id"])
						}
					}
				}
			}
		}
	}
}

// TestDRSOptionsAnonymous: with filtering on, OPTIONS offers "None" exactly
// for the objects an anonymous caller could read (anonymous grants), single
// and bulk, whoever asks; an invisible object stays 403 (404 under
// hide_existence, see TestDRSHideExistence); a policy failure while
// checking the anonymous view is 503, never a guessed "None".
func TestDRSOptionsAnonymous(t *testing.T) {
	t.Parallel()
	w := startDRS(t)
	// First, before any anonymous mapping is cached: the policy service fails.
	w.E.Policy.SetFault(policytest.Fault500)
	drsErr(t, w.Do(http.MethodOptions, tplObject, objPath(recA), w.adminAuth(), nil), 503)
	w.E.Policy.SetFault(policytest.FaultNone)
	w.E.Policy.SetAnonymous(map[string][]string{"/programs/p1/projects/a": {"read"}})

	types := func(m map[string]any) string { return fmt.Sprint(m["supported_types"]) }
	for _, tc := range []struct {
		class, id string
		status    int
		types     string
	}{
		{"anon", recA, 200, "[None BearerAuth]"},
		{"proj", recA, 200, "[None BearerAuth]"},
		{"global", recA, 200, "[None BearerAuth]"},
		{"admin", recA, 200, "[None BearerAuth]"},
		{"global", recB, 200, "[BearerAuth]"},
		{"global", recM, 200, "[BearerAuth]"}, // needs read on both paths
		{"global", recE, 200, "[BearerAuth]"}, // empty authz: never anonymous
		{"anon", recB, 403, ""},
		{"proj", recB, 403, ""},
		{"anon", "dg.TEST/missing", 404, ""},
		{"global", recBlank, 404, ""},
		{"invalid", recA, 401, ""},
	} {
		r := w.Do(http.MethodOptions, tplObject, objPath(tc.id), w.auth(tc.class), nil)
		if tc.status != 200 {
			if r.Status != tc.status {
				t.Errorf("%s OPTIONS %s: %d, want %d: %s", tc.class, tc.id, r.Status, tc.status, r.Body)
				continue
			}
			drsErr(t, r, tc.status)
			continue
		}
		r.MustStatus(t, 200)
		if m := r.Map(t); types(m) != tc.types || m["drs_object_id"] != tc.id {
			t.Errorf("%s OPTIONS %s: %s, want %s", tc.class, tc.id, r.Body, tc.types)
		}
	}
	var b bulkReply
	w.Do(http.MethodOptions, tplObjects, tplObjects, w.global, bulkIDs(recA, recB, "nope-1")).MustStatus(t, 200).JSON(t, &b)
	got := map[string]string{}
	for _, a := range b.Resolved {
		got[a["drs_object_id"].(string)] = types(a)
	}
	if len(got) != 2 || got[recA] != "[None BearerAuth]" || got[recB] != "[BearerAuth]" {
		t.Errorf("bulk OPTIONS: %v", got)
	}
	// Discovery on: everything is anonymous-readable.
	w.setDiscoverable(true)
	if m := w.Do(http.MethodOptions, tplObject, objPath(recB), w.global, nil).MustStatus(t, 200).Map(t); types(m) != "[None BearerAuth]" {
		t.Errorf("discoverable OPTIONS: %v", m)
	}
}

// adminCase picks the few admin calls the visibility matrix makes (each
// basic-auth request verifies a bcrypt hash: deliberately slow).
func adminCase(on bool, id, method string) bool {
	return !on && method == http.MethodGet && (id == recE || id == recBlank)
}

// TestDRSObjectShape checks the DrsObject mapping of a full record.
func TestDRSObjectShape(t *testing.T) {
	t.Parallel()
	w := startDRS(t)
	host := strings.TrimPrefix(w.E.URL, "http://")
	r := w.Do(http.MethodGet, tplObject, objPath(recA), w.proj, nil).MustStatus(t, 200)
	var o struct {
		ID, Name, SelfURI, CreatedTime, UpdatedTime, Version, Description string
		Size                                                              int64
		Checksums                                                         []struct{ Type, Checksum string }
		AccessMethods                                                     []struct {
			Type      string
			AccessID  string                `json:"access_id"`
			AccessURL *struct{ URL string } `json:"access_url"`
			Cloud     string
			Region    string
			Available *bool
		} `json:"access_methods"`
		Aliases []string
	}
	if err := json.Unmarshal(r.Body, &o); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	_ = json.Unmarshal(r.Body, &raw)
	o.SelfURI, o.CreatedTime, o.UpdatedTime = raw["self_uri"].(string), raw["created_time"].(string), raw["updated_time"].(string)
	if o.SelfURI != "drs://"+host+"/dg.TEST%2Fa-1" {
		t.Errorf("self_uri %q", o.SelfURI)
	}
	if o.Name != "a.bam" || o.Version != "v1" || o.Description != "record a" || o.Size != 123 {
		t.Errorf("fields: %s", r.Body)
	}
	sums := map[string]string{}
	for _, c := range o.Checksums {
		sums[c.Type] = c.Checksum
	}
	if len(sums) != 3 || sums["md5"] != "0123456789abcdef0123456789abcdef" || sums["sha-256"] != strings.Repeat("ab", 32) || sums["crc32"] != "0badc0de" {
		t.Errorf("checksums %v", sums)
	}
	// type:access_id[:access_url] cloud/region/available ("-" when absent).
	var methods []string
	for _, m := range o.AccessMethods {
		s := m.Type + ":" + m.AccessID
		if m.AccessURL != nil {
			s += ":" + m.AccessURL.URL
		}
		avail := "-"
		if m.Available != nil {
			avail = fmt.Sprint(*m.Available)
		}
		s += fmt.Sprintf(" %s/%s/%s", orDash(m.Cloud), orDash(m.Region), avail)
		methods = append(methods, s)
	}
	want := "s3:s3 aws/us-east-1/true, https:https:https://example.org/a-1 -/-/-, s3:s3-2 onprem/-/false"
	if got := strings.Join(methods, ", "); got != want {
		t.Errorf("access methods %s, want %s", got, want)
	}
	if len(o.Aliases) != 1 || o.Aliases[0] != "alias-a1" {
		t.Errorf("aliases %v", o.Aliases)
	}
	for _, k := range []string{"mime_type", "contents"} {
		if _, ok := raw[k]; ok {
			t.Errorf("%s present", k)
		}
	}
	if strings.Contains(string(r.Body), "null") {
		t.Errorf("null in %s", r.Body)
	}
	// A minimal record omits optional fields rather than sending null.
	r = w.Do(http.MethodGet, tplObject, objPath(recB), w.global, nil).MustStatus(t, 200)
	for _, k := range []string{`"name"`, `"version"`, `"description"`, `"aliases"`, "null", `"access_url"`, `"region"`, `"available"`} {
		if strings.Contains(string(r.Body), k) {
			t.Errorf("%s in minimal object %s", k, r.Body)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// TestDRSIDsWithSlash: ids with '/' work unescaped and percent-encoded, the
// self URI's id resolves, and the prefix and compact-identifier rules apply.
func TestDRSIDsWithSlash(t *testing.T) {
	t.Parallel()
	w := startDRS(t, withDRS(func(c *app.Config) {
		c.DefaultPrefix = "dg.TEST/"
		c.DRSCompactPrefix = "dg.TEST"
	}))
	for _, p := range []string{"dg.TEST/a-1", "dg.TEST%2Fa-1", "a-1", "dg.TEST/a-1/"} {
		r := w.Do(http.MethodGet, tplObject, objPath(p), w.proj, nil)
		if r.Status != 200 || r.Map(t)["id"] != recA {
			t.Errorf("GET objects/%s: %d %s", p, r.Status, r.Body)
		}
	}
	m := w.Do(http.MethodGet, tplObject, objPath(recA), w.proj, nil).Map(t)
	if m["self_uri"] != "drs://dg.TEST:a-1" {
		t.Errorf("compact self_uri %v", m["self_uri"])
	}
	// A did outside the compact prefix keeps the hostname form: a compact
	// URI would resolve to objects/dg.TEST/empty-1, a different id.
	host := strings.TrimPrefix(w.E.URL, "http://")
	if m := w.Do(http.MethodGet, tplObject, objPath(recE), w.global, nil).Map(t); m["self_uri"] != "drs://"+host+"/empty-1" {
		t.Errorf("self_uri of an unprefixed did %v", m["self_uri"])
	}
	writer := w.E.Writer()
	odd := "dg.TEST/x/access/y"
	w.E.Create(writer, Rec(odd, "/programs/p1/projects/a"))
	// Each compact URI resolves, through the URL pattern an operator
	// registers (.../objects/dg.TEST/{$id}), to its own object.
	resolve := func(selfURI string) string {
		acc, ok := strings.CutPrefix(selfURI, "drs://dg.TEST:")
		if !ok {
			t.Fatalf("not a compact dg.TEST URI: %s", selfURI)
		}
		return w.Do(http.MethodGet, tplObject, objPath("dg.TEST/"+acc), w.proj, nil).MustStatus(t, 200).Map(t)["id"].(string)
	}
	for _, id := range []string{recA, odd} {
		self := w.Do(http.MethodGet, tplObject, objPath(url.PathEscape(id)), w.proj, nil).MustStatus(t, 200).Map(t)["self_uri"].(string)
		if got := resolve(self); got != id {
			t.Errorf("%s: self_uri %s resolves to %s", id, self, got)
		}
	}
	// An escaped id containing "/access/" is an id, not an access path.
	r := w.Do(http.MethodGet, tplObject, objPath(url.PathEscape(odd)), w.proj, nil)
	if r.Status != 200 || r.Map(t)["id"] != odd {
		t.Errorf("escaped id with /access/: %d %s", r.Status, r.Body)
	}
	r = w.Do(http.MethodGet, tplAccess, objPath(url.PathEscape(odd))+"/access/s3", w.storage, nil).MustStatus(t, 200)
	if r.Map(t)["url"] != "s3://bucket/"+strings.ReplaceAll(odd, "/", "_") {
		t.Errorf("access of escaped id: %s", r.Body)
	}
	drsErr(t, w.Do(http.MethodGet, tplObject, objPath("a//b"), w.proj, nil), 400)
	drsErr(t, w.Do(http.MethodGet, tplAccess, objPath(recA)+"/access/", w.storage, nil), 400)
}

// TestDRSAccess: discovery is not access. Access needs read-storage on
// every authz path; anonymous is 401; invisible stays 403.
func TestDRSAccess(t *testing.T) {
	t.Parallel()
	w := startDRS(t)
	firstAccess := map[string]string{recA: "s3", recB: "gs", recM: "s3", recE: "s3"}
	wantURL := map[string]string{recA: "s3://bkt/a-1", recB: "gs://g/b-1", recM: "s3://bucket/dg.TEST_m-1", recE: "s3://bucket/empty-1"}
	expect := func(on bool, class, id string) int {
		switch class {
		case "anon", "invalid":
			return 401
		case "admin":
			return 200
		case "storage":
			if id == recA {
				return 200
			}
		}
		return 403
	}
	for _, on := range []bool{false, true} {
		w.setDiscoverable(on)
		for id, acc := range firstAccess {
			for _, class := range callerClasses {
				want := expect(on, class, id)
				for _, method := range []string{http.MethodGet, http.MethodPost} {
					if class == "admin" && (on || !(id == recE && method == http.MethodGet || id == recM && method == http.MethodPost)) {
						continue // bcrypt per basic-auth request: two admin cases suffice
					}
					var body any
					if method == http.MethodPost {
						body = map[string]any{"passports": []string{"not.used.here"}}
					}
					r := w.Do(method, tplAccess, objPath(id)+"/access/"+acc, w.auth(class), body)
					if r.Status != want {
						t.Errorf("discoverable=%v %s %s access %s: %d, want %d; %s", on, class, method, id, r.Status, want, r.Body)
						continue
					}
					if want != 200 {
						drsErr(t, r, want)
						continue
					}
					if m := r.Map(t); m["url"] != wantURL[id] || len(m) != 1 {
						t.Errorf("access url %v, want %s", m, wantURL[id])
					}
				}
			}
		}
	}
	// Every access id of recA, for the read-storage holder.
	for acc, u := range map[string]string{"s3": "s3://bkt/a-1", "https": "https://example.org/a-1", "s3-2": "s3://bkt2/a-1"} {
		r := w.Do(http.MethodGet, tplAccess, objPath(recA)+"/access/"+acc, w.storage, nil).MustStatus(t, 200)
		if r.Map(t)["url"] != u {
			t.Errorf("access %s: %s", acc, r.Body)
		}
	}
	drsErr(t, w.Do(http.MethodGet, tplAccess, objPath(recA)+"/access/gs", w.storage, nil), 404)
	drsErr(t, w.Do(http.MethodGet, tplAccess, objPath("missing-1")+"/access/s3", w.storage, nil), 404)
	drsErr(t, w.Do(http.MethodGet, tplAccess, objPath(recBlank)+"/access/s3", w.storage, nil), 404)
	drsErr(t, w.Do(http.MethodPost, tplAccess, objPath(recA)+"/access/s3", w.storage, map[string]any{"passports": []int{1}}), 400)
	drsErr(t, w.Do(http.MethodPost, tplAccess, objPath(recA)+"/access/s3", w.storage, map[string]any{"visa": "x"}), 400)
	// A well-formed token the policy service does not know: 401, not 403.
	drsErr(t, w.Do(http.MethodGet, tplAccess, objPath(recA)+"/access/s3", Bearer(Tok("stranger")), nil), 401)
	// A revoked read-storage grant stops access at once (Authorize is not cached).
	w.E.Policy.SetUser(strings.TrimPrefix(w.storage, "Bearer "), "storage", map[string][]string{"/programs/p1/projects/a": {"read"}})
	drsErr(t, w.Do(http.MethodGet, tplAccess, objPath(recA)+"/access/s3", w.storage, nil), 403)
}

// TestDRSHideExistence: invisible and missing answer the same 404.
func TestDRSHideExistence(t *testing.T) {
	t.Parallel()
	w := startDRS(t, withDRS(func(c *app.Config) { c.HideExistence = true }))
	inv := w.Do(http.MethodGet, tplObject, objPath(recB), w.proj, nil)
	miss := w.Do(http.MethodGet, tplObject, objPath("dg.TEST/zz-1"), w.proj, nil)
	drsErr(t, inv, 404)
	if string(inv.Body) != string(miss.Body) {
		t.Errorf("invisible %s vs missing %s", inv.Body, miss.Body)
	}
	drsErr(t, w.Do(http.MethodGet, tplAccess, objPath(recB)+"/access/gs", w.proj, nil), 404)
	// An anonymous caller who cannot see the record: the same 404, not 401.
	anon := w.Do(http.MethodGet, tplAccess, objPath(recB)+"/access/gs", "", nil)
	drsErr(t, anon, 404)
	if string(anon.Body) != string(miss.Body) || anon.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("anonymous access to an invisible record under hide_existence: %s %v", anon.Body, anon.Header)
	}
	invOpt := w.Do(http.MethodOptions, tplObject, objPath(recB), w.proj, nil)
	drsErr(t, invOpt, 404)
	if string(invOpt.Body) != string(w.Do(http.MethodOptions, tplObject, objPath("dg.TEST/zz-1"), w.proj, nil).Body) {
		t.Errorf("OPTIONS invisible vs missing differ: %s", invOpt.Body)
	}
}

func bulkIDs(ids ...string) map[string]any { return map[string]any{"bulk_object_ids": ids} }

type bulkReply struct {
	Summary    struct{ Requested, Resolved, Unresolved int }
	Resolved   []map[string]any `json:"resolved_drs_object"`
	Unresolved []struct {
		ErrorCode int      `json:"error_code"`
		ObjectIDs []string `json:"object_ids"`
	} `json:"unresolved_drs_objects"`
}

func (b bulkReply) unresolved() map[int][]string {
	out := map[int][]string{}
	for _, u := range b.Unresolved {
		ids := append([]string(nil), u.ObjectIDs...)
		sort.Strings(ids)
		out[u.ErrorCode] = ids
	}
	return out
}

// TestDRSBulk: visible, invisible, missing, blank and malformed ids; 413.
func TestDRSBulk(t *testing.T) {
	t.Parallel()
	w := startDRS(t, withDRS(func(c *app.Config) { c.DRSMaxBulk = 6 }))
	ids := []string{recA, recB, "dg.TEST/missing", recBlank, "bad//id", recA}
	for _, tc := range []struct {
		class    string
		on       bool
		resolved []string
	}{
		{"proj", false, []string{recA}},
		{"anon", false, nil},
		{"global", false, []string{recA, recB}},
		{"anon", true, []string{recA, recB}},
	} {
		w.setDiscoverable(tc.on)
		var b bulkReply
		w.Do(http.MethodPost, tplObjects, tplObjects+"?expand=false", w.auth(tc.class), bulkIDs(ids...)).MustStatus(t, 200).JSON(t, &b)
		var got []string
		for _, o := range b.Resolved {
			got = append(got, o["id"].(string))
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.resolved) {
			t.Errorf("%s on=%v resolved %v, want %v", tc.class, tc.on, got, tc.resolved)
		}
		// Invisible ids are reported exactly like missing ones.
		var want404 []string
		for _, id := range []string{recA, recB, "dg.TEST/missing", recBlank} {
			if !drsContains(tc.resolved, id) {
				want404 = append(want404, id)
			}
		}
		sort.Strings(want404)
		un := b.unresolved()
		if fmt.Sprint(un[404]) != fmt.Sprint(want404) || fmt.Sprint(un[400]) != "[bad//id]" || len(un) != 2 {
			t.Errorf("%s on=%v unresolved %v, want 404 %v and 400 [bad//id]", tc.class, tc.on, un, want404)
		}
		if b.Summary.Requested != 5 || b.Summary.Resolved != len(tc.resolved) || b.Summary.Unresolved != 5-len(tc.resolved) {
			t.Errorf("summary %+v", b.Summary)
		}
	}
	w.setDiscoverable(false)
	drsErr(t, w.Do(http.MethodPost, tplObjects, tplObjects, w.proj, bulkIDs("a", "b", "c", "d", "e", "f", "g")), 413)
	drsErr(t, w.Do(http.MethodPost, tplObjects, tplObjects, w.proj, bulkIDs()), 400)
	drsErr(t, w.Do(http.MethodPost, tplObjects, tplObjects, w.proj, map[string]any{}), 400)
	drsErr(t, w.Do(http.MethodPost, tplObjects, tplObjects, w.proj, `{"bulk_object_ids": "x"}`), 400)
	drsErr(t, w.Do(http.MethodPost, tplObjects, tplObjects, w.proj, `{"bulk_object_ids": ["x"], "passports": "x"}`), 400)
	drsErr(t, w.Do(http.MethodPost, tplObjects, tplObjects+"?expand=maybe", w.proj, bulkIDs(recA)), 400)
	drsErr(t, w.Do(http.MethodPost, tplObjects, tplObjects, w.invalid, bulkIDs(recA)), 401)
	r := w.Do(http.MethodPost, tplObjects, tplObjects, w.proj, map[string]any{"bulk_object_ids": []string{recA}, "passports": []string{"p.p.p"}}).MustStatus(t, 200)
	var b bulkReply
	r.JSON(t, &b)
	if len(b.Resolved) != 1 || len(b.Unresolved) != 0 {
		t.Errorf("bulk with passport: %s", r.Body)
	}

	// OPTIONS /objects: authorizations per object, same visibility rules.
	var ob bulkReply
	w.Do(http.MethodOptions, tplObjects, tplObjects, w.proj, bulkIDs(recA, recB, "nope-1")).MustStatus(t, 200).JSON(t, &ob)
	if len(ob.Resolved) != 1 || ob.Resolved[0]["drs_object_id"] != recA || fmt.Sprint(ob.unresolved()[404]) != "[dg.TEST/b-1 nope-1]" {
		t.Errorf("bulk options: %+v", ob)
	}
	drsErr(t, w.Do(http.MethodOptions, tplObjects, tplObjects, w.proj, nil), 400)
	drsErr(t, w.Do(http.MethodOptions, tplObjects, tplObjects, w.proj, bulkIDs("a", "b", "c", "d", "e", "f", "g")), 413)
	drsErr(t, w.Do(http.MethodOptions, tplObjects, tplObjects, w.proj, map[string]any{"bulk_object_ids": []string{"a"}, "passports": []string{"x"}}), 400)
}

func drsContains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestDRSBulkAccess: per-object read-storage, invisible like missing,
// unknown access ids, anonymous 401, 413.
func TestDRSBulkAccess(t *testing.T) {
	t.Parallel()
	w := startDRS(t, withDRS(func(c *app.Config) { c.DRSMaxBulk = 5 }))
	body := map[string]any{"bulk_object_access_ids": []map[string]any{
		{"bulk_object_id": recA, "bulk_access_ids": []string{"s3", "https", "nope"}},
		{"bulk_object_id": recB, "bulk_access_ids": []string{"gs"}},
		{"bulk_object_id": "dg.TEST/missing", "bulk_access_ids": []string{"s3"}},
	}}
	type reply struct {
		Summary  struct{ Requested, Resolved, Unresolved int }
		Resolved []struct {
			DrsObjectID string `json:"drs_object_id"`
			DrsAccessID string `json:"drs_access_id"`
			URL         string
		} `json:"resolved_drs_object_access_urls"`
		Unresolved []struct {
			ErrorCode int      `json:"error_code"`
			ObjectIDs []string `json:"object_ids"`
			AccessIDs []string `json:"access_ids"`
		} `json:"unresolved_drs_objects"`
	}
	// codes lists each unresolved entry as code:object:access ids.
	codes := func(r reply) string {
		var parts []string
		for _, u := range r.Unresolved {
			parts = append(parts, fmt.Sprintf("%d:%s:%s", u.ErrorCode, strings.Join(u.ObjectIDs, ","), strings.Join(u.AccessIDs, ",")))
		}
		return strings.Join(parts, " ")
	}
	// The read-storage holder (filtering on): recA fails as a whole on
	// "nope" (its s3 and https URLs are not given: an object is never both
	// resolved and unresolved); recB is visible without read-storage → 403;
	// missing → 404. Every entry names the object and the access ids.
	var r reply
	w.Do(http.MethodPost, tplBulkAccess, tplBulkAccess, w.storage, body).MustStatus(t, 200).JSON(t, &r)
	if len(r.Resolved) != 0 {
		t.Errorf("resolved %+v", r.Resolved)
	}
	if got := codes(r); got != "403:dg.TEST/b-1:gs 404:dg.TEST/a-1:nope 404:dg.TEST/missing:s3" {
		t.Errorf("unresolved %s", got)
	}
	if r.Summary.Requested != 5 || r.Summary.Resolved != 0 || r.Summary.Unresolved != 5 {
		t.Errorf("summary %+v", r.Summary)
	}
	// Without the bad access id recA resolves; a duplicate entry counts once.
	good := map[string]any{"bulk_object_access_ids": []map[string]any{
		{"bulk_object_id": recA, "bulk_access_ids": []string{"s3", "https"}},
		{"bulk_object_id": recA, "bulk_access_ids": []string{"https"}},
		{"bulk_object_id": recB, "bulk_access_ids": []string{"gs"}},
	}}
	r = reply{}
	w.Do(http.MethodPost, tplBulkAccess, tplBulkAccess, w.storage, good).MustStatus(t, 200).JSON(t, &r)
	if len(r.Resolved) != 2 || r.Resolved[0].URL != "s3://bkt/a-1" || r.Resolved[1].DrsAccessID != "https" || codes(r) != "403:dg.TEST/b-1:gs" {
		t.Errorf("resolved %+v unresolved %s", r.Resolved, codes(r))
	}
	if r.Summary.Requested != 3 || r.Summary.Resolved != 2 || r.Summary.Unresolved != 1 {
		t.Errorf("summary %+v", r.Summary)
	}
	// A reader who cannot see recB gets 404 for it, like a missing id.
	r = reply{}
	w.Do(http.MethodPost, tplBulkAccess, tplBulkAccess, w.proj, body).MustStatus(t, 200).JSON(t, &r)
	if got := codes(r); got != "403:dg.TEST/a-1:s3,https,nope 404:dg.TEST/b-1:gs 404:dg.TEST/missing:s3" || len(r.Resolved) != 0 {
		t.Errorf("reader: %s %+v", got, r.Resolved)
	}
	r = reply{}
	w.Do(http.MethodPost, tplBulkAccess, tplBulkAccess, w.adminAuth(), good).MustStatus(t, 200).JSON(t, &r)
	if len(r.Resolved) != 3 {
		t.Errorf("admin: %+v", r)
	}
	// Anonymous (no anonymous grants here): each object is unresolved, 404
	// where it is invisible, never a URL.
	r = reply{}
	w.Do(http.MethodPost, tplBulkAccess, tplBulkAccess, "", good).MustStatus(t, 200).JSON(t, &r)
	if got := codes(r); got != "404:dg.TEST/a-1:s3,https 404:dg.TEST/b-1:gs" || len(r.Resolved) != 0 {
		t.Errorf("anonymous: %s %+v", got, r.Resolved)
	}
	drsErr(t, w.Do(http.MethodPost, tplBulkAccess, tplBulkAccess, w.invalid, body), 401)
	big := map[string]any{"bulk_object_access_ids": []map[string]any{{"bulk_object_id": recA, "bulk_access_ids": []string{"a", "b", "c", "d", "e", "f"}}}}
	drsErr(t, w.Do(http.MethodPost, tplBulkAccess, tplBulkAccess, w.storage, big), 413)
	drsErr(t, w.Do(http.MethodPost, tplBulkAccess, tplBulkAccess, w.storage, map[string]any{"bulk_object_access_ids": []any{}}), 400)
	drsErr(t, w.Do(http.MethodPost, tplBulkAccess, tplBulkAccess, w.storage, map[string]any{"bulk_object_access_ids": []map[string]any{{"bulk_object_id": recA}}}), 400)
}

// TestDRSListObjects: the list is filtered like /index, skips blank
// records, pages with next_cursor, and caller filters never widen it.
func TestDRSListObjects(t *testing.T) {
	t.Parallel()
	w := startDRS(t)
	list := func(auth, query string) ([]string, string) {
		t.Helper()
		var out struct {
			DrsObjects []struct{ ID string } `json:"drs_objects"`
			NextCursor string                `json:"next_cursor"`
		}
		w.Do(http.MethodGet, tplObjects, tplObjects+query, auth, nil).MustStatus(t, 200).JSON(t, &out)
		var ids []string
		for _, o := range out.DrsObjects {
			ids = append(ids, o.ID)
		}
		return ids, out.NextCursor
	}
	all := func(auth, query string) []string {
		var ids []string
		ids, next := list(auth, query)
		for i := 0; next != "" && i < 10; i++ {
			var more []string
			more, next = list(auth, "?limit=2&cursor="+next)
			ids = append(ids, more...)
		}
		return ids
	}
	for class, want := range map[string]string{
		"anon":    "[]",
		"proj":    "[dg.TEST/a-1]",
		"parent":  "[dg.TEST/a-1]",
		"storage": "[dg.TEST/a-1 dg.TEST/b-1 dg.TEST/m-1]",
		"global":  "[dg.TEST/a-1 dg.TEST/b-1 dg.TEST/m-1 empty-1]",
	} {
		if got := fmt.Sprint(all(w.auth(class), "?limit=2")); got != want && !(want == "[]" && got == "[]") {
			t.Errorf("%s list %s, want %s", class, got, want)
		}
	}
	if ids, _ := list(w.proj, "?authz=/programs/p2/projects/b"); len(ids) != 0 {
		t.Errorf("authz filter widened the list: %v", ids)
	}
	if ids, _ := list(w.global, "?ids="+recA+","+recB+"&expand=TRUE"); fmt.Sprint(ids) != "[dg.TEST/a-1 dg.TEST/b-1]" {
		t.Errorf("ids filter %v", ids)
	}
	drsErr(t, w.Do(http.MethodGet, tplObjects, tplObjects+"?cursor=garbage", w.global, nil), 400)
	drsErr(t, w.Do(http.MethodGet, tplObjects, tplObjects+"?expand=yes", w.global, nil), 400)
	if ids, _ := list(w.adminAuth(), "?limit=10"); fmt.Sprint(ids) != "[dg.TEST/a-1 dg.TEST/b-1 dg.TEST/m-1 empty-1]" {
		t.Errorf("admin list %v", ids)
	}
	drsErr(t, w.Do(http.MethodGet, tplObjects, tplObjects, w.invalid, nil), 401)
	w.setDiscoverable(true)
	if got := fmt.Sprint(all("", "?limit=3")); got != "[dg.TEST/a-1 dg.TEST/b-1 dg.TEST/m-1 empty-1]" {
		t.Errorf("discoverable list %s", got)
	}
}

// TestDRSExpand: expand is true or false in any letter case (nothing
// else) and changes nothing.
func TestDRSExpand(t *testing.T) {
	t.Parallel()
	w := startDRS(t)
	plain := w.Do(http.MethodGet, tplObject, objPath(recA), w.proj, nil).MustStatus(t, 200).Body
	for _, q := range []string{"?expand=true", "?expand=TRUE", "?expand=False"} {
		r := w.Do(http.MethodGet, tplObject, objPath(recA)+q, w.proj, nil).MustStatus(t, 200)
		if string(r.Body) != string(plain) {
			t.Errorf("%s changed the object: %s", q, r.Body)
		}
	}
	for _, q := range []string{"?expand=sure", "?expand=1", "?expand=0", "?expand="} {
		drsErr(t, w.Do(http.MethodGet, tplObject, objPath(recA)+q, w.proj, nil), 400)
	}
	for _, body := range []any{map[string]any{"expand": true}, map[string]any{}, nil, map[string]any{"expand": false, "passports": []string{}}} {
		r := w.Do(http.MethodPost, tplObject, objPath(recA), w.proj, body).MustStatus(t, 200)
		if string(r.Body) != string(plain) {
			t.Errorf("POST %v changed the object: %s", body, r.Body)
		}
	}
	drsErr(t, w.Do(http.MethodPost, tplObject, objPath(recA), w.proj, map[string]any{"expand": "yes"}), 400)
	drsErr(t, w.Do(http.MethodPost, tplObject, objPath(recA), w.proj, map[string]any{"passports": "one"}), 400)
	drsErr(t, w.Do(http.MethodPost, tplObject, objPath(recA), w.proj, `{"expand": true`), 400)
	// Passports never widen: an anonymous caller with a passport still cannot see.
	drsErr(t, w.Do(http.MethodPost, tplObject, objPath(recA), "", map[string]any{"passports": []string{Tok("visa")}}), 403)
}

// TestDRSServiceInfo: 1.5 shape with counts under the caller's discovery.
func TestDRSServiceInfo(t *testing.T) {
	t.Parallel()
	w := startDRS(t, withDRS(func(c *app.Config) { c.DRSMaxBulk = 250 }))
	count := func(auth string) (int, int) {
		m := w.Do(http.MethodGet, tplInfo, tplInfo, auth, nil).MustStatus(t, 200).Map(t)
		if m["maxBulkRequestLength"] != float64(250) {
			t.Errorf("maxBulkRequestLength %v", m["maxBulkRequestLength"])
		}
		typ := m["type"].(map[string]any)
		if typ["group"] != "org.ga4gh" || typ["artifact"] != "drs" || typ["version"] != "1.5.0" {
			t.Errorf("type %v", typ)
		}
		d := m["drs"].(map[string]any)
		if d["maxBulkRequestLength"] != float64(250) {
			t.Errorf("drs %v", d)
		}
		return int(d["objectCount"].(float64)), int(d["totalObjectSize"].(float64))
	}
	// objectCount counts visible DRS objects: the blank record is visible
	// to proj, storage, global and admin but is not counted (/_stats counts it).
	for class, want := range map[string][2]int{"anon": {0, 0}, "proj": {1, 123}, "storage": {3, 369}, "global": {4, 492}, "admin": {4, 492}} {
		if n, size := count(w.auth(class)); n != want[0] || size != want[1] {
			t.Errorf("%s: objectCount %d, totalObjectSize %d; want %v", class, n, size, want)
		}
	}
	drsErr(t, w.Do(http.MethodGet, tplInfo, tplInfo, w.invalid, nil), 401)
	if st := w.Do(http.MethodGet, "/_stats", "/_stats", w.global, nil).MustStatus(t, 200).Map(t); st["fileCount"] != float64(5) {
		t.Errorf("/_stats for global: %v (counts every visible record, blank included)", st)
	}
	w.setDiscoverable(true)
	if n, _ := count(""); n != 4 {
		t.Errorf("discoverable anon count %d", n)
	}
}

// TestDRSNotAnObject: records that are not DRS objects — blank, no URL, or
// only URLs without a DRS access type (az://) — are 404 on every single
// route, unresolved in bulk, left out of every list path and not counted by
// service-info; a record with one DRS-typed URL among others is an object
// listing only that access method. The indexd API still serves them all.
func TestDRSNotAnObject(t *testing.T) {
	t.Parallel()
	w := startDRS(t)
	writer := w.E.Writer()
	const (
		azOnly = "dg.TEST/az-1"
		noURL  = "dg.TEST/nourl-1"
		mixed  = "dg.TEST/mixed-1"
	)
	az := Rec(azOnly, "/programs/p1/projects/a")
	az["urls"] = []string{"az://acct/container/az-1", "abfss://c@acct.dfs.core.windows.net/az-1"}
	w.E.Create(writer, az)
	none := Rec(noURL, "/programs/p1/projects/a")
	none["urls"] = []string{}
	w.E.Create(writer, none)
	mix := Rec(mixed, "/programs/p1/projects/a")
	mix["urls"] = []string{"az://acct/container/mixed-1", "GS://g/mixed-1"}
	w.E.Create(writer, mix)

	for _, id := range []string{azOnly, noURL} {
		r := w.Do(http.MethodGet, tplObject, objPath(id), w.proj, nil)
		drsErr(t, r, 404)
		if !strings.Contains(string(r.Body), "not a DRS object") {
			t.Errorf("GET %s: message does not say why: %s", id, r.Body)
		}
		drsErr(t, w.Do(http.MethodPost, tplObject, objPath(id), w.proj, nil), 404)
		drsErr(t, w.Do(http.MethodOptions, tplObject, objPath(id), w.proj, nil), 404)
		drsErr(t, w.Do(http.MethodGet, tplAccess, objPath(id)+"/access/az", w.storage, nil), 404)
		w.Do(http.MethodGet, "/index/{guid}", "/index/"+id, w.proj, nil).MustStatus(t, 200)
	}
	var b bulkReply
	w.Do(http.MethodPost, tplObjects, tplObjects, w.proj, bulkIDs(azOnly, noURL, mixed)).MustStatus(t, 200).JSON(t, &b)
	if len(b.Resolved) != 1 || b.Resolved[0]["id"] != mixed || fmt.Sprint(b.unresolved()[404]) != "[dg.TEST/az-1 dg.TEST/nourl-1]" {
		t.Errorf("bulk: %+v", b)
	}
	m := w.Do(http.MethodGet, tplObject, objPath(mixed), w.proj, nil).MustStatus(t, 200).Map(t)
	if ams := fmt.Sprint(m["access_methods"]); !strings.Contains(ams, "type:gs") || strings.Contains(ams, "az") || len(m["access_methods"].([]any)) != 1 {
		t.Errorf("mixed access methods %s", ams)
	}
	w.Do(http.MethodGet, tplAccess, objPath(mixed)+"/access/gs", w.storage, nil).MustStatus(t, 200)

	listed := func(auth, query string) []string {
		t.Helper()
		var out struct {
			DrsObjects []struct{ ID string } `json:"drs_objects"`
		}
		w.Do(http.MethodGet, tplObjects, tplObjects+query, auth, nil).MustStatus(t, 200).JSON(t, &out)
		var ids []string
		for _, o := range out.DrsObjects {
			ids = append(ids, o.ID)
		}
		return ids
	}
	count := func(auth string) float64 {
		return w.Do(http.MethodGet, tplInfo, tplInfo, auth, nil).MustStatus(t, 200).Map(t)["drs"].(map[string]any)["objectCount"].(float64)
	}
	// Filtering on, no filter (the per-set page walk), then with a filter
	// (the SQL predicate), then discovery on (unfiltered SQL).
	want := "[dg.TEST/a-1 dg.TEST/mixed-1]"
	if got := fmt.Sprint(listed(w.proj, "?limit=50")); got != want {
		t.Errorf("list (page walk) %s, want %s", got, want)
	}
	if got := fmt.Sprint(listed(w.proj, "?limit=50&size=123")); got != want {
		t.Errorf("list (filtered) %s, want %s", got, want)
	}
	// Non-objects are filtered in SQL, not dropped after the query: a page
	// of one is never short, whatever lies between the objects in did order.
	var paged []string
	for q := "?limit=1"; q != ""; {
		var page struct {
			DrsObjects []struct{ ID string } `json:"drs_objects"`
			NextCursor string                `json:"next_cursor"`
		}
		w.Do(http.MethodGet, tplObjects, tplObjects+q, w.proj, nil).MustStatus(t, 200).JSON(t, &page)
		if len(page.DrsObjects) != 1 && page.NextCursor != "" {
			t.Fatalf("short page %+v after %v", page, paged)
		}
		for _, o := range page.DrsObjects {
			paged = append(paged, o.ID)
		}
		q = ""
		if page.NextCursor != "" {
			q = "?limit=1&cursor=" + url.QueryEscape(page.NextCursor)
		}
	}
	if got := fmt.Sprint(paged); got != want {
		t.Errorf("paged by one: %s, want %s", got, want)
	}
	if got := count(w.proj); got != 2 {
		t.Errorf("proj objectCount %v, want 2", got)
	}
	w.setDiscoverable(true)
	if got := fmt.Sprint(listed("", "?limit=50")); got != "[dg.TEST/a-1 dg.TEST/b-1 dg.TEST/m-1 dg.TEST/mixed-1 empty-1]" {
		t.Errorf("discoverable list %s", got)
	}
	if got := count(""); got != 5 {
		t.Errorf("discoverable objectCount %v, want 5", got)
	}
}

// TestDRSPolicyFailure: a failing policy service fails DRS closed (503).
func TestDRSPolicyFailure(t *testing.T) {
	t.Parallel()
	w := startDRS(t)
	fresh := Tok("fresh-reader")
	w.E.Policy.SetUser(fresh, "fresh-reader", map[string][]string{"/programs/p1": {"read", "read-storage"}})
	w.E.Policy.SetFault(policytest.Fault500)
	drsErr(t, w.Do(http.MethodGet, tplObject, objPath(recA), Bearer(fresh), nil), 503)
	drsErr(t, w.Do(http.MethodPost, tplObjects, tplObjects, Bearer(fresh), bulkIDs(recA)), 503)
	drsErr(t, w.Do(http.MethodGet, tplObjects, tplObjects, Bearer(fresh), nil), 503)
	// Discovery on: reads need no policy decision, access still asks and
	// fails closed; a pass-through token never verified yet cannot be (503).
	w.setDiscoverable(true)
	w.Do(http.MethodGet, tplObject, objPath(recA), "", nil).MustStatus(t, 200)
	drsErr(t, w.Do(http.MethodGet, tplObject, objPath(recA), Bearer(fresh), nil), 503)
	drsErr(t, w.Do(http.MethodGet, tplAccess, objPath(recA)+"/access/s3", Bearer(fresh), nil), 503)
	drsErr(t, w.Do(http.MethodPost, tplBulkAccess, tplBulkAccess, Bearer(fresh),
		map[string]any{"bulk_object_access_ids": []map[string]any{{"bulk_object_id": recA, "bulk_access_ids": []string{"s3"}}}}), 503)
	w.E.Policy.SetFault(policytest.FaultNone)
	w.Do(http.MethodGet, tplAccess, objPath(recA)+"/access/s3", Bearer(fresh), nil).MustStatus(t, 200)
}

// TestDRSConformance validates real DrsObject, AccessURL, Error,
// Authorizations, bulk and service-info responses against the OFFICIAL
// GA4GH DRS 1.5.0 schema (../shared/drs), and the 1.2 service-info shape
// against DRS 1.2.0.
func TestDRSConformance(t *testing.T) {
	t.Parallel()
	official := officialDRS(t, "1.5.0")
	w := startDRS(t)
	check := func(method, tpl, path, auth string, body any, status int) *Response {
		t.Helper()
		r := w.Do(method, tpl, path, auth, body)
		if r.Status != status {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, status, r.Body)
		}
		offTpl := strings.TrimPrefix(tpl, drsBase)
		if offTpl == "/objects" && method == http.MethodGet {
			offTpl = "" // not a DRS 1.5 operation: items are checked below
		}
		if offTpl != "" {
			if err := validateOfficial(official, method, offTpl, r); err != nil {
				t.Errorf("%s %s → %d violates the official DRS 1.5 schema: %v\n%s", method, path, r.Status, err, bodySnippet(r.Body))
			}
		}
		var v any
		if err := json.Unmarshal(r.Body, &v); err != nil {
			t.Fatalf("not JSON: %s", r.Body)
		}
		if status >= 400 {
			if err := officialSchema(official, "Error", v); err != nil {
				t.Errorf("error body violates DRS Error: %v", err)
			}
		}
		return r
	}
	for _, on := range []bool{false, true} {
		w.setDiscoverable(on)
		check(http.MethodGet, tplInfo, tplInfo, w.proj, nil, 200)
		for _, id := range []string{recA, recB, recE} {
			check(http.MethodGet, tplObject, objPath(id), w.global, nil, 200)
			check(http.MethodPost, tplObject, objPath(id), w.global, map[string]any{"expand": true, "passports": []string{"a.b.c"}}, 200)
			check(http.MethodOptions, tplObject, objPath(id), w.global, nil, 200)
		}
		check(http.MethodGet, tplAccess, objPath(recA)+"/access/s3", w.storage, nil, 200)
		check(http.MethodPost, tplAccess, objPath(recA)+"/access/https", w.storage, map[string]any{}, 200)
		check(http.MethodPost, tplObjects, tplObjects, w.proj, bulkIDs(recA, recB, "nope"), 200)
		check(http.MethodOptions, tplObjects, tplObjects, w.proj, bulkIDs(recA, "nope"), 200)
		check(http.MethodPost, tplBulkAccess, tplBulkAccess, w.storage, map[string]any{"bulk_object_access_ids": []map[string]any{{"bulk_object_id": recA, "bulk_access_ids": []string{"s3", "x"}}}}, 200)
		// Errors.
		check(http.MethodGet, tplObject, objPath("nope-1"), w.proj, nil, 404)
		check(http.MethodGet, tplAccess, objPath(recA)+"/access/s3", "", nil, 401)
		check(http.MethodGet, tplAccess, objPath(recA)+"/access/s3", w.proj, nil, 403)
		check(http.MethodGet, tplObject, objPath("a//b"), w.proj, nil, 400)
		check(http.MethodPost, tplObjects, tplObjects, w.proj, bulkIDs(make([]string, 1001)...), 413)
	}
	w.setDiscoverable(false)
	check(http.MethodGet, tplObject, objPath(recB), w.proj, nil, 403)
	// Allowed deviations (officialDeviations): checked as official Errors.
	check(http.MethodOptions, tplObject, objPath(recB), w.proj, nil, 403)
	check(http.MethodGet, tplInfo, tplInfo, w.invalid, nil, 401)
	check(http.MethodOptions, tplObjects, tplObjects, w.invalid, bulkIDs(recA), 401)
	// GET /objects (our list) holds official DrsObjects.
	var list struct {
		DrsObjects []any `json:"drs_objects"`
	}
	check(http.MethodGet, tplObjects, tplObjects, w.global, nil, 200).JSON(t, &list)
	if len(list.DrsObjects) != 4 {
		t.Fatalf("list: %d objects", len(list.DrsObjects))
	}
	for _, o := range list.DrsObjects {
		if err := officialSchema(official, "DrsObject", o); err != nil {
			t.Errorf("listed object violates DrsObject: %v", err)
		}
	}

	// DRS 1.2-shaped service-info.
	official12 := officialDRS(t, "1.2.0")
	e12 := Start(t, withDRS(func(c *app.Config) { c.DRSVersion = "1.2" }))
	c12 := e12.Checked(t)
	r := c12.Do(http.MethodGet, tplInfo, tplInfo, "", nil).MustStatus(t, 200)
	if err := validateOfficial(official12, http.MethodGet, "/service-info", r); err != nil {
		t.Errorf("1.2 service-info violates the official DRS 1.2 schema: %v\n%s", err, r.Body)
	}
	if m := r.Map(t); m["type"].(map[string]any)["version"] != "1.2.0" || m["drs"] != nil {
		t.Errorf("1.2 service-info %s", r.Body)
	}
}

// officialDeviations are the statuses this service answers on an official
// DRS operation although the official document does not list them for it
// (docs/drs.md, "Deviations from the official status lists"). The body of
// such a response must still be an official Error. Any other status the
// official operation does not list fails validateOfficial.
var officialDeviations = map[string][]int{
	"GET /service-info":                            {401, 503},
	"OPTIONS /objects/{object_id}":                 {401, 403, 503},
	"GET /objects/{object_id}":                     {503},
	"POST /objects/{object_id}":                    {413, 415, 503},
	"OPTIONS /objects":                             {401, 415, 503},
	"POST /objects":                                {415, 503},
	"GET /objects/{object_id}/access/{access_id}":  {503},
	"POST /objects/{object_id}/access/{access_id}": {413, 415, 503},
	"POST /objects/access":                         {415, 503},
}

// validateOfficial checks a real response against an operation of an
// official DRS document strictly: a status the operation lists (or its
// default) is validated with its schema; a status it does not list must be
// one of officialDeviations for the operation, with an official Error body.
// (kin-openapi alone accepts any body for an unlisted status.)
func validateOfficial(doc *openapi3.T, method, template string, r *Response) error {
	item := doc.Paths.Value(template)
	if item == nil || item.GetOperation(method) == nil {
		return fmt.Errorf("%s %s is not an operation of the official document", method, template)
	}
	resp := item.GetOperation(method).Responses
	if resp.Status(r.Status) != nil || resp.Default() != nil {
		return validateAgainst(doc, method, template, r, true)
	}
	for _, allowed := range officialDeviations[method+" "+template] {
		if allowed == r.Status {
			var v any
			if err := json.Unmarshal(r.Body, &v); err != nil {
				return fmt.Errorf("deviation status %d: body is not JSON: %w", r.Status, err)
			}
			if err := officialSchema(doc, "Error", v); err != nil {
				return fmt.Errorf("deviation status %d: body is not an official Error: %w", r.Status, err)
			}
			return nil
		}
	}
	return fmt.Errorf("status %d is not listed by the official %s %s and is not an allowed deviation", r.Status, method, template)
}

// TestDRSOfficialValidatorStrict: the official-schema check fails on a
// status the official operation does not list, unless it is an allowed
// deviation with an Error body — so a conformance pass means something.
func TestDRSOfficialValidatorStrict(t *testing.T) {
	t.Parallel()
	official := officialDRS(t, "1.5.0")
	jsonHeader := http.Header{"Content-Type": []string{"application/json"}}
	errBody := func(code int) []byte { return []byte(fmt.Sprintf(`{"msg":"x","status_code":%d}`, code)) }
	for _, tc := range []struct {
		name, method, tpl string
		status            int
		body              []byte
		ok                bool
	}{
		{"listed status, valid body", http.MethodGet, "/objects/{object_id}", 404, errBody(404), true},
		{"listed status, bad body", http.MethodGet, "/objects/{object_id}", 404, []byte(`{"msg":1}`), false},
		{"unlisted, not a deviation", http.MethodGet, "/objects/{object_id}", 418, errBody(418), false},
		{"unlisted, not a deviation for this operation", http.MethodGet, "/objects/{object_id}", 415, errBody(415), false},
		{"allowed deviation", http.MethodOptions, "/objects/{object_id}", 403, errBody(403), true},
		{"allowed deviation, bad body", http.MethodOptions, "/objects/{object_id}", 403, []byte(`{"msg":1}`), false},
		{"service-info 503", http.MethodGet, "/service-info", 503, errBody(503), true},
		{"service-info 404", http.MethodGet, "/service-info", 404, errBody(404), false},
		{"not an official operation", http.MethodGet, "/objects", 200, []byte(`{}`), false},
	} {
		err := validateOfficial(official, tc.method, tc.tpl, &Response{Status: tc.status, Header: jsonHeader, Body: tc.body})
		if (err == nil) != tc.ok {
			t.Errorf("%s: validateOfficial(%s %s → %d) = %v, want ok=%v", tc.name, tc.method, tc.tpl, tc.status, err, tc.ok)
		}
	}
}
