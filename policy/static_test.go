package policy_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/datacommons/indexd/policy"
)

const staticYAML = `
anonymous:
  /programs/open: [read]
logged_in:
  /programs/public: [read]
users:
  Alice:
    /programs/p1: [read, read-storage, create, update, delete]
  admin:
    /services/indexd/admin: [admin]
    /: ["*"]
`

const staticJSON = `{
  "anonymous": {"/programs/open": ["read"]},
  "logged_in": {"/programs/public": ["read"]},
  "users": {
    "Alice": {"/programs/p1": ["read", "read-storage", "create", "update", "delete"]},
    "admin": {"/services/indexd/admin": ["admin"], "/": ["*"]}
  }
}`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadStaticFormats(t *testing.T) {
	for _, f := range []struct{ name, content string }{
		{"policy.yaml", staticYAML},
		{"policy.yml", staticYAML},
		{"policy.json", staticJSON},
		{"POLICY.JSON", staticJSON},
	} {
		t.Run(f.name, func(t *testing.T) {
			s, err := policy.LoadStatic(writeFile(t, f.name, f.content))
			if err != nil {
				t.Fatal(err)
			}
			m, err := s.Mapping(context.Background(), policy.Caller{Username: "alice"})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"/programs/open", "/programs/p1", "/programs/public"}
			if got := m.ResourcesWith(policy.MethodRead); !reflect.DeepEqual(got, want) {
				t.Fatalf("read on %v, want %v", got, want)
			}
		})
	}
}

func TestLoadStaticErrors(t *testing.T) {
	tests := []struct {
		name, file, content, wantMsg string
	}{
		{"unknown top-level key", "p.yaml", "anonymous: {}\ngroups: {}\n", "groups"},
		{"unknown key json", "p.json", `{"anon": {}}`, "anon"},
		{"relative path", "p.yaml", "anonymous:\n  programs/open: [read]\n", "programs/open"},
		{"empty segment", "p.yaml", "users:\n  bob:\n    /a//b: [read]\n", "/a//b"},
		{"unknown method", "p.yaml", "users:\n  bob:\n    /a: [write]\n", "write"},
		{"no methods", "p.yaml", "logged_in:\n  /a: []\n", "no methods"},
		{"methods not a list", "p.yaml", "anonymous:\n  /a: read\n", ""},
		{"duplicate user", "p.yaml", "users:\n  bob: {}\n  BOB: {}\n", "twice"},
		{"empty file", "p.yaml", "\n", "empty"},
		{"two documents", "p.yaml", "anonymous: {}\n---\nanonymous: {}\n", "more than one"},
		{"bad extension", "p.txt", staticYAML, "extension"},
		{"not yaml", "p.yaml", "{[", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policy.LoadStatic(writeFile(t, tc.file, tc.content))
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("error %q does not mention %q", err, tc.wantMsg)
			}
		})
	}
	if _, err := policy.LoadStatic(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Fatal("missing file: want an error")
	}
}

func TestStaticMapping(t *testing.T) {
	s, err := policy.ParseStatic([]byte(staticYAML))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		caller policy.Caller
		reads  []string
		err    error
	}{
		{"anonymous", policy.Caller{}, []string{"/programs/open"}, nil},
		{"user, name case-insensitive", policy.Caller{Token: "t", Username: "ALICE"}, []string{"/programs/open", "/programs/p1", "/programs/public"}, nil},
		{"unknown user", policy.Caller{Token: "t", Username: "mallory"}, []string{"/programs/open", "/programs/public"}, nil},
		{"admin: read on / covers every other grant", policy.Caller{Username: "admin"}, []string{"/"}, nil},
		{"token without username", policy.Caller{Token: "t"}, nil, policy.ErrBadToken},
		{"basic admin without name is anonymous", policy.Caller{BasicAdmin: true}, []string{"/programs/open"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := s.Mapping(context.Background(), tc.caller)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := m.ResourcesWith(policy.MethodRead); !reflect.DeepEqual(got, tc.reads) {
				t.Fatalf("read on %v, want %v", got, tc.reads)
			}
			// The result is the caller's own copy.
			m["/mutated"] = nil
			m2, _ := s.Mapping(context.Background(), tc.caller)
			if _, ok := m2["/mutated"]; ok {
				t.Fatal("Mapping returned shared state")
			}
		})
	}
}

func TestStaticAuthorize(t *testing.T) {
	s, err := policy.ParseStatic([]byte(staticYAML))
	if err != nil {
		t.Fatal(err)
	}
	alice := policy.Caller{Username: "alice", Token: "t"}
	admin := policy.Caller{Username: "admin"}
	r := func(res, m string) policy.Request { return policy.Request{Resource: res, Method: m} }
	tests := []struct {
		name   string
		caller policy.Caller
		reqs   []policy.Request
		want   bool
		err    error
	}{
		{"own path", alice, []policy.Request{r("/programs/p1", "create")}, true, nil},
		{"below own path", alice, []policy.Request{r("/programs/p1/projects/x", "delete")}, true, nil},
		{"prefix is not a parent", alice, []policy.Request{r("/programs/p10", "create")}, false, nil},
		{"parent not covered", alice, []policy.Request{r("/programs", "read")}, false, nil},
		{"every request", alice, []policy.Request{r("/programs/p1", "update"), r("/programs/open", "update")}, false, nil},
		{"anonymous grant for user", alice, []policy.Request{r("/programs/open/x", "read")}, true, nil},
		{"logged-in grant", alice, []policy.Request{r("/programs/public", "read")}, true, nil},
		{"method not granted", alice, []policy.Request{r("/programs/p1", "admin")}, false, nil},
		{"admin star covers all", admin, []policy.Request{r("/anything/at/all", "delete"), r(policy.AdminResource, "admin")}, true, nil},
		{"requested star needs granted star", alice, []policy.Request{r("/programs/p1", "*")}, false, nil},
		{"anonymous write", policy.Caller{}, []policy.Request{r("/programs/open", "create")}, false, nil},
		{"anonymous read", policy.Caller{}, []policy.Request{r("/programs/open", "read")}, true, nil},
		{"trailing slash", alice, []policy.Request{r("/programs/p1/", "read")}, true, nil},
		{"empty requests", admin, nil, false, nil},
		{"malformed path", admin, []policy.Request{r("/a//b", "read")}, false, nil},
		{"tag", admin, []policy.Request{r("p1", "read")}, false, nil},
		{"token without username", policy.Caller{Token: "t"}, []policy.Request{r("/programs/open", "read")}, false, policy.ErrBadToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Authorize(context.Background(), tc.caller, tc.reqs)
			if tc.err != nil && !errors.Is(err, tc.err) || tc.err == nil && err != nil {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if got != tc.want {
				t.Fatalf("auth %v, want %v", got, tc.want)
			}
		})
	}
}
