package openapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/datacommons/indexd/api"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/openapi"
)

// wildcardRoutes maps each Echo route whose path has a wildcard (or a
// trailing-slash twin) to the OpenAPI operations it serves. Echo's "*"
// matches ids containing "/", which OpenAPI cannot template, so every such
// route is listed here by hand. A served wildcard route missing from this
// table fails the test: add it, and its operations to openapi.yaml.
var wildcardRoutes = map[string][]string{
	"GET /index/":                  {"GET /index"},
	"GET /urls/":                   {"GET /urls"},
	"GET /_query/urls/q/":          {"GET /_query/urls/q"},
	"GET /_query/urls/metadata/q/": {"GET /_query/urls/metadata/q"},
	"POST /index/":                 {"POST /index"},
	"POST /index/blank/":           {"POST /index/blank"},
	"PUT /index/blank/*":           {"PUT /index/blank/{guid}"},
	"GET /index/*":                 {"GET /index/{guid}", "GET /index/{guid}/versions", "GET /index/{guid}/latest", "GET /index/{guid}/aliases"},
	"PUT /index/*":                 {"PUT /index/{guid}", "PUT /index/{guid}/versions", "PUT /index/{guid}/aliases"},
	"POST /index/*":                {"POST /index/{guid}", "POST /index/{guid}/aliases"},
	"POST /index/blank/*":          {"POST /index/blank/{guid}"},
	"DELETE /index/*":              {"DELETE /index/{guid}", "DELETE /index/{guid}/aliases", "DELETE /index/{guid}/aliases/{alias}"},
	"GET /*":                       {"GET /{guid}"},
	"GET /alias/":                  {"GET /alias"},
	"GET /alias/*":                 {"GET /alias/{alias}"},
	"PUT /alias/*":                 {"PUT /alias/{alias}"},
	"GET /ga4gh/drs/v1/objects/*": {
		"GET /ga4gh/drs/v1/objects/{object_id}", "GET /ga4gh/drs/v1/objects/{object_id}/access/{access_id}",
	},
	"POST /ga4gh/drs/v1/objects/*": {
		"POST /ga4gh/drs/v1/objects/{object_id}", "POST /ga4gh/drs/v1/objects/{object_id}/access/{access_id}",
	},
	"OPTIONS /ga4gh/drs/v1/objects/*": {"OPTIONS /ga4gh/drs/v1/objects/{object_id}"},
}

var echoParam = regexp.MustCompile(`:([A-Za-z_][A-Za-z0-9_]*)`)

// servedOperations builds the real server (nil store and policy: no request
// is served) and maps its route table to OpenAPI operations.
func servedOperations(t *testing.T) map[string]string {
	t.Helper()
	srv, err := api.New(api.Config{OpenAPI: openapi.Document, DRSMaxBulk: 1000}, nil, nil, nil,
		api.NewSettingsHolder(discovery.DefaultSettings()), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]string{} // "METHOD /openapi/path" → the Echo route serving it
	for _, r := range srv.Routes() {
		key := r.Method + " " + r.Path
		if mapped, ok := wildcardRoutes[key]; ok {
			for _, op := range mapped {
				ops[op] = key
			}
			continue
		}
		if strings.Contains(r.Path, "*") || strings.HasSuffix(r.Path, "/") && r.Path != "/" {
			t.Errorf("served route %s has a wildcard or trailing slash but no entry in wildcardRoutes", key)
			continue
		}
		ops[r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}")] = key
	}
	return ops
}

func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openapi.Document)
	if err != nil {
		t.Fatalf("openapi.yaml does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI 3 document: %v", err)
	}
	return doc
}

func documentedOperations(doc *openapi3.T) map[string]*openapi3.Operation {
	out := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			out[method+" "+path] = op
		}
	}
	return out
}

// TestDocumentMatchesRouter fails when a served route is missing from
// openapi.yaml, or the document describes an operation nothing serves.
func TestDocumentMatchesRouter(t *testing.T) {
	doc := loadDoc(t)
	served := servedOperations(t)
	documented := documentedOperations(doc)
	t.Logf("%d served operations, %d documented", len(served), len(documented))
	var missing, extra []string
	for op, route := range served {
		if documented[op] == nil {
			missing = append(missing, op+" (served by "+route+")")
		}
	}
	for op := range documented {
		if _, ok := served[op]; !ok {
			extra = append(extra, op)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, m := range missing {
		t.Errorf("served but not in openapi.yaml: %s", m)
	}
	for _, e := range extra {
		t.Errorf("in openapi.yaml but not served: %s", e)
	}
	// Table entries for routes the server does not (or not yet) register
	// are harmless; say so, to keep the table tidy.
	routes := map[string]bool{}
	for _, op := range served {
		routes[op] = true
	}
	for key := range wildcardRoutes {
		if !routes[key] {
			t.Logf("note: wildcardRoutes maps %s, which the server does not register", key)
		}
	}
}

// TestDocumentErrorsAndSchemas checks every operation documents its error
// bodies (500 everywhere; 401 and 429 on every operation that evaluates
// credentials, none on the public ones — security [{}] — which never do;
// DRS routes with the DRS Error schema, others with {"error"}), and that
// every 2xx JSON response has a schema.
func TestDocumentErrorsAndSchemas(t *testing.T) {
	doc := loadDoc(t)
	for key, op := range documentedOperations(doc) {
		drs := strings.Contains(key, " /ga4gh/drs/v1")
		wantErr := "#/components/schemas/IndexdError"
		if drs {
			wantErr = "#/components/schemas/DrsError"
		}
		public := op.Security != nil && len(*op.Security) == 1 && len((*op.Security)[0]) == 0
		for _, code := range []int{http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusInternalServerError} {
			documented := op.Responses.Status(code) != nil
			switch {
			case code == http.StatusInternalServerError && !documented:
				t.Errorf("%s: no %d response", key, code)
			case code != http.StatusInternalServerError && public && documented:
				t.Errorf("%s: public (never evaluates credentials) but documents %d", key, code)
			case code != http.StatusInternalServerError && !public && !documented:
				t.Errorf("%s: no %d response", key, code)
			}
		}
		for status, rr := range op.Responses.Map() {
			resp := rr.Value
			if resp == nil {
				t.Errorf("%s %s: unresolved response", key, status)
				continue
			}
			mt := resp.Content.Get("application/json")
			if key == "GET /_health/ready" && status == "503" {
				// Not an error: the readiness report, each check's outcome.
				if mt == nil || mt.Schema == nil || mt.Schema.Ref != "#/components/schemas/HealthReady" {
					t.Errorf("%s %s: body must be the readiness report", key, status)
				}
				continue
			}
			if status[0] == '4' || status[0] == '5' {
				if mt == nil || mt.Schema == nil || mt.Schema.Ref != wantErr {
					t.Errorf("%s %s: error body must be %s", key, status, wantErr)
				}
				continue
			}
			if status[0] == '2' && status != "204" && len(resp.Content) == 0 && !(key == "DELETE /index/{guid}") {
				t.Errorf("%s %s: success response has no content schema", key, status)
			}
		}
		if op.Summary == "" {
			t.Errorf("%s: no summary", key)
		}
	}
}

// TestDocumentIsOpenAPI303: the embedded document is the 3.0.3 file.
func TestDocumentIsOpenAPI303(t *testing.T) {
	if doc := loadDoc(t); doc.OpenAPI != "3.0.3" {
		t.Fatalf("openapi version %q, want 3.0.3", doc.OpenAPI)
	}
}
