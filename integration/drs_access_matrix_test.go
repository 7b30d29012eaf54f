package integration

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/datacommons/indexd/policy/policytest"
	"github.com/datacommons/indexd/signing/signingtest"
)

// accessOutcome is what the access endpoints should do for one caller and
// one record.
type accessOutcome int

const (
	accessOK            accessOutcome = iota // 200 with the URL (see accessKind)
	accessInvisible                          // 403 single (404 under hide_existence); bulk 404
	accessDenied                             // visible, no read-storage on every path: 403 single and bulk
	accessAnonInvisible                      // anonymous, invisible: 401 single (404 under hide_existence); bulk 404
	accessAnonDenied                         // anonymous, visible, no read-storage: 401 single and bulk
	accessUnauth                             // invalid credential: 401 for the whole request
	accessDown                               // policy service down: 503 for the whole request
)

// singleStatus is the status of GET/POST objects/{id}/access/{access_id}
// (for accessOK: when a URL can be made).
func (o accessOutcome) singleStatus() int {
	return [...]int{200, 403, 403, 401, 401, 401, 503}[o]
}

// bulkCode is the per-object code in POST objects/access (0: resolved).
func (o accessOutcome) bulkCode() int {
	return [...]int{0, 404, 403, 404, 401, 0, 0}[o]
}

// accessKind is what an allowed caller gets for one access method.
type accessKind int

const (
	signedS3 accessKind = iota // a SigV4 URL of the configured S3 bucket, fetchable
	signedGS                   // a V4 URL of the configured GCS bucket, fetchable
	asStored                   // a public location, as stored
	refused                    // a bucket without an entry (unsigned: refuse): 404
)

// accessClass is a caller class of the access matrix: its grants and the
// outcome per record, with discovery filtering on and off.
type accessClass struct {
	name     string
	grants   map[string][]string // nil: no credential (anonymous)
	invalid  bool                // an expired token (401)
	down     bool                // the policy service fails for this caller's requests
	filtered map[string]accessOutcome
	open     map[string]accessOutcome // are_records_discoverable on
}

// matrixMethod is one access method of a fixture record.
type matrixMethod struct {
	accessID string
	kind     accessKind
	stored   string
}

// TestDRSAccessMatrix checks GET and POST objects/{id}/access/{access_id}
// and POST objects/access for every caller class — anonymous without and
// with open-data grants (anonymous read-storage) included — for a record
// on one path (recA), another (recB), two paths (recM) and empty authz
// (recE), with discovery filtering on and off, and for every kind of
// location: a configured S3 bucket and a configured GCS bucket (signed
// URLs, fetched from storage that verifies the signatures), a public https
// URL (as stored), buckets without an entry (refused: 404). Every response
// is also checked against openapi.yaml; every 401 carries a Bearer
// challenge, every answer Cache-Control: no-store.
func TestDRSAccessMatrix(t *testing.T) {
	t.Parallel()
	s3 := signingtest.NewS3(t)
	gcs := signingtest.NewGCS(t)
	content := map[string][]byte{"s3": []byte("bytes of a-1\n"), "gs": []byte("bytes of b-1\n")}
	s3.Put(t, "bkt", "a-1", content["s3"])
	gcs.Put("g", "b-1", content["gs"])
	storage := WithStorage(t, fmt.Sprintf(`unsigned: refuse
buckets:
- {provider: s3, bucket: bkt, endpoint: %q, path_style: true, credentials: {source: file, file: %q}}
- {provider: gs, bucket: g, endpoint: %q, path_style: true, credentials: {source: file, file: %q}}
`, s3.URL, s3.CredentialsFile(t), gcs.URL, gcs.KeyFile))
	w := startDRS(t, storage)

	all := func(o accessOutcome) map[string]accessOutcome {
		return map[string]accessOutcome{recA: o, recB: o, recM: o, recE: o}
	}
	classes := []accessClass{
		{name: "anonymous", filtered: all(accessAnonInvisible), open: all(accessAnonDenied)},
		{name: "invalid token", invalid: true, filtered: all(accessUnauth), open: all(accessUnauth)},
		{
			name:     "reader without read-storage",
			grants:   map[string][]string{"/programs/p1": {"read"}, "/programs/p2": {"read"}},
			filtered: map[string]accessOutcome{recA: accessDenied, recB: accessDenied, recM: accessDenied, recE: accessInvisible},
			open:     all(accessDenied),
		},
		{
			name: "reader with read-storage on one of two paths",
			grants: map[string][]string{
				"/programs/p1/projects/a": {"read", "read-storage"},
				"/programs/p2/projects/b": {"read"},
			},
			filtered: map[string]accessOutcome{recA: accessOK, recB: accessDenied, recM: accessDenied, recE: accessInvisible},
			open:     map[string]accessOutcome{recA: accessOK, recB: accessDenied, recM: accessDenied, recE: accessDenied},
		},
		{
			name:     "reader with read-storage on both paths",
			grants:   map[string][]string{"/programs": {"read", "read-storage"}},
			filtered: map[string]accessOutcome{recA: accessOK, recB: accessOK, recM: accessOK, recE: accessInvisible},
			open:     map[string]accessOutcome{recA: accessOK, recB: accessOK, recM: accessOK, recE: accessDenied},
		},
		{
			// The policy admin grant alone discovers nothing under
			// filtering; with discovery on it fetches empty-authz records
			// (admin-only) but not others without read-storage.
			name:     "policy admin",
			grants:   map[string][]string{"/services/indexd/admin": {"admin"}},
			filtered: all(accessInvisible),
			open:     map[string]accessOutcome{recA: accessDenied, recB: accessDenied, recM: accessDenied, recE: accessOK},
		},
		{
			name:     "policy admin who discovers all",
			grants:   map[string][]string{"/services/indexd/admin": {"admin"}, globalPath: {"read"}},
			filtered: map[string]accessOutcome{recA: accessDenied, recB: accessDenied, recM: accessDenied, recE: accessOK},
			open:     map[string]accessOutcome{recA: accessDenied, recB: accessDenied, recM: accessDenied, recE: accessOK},
		},
		{
			name:     "writer without read",
			grants:   map[string][]string{"/programs": {"create", "update", "delete"}},
			filtered: all(accessInvisible),
			open:     all(accessDenied),
		},
		{
			name:     "policy service down",
			grants:   map[string][]string{"/programs": {"read", "read-storage"}, "/services/indexd/admin": {"admin"}},
			down:     true,
			filtered: all(accessDown),
			open:     all(accessDown),
		},
	}
	// Open data: the anonymous grants hold read and read-storage on
	// /programs/p1/projects/a (and, in the policy double as in Arborist,
	// apply to every caller). Checked after the classes above.
	openData := accessClass{
		name:     "anonymous with open-data grants",
		filtered: map[string]accessOutcome{recA: accessOK, recB: accessAnonInvisible, recM: accessAnonInvisible, recE: accessAnonInvisible},
		open:     map[string]accessOutcome{recA: accessOK, recB: accessAnonDenied, recM: accessAnonDenied, recE: accessAnonDenied},
	}
	methods := map[string][]matrixMethod{
		recA: {{"s3", signedS3, "s3://bkt/a-1"}, {"https", asStored, "https://example.org/a-1"}, {"s3-2", refused, "s3://bkt2/a-1"}},
		recB: {{"gs", signedGS, "gs://g/b-1"}},
		recM: {{"s3", refused, "s3://bucket/dg.TEST_m-1"}},
		recE: {{"s3", refused, "s3://bucket/empty-1"}},
	}
	records := []string{recA, recB, recM, recE}

	// auth returns a credential for the class. Each call makes a new token
	// (so no cached mapping hides a policy failure) with the class's grants.
	n := 0
	auth := func(c accessClass) string {
		switch {
		case c.invalid:
			return w.invalid
		case c.grants == nil:
			return ""
		}
		n++
		name := fmt.Sprintf("am-%d", n)
		tok := Tok(name)
		w.E.Policy.SetUser(tok, name, c.grants)
		return Bearer(tok)
	}
	do := func(c accessClass, method, tpl, path string, body any) *Response {
		a := auth(c)
		if c.down {
			w.E.Policy.SetFault(policytest.Fault500)
			defer w.E.Policy.SetFault(policytest.FaultNone)
		}
		return w.Do(method, tpl, path, a, body)
	}
	check := func(open bool, c accessClass) {
		want := c.filtered
		if open {
			want = c.open
		}
		prefix := fmt.Sprintf("discoverable=%v/%s", open, c.name)
		// Single access, GET and POST, every access method.
		for _, id := range records {
			for _, m := range methods[id] {
				for _, method := range []string{http.MethodGet, http.MethodPost} {
					var body any
					if method == http.MethodPost {
						body = map[string]any{"passports": []string{"ignored.passport.value"}}
					}
					r := do(c, method, tplAccess, objPath(id)+"/access/"+m.accessID, body)
					status := want[id].singleStatus()
					if status == 200 && m.kind == refused {
						status = 404
					}
					name := fmt.Sprintf("%s: %s access %s/%s", prefix, method, id, m.accessID)
					if r.Status != status {
						t.Errorf("%s: %d, want %d; %s", name, r.Status, status, r.Body)
						continue
					}
					if status != 200 {
						drsErr(t, r, status)
						checkChallenge(t, name, r, c.invalid)
						if want[id] == accessOK && !strings.Contains(string(r.Body), "storage configuration") {
							t.Errorf("%s: refusal does not say why: %s", name, r.Body)
						}
						continue
					}
					if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
						t.Errorf("%s: Cache-Control %q", name, cc)
					}
					resp := r.Map(t)
					u, _ := resp["url"].(string)
					if len(resp) != 1 {
						t.Errorf("%s: %s", name, r.Body)
					}
					checkAccessURL(t, name, u, m, s3.URL, gcs.URL, content)
				}
			}
		}
		// Bulk access over the four records, first access method of each.
		items := make([]map[string]any, 0, len(records))
		for _, id := range records {
			items = append(items, map[string]any{"bulk_object_id": id, "bulk_access_ids": []string{methods[id][0].accessID}})
		}
		r := do(c, http.MethodPost, tplBulkAccess, tplBulkAccess, map[string]any{"bulk_object_access_ids": items})
		checkBulkAccess(t, prefix, r, want, records, methods, func(name, u string, m matrixMethod) {
			checkAccessURL(t, name, u, m, s3.URL, gcs.URL, content)
		})
	}

	for _, open := range []bool{false, true} {
		w.setDiscoverable(open)
		for _, c := range classes {
			check(open, c)
		}
	}
	// A second instance on the same database and policy service, started
	// after the grants change (the first holds the anonymous mapping in
	// its cache for the mapping TTL).
	w.E.Policy.SetAnonymous(map[string][]string{"/programs/p1/projects/a": {"read", "read-storage"}})
	w = &drsWorld{Checked: w.E.StartAnother(t, WithFiltering(globalPath), storage).Checked(t), t: t}
	for _, open := range []bool{false, true} {
		w.setDiscoverable(open)
		check(open, openData)
	}
}

// checkChallenge: every 401 asks for a bearer token (RFC 6750), and says
// invalid_token when one was sent.
func checkChallenge(t *testing.T, name string, r *Response, sentToken bool) {
	t.Helper()
	if r.Status != http.StatusUnauthorized {
		if h := r.Header.Get("WWW-Authenticate"); h != "" {
			t.Errorf("%s: %d with WWW-Authenticate %q", name, r.Status, h)
		}
		return
	}
	// The first challenge is Bearer; error="invalid_token" with an
	// error_description when a token was sent (issue 10); a Basic
	// challenge follows where basic authentication is on.
	h := r.Header.Values("WWW-Authenticate")
	if len(h) == 0 {
		t.Errorf("%s: 401 without WWW-Authenticate", name)
		return
	}
	want := `Bearer realm="indexd"`
	if sentToken {
		want += `, error="invalid_token", error_description="`
		if !strings.HasPrefix(h[0], want) {
			t.Errorf("%s: WWW-Authenticate %q, want prefix %q", name, h[0], want)
		}
	} else if h[0] != want {
		t.Errorf("%s: WWW-Authenticate %q, want %q", name, h[0], want)
	}
}

// checkAccessURL checks an answered URL against the method's kind; a
// signed one is fetched from the storage, which verifies it.
func checkAccessURL(t *testing.T, name, u string, m matrixMethod, s3URL, gcsURL string, content map[string][]byte) {
	t.Helper()
	switch m.kind {
	case asStored:
		if u != m.stored {
			t.Errorf("%s: url %s, want %s as stored", name, u, m.stored)
		}
		return
	case signedS3:
		if !strings.HasPrefix(u, s3URL+"/bkt/a-1?") || !strings.Contains(u, "X-Amz-Signature=") {
			t.Errorf("%s: not a signed URL of the S3 bucket: %.60s…", name, u)
			return
		}
	case signedGS:
		if !strings.HasPrefix(u, gcsURL+"/g/b-1?") || !strings.Contains(u, "X-Goog-Signature=") {
			t.Errorf("%s: not a signed URL of the GCS bucket: %.60s…", name, u)
			return
		}
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Errorf("%s: fetch: %v", name, err)
		return
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if want := content[m.accessID]; resp.StatusCode != 200 || string(b) != string(want) {
		t.Errorf("%s: fetch through the signed URL: %d %q", name, resp.StatusCode, b)
	}
}

// checkBulkAccess compares a POST objects/access answer with the outcome
// of each record (first access method of each).
func checkBulkAccess(t *testing.T, prefix string, r *Response, want map[string]accessOutcome, records []string, methods map[string][]matrixMethod, checkURL func(name, u string, m matrixMethod)) {
	t.Helper()
	for _, id := range records {
		if o := want[id]; o == accessUnauth || o == accessDown {
			drsErr(t, r, o.singleStatus()) // the whole request: every record shares it
			return
		}
	}
	if r.Status != 200 {
		t.Errorf("%s: bulk access: %d: %s", prefix, r.Status, r.Body)
		return
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: bulk access Cache-Control %q", prefix, cc)
	}
	var b struct {
		Summary  struct{ Requested, Resolved, Unresolved int }
		Resolved []struct {
			DrsObjectID string `json:"drs_object_id"`
			DrsAccessID string `json:"drs_access_id"`
			URL         string `json:"url"`
		} `json:"resolved_drs_object_access_urls"`
		Unresolved []struct {
			ErrorCode int      `json:"error_code"`
			ObjectIDs []string `json:"object_ids"`
			AccessIDs []string `json:"access_ids"`
		} `json:"unresolved_drs_objects"`
	}
	r.JSON(t, &b)
	var gotResolved, wantResolved []string
	for _, res := range b.Resolved {
		m := methods[res.DrsObjectID][0]
		if res.DrsAccessID != m.accessID {
			t.Errorf("%s: bulk access %s: access id %s", prefix, res.DrsObjectID, res.DrsAccessID)
		}
		checkURL(prefix+": bulk "+res.DrsObjectID, res.URL, m)
		gotResolved = append(gotResolved, res.DrsObjectID)
	}
	gotCodes, wantCodes := map[int][]string{}, map[int][]string{}
	for _, u := range b.Unresolved {
		if len(u.ObjectIDs) != 1 || len(u.AccessIDs) != 1 || u.AccessIDs[0] != methods[u.ObjectIDs[0]][0].accessID {
			t.Errorf("%s: unresolved entry %+v does not name one object and its access id", prefix, u)
			continue
		}
		gotCodes[u.ErrorCode] = append(gotCodes[u.ErrorCode], u.ObjectIDs[0])
	}
	for _, id := range records {
		code := want[id].bulkCode()
		if code == 0 && methods[id][0].kind == refused {
			code = 404
		}
		if code == 0 {
			wantResolved = append(wantResolved, id)
		} else {
			wantCodes[code] = append(wantCodes[code], id)
		}
	}
	for _, m := range []map[int][]string{gotCodes, wantCodes} {
		for _, ids := range m {
			sort.Strings(ids)
		}
	}
	sort.Strings(gotResolved)
	sort.Strings(wantResolved)
	if strings.Join(gotResolved, ",") != strings.Join(wantResolved, ",") || fmt.Sprint(gotCodes) != fmt.Sprint(wantCodes) {
		t.Errorf("%s: bulk access resolved %v unresolved %v; want resolved %v unresolved %v", prefix, gotResolved, gotCodes, wantResolved, wantCodes)
	}
	if b.Summary.Requested != len(records) || b.Summary.Resolved != len(wantResolved) || b.Summary.Unresolved != len(records)-len(wantResolved) {
		t.Errorf("%s: bulk access summary %+v", prefix, b.Summary)
	}
}
