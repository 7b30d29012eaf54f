package policytest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/datacommons/indexd/policy/policytest"
)

type response struct {
	status int
	body   []byte
}

func do(t *testing.T, method, url, authz, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, b}
}

func newServer(t *testing.T) *policytest.Server {
	s := policytest.New(t)
	s.SetAnonymous(map[string][]string{"/programs/open": {"read"}})
	s.SetLoggedIn(map[string][]string{"/programs/public": {"read"}})
	s.SetUser("tok-alice", "alice", map[string][]string{
		"/programs/p1": {"read", "create"},
		"/programs/p2": {"*"},
	})
	s.SetUserActions("tok-svc", "svc", map[string][]policytest.Action{
		"/programs/any":   {{Service: "*", Method: "read"}},
		"/programs/other": {{Service: "fence", Method: "read"}},
	})
	return s
}

func decodeMapping(t *testing.T, b []byte) map[string][]policytest.Action {
	t.Helper()
	var m map[string][]policytest.Action
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("mapping body %q: %v", b, err)
	}
	return m
}

func keys(m map[string][]policytest.Action) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestMappingWire(t *testing.T) {
	s := newServer(t)
	anon := []string{"/programs/open"}
	alice := []string{"/programs/open", "/programs/p1", "/programs/p2", "/programs/public"}
	tests := []struct {
		name     string
		path     string
		authz    string
		status   int
		wantKeys []string // nil: body is a JSON string
	}{
		{"no header is anonymous", "/auth/mapping", "", 200, anon},
		{"Bearer", "/auth/mapping", "Bearer tok-alice", 200, alice},
		{"bearer", "/auth/mapping", "bearer tok-alice", 200, alice},
		{"raw token", "/auth/mapping", "tok-alice", 200, alice},
		{"trailing slash route", "/auth/mapping/", "Bearer tok-alice", 200, alice},
		{"BEARER rejected", "/auth/mapping", "BEARER tok-alice", 400, nil},
		{"unknown token", "/auth/mapping", "Bearer nope", 400, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, http.MethodGet, s.URL()+tc.path, tc.authz, "")
			if r.status != tc.status {
				t.Fatalf("status %d, want %d (body %s)", r.status, tc.status, r.body)
			}
			if tc.wantKeys == nil {
				var msg string
				if err := json.Unmarshal(r.body, &msg); err != nil || msg == "" {
					t.Fatalf("400 body %q is not a bare JSON string", r.body)
				}
				return
			}
			if got := keys(decodeMapping(t, r.body)); !reflect.DeepEqual(got, tc.wantKeys) {
				t.Fatalf("keys %v, want %v", got, tc.wantKeys)
			}
		})
	}

	t.Run("actions", func(t *testing.T) {
		m := decodeMapping(t, do(t, http.MethodGet, s.URL()+"/auth/mapping", "Bearer tok-alice", "").body)
		want := []policytest.Action{{Service: "indexd", Method: "create"}, {Service: "indexd", Method: "read"}}
		if !reflect.DeepEqual(m["/programs/p1"], want) {
			t.Fatalf("p1 actions %v, want %v", m["/programs/p1"], want)
		}
		if got := m["/programs/p2"]; len(got) != 1 || got[0].Method != "*" {
			t.Fatalf("p2 actions %v, want literal *", got)
		}
	})
	t.Run("empty header is anonymous", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.URL()+"/auth/mapping", nil)
		req.Header["Authorization"] = []string{""}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if got := keys(decodeMapping(t, b)); !reflect.DeepEqual(got, anon) {
			t.Fatalf("keys %v, want %v", got, anon)
		}
		if v, ok := s.LastMappingAuthorization(); !ok || v != "" {
			t.Fatalf("LastMappingAuthorization = %q, %v; want present and empty", v, ok)
		}
	})
	t.Run("wrong method", func(t *testing.T) {
		r := do(t, http.MethodPut, s.URL()+"/auth/mapping", "", "{}")
		if r.status != http.StatusMethodNotAllowed || len(r.body) != 0 {
			t.Fatalf("got %d %q, want 405 with empty body", r.status, r.body)
		}
	})
	t.Run("unknown route", func(t *testing.T) {
		r := do(t, http.MethodGet, s.URL()+"/nope", "", "")
		if r.status != http.StatusNotFound {
			t.Fatalf("got %d", r.status)
		}
		checkErrorBody(t, r, 404)
	})
}

// TestUserMappingWire: POST /auth/mapping, Arborist's service-to-service
// form, answers by the body's user name when no token is sent.
func TestUserMappingWire(t *testing.T) {
	s := newServer(t)
	s.RegisterResources("/programs/p1/projects/a")
	anon := []string{"/programs/open"}
	base := []string{"/programs/open", "/programs/public"}
	alice := []string{"/programs/open", "/programs/p1", "/programs/p1/projects/a", "/programs/p2", "/programs/public"}
	tests := []struct {
		name     string
		authz    string
		body     string
		status   int
		wantKeys []string // nil: an error object
	}{
		{"by user name", "", `{"username":"alice"}`, 200, alice},
		{"name case-insensitive", "", `{"username":"ALICE"}`, 200, alice},
		{"unknown user: anonymous and logged-in", "", `{"username":"mallory"}`, 200, base},
		{"unknown keys ignored", "", `{"username":"alice","extra":1}`, 200, alice},
		{"client id: no client grants", "", `{"clientID":"c1"}`, 200, []string{}},
		{"empty body is anonymous", "", ``, 200, anon},
		{"both", "", `{"username":"alice","clientID":"c1"}`, 400, nil},
		{"neither", "", `{}`, 400, nil},
		{"empty name", "", `{"username":""}`, 400, nil},
		{"null", "", `null`, 400, nil},
		{"not JSON", "", `username=alice`, 400, nil},
		{"a list", "", `[]`, 400, nil},
		{"token wins over the body", "Bearer tok-svc", `{"username":"alice"}`, 200, []string{"/programs/any", "/programs/open", "/programs/other", "/programs/public"}},
		{"token alone", "bearer tok-alice", ``, 200, alice},
		{"bad token: 401", "Bearer nope", `{"username":"alice"}`, 401, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, beforeGET := s.UserMappingCalls(), s.MappingCalls()
			r := do(t, http.MethodPost, s.URL()+"/auth/mapping", tc.authz, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d (body %s)", r.status, tc.status, r.body)
			}
			if s.UserMappingCalls() != before+1 || s.MappingCalls() != beforeGET {
				t.Fatalf("counters: post %d→%d, get %d→%d", before, s.UserMappingCalls(), beforeGET, s.MappingCalls())
			}
			if got := string(s.LastUserMappingBody()); got != tc.body {
				t.Fatalf("LastUserMappingBody %q, want %q", got, tc.body)
			}
			if tc.wantKeys == nil {
				checkErrorBody(t, r, tc.status)
				return
			}
			got := keys(decodeMapping(t, r.body))
			if got == nil {
				got = []string{}
			}
			if !reflect.DeepEqual(got, tc.wantKeys) {
				t.Fatalf("keys %v, want %v", got, tc.wantKeys)
			}
		})
	}

	t.Run("same mapping as the token form", func(t *testing.T) {
		byName := decodeMapping(t, do(t, http.MethodPost, s.URL()+"/auth/mapping", "", `{"username":"alice"}`).body)
		byToken := decodeMapping(t, do(t, http.MethodGet, s.URL()+"/auth/mapping", "Bearer tok-alice", "").body)
		if !reflect.DeepEqual(byName, byToken) {
			t.Fatalf("by name %v, by token %v", byName, byToken)
		}
	})
	t.Run("grant changes", func(t *testing.T) {
		s.SetGrants("alice", nil)
		got := keys(decodeMapping(t, do(t, http.MethodPost, s.URL()+"/auth/mapping", "", `{"username":"alice"}`).body))
		if !reflect.DeepEqual(got, base) {
			t.Fatalf("after the grants were removed: %v", got)
		}
	})
	t.Run("faults apply", func(t *testing.T) {
		s.SetFault(policytest.Fault500)
		defer s.SetFault(policytest.FaultNone)
		if r := do(t, http.MethodPost, s.URL()+"/auth/mapping", "", `{"username":"alice"}`); r.status != 500 {
			t.Fatalf("status %d, want 500", r.status)
		}
	})
	t.Run("ResetCounters", func(t *testing.T) {
		s.ResetCounters()
		if s.UserMappingCalls() != 0 {
			t.Fatal("ResetCounters left UserMappingCalls")
		}
	})
}

func TestMappingGrantChanges(t *testing.T) {
	s := newServer(t)
	get := func() response { return do(t, http.MethodGet, s.URL()+"/auth/mapping", "Bearer tok-alice", "") }

	s.SetUser("tok-alice", "alice", map[string][]string{"/programs/p9": {"read"}})
	if got := keys(decodeMapping(t, get().body)); !reflect.DeepEqual(got, []string{"/programs/open", "/programs/p9", "/programs/public"}) {
		t.Fatalf("after SetUser: %v", got)
	}
	s.RevokeAll("tok-alice")
	if got := keys(decodeMapping(t, get().body)); !reflect.DeepEqual(got, []string{"/programs/open", "/programs/public"}) {
		t.Fatalf("after RevokeAll: %v", got)
	}
	s.RemoveUser("tok-alice")
	if r := get(); r.status != 400 {
		t.Fatalf("after RemoveUser: status %d, want 400", r.status)
	}
}

func checkErrorBody(t *testing.T, r response, code int) {
	t.Helper()
	var e struct {
		Error struct {
			Message string `json:"message"`
			Code    int    `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	if e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("error body %q: want code %d and a message", r.body, code)
	}
}

func authBody(user string, reqs ...string) string {
	b := "{"
	if user != "" {
		b += `"user":{"token":"` + user + `"},`
	}
	return b + `"requests":[` + strings.Join(reqs, ",") + "]}"
}

func rq(resource, method string) string {
	return `{"resource":"` + resource + `","action":{"service":"indexd","method":"` + method + `"}}`
}

func TestRequestWire(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		name   string
		authz  string // Authorization header (must be ignored)
		body   string
		status int
		auth   bool
	}{
		{"anonymous read open", "", authBody("", rq("/programs/open", "read")), 200, true},
		{"anonymous read below open", "", authBody("", rq("/programs/open/projects/x", "read")), 200, true},
		{"anonymous not logged-in grants", "", authBody("", rq("/programs/public", "read")), 200, false},
		{"anonymous create denied", "", authBody("", rq("/programs/open", "create")), 200, false},
		{"header ignored: judged anonymous", "Bearer tok-alice", authBody("", rq("/programs/p1", "read")), 200, false},
		{"user read", "", authBody("tok-alice", rq("/programs/p1", "read")), 200, true},
		{"user logged-in grant", "", authBody("tok-alice", rq("/programs/public/x", "read")), 200, true},
		{"user anonymous grant", "", authBody("tok-alice", rq("/programs/open", "read")), 200, true},
		{"descendant covered", "", authBody("tok-alice", rq("/programs/p1/projects/a/b", "create")), 200, true},
		{"sibling prefix not covered", "", authBody("tok-alice", rq("/programs/p10", "read")), 200, false},
		{"parent not covered", "", authBody("tok-alice", rq("/programs", "read")), 200, false},
		{"every request must pass", "", authBody("tok-alice", rq("/programs/p1", "read"), rq("/programs/p3", "read")), 200, false},
		{"all pass", "", authBody("tok-alice", rq("/programs/p1", "read"), rq("/programs/p2/x", "delete")), 200, true},
		{"granted * method", "", authBody("tok-alice", rq("/programs/p2", "admin")), 200, true},
		{"requested * needs granted *", "", authBody("tok-alice", rq("/programs/p1", "*")), 200, false},
		{"requested * with granted *", "", authBody("tok-alice", rq("/programs/p2", "*")), 200, true},
		{"granted * service", "", authBody("tok-svc", rq("/programs/any", "read")), 200, true},
		{"other service does not count", "", authBody("tok-svc", rq("/programs/other", "read")), 200, false},
		{"resource tag", "", authBody("tok-alice", rq("p1", "read")), 200, false},
		{"single request field", "", `{"user":{"token":"tok-alice"},"request":` + rq("/programs/p1", "read") + `}`, 200, true},
		{"request and requests combined", "", `{"user":{"token":"tok-alice"},"request":` + rq("/programs/p1", "read") + `,"requests":[` + rq("/programs/p3", "read") + `]}`, 200, false},
		{"bad token", "", authBody("nope", rq("/programs/p1", "read")), 401, false},
		{"empty body", "", "", 400, false},
		{"not JSON", "", "auth please", 400, false},
		{"missing requests", "", `{"user":{"token":"tok-alice"}}`, 400, false},
		{"empty requests", "", authBody("tok-alice"), 400, false},
		{"request without action", "", `{"requests":[{"resource":"/programs/p1"}]}`, 400, false},
		{"request without resource", "", `{"requests":[{"action":{"service":"indexd","method":"read"}}]}`, 400, false},
		{"empty user", "", `{"user":{},"requests":[` + rq("/programs/p1", "read") + `]}`, 400, false},
		{"unknown field in user", "", `{"user":{"token":"tok-alice","x":1},"requests":[` + rq("/programs/p1", "read") + `]}`, 400, false},
		{"unknown field in request", "", `{"requests":[{"resource":"/programs/p1","x":1,"action":{"service":"indexd","method":"read"}}]}`, 400, false},
		{"empty resource", "", authBody("", rq("", "read")), 400, false},
		{"trailing slash", "", authBody("tok-alice", rq("/programs/p1/", "read")), 400, false},
		{"double slash", "", authBody("tok-alice", rq("/programs//p1", "read")), 400, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, http.MethodPost, s.URL()+"/auth/request", tc.authz, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d (body %s)", r.status, tc.status, r.body)
			}
			if tc.status != 200 {
				checkErrorBody(t, r, tc.status)
				return
			}
			var out map[string]any
			if err := json.Unmarshal(r.body, &out); err != nil {
				t.Fatal(err)
			}
			if out["auth"] != tc.auth {
				t.Fatalf("auth %v, want %v", out["auth"], tc.auth)
			}
		})
	}
	t.Run("wrong method", func(t *testing.T) {
		r := do(t, http.MethodGet, s.URL()+"/auth/request", "", "")
		if r.status != http.StatusMethodNotAllowed || len(r.body) != 0 {
			t.Fatalf("got %d %q, want 405 with empty body", r.status, r.body)
		}
	})
	t.Run("body recorded", func(t *testing.T) {
		body := authBody("", rq("/programs/open", "read"))
		do(t, http.MethodPost, s.URL()+"/auth/request", "", body)
		if got := string(s.LastRequestBody()); got != body {
			t.Fatalf("LastRequestBody %q, want %q", got, body)
		}
	})
}

func TestFaults(t *testing.T) {
	s := newServer(t)
	s.SetDelay(300 * time.Millisecond)
	client := &http.Client{Timeout: 100 * time.Millisecond}
	get := func() (int, string, error) {
		resp, err := client.Get(s.URL() + "/auth/mapping")
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}

	s.SetFault(policytest.FaultDown)
	if _, _, err := get(); err == nil {
		t.Fatal("down: want a transport error")
	}
	s.SetFault(policytest.FaultSlow)
	if _, _, err := get(); err == nil {
		t.Fatal("slow: want a timeout")
	}
	s.SetFault(policytest.Fault500)
	if st, _, err := get(); err != nil || st != 500 {
		t.Fatalf("500: got %d %v", st, err)
	}
	s.SetFault(policytest.FaultGarbage)
	if st, b, err := get(); err != nil || st != 200 || json.Valid([]byte(b)) {
		t.Fatalf("garbage: got %d %q %v", st, b, err)
	}
	s.SetFault(policytest.FaultWrongShape)
	if st, b, err := get(); err != nil || st != 200 || !strings.HasPrefix(b, "[") {
		t.Fatalf("wrong shape: got %d %q %v", st, b, err)
	}
	s.SetFault(policytest.FaultNone)
	if st, _, err := get(); err != nil || st != 200 {
		t.Fatalf("none: got %d %v", st, err)
	}

	// A slow double still answers a patient client.
	s.SetFault(policytest.FaultSlow)
	s.SetDelay(20 * time.Millisecond)
	if st, _, err := get(); err != nil || st != 200 {
		t.Fatalf("slow but in time: got %d %v", st, err)
	}
}

func TestCounters(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	for range 3 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL()+"/auth/mapping", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	do(t, http.MethodPost, s.URL()+"/auth/request", "", authBody("", rq("/programs/open", "read")))
	if s.MappingCalls() != 3 || s.RequestCalls() != 1 {
		t.Fatalf("calls mapping=%d request=%d, want 3 and 1", s.MappingCalls(), s.RequestCalls())
	}
	if v, ok := s.LastMappingAuthorization(); ok || v != "" {
		t.Fatalf("LastMappingAuthorization = %q, %v; want none", v, ok)
	}
	s.ResetCounters()
	if s.MappingCalls() != 0 || s.RequestCalls() != 0 {
		t.Fatal("ResetCounters did not reset")
	}
}

// TestIdentityAsArborist: grants belong to the user the JWT's
// context.user.name names (case-insensitively), not to a token; a valid
// token of a user without grants, or of no user, gets the anonymous and
// logged-in mapping; forged, expired and scope-less tokens are bad.
func TestIdentityAsArborist(t *testing.T) {
	s := newServer(t)
	s.SetGrants("Bob", map[string][]string{"/programs/bob": {"read", "update"}})
	base := []string{"/programs/open", "/programs/public"}
	other := policytest.New(t) // another Arborist: its key is not trusted here
	enc := func(v string) string { return base64.RawURLEncoding.EncodeToString([]byte(v)) }
	tests := []struct {
		name     string
		token    string
		status   int
		wantKeys []string
		auth     bool // POST /auth/request: update on /programs/bob/x
	}{
		{"signed token of a user with grants", s.Token("Bob", time.Hour), 200, []string{"/programs/bob", "/programs/open", "/programs/public"}, true},
		{"user names match case-insensitively", s.Token("bOB", time.Hour), 200, []string{"/programs/bob", "/programs/open", "/programs/public"}, true},
		{"alice's grants reach every token of alice", s.Token("ALICE", time.Hour), 200, []string{"/programs/open", "/programs/p1", "/programs/p2", "/programs/public"}, false},
		{"valid token of an unknown user", s.Token("carol", time.Hour), 200, base, false},
		{"client-credentials token", s.Token("", time.Hour), 200, base, false},
		{"expired", s.Token("Bob", -time.Minute), 400, nil, false},
		{"no openid scope", s.SignToken(map[string]any{"exp": time.Now().Add(time.Hour).Unix(), "context": map[string]any{"user": map[string]any{"name": "Bob"}}}), 400, nil, false},
		{"no exp", s.SignToken(map[string]any{"scope": []string{"openid"}, "context": map[string]any{"user": map[string]any{"name": "Bob"}}}), 400, nil, false},
		{"signed by another key", other.Token("Bob", time.Hour), 400, nil, false},
		{"unsigned", enc(`{"alg":"none"}`) + "." + strings.Split(s.Token("Bob", time.Hour), ".")[1] + ".", 400, nil, false},
		{"garbage", "not-a-jwt", 400, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, http.MethodGet, s.URL()+"/auth/mapping", "Bearer "+tc.token, "")
			if r.status != tc.status {
				t.Fatalf("mapping: status %d, want %d (body %s)", r.status, tc.status, r.body)
			}
			wantReq := 200
			if tc.status != 200 {
				wantReq = 401
			} else if got := keys(decodeMapping(t, r.body)); !reflect.DeepEqual(got, tc.wantKeys) {
				t.Fatalf("keys %v, want %v", got, tc.wantKeys)
			}
			q := do(t, http.MethodPost, s.URL()+"/auth/request", "", authBody(tc.token, rq("/programs/bob/x", "update")))
			if q.status != wantReq {
				t.Fatalf("request: status %d, want %d (body %s)", q.status, wantReq, q.body)
			}
			if wantReq == 200 {
				var out map[string]any
				if err := json.Unmarshal(q.body, &out); err != nil || out["auth"] != tc.auth {
					t.Fatalf("request: %s, want auth %v", q.body, tc.auth)
				}
			}
		})
	}

	t.Run("SetUser keys grants by user name", func(t *testing.T) {
		s.SetUser("tok-dave-1", "Dave", map[string][]string{"/programs/d": {"read"}})
		for _, tok := range []string{"tok-dave-1", s.Token("dave", time.Hour)} {
			m := decodeMapping(t, do(t, http.MethodGet, s.URL()+"/auth/mapping", "Bearer "+tok, "").body)
			if _, ok := m["/programs/d"]; !ok {
				t.Fatalf("token %.20s of dave lacks dave's grant: %v", tok, keys(m))
			}
		}
		s.RevokeAll("tok-dave-1")
		m := decodeMapping(t, do(t, http.MethodGet, s.URL()+"/auth/mapping", "Bearer "+s.Token("DAVE", time.Hour), "").body)
		if !reflect.DeepEqual(keys(m), base) {
			t.Fatalf("after RevokeAll through one token, another token of the user has %v", keys(m))
		}
	})
	t.Run("SetUser without a name reads context.user.name", func(t *testing.T) {
		claims := enc(`{"exp":9999999999,"context":{"user":{"name":"Erin"}}}`)
		hand := enc(`{"alg":"RS256"}`) + "." + claims + ".c2ln"
		s.SetUser(hand, "", map[string][]string{"/programs/e": {"read"}})
		m := decodeMapping(t, do(t, http.MethodGet, s.URL()+"/auth/mapping", "Bearer "+s.Token("erin", time.Hour), "").body)
		if _, ok := m["/programs/e"]; !ok {
			t.Fatalf("erin's grant missing: %v", keys(m))
		}
	})
	t.Run("RemoveUser makes one token bad, SetUser makes it good again", func(t *testing.T) {
		s.RemoveUser("tok-alice")
		if r := do(t, http.MethodGet, s.URL()+"/auth/mapping", "Bearer tok-alice", ""); r.status != 400 {
			t.Fatalf("removed token: %d", r.status)
		}
		if r := do(t, http.MethodGet, s.URL()+"/auth/mapping", "Bearer "+s.Token("alice", time.Hour), ""); r.status != 200 {
			t.Fatalf("another token of the user: %d", r.status)
		}
		s.SetUser("tok-alice", "alice", map[string][]string{"/programs/p1": {"read"}})
		if r := do(t, http.MethodGet, s.URL()+"/auth/mapping", "Bearer tok-alice", ""); r.status != 200 {
			t.Fatalf("restored token: %d", r.status)
		}
	})
	t.Run("client tokens carry no grants of their own", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("SetUser with grants for a token naming no user did not panic")
			}
		}()
		s.SetUser("tok-client", "", map[string][]string{"/programs/c": {"read"}})
	})
}

// TestMappingListsRegisteredDescendants: every registered resource below a
// granted path is its own key with the granted actions (merged with its own
// grants); unregistered descendants and look-alike siblings are not listed.
func TestMappingListsRegisteredDescendants(t *testing.T) {
	s := newServer(t)
	s.RegisterResources("/programs/p1/projects/a", "/programs/p1/projects/a/studies/s1/", "/programs/p10", "/programs/p1x/projects/b", "/programs/open/projects/o")
	s.SetUser("tok-alice", "alice", map[string][]string{
		"/programs/p1":            {"read"},
		"/programs/p1/projects/a": {"create"},
	})
	m := decodeMapping(t, do(t, http.MethodGet, s.URL()+"/auth/mapping", "Bearer tok-alice", "").body)
	want := map[string][]string{
		"/programs/open":                     {"read"},
		"/programs/open/projects/o":          {"read"},
		"/programs/public":                   {"read"},
		"/programs/p1":                       {"read"},
		"/programs/p1/projects/a":            {"create", "read"},
		"/programs/p1/projects/a/studies/s1": {"create", "read"},
	}
	if len(m) != len(want) {
		t.Fatalf("keys %v, want %v", keys(m), want)
	}
	for path, methods := range want {
		var got []string
		for _, a := range m[path] {
			got = append(got, a.Method)
		}
		if !reflect.DeepEqual(got, methods) {
			t.Fatalf("%s: methods %v, want %v (mapping %v)", path, got, methods, m)
		}
	}
	anon := decodeMapping(t, do(t, http.MethodGet, s.URL()+"/auth/mapping", "", "").body)
	if got := keys(anon); !reflect.DeepEqual(got, []string{"/programs/open", "/programs/open/projects/o"}) {
		t.Fatalf("anonymous keys %v", got)
	}
}
