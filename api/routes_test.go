package api

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/policy/policytest"
)

// newRouteTestServer is a server on the real stack (testStack).
func newRouteTestServer(t *testing.T) *Server {
	t.Helper()
	s, _ := newTestStack(t).server(Config{DRSMaxBulk: 1000}, discovery.DefaultSettings())
	return s
}

func TestRoutesEveryRouteDeclaresANeed(t *testing.T) {
	s := newRouteTestServer(t)
	declared := map[string]Need{}
	for _, r := range s.Routes() {
		switch r.Need {
		case NeedNothing, NeedDiscover, NeedWrite, NeedAdmin:
		default:
			t.Errorf("route %s %s declares %v", r.Method, r.Path, r.Need)
		}
		declared[r.Method+" "+r.Path] = r.Need
	}
	if len(declared) < 20 {
		t.Fatalf("only %d routes registered", len(declared))
	}
	// Nothing reaches Echo except through register.
	for _, er := range s.echo.Routes() {
		if _, ok := declared[er.Method+" "+er.Path]; !ok {
			t.Errorf("route %s %s is served but declares no permission", er.Method, er.Path)
		}
	}
}

// The permission of each kind of route. A new public route, or a read
// declared as anything but a discovery read, must be looked at.
func TestRoutesNeedsByKind(t *testing.T) {
	public := map[string]bool{
		"GET /_status": true, "GET /_version": true, "GET /openapi.yaml": true, "GET /guid/mint": true,
		"GET /guid/prefix": true, "GET /_health/live": true, "GET /_health/ready": true,
	}
	// Reads of the caller's own things, not of records: an authenticated
	// caller is needed (anonymous has no tokens), as for a write.
	own := map[string]bool{"GET /tokens": true}
	for _, r := range newRouteTestServer(t).Routes() {
		key := r.Method + " " + r.Path
		var want Need
		switch {
		case public[key]:
			want = NeedNothing
		case own[key]:
			want = NeedWrite
		case strings.HasPrefix(r.Path, "/admin/"):
			want = NeedAdmin
		case r.Method == http.MethodGet, r.Method == http.MethodOptions,
			strings.HasPrefix(r.Path, drsBase+"/"), // DRS POSTs are reads
			key == "POST /bulk/documents":
			want = NeedDiscover
		default:
			want = NeedWrite
		}
		if r.Need != want {
			t.Errorf("%s declares %v, want %v", key, r.Need, want)
		}
	}
}

func TestRoutesWithoutPermissionStopTheServer(t *testing.T) {
	testRefusedNeeds(t, needUnset)
}

// A Need outside the declared set is no permission either: register must
// refuse it rather than serve the route unwrapped (as public).
// Fix (api/routes.go, register): refuse r.Need < NeedNothing || r.Need > NeedAdmin.
func TestRoutesUnknownNeedStopsTheServer(t *testing.T) {
	testRefusedNeeds(t, Need(-1), NeedAdmin+1)
}

func testRefusedNeeds(t *testing.T, needs ...Need) {
	s := newRouteTestServer(t)
	for _, need := range needs {
		// PATCH: no catch-all route answers it, so serving it proves registration.
		err := s.RegisterForTest(http.MethodPatch, "/x-unset", need)
		if err == nil {
			t.Errorf("registering a route with need %d succeeded", int(need))
			continue
		}
		if !strings.Contains(err.Error(), "PATCH /x-unset") {
			t.Errorf("error %q does not name the route", err)
		}
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPatch, "/x-unset", nil))
	if rec.Code == http.StatusNoContent {
		t.Fatalf("a route refused at registration is served")
	}
	for _, r := range s.Routes() {
		if r.Path == "/x-unset" {
			t.Fatalf("a refused route was recorded")
		}
	}
}

// The wrappers a Need puts around a handler.
func TestRoutesNeedIsEnforced(t *testing.T) {
	stack := newTestStack(t)
	s, _ := stack.server(Config{DRSMaxBulk: 1000}, discovery.DefaultSettings())
	tok := stack.bearer("tok-user", nil) // a valid token with no grants
	admin := stack.basicAdmin("admin", "admin-password")
	// Well-formed and unexpired, but signed by another policy service: only
	// the policy service can tell (pass-through mode).
	forged := "Bearer " + policytest.New(t).Token("tok-user", time.Hour)
	for path, need := range map[string]Need{"/t/public": NeedNothing, "/t/discover": NeedDiscover, "/t/write": NeedWrite, "/t/admin": NeedAdmin} {
		if err := s.RegisterForTest(http.MethodPost, path, need); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		path, auth string
		want       int
		body       string
	}{
		{"/t/public", "", 204, ""},
		// A public route never evaluates credentials (issue 12, finding 4).
		{"/t/public", "Bearer bad", 204, ""},
		{"/t/public", forged, 204, ""},
		{"/t/public", "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:wrong-password")), 204, ""},
		{"/t/discover", forged, 401, `{"error":"unauthorized","reason":"unknown to the policy service"}`},
		{"/t/discover", "", 204, ""},
		{"/t/write", "", 401, `{"error":"unauthorized","reason":"missing"}`},
		{"/t/write", tok, 204, ""}, // the handler asks the policy service itself
		{"/t/admin", "", 401, `{"error":"unauthorized","reason":"missing"}`},
		{"/t/admin", tok, 403, `{"error":"forbidden"}`},
		{"/t/admin", admin, 204, ""},
	}
	for _, c := range cases {
		req := httptest.NewRequest(http.MethodPost, c.path, nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != c.want || strings.TrimSpace(rec.Body.String()) != c.body {
			t.Errorf("POST %s by %q: %d %q, want %d %q", c.path, c.auth, rec.Code, rec.Body.String(), c.want, c.body)
		}
	}
}

// Routes that need nothing never evaluate credentials: whatever the
// Authorization header holds (a wrong password, a forged or malformed
// token), every NeedNothing route answers as for no header at all, without
// a bcrypt comparison or a policy call. Routes added later (e.g. health
// checks) inherit the rule by declaring NeedNothing.
func TestRoutesPublicIgnoreCredentials(t *testing.T) {
	stack := newTestStack(t)
	s, _ := stack.server(Config{DRSMaxBulk: 1000}, discovery.DefaultSettings())
	stack.basicAdmin("admin", "admin-password")
	var compared int
	for _, r := range s.Routes() {
		if r.Need != NeedNothing {
			continue
		}
		path := strings.ReplaceAll(strings.ReplaceAll(r.Path, "*", "x"), ":name", "x")
		do := func(auth string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(r.Method, path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			return rec
		}
		plain := do("")
		before := stack.arb.MappingCalls()
		for _, auth := range []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("admin:wrong-password")), "Bearer not-a-jwt", "Garbage", stack.bearer("someone", nil)} {
			got := do(auth)
			if got.Code != plain.Code || got.Code == http.StatusUnauthorized {
				t.Errorf("%s %s with %q: %d, without credentials %d", r.Method, path, auth, got.Code, plain.Code)
			}
		}
		if stack.arb.MappingCalls() != before {
			t.Errorf("%s %s asked the policy service about a credential", r.Method, path)
		}
		compared++
	}
	if compared < 4 {
		t.Fatalf("only %d public routes", compared)
	}
}
