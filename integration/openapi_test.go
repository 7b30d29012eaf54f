package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/internal/app"
	"github.com/datacommons/indexd/openapi"
	"github.com/datacommons/indexd/policy/policytest"
)

// ---- contract checking shared by the OpenAPI and DRS tests ----

var (
	openapiDocOnce sync.Once
	openapiDoc     *openapi3.T
	openapiDocErr  error
)

// openapiContract returns our openapi.yaml, loaded and validated once.
func openapiContract(t testing.TB) *openapi3.T {
	t.Helper()
	openapiDocOnce.Do(func() {
		openapiDoc, openapiDocErr = openapi3.NewLoader().LoadFromData(openapi.Document)
		if openapiDocErr == nil {
			openapiDocErr = openapiDoc.Validate(context.Background())
		}
	})
	if openapiDocErr != nil {
		t.Fatalf("openapi.yaml: %v", openapiDocErr)
	}
	return openapiDoc
}

// validateAgainst checks a real response against the operation
// method+template of doc. strict: the status must be documented.
func validateAgainst(doc *openapi3.T, method, template string, r *Response, strict bool) error {
	item := doc.Paths.Value(template)
	if item == nil {
		return fmt.Errorf("path %s is not in the document", template)
	}
	op := item.GetOperation(method)
	if op == nil {
		return fmt.Errorf("%s %s is not in the document", method, template)
	}
	route := &routers.Route{Spec: doc, Path: template, PathItem: item, Method: method, Operation: op}
	req := httptest.NewRequest(method, "http://indexd.test/", nil)
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: route},
		Status:                 r.Status,
		Header:                 r.Header,
		Body:                   io.NopCloser(bytes.NewReader(r.Body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: strict, MultiError: true},
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// Checked sends requests and validates every response (success and error)
// against openapi.yaml, remembering which operations it saw.
type Checked struct {
	E    *Env
	t    testing.TB
	mu   sync.Mutex
	seen map[string]int
}

// Checked wraps e for t.
func (e *Env) Checked(t testing.TB) *Checked {
	openapiContract(t)
	return &Checked{E: e, t: t, seen: map[string]int{}}
}

// Do sends method path and validates the reply against the operation
// method+template. template is the OpenAPI path ("/index/{guid}").
func (c *Checked) Do(method, template, path, auth string, body any) *Response {
	c.t.Helper()
	r := c.E.Do(method, path, auth, body)
	if err := validateAgainst(openapiContract(c.t), method, template, r, true); err != nil {
		c.t.Errorf("%s %s → %d does not match openapi.yaml %s %s: %v\nbody: %s", method, path, r.Status, method, template, err, bodySnippet(r.Body))
	}
	c.mu.Lock()
	c.seen[method+" "+template]++
	c.mu.Unlock()
	return r
}

func bodySnippet(b []byte) string {
	if len(b) > 600 {
		return string(b[:600]) + "…"
	}
	return string(b)
}

// drsExpiredToken is JWT-shaped but expired: an invalid credential (401).
func drsExpiredToken(name string) string {
	enc := base64.RawURLEncoding.EncodeToString
	claims, _ := json.Marshal(map[string]any{"sub": name, "exp": time.Now().Add(-time.Hour).Unix()})
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(claims) + ".c2lnbmF0dXJl"
}

// ---- the official GA4GH DRS schemas (beside the checkout, never copied in) ----

// officialDRSVars name the files of the official GA4GH DRS documents
// (../shared/drs beside the checkout; .ci/run sets both). They are never
// copied into the repository.
var officialDRSVars = map[string]string{
	"1.5.0": "INDEXD_DRS_SCHEMA",
	"1.2.0": "INDEXD_DRS_SCHEMA_1_2",
}

// officialDRS loads the official DRS document of version from the file its
// variable names. Unset, the calling test is skipped with a message naming
// the variable (make test prints it; .ci/run sets the variables, so CI
// never skips); set but unreadable, the test fails.
func officialDRS(t testing.TB, version string) *openapi3.T {
	t.Helper()
	name := officialDRSVars[version]
	path := os.Getenv(name)
	if path == "" {
		t.Skipf("SKIPPED: DRS %s CONFORMANCE NOT CHECKED: %s is unset (point it at drs-%s.openapi.yaml, the official GA4GH document; .ci/run sets it)", version, name, version)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("DRS conformance: %s=%s: %v", name, path, err)
	}
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		t.Fatalf("DRS conformance: load %s: %v", path, err)
	}
	return doc
}

// officialSchema validates a decoded JSON value against a component schema
// of the official document.
func officialSchema(doc *openapi3.T, name string, v any) error {
	ref := doc.Components.Schemas[name]
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("official document has no schema %s", name)
	}
	return ref.Value.VisitJSON(v, openapi3.MultiErrors())
}

// ---- TestOpenAPIResponses: every documented operation over real HTTP ----

// TestOpenAPIResponses calls every operation openapi.yaml documents, with
// successes and errors, validates each real response against the document
// (undocumented statuses fail), and fails when an operation was not called.
func TestOpenAPIResponses(t *testing.T) {
	t.Parallel()
	// PUT /admin/users hashes a password at bcrypt cost 12: seconds under
	// -race on a busy 2-core machine, more than the harness's 10 s request
	// timeout while the other integration tests run in parallel.
	e := Start(t, WithStorage(t, "unsigned: passthrough\n"), func(c *app.Config) { c.RequestTimeout = time.Minute })
	c := e.Checked(t)
	w := e.Writer()
	admin := e.AddAdmin("openapi-admin", "correct-horse-battery")
	reader := Tok("oa-reader")
	e.Policy.SetUser(reader, "oa-reader", map[string][]string{"/programs/p1": {"read"}})
	rd := Bearer(reader)

	// service
	c.Do("GET", "/_status", "/_status", "", nil).MustStatus(t, 200)
	c.Do("GET", "/_status", "/_status", "Bearer not-a-jwt", nil).MustStatus(t, 200) // public routes never evaluate credentials
	c.Do("GET", "/_stats", "/_stats", "Bearer not-a-jwt", nil).MustStatus(t, 401)
	c.Do("GET", "/_version", "/_version", "", nil).MustStatus(t, 200)
	c.Do("GET", "/_health/live", "/_health/live", "", nil).MustStatus(t, 200)
	c.Do("GET", "/_health/ready", "/_health/ready", "Bearer not-a-jwt", nil).MustStatus(t, 200)
	c.Do("GET", "/_stats", "/_stats", "", nil).MustStatus(t, 200)
	c.Do("GET", "/openapi.yaml", "/openapi.yaml", "", nil).MustStatus(t, 200)
	c.Do("GET", "/guid/mint", "/guid/mint?count=3", "", nil).MustStatus(t, 200)
	c.Do("GET", "/guid/mint", "/guid/mint?count=x", "", nil).MustStatus(t, 400)

	// create, read, list
	rec := Rec("dg.OA/one", "/programs/p1/projects/x")
	rec["file_name"], rec["metadata"] = "one.txt", map[string]string{"k": "v"}
	c.Do("POST", "/index", "/index", w, rec).MustStatus(t, 200)
	c.Do("POST", "/index", "/index", "", Rec("dg.OA/anon", "/programs/p1")).MustStatus(t, 401)
	c.Do("POST", "/index", "/index", w, `{"form":"object",`).MustStatus(t, 400)
	c.Do("POST", "/index", "/index", w, Rec("dg.OA/one", "/programs/p1")).MustStatus(t, 409)
	c.Do("POST", "/index", "/index", rd, Rec("dg.OA/denied", "/programs/p1")).MustStatus(t, 403)
	c.Do("GET", "/index/{guid}", "/index/dg.OA/one", "", nil).MustStatus(t, 200)
	c.Do("GET", "/index/{guid}", "/index/dg.OA/none", "", nil).MustStatus(t, 404)
	c.Do("GET", "/index", "/index?limit=1", "", nil).MustStatus(t, 200)
	c.Do("GET", "/index", "/index?limit=-1", "", nil).MustStatus(t, 400)
	c.Do("GET", "/index", "/index?authz=null&hash=md5:0123456789abcdef0123456789abcdef&metadata=k:v&size=123&form=object&negate_params=%7B%22file_name%22%3A%22x%22%7D", "", nil).MustStatus(t, 200)
	c.Do("GET", "/{guid}", "/dg.OA/one", "", nil).MustStatus(t, 200)
	c.Do("GET", "/{guid}", "/dg.OA/nothing", "", nil).MustStatus(t, 404)
	c.Do("POST", "/bulk/documents", "/bulk/documents", "", []string{"dg.OA/one", "missing"}).MustStatus(t, 200)
	c.Do("POST", "/bulk/documents", "/bulk/documents", "", []string{}).MustStatus(t, 400)
	c.Do("GET", "/urls", "/urls", "", nil).MustStatus(t, 200)
	c.Do("GET", "/urls", "/urls/?ids=dg.OA/one&size=123&hash=md5:0123456789abcdef0123456789abcdef&start=0&limit=5", "", nil).MustStatus(t, 200)
	c.Do("GET", "/urls", "/urls?start=dg.OA/one", "", nil).MustStatus(t, 400)
	c.Do("GET", "/_query/urls/q", "/_query/urls/q/?include=s3&fields=did,urls,rev&versioned=no", "", nil).MustStatus(t, 200)
	c.Do("GET", "/_query/urls/q", "/_query/urls/q?include=s3", "", nil).MustStatus(t, 200)
	c.Do("GET", "/_query/urls/q", "/_query/urls/q?nope=1", "", nil).MustStatus(t, 400)
	c.Do("GET", "/_query/urls/metadata/q", "/_query/urls/metadata/q?key=a&value=b", "", nil).MustStatus(t, 200)
	var one struct{ Rev string }
	e.Do("GET", "/index/dg.OA/one", "", nil).JSON(t, &one)
	c.Do("PUT", "/index/{guid}", "/index/dg.OA/one?rev="+one.Rev, w,
		map[string]any{"urls_metadata": map[string]any{"s3://bucket/dg.OA_one": map[string]string{"a": "b"}}}).MustStatus(t, 200)
	if got := c.Do("GET", "/_query/urls/metadata/q", "/_query/urls/metadata/q/?key=a&value=b", "", nil).MustStatus(t, 200); !bytes.Contains(got.Body, []byte("dg.OA/one")) {
		t.Errorf("metadata/q: %s", got.Body)
	}

	// update, versions, latest
	var ref struct{ Rev string }
	c.Do("GET", "/index/{guid}", "/index/dg.OA/one", "", nil).JSON(t, &ref)
	c.Do("PUT", "/index/{guid}", "/index/dg.OA/one?rev="+ref.Rev, w, map[string]any{"version": "2"}).MustStatus(t, 200)
	c.Do("PUT", "/index/{guid}", "/index/dg.OA/one?rev=stale000", w, map[string]any{"version": "3"}).MustStatus(t, 409)
	c.Do("PUT", "/index/{guid}", "/index/dg.OA/one?rev=x", w, "nope").MustStatus(t, 400)
	c.Do("POST", "/index", "/index", w, `{"form":"object"}`).MustStatus(t, 400)
	c.Do("POST", "/index/{guid}", "/index/dg.OA/one", w, Rec("dg.OA/one-v2", "/programs/p1/projects/x")).MustStatus(t, 200)
	c.Do("GET", "/index/{guid}/versions", "/index/dg.OA/one/versions", "", nil).MustStatus(t, 200)
	c.Do("GET", "/index/{guid}/latest", "/index/dg.OA/one/latest", "", nil).MustStatus(t, 200)
	c.Do("PUT", "/index/{guid}/versions", "/index/dg.OA/one/versions", w, map[string]any{"acl": []string{"x"}}).MustStatus(t, 200)

	// aliases
	c.Do("POST", "/index/{guid}/aliases", "/index/dg.OA/one/aliases", w, map[string]any{"aliases": []map[string]string{{"value": "oa-alias"}}}).MustStatus(t, 200)
	c.Do("PUT", "/index/{guid}/aliases", "/index/dg.OA/one/aliases", w, map[string]any{"aliases": []map[string]string{{"value": "oa-alias2"}, {"value": "oa-alias3"}}}).MustStatus(t, 200)
	c.Do("GET", "/index/{guid}/aliases", "/index/dg.OA/one/aliases", "", nil).MustStatus(t, 200)
	c.Do("DELETE", "/index/{guid}/aliases/{alias}", "/index/dg.OA/one/aliases/oa-alias2", w, nil).MustStatus(t, 200)
	c.Do("DELETE", "/index/{guid}/aliases/{alias}", "/index/dg.OA/one/aliases/nope", w, nil).MustStatus(t, 404)
	c.Do("DELETE", "/index/{guid}/aliases", "/index/dg.OA/one/aliases", w, nil).MustStatus(t, 200)

	// blank records
	var blank struct{ DID, Rev string }
	c.Do("POST", "/index/blank", "/index/blank", w, map[string]any{"uploader": "u", "authz": []string{"/programs/p1"}}).MustStatus(t, 201).JSON(t, &blank)
	c.Do("POST", "/index/blank", "/index/blank", w, map[string]any{"authz": []string{"/programs/p1"}}).MustStatus(t, 201) // uploader optional
	c.Do("POST", "/index/blank", "/index/blank", w, map[string]any{"size": 1}).MustStatus(t, 400)
	// Gen3 routes (issue 10).
	c.Do("GET", "/guid/prefix", "/guid/prefix", "", nil).MustStatus(t, 200)
	c.Do("GET", "/alias", "/alias/", "", nil).MustStatus(t, 410)
	c.Do("GET", "/alias/{alias}", "/alias/a1", "", nil).MustStatus(t, 410)
	c.Do("PUT", "/alias/{alias}", "/alias/a1", w, map[string]any{}).MustStatus(t, 410)
	c.Do("PUT", "/index/blank/{guid}", "/index/blank/"+blank.DID+"?rev="+blank.Rev, w,
		map[string]any{"size": 1, "hashes": map[string]string{"md5": "0123456789abcdef0123456789abcdef"}, "urls": []string{"s3://b/k"}}).MustStatus(t, 200)
	// A blank new version (indexd's POST /index/blank/{guid}). Not fatal,
	// so the rest of the tour still runs when the route is broken.
	if r := c.Do("POST", "/index/blank/{guid}", "/index/blank/"+blank.DID, w, map[string]any{"uploader": "u"}); r.Status != 201 {
		t.Errorf("POST /index/blank/{guid}: status %d, want 201 (is the route registered? Echo sends /index/blank/* to the PUT-only wildcard); body: %s", r.Status, r.Body)
	}
	if r := c.Do("POST", "/index/blank/{guid}", "/index/blank/nope-nope", w, map[string]any{"uploader": "u"}); r.Status != 404 {
		t.Errorf("POST /index/blank/{guid} of a missing record: status %d, want 404; body: %s", r.Status, r.Body)
	}

	// delete
	var cur struct{ Rev string }
	c.Do("GET", "/index/{guid}", "/index/dg.OA/one-v2", "", nil).JSON(t, &cur)
	c.Do("DELETE", "/index/{guid}", "/index/dg.OA/one-v2?rev=wrongrev", w, nil).MustStatus(t, 409)
	c.Do("DELETE", "/index/{guid}", "/index/dg.OA/one-v2?rev="+cur.Rev, w, nil).MustStatus(t, 200)

	// admin
	// (basic-auth admin once: bcrypt is deliberately slow; the policy admin
	// grant of the writer for the rest)
	c.Do("GET", "/admin/discovery", "/admin/discovery", admin, nil).MustStatus(t, 200)
	c.Do("GET", "/admin/discovery", "/admin/discovery", rd, nil).MustStatus(t, 403)
	c.Do("GET", "/admin/discovery", "/admin/discovery", "", nil).MustStatus(t, 401)
	c.Do("PUT", "/admin/discovery", "/admin/discovery", w, map[string]any{"global_discovery_authz": []string{"/g"}}).MustStatus(t, 200)
	c.Do("PUT", "/admin/discovery", "/admin/discovery", w, map[string]any{"global_discovery_authz": []string{"g"}}).MustStatus(t, 400)
	c.Do("GET", "/admin/discovery/audit", "/admin/discovery/audit", w, nil).MustStatus(t, 200)
	c.Do("GET", "/admin/users", "/admin/users", w, nil).MustStatus(t, 200)
	c.Do("PUT", "/admin/users/{name}", "/admin/users/second", w, map[string]string{"password": "another-long-password"}).MustStatus(t, 200)
	c.Do("PUT", "/admin/users/{name}", "/admin/users/third", w, map[string]string{"password": "short"}).MustStatus(t, 400)
	c.Do("PUT", "/admin/users/{name}", "/admin/users/third", w, map[string]string{"password": strings.Repeat("p", 73)}).MustStatus(t, 400)
	c.Do("DELETE", "/admin/users/{name}", "/admin/users/second", w, nil).MustStatus(t, 204)
	c.Do("GET", "/admin/users/audit", "/admin/users/audit?limit=5", w, nil).MustStatus(t, 200)
	c.Do("GET", "/admin/users/audit", "/admin/users/audit?limit=0", w, nil).MustStatus(t, 400)
	c.Do("GET", "/admin/explain", "/admin/explain?anonymous=true&id=dg.OA/one", w, nil).MustStatus(t, 200)
	c.Do("GET", "/admin/explain", "/admin/explain?user=oa-reader&id=dg.OA/one&are_records_discoverable=false&global_discovery_authz=/programs", w, nil).MustStatus(t, 200)
	c.Do("GET", "/admin/explain", "/admin/explain?id=dg.OA/one", w, nil).MustStatus(t, 400)
	c.Do("GET", "/admin/explain", "/admin/explain?anonymous=true&id=dg.OA/none", w, nil).MustStatus(t, 404)
	c.Do("POST", "/admin/discovery/preview", "/admin/discovery/preview", w, map[string]any{"are_records_discoverable": false, "users": []string{"oa-reader"}}).MustStatus(t, 200)
	c.Do("POST", "/admin/discovery/preview", "/admin/discovery/preview", w, map[string]any{"users": 5}).MustStatus(t, 400)
	c.Do("PUT", "/admin/discovery", "/admin/discovery", w, map[string]any{"are_records_discoverable": false, "dry_run": true}).MustStatus(t, 200)
	c.Do("GET", "/admin/explain/audit", "/admin/explain/audit", w, nil).MustStatus(t, 200)

	// with filtering on: 403 on an invisible record, filtered lists
	e.SetDiscovery(discovery.Settings{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{}})
	c.Do("GET", "/index/{guid}", "/index/dg.OA/one", "", nil).MustStatus(t, 403)
	c.Do("GET", "/{guid}", "/dg.OA/one", "", nil).MustStatus(t, 403)
	c.Do("GET", "/index/{guid}", "/index/dg.OA/one", rd, nil).MustStatus(t, 200)
	c.Do("GET", "/index", "/index", "", nil).MustStatus(t, 200)
	c.Do("GET", "/_stats", "/_stats", rd, nil).MustStatus(t, 200)

	// DRS, briefly (drs_test.go covers it in depth)
	drsTour(t, c, w, rd)

	// API tokens, briefly (apitokens_test.go covers them)
	var it struct {
		ID string `json:"id"`
	}
	c.Do("POST", "/tokens", "/tokens", rd, map[string]any{"expires_in": "1h"}).MustStatus(t, 201).JSON(t, &it)
	c.Do("GET", "/tokens", "/tokens", rd, nil).MustStatus(t, 200)
	c.Do("DELETE", "/tokens/{token_id}", "/tokens/"+it.ID, rd, nil).MustStatus(t, 204)
	c.Do("GET", "/admin/tokens", "/admin/tokens?user=oa-reader", admin, nil).MustStatus(t, 200)
	c.Do("DELETE", "/admin/tokens/{token_id}", "/admin/tokens/"+it.ID, admin, nil).MustStatus(t, 204)

	// Readiness with the policy service down: the 503 report validates
	// (after the reused report's second).
	e.Policy.SetFault(policytest.FaultDown)
	time.Sleep(1100 * time.Millisecond)
	c.Do("GET", "/_health/ready", "/_health/ready", "", nil).MustStatus(t, 503)
	c.Do("GET", "/_health/live", "/_health/live", "", nil).MustStatus(t, 200)
	e.Policy.SetFault(policytest.FaultNone)

	// Every documented operation was called.
	var uncalled []string
	for path, item := range openapiContract(t).Paths.Map() {
		for method := range item.Operations() {
			if c.seen[method+" "+path] == 0 {
				uncalled = append(uncalled, method+" "+path)
			}
		}
	}
	sort.Strings(uncalled)
	for _, u := range uncalled {
		t.Errorf("documented operation never exercised over HTTP: %s", u)
	}
}

func drsTour(t *testing.T, c *Checked, w, rd string) {
	t.Helper()
	const b = "/ga4gh/drs/v1"
	c.Do("GET", b+"/service-info", b+"/service-info", "", nil).MustStatus(t, 200)
	c.Do("GET", b+"/objects", b+"/objects?limit=1", rd, nil).MustStatus(t, 200)
	c.Do("GET", b+"/objects", b+"/objects?limit=5000", rd, nil).MustStatus(t, 400)
	c.Do("POST", b+"/objects", b+"/objects", rd, map[string]any{"bulk_object_ids": []string{"dg.OA/one", "nope"}}).MustStatus(t, 200)
	c.Do("POST", b+"/objects", b+"/objects", rd, map[string]any{"bulk_object_ids": []string{}}).MustStatus(t, 400)
	c.Do("OPTIONS", b+"/objects", b+"/objects", rd, map[string]any{"bulk_object_ids": []string{"dg.OA/one"}}).MustStatus(t, 200)
	c.Do("GET", b+"/objects/{object_id}", b+"/objects/dg.OA%2Fone", rd, nil).MustStatus(t, 200)
	c.Do("GET", b+"/objects/{object_id}", b+"/objects/dg.OA/one", "", nil).MustStatus(t, 403)
	c.Do("POST", b+"/objects/{object_id}", b+"/objects/dg.OA/one", rd, map[string]any{"expand": false}).MustStatus(t, 200)
	c.Do("OPTIONS", b+"/objects/{object_id}", b+"/objects/dg.OA/one", rd, nil).MustStatus(t, 200)
	c.Do("GET", b+"/objects/{object_id}/access/{access_id}", b+"/objects/dg.OA/one/access/s3", rd, nil).MustStatus(t, 403)
	c.Do("GET", b+"/objects/{object_id}/access/{access_id}", b+"/objects/dg.OA/one/access/s3", w, nil).MustStatus(t, 200)
	c.Do("POST", b+"/objects/{object_id}/access/{access_id}", b+"/objects/dg.OA/one/access/s3", w, map[string]any{"passports": []string{"a.b.c"}}).MustStatus(t, 200)
	c.Do("POST", b+"/objects/access", b+"/objects/access", w, map[string]any{"bulk_object_access_ids": []map[string]any{{"bulk_object_id": "dg.OA/one", "bulk_access_ids": []string{"s3"}}}}).MustStatus(t, 200)
	c.Do("POST", b+"/objects/access", b+"/objects/access", "", map[string]any{"bulk_object_access_ids": []map[string]any{{"bulk_object_id": "dg.OA/one", "bulk_access_ids": []string{"s3"}}}}).MustStatus(t, 200)
	c.Do("POST", b+"/objects/access", b+"/objects/access", "Bearer not-a-jwt", map[string]any{"bulk_object_access_ids": []map[string]any{{"bulk_object_id": "dg.OA/one", "bulk_access_ids": []string{"s3"}}}}).MustStatus(t, 401)
}
