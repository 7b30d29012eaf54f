package policy_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/datacommons/indexd/policy"
	"github.com/datacommons/indexd/policy/policytest"
)

func newDouble(t *testing.T) *policytest.Server {
	t.Helper()
	s := policytest.New(t)
	s.SetAnonymous(map[string][]string{"/programs/open": {"read"}})
	s.SetLoggedIn(map[string][]string{"/programs/public": {"read"}})
	s.SetUser("tok-alice", "alice", map[string][]string{
		"/programs/p1":           {"read", "create", "update"},
		"/services/indexd/admin": {"admin"},
	})
	s.SetUser("tok-nobody", "", nil)
	return s
}

var (
	anonCaller  = policy.Caller{}
	aliceCaller = policy.Caller{Token: "tok-alice"}
)

func TestArboristMapping(t *testing.T) {
	s := newDouble(t)
	a := policy.NewArborist(s.URL()+"/", 2*time.Second, nil)
	ctx := context.Background()

	tests := []struct {
		name      string
		caller    policy.Caller
		wantReads []string
		wantErr   error
	}{
		{"anonymous", anonCaller, []string{"/programs/open"}, nil},
		{"basic admin is anonymous to arborist", policy.Caller{BasicAdmin: true, Username: "root"}, []string{"/programs/open"}, nil},
		{"user", aliceCaller, []string{"/programs/open", "/programs/p1", "/programs/public"}, nil},
		{"valid token of unknown user", policy.Caller{Token: "tok-nobody"}, []string{"/programs/open", "/programs/public"}, nil},
		{"bad token", policy.Caller{Token: "garbage"}, nil, policy.ErrBadToken},
		{"token with control characters", policy.Caller{Token: "tok\r\nX-Evil: 1"}, nil, policy.ErrBadToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := a.Mapping(ctx, tc.caller)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := m.ResourcesWith(policy.MethodRead); !reflect.DeepEqual(got, tc.wantReads) {
				t.Fatalf("read on %v, want %v", got, tc.wantReads)
			}
			hdr, present := s.LastMappingAuthorization()
			if tc.caller.Token == "" && present {
				t.Fatalf("anonymous call sent Authorization %q", hdr)
			}
			if tc.caller.Token != "" && hdr != "Bearer "+tc.caller.Token {
				t.Fatalf("Authorization %q, want Bearer token", hdr)
			}
		})
	}
}

func TestArboristMappingFaults(t *testing.T) {
	s := newDouble(t)
	s.SetDelay(500 * time.Millisecond)
	a := policy.NewArborist(s.URL(), 100*time.Millisecond, nil)
	for _, f := range []policytest.Fault{policytest.FaultDown, policytest.FaultSlow, policytest.Fault500, policytest.FaultGarbage, policytest.FaultWrongShape} {
		t.Run(f.String(), func(t *testing.T) {
			s.SetFault(f)
			defer s.SetFault(policytest.FaultNone)
			start := time.Now()
			for _, c := range []policy.Caller{anonCaller, aliceCaller} {
				m, err := a.Mapping(context.Background(), c)
				if !errors.Is(err, policy.ErrUnavailable) || errors.Is(err, policy.ErrBadToken) || m != nil {
					t.Fatalf("got %v, %v; want ErrUnavailable", m, err)
				}
				if _, err := a.Authorize(context.Background(), c, []policy.Request{{Resource: "/programs/open", Method: "read"}}); !errors.Is(err, policy.ErrUnavailable) {
					t.Fatalf("authorize: err %v, want ErrUnavailable", err)
				}
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %v; the per-call timeout was not applied", d)
			}
		})
	}
	// The service recovers without a new client.
	if _, err := a.Mapping(context.Background(), aliceCaller); err != nil {
		t.Fatalf("after faults: %v", err)
	}
}

// TestArboristMappingShapes serves bodies the double does not produce.
func TestArboristMappingShapes(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   error
		reads  []string
	}{
		{"ok", 200, `{"/a":[{"service":"indexd","method":"read"}],"/b":[{"service":"*","method":"*"}]}`, nil, []string{"/a", "/b"}},
		{"descendant keys fold into their ancestor", 200, `{"/a":[{"service":"indexd","method":"read"}],"/a/b":[{"service":"indexd","method":"read"}],"/a/b/c/":[{"service":"indexd","method":"read"}],"/ab":[{"service":"indexd","method":"read"}],"/a-b":[{"service":"indexd","method":"read"}]}`, nil, []string{"/a", "/a-b", "/ab"}},
		{"a descendant key with its own grant", 200, `{"/a":[{"service":"indexd","method":"create"}],"/a/b":[{"service":"indexd","method":"create"},{"service":"indexd","method":"read"}]}`, nil, []string{"/a/b"}},
		{"root covers everything", 200, `{"/":[{"service":"*","method":"read"}],"/x":[{"service":"indexd","method":"read"}]}`, nil, []string{"/"}},
		{"empty object", 200, `{}`, nil, []string{}},
		{"list", 200, `[]`, policy.ErrUnavailable, nil},
		{"null", 200, `null`, policy.ErrUnavailable, nil},
		{"string", 200, `"x"`, policy.ErrUnavailable, nil},
		{"values not lists", 200, `{"/a":{"service":"indexd","method":"read"}}`, policy.ErrUnavailable, nil},
		{"null value", 200, `{"/a":null}`, policy.ErrUnavailable, nil},
		{"list of strings", 200, `{"/a":["read"]}`, policy.ErrUnavailable, nil},
		{"null element", 200, `{"/a":[null]}`, policy.ErrUnavailable, nil},
		{"missing method", 200, `{"/a":[{"service":"indexd"}]}`, policy.ErrUnavailable, nil},
		{"number method", 200, `{"/a":[{"service":"indexd","method":1}]}`, policy.ErrUnavailable, nil},
		{"trailing data", 200, `{}{}`, policy.ErrUnavailable, nil},
		{"truncated", 200, `{"/a":[`, policy.ErrUnavailable, nil},
		{"empty body", 200, ``, policy.ErrUnavailable, nil},
		{"400", 400, `"jwt decode failed"`, policy.ErrBadToken, nil},
		{"401", 401, `{"error":{"message":"x","code":401}}`, policy.ErrBadToken, nil},
		{"403", 403, `{}`, policy.ErrUnavailable, nil},
		{"404", 404, `{}`, policy.ErrUnavailable, nil},
		{"502", 502, `bad gateway`, policy.ErrUnavailable, nil},
		{"204", 204, ``, policy.ErrUnavailable, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			a := policy.NewArborist(srv.URL, time.Second, nil)
			m, err := a.Mapping(context.Background(), aliceCaller)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("err %v, want %v", err, tc.want)
				}
				// Without a token there is no credential to reject.
				_, err := a.Mapping(context.Background(), anonCaller)
				if !errors.Is(err, policy.ErrUnavailable) || errors.Is(err, policy.ErrBadToken) {
					t.Fatalf("anonymous: err %v, want ErrUnavailable", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := m.ResourcesWith(policy.MethodRead); !reflect.DeepEqual(got, tc.reads) {
				t.Fatalf("reads %v, want %v", got, tc.reads)
			}
		})
	}
}

func TestArboristAuthorize(t *testing.T) {
	s := newDouble(t)
	a := policy.NewArborist(s.URL(), 2*time.Second, nil)
	r := func(res, m string) policy.Request { return policy.Request{Resource: res, Method: m} }
	tests := []struct {
		name   string
		caller policy.Caller
		reqs   []policy.Request
		want   bool
		err    error
		calls  int64 // Arborist calls expected
	}{
		{"user create", aliceCaller, []policy.Request{r("/programs/p1", "create")}, true, nil, 1},
		{"user create below", aliceCaller, []policy.Request{r("/programs/p1/projects/x", "create")}, true, nil, 1},
		{"user delete denied", aliceCaller, []policy.Request{r("/programs/p1", "delete")}, false, nil, 1},
		{"user all must pass", aliceCaller, []policy.Request{r("/programs/p1", "update"), r("/programs/p10", "update")}, false, nil, 1},
		{"user admin", aliceCaller, []policy.Request{r(policy.AdminResource, "admin")}, true, nil, 1},
		{"trailing slash trimmed", aliceCaller, []policy.Request{r("/programs/p1/", "create")}, true, nil, 1},
		{"anonymous read", anonCaller, []policy.Request{r("/programs/open", "read")}, true, nil, 1},
		{"anonymous create", anonCaller, []policy.Request{r("/programs/open", "create")}, false, nil, 1},
		{"bad token", policy.Caller{Token: "garbage"}, []policy.Request{r("/programs/p1", "read")}, false, policy.ErrBadToken, 1},
		{"no requests", aliceCaller, nil, false, nil, 0},
		{"empty resource", aliceCaller, []policy.Request{r("", "read")}, false, nil, 0},
		{"double slash", aliceCaller, []policy.Request{r("/programs//p1", "read")}, false, nil, 0},
		{"tag", aliceCaller, []policy.Request{r("p1", "read")}, false, nil, 0},
		{"empty method", aliceCaller, []policy.Request{r("/programs/p1", "")}, false, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.ResetCounters()
			got, err := a.Authorize(context.Background(), tc.caller, tc.reqs)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("auth %v, want %v", got, tc.want)
			}
			if n := s.RequestCalls(); n != tc.calls {
				t.Fatalf("arborist calls %d, want %d", n, tc.calls)
			}
			if tc.calls == 0 {
				return
			}
			var body map[string]json.RawMessage
			if err := json.Unmarshal(s.LastRequestBody(), &body); err != nil {
				t.Fatal(err)
			}
			_, hasUser := body["user"]
			if hasUser != (tc.caller.Token != "") {
				t.Fatalf("body %s: user present=%v for caller %+v", s.LastRequestBody(), hasUser, tc.caller)
			}
		})
	}
}

func TestArboristAuthorizeShapes(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   bool
		err    error
	}{
		{"true", 200, `{"auth":true}`, true, nil},
		{"false", 200, `{"auth":false}`, false, nil},
		{"missing auth", 200, `{}`, false, policy.ErrUnavailable},
		{"string auth", 200, `{"auth":"true"}`, false, policy.ErrUnavailable},
		{"null auth", 200, `{"auth":null}`, false, policy.ErrUnavailable},
		{"list", 200, `[true]`, false, policy.ErrUnavailable},
		{"garbage", 200, `<html>`, false, policy.ErrUnavailable},
		{"trailing newline", 200, "{\"auth\":true}\n", true, nil},
		{"trailing data", 200, `{"auth":true} <html>`, false, policy.ErrUnavailable},
		{"two objects", 200, `{"auth":true}{"auth":false}`, false, policy.ErrUnavailable},
		{"truncated", 200, `{"auth":true`, false, policy.ErrUnavailable},
		{"empty body", 200, ``, false, policy.ErrUnavailable},
		{"400", 400, `{"error":{"message":"bad","code":400}}`, false, policy.ErrUnavailable},
		{"401", 401, `{"error":{"message":"bad","code":401}}`, false, policy.ErrBadToken},
		{"500", 500, ``, false, policy.ErrUnavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			a := policy.NewArborist(srv.URL, time.Second, nil)
			reqs := []policy.Request{{Resource: "/a", Method: "read"}}
			got, err := a.Authorize(context.Background(), aliceCaller, reqs)
			if tc.err != nil && !errors.Is(err, tc.err) || tc.err == nil && err != nil {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if tc.err != nil {
				if _, err := a.Authorize(context.Background(), anonCaller, reqs); !errors.Is(err, policy.ErrUnavailable) {
					t.Fatalf("anonymous: err %v, want ErrUnavailable", err)
				}
			}
			if got != tc.want {
				t.Fatalf("auth %v, want %v", got, tc.want)
			}
		})
	}
}

func TestArboristCallerContextCanceled(t *testing.T) {
	s := newDouble(t)
	s.SetFault(policytest.FaultSlow)
	s.SetDelay(2 * time.Second)
	a := policy.NewArborist(s.URL(), 5*time.Second, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := a.Mapping(ctx, aliceCaller)
	if !errors.Is(err, policy.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want ErrUnavailable wrapping the context error", err)
	}
}

// TestArboristReusesConnections checks that sequential calls share one
// keep-alive connection.
func TestArboristReusesConnections(t *testing.T) {
	var mu sync.Mutex
	conns := map[string]bool{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conns[r.RemoteAddr] = true
		mu.Unlock()
		_, _ = w.Write([]byte(`{"/a":[{"service":"indexd","method":"read"}]}`))
	}))
	srv.Start()
	defer srv.Close()
	a := policy.NewArborist(srv.URL, time.Second, nil)
	for range 20 {
		if _, err := a.Mapping(context.Background(), aliceCaller); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(conns) != 1 {
		t.Fatalf("20 sequential calls used %d connections, want 1", len(conns))
	}
}

// TestArboristDescendantKeys: against the double listing registered
// descendants, the client's grants are decided by whole-segment prefix: a
// descendant key adds nothing its ancestor's grant does not already cover,
// its own extra actions count, and /programs/p10 is not below /programs/p1.
func TestArboristDescendantKeys(t *testing.T) {
	s := newDouble(t)
	s.RegisterResources("/programs/p1/projects/a", "/programs/p1/projects/a/studies/s1", "/programs/p10", "/programs/p10/projects/a", "/programs/open/projects/o")
	s.SetUser("tok-alice", "alice", map[string][]string{
		"/programs/p1":             {"read"},
		"/programs/p1/projects/a":  {"create"},
		"/programs/p10/projects/a": {"update"},
	})
	a := policy.NewArborist(s.URL(), 2*time.Second, nil)
	m, err := a.Mapping(context.Background(), aliceCaller)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m["/programs/p1/projects/a/studies/s1"]; !ok {
		t.Fatalf("the double did not list the registered descendant: %v", m)
	}
	for _, tc := range []struct {
		method string
		want   []string
	}{
		{policy.MethodRead, []string{"/programs/open", "/programs/p1", "/programs/public"}},
		{policy.MethodCreate, []string{"/programs/p1/projects/a"}},
		{policy.MethodUpdate, []string{"/programs/p10/projects/a"}},
		{policy.MethodDelete, []string{}},
	} {
		if got := m.ResourcesWith(tc.method); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s on %v, want %v", tc.method, got, tc.want)
		}
	}
}
