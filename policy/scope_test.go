package policy_test

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/datacommons/indexd/policy"
)

func methodsAt(m policy.Mapping, path string) []string {
	var out []string
	for _, a := range m[path] {
		out = append(out, a.Method)
	}
	sort.Strings(out)
	return out
}

func TestIntersectCeiling(t *testing.T) {
	user := policy.Mapping{
		"/programs/p1":             {{Service: "indexd", Method: "read"}, {Service: "indexd", Method: "create"}},
		"/programs/p2":             {{Service: "*", Method: "*"}},
		"/programs/p3":             {{Service: "fence", Method: "read"}}, // another service's: never counts
		"/services/indexd/admin":   {{Service: "indexd", Method: "admin"}},
		"/programs/p1/projects/a/": {{Service: "indexd", Method: "update"}},
	}
	cases := []struct {
		name  string
		scope policy.Scope
		want  map[string][]string
	}{
		{"narrower resource below a grant", policy.Scope{{Resource: "/programs/p1/projects/a", Methods: []string{"read", "update", "delete"}}},
			map[string][]string{"/programs/p1/projects/a": {"read", "update"}}},
		{"wider than grants grants nothing more", policy.Scope{{Resource: "/", Methods: []string{"read"}}},
			map[string][]string{"/programs/p1": {"read"}, "/programs/p2": {"read"}}},
		{"scope the user never had", policy.Scope{{Resource: "/programs/p9", Methods: []string{"*"}}, {Resource: "/programs/p3", Methods: []string{"read"}}},
			map[string][]string{}},
		{"whole segments only", policy.Scope{{Resource: "/programs/p", Methods: []string{"*"}}},
			map[string][]string{}},
		{"star meets", policy.Scope{{Resource: "/programs/p2/x", Methods: []string{"*"}}, {Resource: "/programs/p1", Methods: []string{"create"}}},
			map[string][]string{"/programs/p2/x": {"*"}, "/programs/p1": {"create"}}},
		{"empty scope grants nothing", nil, map[string][]string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := user.Intersect(tc.scope)
			gm := map[string][]string{}
			for p := range got {
				gm[p] = methodsAt(got, p)
			}
			if !reflect.DeepEqual(gm, tc.want) {
				t.Fatalf("Intersect = %v, want %v", gm, tc.want)
			}
		})
	}
	full := user.Intersect(policy.FullScope())
	for _, m := range []string{"read", "create", "update", "delete", "admin"} {
		for _, p := range []string{"/programs/p1", "/programs/p1/projects/a/b", "/programs/p2/z", "/programs/p3", "/services/indexd/admin", "/programs/p10"} {
			if got, want := full.Grants(p, m), user.Grants(p, m); got != want {
				t.Errorf("full scope %s on %s = %v, user has %v", m, p, got, want)
			}
		}
	}
}

func TestScopeValidate(t *testing.T) {
	bad := []policy.Scope{
		nil,
		{{Resource: "programs/p1", Methods: []string{"read"}}},
		{{Resource: "/programs/p1", Methods: nil}},
		{{Resource: "/programs/p1", Methods: []string{"write"}}},
		{{Resource: "/a//b", Methods: []string{"read"}}},
	}
	for _, s := range bad {
		if _, err := s.Validate(); err == nil {
			t.Errorf("Validate(%v) accepted", s)
		}
	}
	got, err := policy.Scope{{Resource: "/p/", Methods: []string{"update", "read", "read"}}}.Validate()
	if err != nil || !reflect.DeepEqual(got, policy.Scope{{Resource: "/p", Methods: []string{"read", "update"}}}) {
		t.Fatalf("Validate = %v, %v", got, err)
	}
}

// A token caller is decided by Cached from the user's mapping ∩ scope, for
// reads and writes alike; the uncached backend refuses it (fail closed).
func TestCachedTokenCaller(t *testing.T) {
	st, err := policy.ParseStatic([]byte(staticYAML))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok := policy.Caller{Username: "alice", TokenID: "t1", Verified: true, ExpiresAt: time.Now().Add(time.Hour),
		Scope: &policy.Scope{{Resource: "/programs/p1/projects/a", Methods: []string{"read"}}, {Resource: "/programs/p2", Methods: []string{"*"}}}}
	if _, err := st.Mapping(ctx, tok); !errors.Is(err, policy.ErrUnavailable) {
		t.Fatalf("uncached Mapping(token caller) err = %v, want ErrUnavailable", err)
	}
	if _, err := st.Authorize(ctx, tok, []policy.Request{{Resource: "/programs/p1", Method: "read"}}); !errors.Is(err, policy.ErrUnavailable) {
		t.Fatalf("uncached Authorize(token caller) err = %v, want ErrUnavailable", err)
	}
	c := policy.NewCached(st, time.Minute)
	reads, err := policy.ReadResources(ctx, c, tok)
	if err != nil || !reflect.DeepEqual(reads, []string{"/programs/p1/projects/a"}) {
		t.Fatalf("ReadResources = %v, %v", reads, err)
	}
	for _, tc := range []struct {
		res, method string
		want        bool
	}{
		{"/programs/p1/projects/a", "read", true},
		{"/programs/p1/projects/a/x", "read", true},
		{"/programs/p1/projects/a", "create", false}, // scope lacks it
		{"/programs/p1", "read", false},              // user may, scope does not cover
		{"/programs/p2", "read", false},              // scope covers, user lacks
		{"/services/indexd/admin", "admin", false},
	} {
		ok, err := c.Authorize(ctx, tok, []policy.Request{{Resource: tc.res, Method: tc.method}})
		if err != nil || ok != tc.want {
			t.Errorf("Authorize(%s %s) = %v, %v; want %v", tc.method, tc.res, ok, err, tc.want)
		}
	}
	// The user's own (non-token) caller still sees everything it has.
	reads, err = policy.ReadResources(ctx, c, policy.Caller{Username: "alice"})
	if err != nil || len(reads) < 2 {
		t.Fatalf("user reads = %v, %v", reads, err)
	}
}
