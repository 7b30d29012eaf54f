package policy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/datacommons/indexd/discovery"
)

// ScopeEntry is one entry of an API token's scope: the methods the token
// may use at and below Resource. It is a ceiling, never a grant: the token
// may use a method on a path only where its user's live mapping also grants
// it (Mapping.Intersect).
type ScopeEntry struct {
	Resource string   `json:"resource"`
	Methods  []string `json:"methods"`
}

// Scope is an API token's ceiling: the union of its entries.
type Scope []ScopeEntry

// ScopeMethods are the methods a scope entry may name ("*" is every method).
var ScopeMethods = []string{MethodRead, MethodCreate, MethodUpdate, MethodDelete, MethodReadStorage, MethodAdmin, "*"}

// FullScope is the scope of a token issued without one: every grant its
// user has (still bounded by the user's live mapping and the token's
// expiry).
func FullScope() Scope { return Scope{{Resource: "/", Methods: []string{"*"}}} }

// MaxScopeEntries bounds a scope's size (and so the cost of Intersect).
const MaxScopeEntries = 100

// Validate checks a scope: 1..MaxScopeEntries entries, each an absolute
// resource path and at least one known method. It returns the scope
// normalized (paths without trailing slash, methods sorted and unique).
func (s Scope) Validate() (Scope, error) {
	if len(s) == 0 {
		return nil, fmt.Errorf("scope: no entries")
	}
	if len(s) > MaxScopeEntries {
		return nil, fmt.Errorf("scope: %d entries, at most %d", len(s), MaxScopeEntries)
	}
	out := make(Scope, 0, len(s))
	for i, e := range s {
		r := discovery.NormalizePath(e.Resource)
		if !strings.HasPrefix(r, "/") || len(r) > 1024 || strings.Contains(r, "//") {
			return nil, fmt.Errorf("scope[%d]: resource %q is not an absolute resource path", i, e.Resource)
		}
		if len(e.Methods) == 0 {
			return nil, fmt.Errorf("scope[%d]: no methods", i)
		}
		ms := make([]string, 0, len(e.Methods))
		for _, m := range e.Methods {
			if !slices.Contains(ScopeMethods, m) {
				return nil, fmt.Errorf("scope[%d]: unknown method %q (one of %s)", i, m, strings.Join(ScopeMethods, ", "))
			}
			if !slices.Contains(ms, m) {
				ms = append(ms, m)
			}
		}
		slices.Sort(ms)
		out = append(out, ScopeEntry{Resource: r, Methods: ms})
	}
	return out, nil
}

// meet is the methods both a (a mapping action's method) and the scope
// entry's methods allow: "*" meets anything as that thing.
func meet(a string, scope []string) []string {
	if a == "*" {
		return scope
	}
	if slices.Contains(scope, "*") || slices.Contains(scope, a) {
		return []string{a}
	}
	return nil
}

// Intersect returns the mapping an API token with scope s may use when its
// user's live mapping is m: method M is granted on path P only where m
// grants M on P (or an ancestor) AND a scope entry with M covers P (P at or
// below the entry's resource). Where a scope entry lies below a path m
// grants, the result grants the entry's path itself. Only this service's
// entries (indexd or *) count; the result's actions name ServiceName. A
// nil or empty scope grants nothing. m is not modified.
func (m Mapping) Intersect(s Scope) Mapping {
	out := Mapping{}
	add := func(path, method string) {
		for _, a := range out[path] {
			if a.Method == method {
				return
			}
		}
		out[path] = append(out[path], Action{Service: ServiceName, Method: method})
	}
	for path, actions := range m {
		p := discovery.NormalizePath(path)
		for _, a := range actions {
			if !a.Counts() {
				continue
			}
			for _, e := range s {
				var at string
				switch {
				case discovery.Covers(e.Resource, p):
					at = p
				case discovery.Covers(p, e.Resource):
					at = e.Resource
				default:
					continue
				}
				for _, meth := range meet(a.Method, e.Methods) {
					add(at, meth)
				}
			}
		}
	}
	return out
}

// Grants reports whether m grants method on path: an entry at path or an
// ancestor (discovery.Covers) allows it. This is how a write is decided for
// an API token caller, from its intersected mapping.
func (m Mapping) Grants(path, method string) bool {
	for k, actions := range m {
		if !discovery.Covers(k, path) {
			continue
		}
		for _, a := range actions {
			if a.Allows(method) {
				return true
			}
		}
	}
	return false
}

// errTokenCaller: an uncached backend was asked about an API token caller,
// whose permission only Cached computes (user mapping ∩ scope). Failing
// closed keeps a wiring mistake from granting the user's full mapping.
var errTokenCaller = fmt.Errorf("policy: API token callers are decided by the cached policy layer: %w", ErrUnavailable)
