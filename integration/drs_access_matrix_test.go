package integration

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/datacommons/indexd/policy/policytest"
)

// accessOutcome is what the access endpoints should do for one caller and
// one record.
type accessOutcome int

const (
	accessOK        accessOutcome = iota // 200 with the stored URL
	accessInvisible                      // 403 single (404 under hide_existence); bulk 404
	accessDenied                         // visible, no read-storage on every path: 403 single and bulk
	accessUnauth                         // 401 for the whole request
	accessDown                           // policy service down: 503 for the whole request
)

// singleStatus is the status of GET/POST objects/{id}/access/{access_id}.
func (o accessOutcome) singleStatus() int {
	return [...]int{200, 403, 403, 401, 503}[o]
}

// bulkCode is the per-object code in POST objects/access (0: resolved).
func (o accessOutcome) bulkCode() int {
	return [...]int{0, 404, 403, 0, 0}[o]
}

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

// TestDRSAccessMatrix checks GET and POST objects/{id}/access/{access_id}
// and POST objects/access for every caller class, for a record on one
// path (recA), on two paths (recM) and with empty authz (recE), with
// discovery filtering on and off. Every response is also checked against
// openapi.yaml.
func TestDRSAccessMatrix(t *testing.T) {
	t.Parallel()
	w := startDRS(t)
	all := func(o accessOutcome) map[string]accessOutcome {
		return map[string]accessOutcome{recA: o, recM: o, recE: o}
	}
	classes := []accessClass{
		{name: "anonymous", filtered: all(accessUnauth), open: all(accessUnauth)},
		{name: "invalid token", invalid: true, filtered: all(accessUnauth), open: all(accessUnauth)},
		{
			name:     "reader without read-storage",
			grants:   map[string][]string{"/programs/p1": {"read"}, "/programs/p2": {"read"}},
			filtered: map[string]accessOutcome{recA: accessDenied, recM: accessDenied, recE: accessInvisible},
			open:     all(accessDenied),
		},
		{
			name: "reader with read-storage on one of two paths",
			grants: map[string][]string{
				"/programs/p1/projects/a": {"read", "read-storage"},
				"/programs/p2/projects/b": {"read"},
			},
			filtered: map[string]accessOutcome{recA: accessOK, recM: accessDenied, recE: accessInvisible},
			open:     map[string]accessOutcome{recA: accessOK, recM: accessDenied, recE: accessDenied},
		},
		{
			name:     "reader with read-storage on both paths",
			grants:   map[string][]string{"/programs": {"read", "read-storage"}},
			filtered: map[string]accessOutcome{recA: accessOK, recM: accessOK, recE: accessInvisible},
			open:     map[string]accessOutcome{recA: accessOK, recM: accessOK, recE: accessDenied},
		},
		{
			// The policy admin grant alone discovers nothing under
			// filtering; with discovery on it fetches empty-authz records
			// (admin-only) but not others without read-storage.
			name:     "policy admin",
			grants:   map[string][]string{"/services/indexd/admin": {"admin"}},
			filtered: all(accessInvisible),
			open:     map[string]accessOutcome{recA: accessDenied, recM: accessDenied, recE: accessOK},
		},
		{
			name:     "policy admin who discovers all",
			grants:   map[string][]string{"/services/indexd/admin": {"admin"}, globalPath: {"read"}},
			filtered: map[string]accessOutcome{recA: accessDenied, recM: accessDenied, recE: accessOK},
			open:     map[string]accessOutcome{recA: accessDenied, recM: accessDenied, recE: accessOK},
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
	accessIDs := map[string]string{recA: "s3", recM: "s3", recE: "s3"}
	urls := map[string]string{recA: "s3://bkt/a-1", recM: "s3://bucket/dg.TEST_m-1", recE: "s3://bucket/empty-1"}
	records := []string{recA, recM, recE}

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

	for _, open := range []bool{false, true} {
		w.setDiscoverable(open)
		for _, c := range classes {
			want := c.filtered
			if open {
				want = c.open
			}
			prefix := fmt.Sprintf("discoverable=%v/%s", open, c.name)
			// Single access, GET and POST.
			for _, id := range records {
				for _, method := range []string{http.MethodGet, http.MethodPost} {
					var body any
					if method == http.MethodPost {
						body = map[string]any{"passports": []string{"ignored.passport.value"}}
					}
					r := do(c, method, tplAccess, objPath(id)+"/access/"+accessIDs[id], body)
					status := want[id].singleStatus()
					if r.Status != status {
						t.Errorf("%s: %s access %s: %d, want %d; %s", prefix, method, id, r.Status, status, r.Body)
						continue
					}
					if status != 200 {
						drsErr(t, r, status)
						continue
					}
					if m := r.Map(t); m["url"] != urls[id] || len(m) != 1 {
						t.Errorf("%s: %s access %s: %s, want url %s", prefix, method, id, r.Body, urls[id])
					}
				}
			}
			// Bulk access over the three records.
			items := make([]map[string]any, 0, len(records))
			for _, id := range records {
				items = append(items, map[string]any{"bulk_object_id": id, "bulk_access_ids": []string{accessIDs[id]}})
			}
			r := do(c, http.MethodPost, tplBulkAccess, tplBulkAccess, map[string]any{"bulk_object_access_ids": items})
			checkBulkAccess(t, prefix, r, want, records, urls)
		}
	}
}

// checkBulkAccess compares a POST objects/access answer with the outcome
// of each record.
func checkBulkAccess(t *testing.T, prefix string, r *Response, want map[string]accessOutcome, records []string, urls map[string]string) {
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
		} `json:"unresolved_drs_objects"`
	}
	r.JSON(t, &b)
	var gotResolved, wantResolved []string
	for _, res := range b.Resolved {
		if res.URL != urls[res.DrsObjectID] {
			t.Errorf("%s: bulk access %s: url %s, want %s", prefix, res.DrsObjectID, res.URL, urls[res.DrsObjectID])
		}
		gotResolved = append(gotResolved, res.DrsObjectID)
	}
	gotCodes, wantCodes := map[int][]string{}, map[int][]string{}
	for _, u := range b.Unresolved {
		gotCodes[u.ErrorCode] = append(gotCodes[u.ErrorCode], u.ObjectIDs...)
	}
	for _, id := range records {
		if code := want[id].bulkCode(); code == 0 {
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
