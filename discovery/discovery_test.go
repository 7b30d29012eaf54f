package discovery

import (
	"slices"
	"strings"
	"testing"
)

func TestCovers(t *testing.T) {
	cases := []struct {
		grant, path string
		want        bool
	}{
		{"/programs/p1", "/programs/p1", true},
		{"/programs/p1", "/programs/p1/projects/a", true},
		{"/programs/p1", "/programs/p10", false},
		{"/programs/p1", "/programs/p10/projects/a", false},
		{"/programs/p1/", "/programs/p1/x", true},
		{"/programs/p1", "/programs/p1/", true},
		{"/programs/p1/projects/a", "/programs/p1", false},
		{"/", "/anything/at/all", true},
		{"/", "/", true},
		{"", "/programs", false},
		{"/programs", "", false},
		{"/a", "/ab", false},
		{"/a/b", "/a/b/c/d", true},
	}
	for _, c := range cases {
		if got := Covers(c.grant, c.path); got != c.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", c.grant, c.path, got, c.want)
		}
	}
}

func TestVisible(t *testing.T) {
	reader := Context{AuthorizedResources: []string{"/programs/p1"}}
	cases := []struct {
		name  string
		dc    Context
		authz []string
		want  bool
	}{
		{"discoverable sees empty authz", Context{Discoverable: true}, nil, true},
		{"discover-all sees empty authz", Context{CanDiscoverAll: true}, nil, true},
		{"filtered never sees empty authz", reader, nil, false},
		{"child path", reader, []string{"/programs/p1/projects/a"}, true},
		{"look-alike", reader, []string{"/programs/p10"}, false},
		{"every path must be covered", reader, []string{"/programs/p1", "/programs/p2"}, false},
		{"two grants cover two paths", Context{AuthorizedResources: []string{"/programs/p1", "/programs/p2/x"}}, []string{"/programs/p1/a", "/programs/p2/x/y"}, true},
		{"no grants", Context{}, []string{"/programs/p1"}, false},
	}
	for _, c := range cases {
		if got := Visible(c.dc, c.authz); got != c.want {
			t.Errorf("%s: Visible = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestPrefixes(t *testing.T) {
	cases := map[string][]string{
		"/a/b/c": {"/", "/a", "/a/b", "/a/b/c"},
		"/a/":    {"/", "/a"},
		"/":      {"/"},
		"tag":    {"tag"},
	}
	for in, want := range cases {
		if got := Prefixes(in); !slices.Equal(got, want) {
			t.Errorf("Prefixes(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestCanonicalSet(t *testing.T) {
	got := CanonicalSet([]string{"/b", "/a/", "/a", "/b"})
	if want := []string{"/a", "/b"}; !slices.Equal(got, want) {
		t.Fatalf("CanonicalSet = %v, want %v", got, want)
	}
	if got := CanonicalSet(nil); len(got) != 0 {
		t.Fatalf("CanonicalSet(nil) = %v", got)
	}
}

// FuzzCoversIsPrefixMembership pins the equivalence the SQL predicate rests
// on: a grant covers a path exactly when the grant (normalised) is one of
// the path's prefixes, the rows stored in authz_set_prefix.
func FuzzCoversIsPrefixMembership(f *testing.F) {
	for _, s := range [][2]string{{"/programs/p1", "/programs/p1/x"}, {"/programs/p1", "/programs/p10"}, {"/", "/a"}, {"/a/", "/a"}, {"/a", "/a//b"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, grant, path string) {
		if !strings.HasPrefix(path, "/") || !strings.HasPrefix(grant, "/") || strings.Contains(path, "//") || strings.Contains(grant, "//") {
			return // paths are validated to start with / and have no empty segment
		}
		g := NormalizePath(grant)
		inPrefixes := slices.Contains(Prefixes(path), g)
		if Covers(grant, path) != inPrefixes {
			t.Fatalf("Covers(%q, %q) = %v but prefix membership = %v (prefixes %v)", grant, path, Covers(grant, path), inPrefixes, Prefixes(path))
		}
	})
}
