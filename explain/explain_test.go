package explain

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/policy"
)

func TestSubjectValidate(t *testing.T) {
	for _, c := range []struct {
		s  Subject
		ok bool
	}{
		{Subject{User: "alice"}, true},
		{Subject{Anonymous: true}, true},
		{Subject{}, false},
		{Subject{User: "alice", Anonymous: true}, false},
		{Subject{User: "   "}, false},
		{Subject{User: "a\x00b"}, false},
		{Subject{User: "a\nb"}, false},
		{Subject{User: "\xff"}, false},
		{Subject{User: strings.Repeat("u", 257)}, false},
		{Subject{User: "Ünïcode user@example.org"}, true},
	} {
		err := c.s.Validate()
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, indexd.ErrInvalid)) {
			t.Errorf("%+v: %v, want ok=%v", c.s, err, c.ok)
		}
	}
}

func TestCleanUsers(t *testing.T) {
	got, err := CleanUsers([]string{"alice", "Bob", "ALICE", "bob", "carol"})
	if err != nil || !slices.Equal(got, []string{"alice", "Bob", "carol"}) {
		t.Errorf("CleanUsers = %v, %v", got, err)
	}
	if got, err := CleanUsers(nil); err != nil || len(got) != 0 {
		t.Errorf("CleanUsers(nil) = %v, %v", got, err)
	}
	if _, err := CleanUsers(make([]string, MaxUsers+1)); !errors.Is(err, indexd.ErrInvalid) {
		t.Errorf("too many users: %v", err)
	}
	if _, err := CleanUsers([]string{"ok", ""}); !errors.Is(err, indexd.ErrInvalid) {
		t.Errorf("an empty name: %v", err)
	}
}

// actionOn reports the most specific action that allows the method, on
// the key as Arborist spells it (trailing slash and all).
func TestActionOn(t *testing.T) {
	m := policy.Mapping{
		"/a/": {{Service: "*", Method: "*"}, {Service: "indexd", Method: "*"}, {Service: "indexd", Method: "read"}},
		"/b":  {{Service: "fence", Method: "read"}, {Service: "*", Method: "read"}},
		"/c":  {{Service: "fence", Method: "read"}},
	}
	for _, c := range []struct {
		resource, method string
		want             policy.Action
		ok               bool
	}{
		{"/a", "read", policy.Action{Service: "indexd", Method: "read"}, true},
		{"/a", "delete", policy.Action{Service: "indexd", Method: "*"}, true},
		{"/b", "read", policy.Action{Service: "*", Method: "read"}, true},
		{"/c", "read", policy.Action{}, false},
		{"/d", "read", policy.Action{}, false},
	} {
		got, ok := actionOn(m, c.resource, c.method)
		if got != c.want || ok != c.ok {
			t.Errorf("actionOn(%s, %s) = %+v %v, want %+v %v", c.resource, c.method, got, ok, c.want, c.ok)
		}
	}
}

// A grant is attributed to the most general source that holds it.
func TestGrantSource(t *testing.T) {
	anon := newCaller(policy.Mapping{"/open": {{Service: "indexd", Method: "read"}}})
	in := newCaller(policy.Mapping{"/open": {{Service: "indexd", Method: "read"}}, "/shared": {{Service: "*", Method: "*"}}})
	user := newCaller(policy.Mapping{
		"/open":   {{Service: "indexd", Method: "read"}},
		"/shared": {{Service: "*", Method: "*"}},
		"/mine":   {{Service: "indexd", Method: "read"}},
	})
	g := groups{anonymous: anon, loggedIn: in}
	for res, want := range map[string]string{"/open": SourceAnonymous, "/shared": SourceLoggedIn, "/mine": SourceUser} {
		got := g.grant(user, Subject{User: "u"}, res, policy.MethodRead)
		if got.Source != want || got.Resource != res || got.Method == "" {
			t.Errorf("%s: %+v, want source %s", res, got, want)
		}
	}
	if got := g.grant(anon, Subject{Anonymous: true}, "/open", policy.MethodRead); got.Source != SourceAnonymous {
		t.Errorf("anonymous subject: %+v", got)
	}
}
