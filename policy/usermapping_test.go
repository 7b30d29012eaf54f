package policy_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datacommons/indexd/policy"
	"github.com/datacommons/indexd/policy/policytest"
)

// TestArboristUserMapping: the user's mapping by name, against the double
// speaking Arborist's POST /auth/mapping.
func TestArboristUserMapping(t *testing.T) {
	s := newDouble(t)
	s.SetGrants("Bob", map[string][]string{"/programs/bob": {"read", "update"}})
	a := policy.NewArborist(s.URL(), 2*time.Second, nil)
	ctx := context.Background()

	tests := []struct {
		name      string
		username  string
		wantReads []string
		wantErr   error
		wantCall  bool
	}{
		{"user", "alice", []string{"/programs/open", "/programs/p1", "/programs/public"}, nil, true},
		{"name case-insensitive", "ALICE", []string{"/programs/open", "/programs/p1", "/programs/public"}, nil, true},
		{"grants set under another case", "bob", []string{"/programs/bob", "/programs/open", "/programs/public"}, nil, true},
		{"unknown user: anonymous and logged-in", "mallory", []string{"/programs/open", "/programs/public"}, nil, true},
		{"a token is not a user name", "tok-alice", []string{"/programs/open", "/programs/public"}, nil, true},
		{"empty name, no call", "", nil, policy.ErrBadToken, false},
		{"blank name, no call", " \t", nil, policy.ErrBadToken, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := s.UserMappingCalls()
			m, err := a.UserMapping(ctx, tc.username)
			if called := s.UserMappingCalls() != before; called != tc.wantCall {
				t.Fatalf("called the policy service: %v, want %v", called, tc.wantCall)
			}
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || m != nil {
					t.Fatalf("got %v, %v; want %v", m, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := m.ResourcesWith(policy.MethodRead); !reflect.DeepEqual(got, tc.wantReads) {
				t.Fatalf("read on %v, want %v", got, tc.wantReads)
			}
			var body map[string]any
			if err := json.Unmarshal(s.LastUserMappingBody(), &body); err != nil || !reflect.DeepEqual(body, map[string]any{"username": tc.username}) {
				t.Fatalf("request body %s, want {\"username\": %q}", s.LastUserMappingBody(), tc.username)
			}
		})
	}
	if s.MappingCalls() != 0 {
		t.Fatalf("user mappings made %d token-form (GET) calls", s.MappingCalls())
	}

	// Grants the user loses are lost by the next call: nothing is cached.
	s.SetGrants("alice", nil)
	m, err := a.UserMapping(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.ResourcesWith(policy.MethodCreate); len(got) != 0 {
		t.Fatalf("create on %v after the grants were removed", got)
	}
}

// TestArboristUserMappingWire: the request is POST /auth/mapping with a
// JSON body and no Authorization header; every answer but a 200 mapping is
// ErrUnavailable — the call carries no credential for Arborist to reject.
func TestArboristUserMappingWire(t *testing.T) {
	var (
		mu     sync.Mutex
		status int
		answer string
		seen   *http.Request
		body   []byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen, body = r, b
		st, ans := status, answer
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(st)
		_, _ = io.WriteString(w, ans)
	}))
	defer srv.Close()
	a := policy.NewArborist(srv.URL+"/", time.Second, nil)

	tests := []struct {
		name   string
		status int
		body   string
		reads  []string // nil: ErrUnavailable
	}{
		{"ok", 200, `{"/a":[{"service":"indexd","method":"read"}],"/b":[{"service":"fence","method":"read"}]}`, []string{"/a"}},
		{"empty mapping", 200, `{}`, []string{}},
		{"400 is not a bad credential", 400, `{"error":{"message":"must provide a token or specify exactly one of username or clientID","code":400}}`, nil},
		{"401 is not a bad credential", 401, `{"error":{"message":"no","code":401}}`, nil},
		{"404 (an Arborist without the POST form)", 404, `{"error":{"message":"not found","code":404}}`, nil},
		{"405", 405, ``, nil},
		{"500", 500, `{"error":{"message":"mapping query failed","code":500}}`, nil},
		{"not JSON", 200, `<html>`, nil},
		{"a list", 200, `[]`, nil},
		{"null actions", 200, `{"/a":null}`, nil},
		{"trailing data", 200, `{"/a":[]} {}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			status, answer = tc.status, tc.body
			mu.Unlock()
			m, err := a.UserMapping(context.Background(), "alice")
			mu.Lock()
			r, b := seen, body
			mu.Unlock()
			if r.Method != http.MethodPost || r.URL.Path != "/auth/mapping" {
				t.Fatalf("request %s %s, want POST /auth/mapping", r.Method, r.URL.Path)
			}
			if _, ok := r.Header["Authorization"]; ok {
				t.Fatalf("sent an Authorization header: %q", r.Header.Get("Authorization"))
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			if string(b) != `{"username":"alice"}` {
				t.Fatalf("body %s", b)
			}
			if tc.reads == nil {
				if !errors.Is(err, policy.ErrUnavailable) || errors.Is(err, policy.ErrBadToken) || m != nil {
					t.Fatalf("got %v, %v; want ErrUnavailable only", m, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := m.ResourcesWith(policy.MethodRead); !reflect.DeepEqual(got, tc.reads) {
				t.Fatalf("read on %v, want %v", got, tc.reads)
			}
		})
	}

	t.Run("a name that needs escaping travels as JSON", func(t *testing.T) {
		mu.Lock()
		status, answer = 200, `{}`
		mu.Unlock()
		name := "eve\",\"clientID\":\"x\"\r\n"
		if _, err := a.UserMapping(context.Background(), name); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		b := body
		mu.Unlock()
		var got map[string]string
		if err := json.Unmarshal(b, &got); err != nil || len(got) != 1 || got["username"] != name {
			t.Fatalf("body %s does not carry exactly the name", b)
		}
	})
}

func TestArboristUserMappingFaults(t *testing.T) {
	s := newDouble(t)
	s.SetDelay(500 * time.Millisecond)
	a := policy.NewArborist(s.URL(), 100*time.Millisecond, nil)
	for _, f := range []policytest.Fault{policytest.FaultDown, policytest.FaultSlow, policytest.Fault500, policytest.FaultGarbage, policytest.FaultWrongShape} {
		t.Run(f.String(), func(t *testing.T) {
			s.SetFault(f)
			defer s.SetFault(policytest.FaultNone)
			start := time.Now()
			m, err := a.UserMapping(context.Background(), "alice")
			if !errors.Is(err, policy.ErrUnavailable) || errors.Is(err, policy.ErrBadToken) || m != nil {
				t.Fatalf("got %v, %v; want ErrUnavailable", m, err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("took %v; the per-call timeout was not applied", d)
			}
		})
	}
	if _, err := a.UserMapping(context.Background(), "alice"); err != nil {
		t.Fatalf("after faults: %v", err)
	}

	// The caller's context bounds the call too.
	s.SetFault(policytest.FaultSlow)
	s.SetDelay(2 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	long := policy.NewArborist(s.URL(), 5*time.Second, nil)
	if _, err := long.UserMapping(ctx, "alice"); !errors.Is(err, policy.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want ErrUnavailable wrapping the context error", err)
	}
}

// TestArboristUserMappingDescendants: registered descendants listed as keys
// decide nothing their ancestor does not, as for the token form.
func TestArboristUserMappingDescendants(t *testing.T) {
	s := newDouble(t)
	s.RegisterResources("/programs/p1/projects/a", "/programs/p10")
	a := policy.NewArborist(s.URL(), time.Second, nil)
	m, err := a.UserMapping(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, listed := m["/programs/p1/projects/a"]; !listed {
		t.Fatalf("registered descendant not listed: %v", m)
	}
	if _, listed := m["/programs/p10"]; listed {
		t.Fatal("/programs/p10 listed under a grant on /programs/p1")
	}
	want, err := a.Mapping(context.Background(), aliceCaller)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("by name %v, by token %v", m, want)
	}
}

func TestStaticUserMapping(t *testing.T) {
	s, err := policy.ParseStatic([]byte(staticYAML))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		user  string
		reads []string
		err   error
	}{
		{"user, name case-insensitive", "aLiCe", []string{"/programs/open", "/programs/p1", "/programs/public"}, nil},
		{"unknown user: anonymous and logged-in", "mallory", []string{"/programs/open", "/programs/public"}, nil},
		{"admin", "admin", []string{"/"}, nil},
		{"empty name", "", nil, policy.ErrBadToken},
		{"blank name", "  ", nil, policy.ErrBadToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := s.UserMapping(context.Background(), tc.user)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || m != nil {
					t.Fatalf("got %v, %v; want %v", m, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := m.ResourcesWith(policy.MethodRead); !reflect.DeepEqual(got, tc.reads) {
				t.Fatalf("read on %v, want %v", got, tc.reads)
			}
			// The same answer a verified caller of that name gets.
			byCaller, err := s.Mapping(context.Background(), policy.Caller{Token: "t", Username: tc.user})
			if err != nil || !reflect.DeepEqual(m, byCaller) {
				t.Fatalf("by name %v, by caller %v (%v)", m, byCaller, err)
			}
			m["/mutated"] = nil
			if again, _ := s.UserMapping(context.Background(), tc.user); again["/mutated"] != nil || len(again) == len(m) {
				t.Fatal("UserMapping returned shared state")
			}
		})
	}
	// Write methods are in the mapping too: a caller decides writes from it.
	m, _ := s.UserMapping(context.Background(), "alice")
	if got := m.ResourcesWith(policy.MethodDelete); !reflect.DeepEqual(got, []string{"/programs/p1"}) {
		t.Fatalf("delete on %v", got)
	}
}

func TestCachedUserMapping(t *testing.T) {
	s := newDouble(t)
	c := policy.NewCached(policy.NewArborist(s.URL(), time.Second, nil), time.Minute)
	ctx := context.Background()

	wantAlice := []string{"/programs/open", "/programs/p1", "/programs/public"}
	for _, name := range []string{"alice", "Alice", "ALICE", "alice"} {
		m, err := c.UserMapping(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.ResourcesWith(policy.MethodRead); !reflect.DeepEqual(got, wantAlice) {
			t.Fatalf("%s: read on %v", name, got)
		}
		reads, err := c.UserReadResources(ctx, name)
		if err != nil || !reflect.DeepEqual(reads, wantAlice) {
			t.Fatalf("%s: UserReadResources %v, %v", name, reads, err)
		}
	}
	if n := s.UserMappingCalls(); n != 1 {
		t.Fatalf("every spelling of one name: %d inner calls, want 1", n)
	}
	if _, err := c.UserMapping(ctx, "mallory"); err != nil {
		t.Fatal(err)
	}
	if n := s.UserMappingCalls(); n != 2 {
		t.Fatalf("a second user: %d inner calls, want 2", n)
	}

	// Its own keys: a caller named alice with a token, or with only a user
	// name, does not share the entry (nor the other way round).
	if _, err := c.Mapping(ctx, aliceCaller); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Mapping(ctx, policy.Caller{Username: "alice"}); err != nil {
		t.Fatal(err)
	}
	if n := s.MappingCalls(); n != 2 {
		t.Fatalf("token-form calls %d, want 2 (no sharing with user-name entries)", n)
	}
	keys := policy.CacheKeys(c)
	if len(keys) != 4 {
		t.Fatalf("keys %v, want 4", keys)
	}
	for _, k := range keys {
		for _, secret := range []string{"alice", "mallory", "tok-alice"} {
			if strings.Contains(strings.ToLower(k), secret) {
				t.Fatalf("cache key %q contains %q", k, secret)
			}
		}
	}

	// Empty names never reach the inner service.
	before := s.UserMappingCalls()
	if _, err := c.UserMapping(ctx, ""); !errors.Is(err, policy.ErrBadToken) {
		t.Fatalf("empty name: %v, want ErrBadToken", err)
	}
	if s.UserMappingCalls() != before {
		t.Fatal("empty name reached the policy service")
	}

	// ForgetUser: the next call asks again, and sees the new grants.
	s.SetGrants("alice", map[string][]string{"/programs/p9": {"read"}})
	if m, _ := c.UserMapping(ctx, "alice"); len(m.ResourcesWith(policy.MethodCreate)) == 0 {
		t.Fatal("the cached entry was not used")
	}
	c.ForgetUser("ALICE")
	m, err := c.UserMapping(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.ResourcesWith(policy.MethodCreate); len(got) != 0 {
		t.Fatalf("after ForgetUser: create on %v", got)
	}
}

// TestCachedUserMappingTTL: a grant the user loses is lost within the TTL.
func TestCachedUserMappingTTL(t *testing.T) {
	s := newDouble(t)
	c := policy.NewCached(policy.NewArborist(s.URL(), time.Second, nil), 200*time.Millisecond)
	ctx := context.Background()
	if _, err := c.UserMapping(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	s.SetGrants("alice", nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		m, err := c.UserMapping(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if len(m.ResourcesWith(policy.MethodCreate)) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lost grant was still cached long after the TTL")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := s.UserMappingCalls(); n != 2 {
		t.Fatalf("inner calls %d, want 2 (one per TTL)", n)
	}
}

func TestCachedUserMappingSingleflight(t *testing.T) {
	s := newDouble(t)
	s.SetFault(policytest.FaultSlow)
	s.SetDelay(100 * time.Millisecond)
	c := policy.NewCached(policy.NewArborist(s.URL(), 2*time.Second, nil), time.Minute)
	const n = 50
	var wg sync.WaitGroup
	var failures atomic.Int32
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			name := "alice"
			if i%2 == 1 {
				name = "ALICE"
			}
			m, err := c.UserMapping(context.Background(), name)
			if err != nil || len(m.ResourcesWith(policy.MethodRead)) != 3 {
				failures.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if f := failures.Load(); f != 0 {
		t.Fatalf("%d callers failed", f)
	}
	if got := s.UserMappingCalls(); got != 1 {
		t.Fatalf("%d concurrent misses made %d calls, want 1", n, got)
	}
}

// TestCachedUserMappingErrors: failures are ErrUnavailable and never
// cached; a waiter whose context ends gets ErrUnavailable; an inner service
// that cannot map by name is ErrUnavailable.
func TestCachedUserMappingErrors(t *testing.T) {
	s := newDouble(t)
	c := policy.NewCached(policy.NewArborist(s.URL(), 200*time.Millisecond, nil), time.Minute)
	ctx := context.Background()

	for _, f := range []policytest.Fault{policytest.FaultDown, policytest.Fault500, policytest.FaultGarbage} {
		s.SetFault(f)
		before := s.UserMappingCalls()
		for range 2 {
			if _, err := c.UserMapping(ctx, "alice"); !errors.Is(err, policy.ErrUnavailable) {
				t.Fatalf("%s: err %v, want ErrUnavailable", f, err)
			}
		}
		if got := s.UserMappingCalls() - before; got != 2 {
			t.Fatalf("%s: %d inner calls for 2 lookups: the error was cached", f, got)
		}
	}
	s.SetFault(policytest.FaultNone)
	if _, err := c.UserMapping(ctx, "alice"); err != nil {
		t.Fatalf("after recovery: %v", err)
	}

	s.SetFault(policytest.FaultSlow)
	s.SetDelay(time.Second)
	wctx, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := c.UserMapping(wctx, "bob"); !errors.Is(err, policy.ErrUnavailable) {
		t.Fatalf("waiter: err %v, want ErrUnavailable", err)
	}

	plain := policy.NewCached(tokenOnly{}, time.Minute)
	if _, err := plain.UserMapping(ctx, "alice"); !errors.Is(err, policy.ErrUnavailable) {
		t.Fatalf("inner service without UserMapping: err %v, want ErrUnavailable", err)
	}
	if _, err := plain.UserReadResources(ctx, "alice"); !errors.Is(err, policy.ErrUnavailable) {
		t.Fatalf("inner service without UserMapping: err %v, want ErrUnavailable", err)
	}
}

// tokenOnly is a Service that is not a UserMapper.
type tokenOnly struct{}

func (tokenOnly) Mapping(context.Context, policy.Caller) (policy.Mapping, error) {
	return policy.Mapping{}, nil
}

func (tokenOnly) Authorize(context.Context, policy.Caller, []policy.Request) (bool, error) {
	return false, nil
}

// TestCachedUserMappingStatic: the cache over a static file.
func TestCachedUserMappingStatic(t *testing.T) {
	st, err := policy.ParseStatic([]byte(staticYAML))
	if err != nil {
		t.Fatal(err)
	}
	c := policy.NewCached(st, time.Minute)
	reads, err := c.UserReadResources(context.Background(), "ALICE")
	if err != nil || !reflect.DeepEqual(reads, []string{"/programs/open", "/programs/p1", "/programs/public"}) {
		t.Fatalf("reads %v, %v", reads, err)
	}
	if st := c.Stats(); st.InnerCalls != 1 {
		t.Fatalf("stats %+v", st)
	}
}
