// Package discovery holds the request-scoped discovery context and the
// discovery settings: the values the HTTP layer gathers once per request and
// passes, as plain parameters, into the repository, which turns them into the
// one SQL visibility predicate.
package discovery

import (
	"sort"
	"strings"
)

// Context is what the repository needs to decide which records a caller may
// see. It is built once per request by the HTTP layer.
type Context struct {
	// Discoverable mirrors the are_records_discoverable setting: when true
	// every record is visible and reads are not filtered.
	Discoverable bool
	// CanDiscoverAll is true when the caller holds read on one of the
	// global_discovery_authz paths.
	CanDiscoverAll bool
	// AuthorizedResources are the resource paths on which the caller holds
	// read (service indexd or *). A grant covers the path and every path below.
	AuthorizedResources []string
}

// Open is the context of a deployment whose records are all discoverable.
var Open = Context{Discoverable: true}

// Unfiltered reports whether every record is visible under c.
func (c Context) Unfiltered() bool { return c.Discoverable || c.CanDiscoverAll }

// Settings are the two runtime-changeable discovery settings.
type Settings struct {
	AreRecordsDiscoverable bool     `json:"are_records_discoverable"`
	GlobalDiscoveryAuthz   []string `json:"global_discovery_authz"`
	// Version grows by one with every stored change, so an instance never
	// replaces newer settings with an older read (0: never stored).
	Version int64 `json:"version"`
}

// DefaultSettings are the settings of a fresh deployment.
func DefaultSettings() Settings {
	return Settings{AreRecordsDiscoverable: true, GlobalDiscoveryAuthz: []string{}}
}

// NormalizePath trims trailing slashes from a resource path; the root "/"
// stays "/". Grants and record paths are compared in this form.
func NormalizePath(p string) string {
	t := strings.TrimRight(p, "/")
	if t == "" && strings.HasPrefix(p, "/") {
		return "/"
	}
	return t
}

// Covers reports whether a grant on grant covers path: equal, or path lies
// below grant on whole segments (/a covers /a/b, not /ab). It is the plain Go
// statement of the rule the repository implements in SQL, used by tests as an
// oracle and by the policy file backend.
func Covers(grant, path string) bool {
	g, p := NormalizePath(grant), NormalizePath(path)
	if g == "" || p == "" {
		return false
	}
	if g == p {
		return true
	}
	if g == "/" {
		return strings.HasPrefix(p, "/")
	}
	return strings.HasPrefix(p, g+"/")
}

// Visible is the plain Go statement of the visibility rule (SPEC §2): the
// oracle the SQL predicate is tested against.
func Visible(c Context, authz []string) bool {
	if c.Unfiltered() {
		return true
	}
	if len(authz) == 0 {
		return false
	}
	for _, p := range authz {
		covered := false
		for _, g := range c.AuthorizedResources {
			if Covers(g, p) {
				covered = true
				break
			}
		}
		if !covered {
			return false
		}
	}
	return true
}

// Prefixes returns the path and each ancestor of it, root first:
// "/a/b" → ["/", "/a", "/a/b"]. A value that is not a path (no leading "/")
// is its own only prefix. A grant on any prefix covers the path.
func Prefixes(path string) []string {
	p := NormalizePath(path)
	if !strings.HasPrefix(p, "/") {
		return []string{p}
	}
	if p == "/" {
		return []string{"/"}
	}
	out := []string{"/"}
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			out = append(out, p[:i])
		}
	}
	return append(out, p)
}

// CanonicalSet returns the sorted, de-duplicated, normalised form of an authz
// list: the key under which records sharing the same authz are grouped.
func CanonicalSet(paths []string) []string {
	seen := make(map[string]struct{}, len(paths))
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		n := NormalizePath(p)
		if _, ok := seen[n]; ok {
			continue
		}
		seen[n] = struct{}{}
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
