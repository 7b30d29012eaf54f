// Package policy talks to the external policy service (Arborist's API, or a
// static policy file) to learn what a caller may do: the caller's resource
// mapping for reads, and yes/no decisions for writes. Every failure is an
// error; callers fail closed.
package policy

import (
	"context"
	"errors"
	"time"

	"github.com/datacommons/indexd/discovery"
)

// ServiceName is the service name this product answers to in policy entries.
const ServiceName = "indexd"

// Methods used by this service.
const (
	MethodRead        = "read"
	MethodCreate      = "create"
	MethodUpdate      = "update"
	MethodDelete      = "delete"
	MethodAdmin       = "admin"
	MethodReadStorage = "read-storage"
)

// AdminResource is the resource whose admin grant makes a caller an admin.
const AdminResource = "/services/indexd/admin"

// Errors returned by a Service. Anything else is treated as unavailable.
var (
	// ErrBadToken: the policy service rejected the caller's credential (Arborist 400/401).
	ErrBadToken = errors.New("policy: credential rejected")
	// ErrUnavailable: unreachable, timed out, non-2xx, or an answer that does not parse.
	ErrUnavailable = errors.New("policy: service unavailable")
)

// Caller identifies who is asking. The zero value is anonymous.
type Caller struct {
	// Token is the raw bearer token ("" for anonymous or basic-auth callers).
	Token string
	// Username is the verified user name, when known.
	Username string
	// BasicAdmin is true for a basic-auth admin verified against the database.
	BasicAdmin bool
	// ExpiresAt is the token's exp (zero when none).
	ExpiresAt time.Time
	// Verified is true when the token's signature was verified locally
	// (JWKS or signing key). A token that is not must be accepted by the
	// policy service (a Mapping call) before it counts for anything.
	Verified bool
	// TokenID is the id of the API token (package apitoken) the caller
	// presented; "" for every other caller. Username is then the token's
	// user, Token is empty, and what the caller may do is the user's live
	// mapping (by name, UserMapper) intersected with Scope
	// (Mapping.Intersect): Cached answers Mapping and Authorize so, and
	// the uncached backends refuse such callers (ErrUnavailable).
	TokenID string
	// Scope is the API token's ceiling (only with TokenID; nil grants
	// nothing). A pointer keeps Caller comparable.
	Scope *Scope
}

// Anonymous reports whether the caller presented no credential.
func (c Caller) Anonymous() bool { return c.Token == "" && !c.BasicAdmin && c.Username == "" }

// Action is one entry of a mapping.
type Action struct {
	Service string `json:"service"`
	Method  string `json:"method"`
}

// Mapping is resource path → actions, as Arborist's GET /auth/mapping answers.
type Mapping map[string][]Action

// Request is one permission question for a write decision.
type Request struct {
	Resource string
	Method   string // service is always ServiceName
}

// Service is the policy service. Implementations must be safe for concurrent use.
type Service interface {
	// Mapping returns the caller's mapping. Returns ErrBadToken when the
	// credential is rejected, ErrUnavailable (wrapped) on any other failure.
	Mapping(ctx context.Context, c Caller) (Mapping, error)
	// Authorize reports whether every request is granted. Same error contract.
	Authorize(ctx context.Context, c Caller, reqs []Request) (bool, error)
}

// UserMapper is implemented by policy services that can answer a user's
// mapping by user name (Arborist's service-to-service form of /auth/mapping).
//
// The mapping is what the user would get logged in: their own grants plus
// the anonymous and logged-in groups'; a user the service does not know gets
// the anonymous and logged-in grants, not an error. User names are matched
// case-insensitively, as Arborist does. An empty user name names nobody:
// ErrBadToken without a call. Any other failure is ErrUnavailable (wrapped).
// The caller of UserMapping must have established who the user is: the
// answer is not tied to any credential.
type UserMapper interface {
	UserMapping(ctx context.Context, username string) (Mapping, error)
}

// Counts reports whether an entry is for this service (indexd or *).
func (a Action) Counts() bool { return a.Service == ServiceName || a.Service == "*" }

// Allows reports whether an entry grants method to this service.
func (a Action) Allows(method string) bool {
	return a.Counts() && (a.Method == method || a.Method == "*")
}

// ResourcesWith returns the paths on which m grants method for this
// service, normalized and sorted, leaving out every path another of them
// covers. Arborist lists each registered descendant of a granted path as its
// own key, and a grant covers everything below it on whole segments
// (discovery.Covers: /programs/p1 covers /programs/p1/x, not /programs/p10)
// whether listed or not; so the smallest covering list decides exactly what
// the full one does, and does not grow with the number of registered
// resources.
func (m Mapping) ResourcesWith(method string) []string {
	granted := make(map[string]bool, len(m))
	for path, actions := range m {
		for _, a := range actions {
			if a.Allows(method) {
				granted[discovery.NormalizePath(path)] = true
				break
			}
		}
	}
	out := make([]string, 0, len(granted))
	for p := range granted {
		if !coveredByAncestor(granted, p) {
			out = append(out, p)
		}
	}
	sortStrings(out)
	return out
}

// ReadResources returns the resources on which the caller holds read
// (Mapping.ResourcesWith(MethodRead)). A Cached service computes the list
// once per cached mapping and shares it: callers must not modify it.
func ReadResources(ctx context.Context, s Service, c Caller) ([]string, error) {
	if r, ok := s.(interface {
		readResources(context.Context, Caller) ([]string, error)
	}); ok {
		return r.readResources(ctx, c)
	}
	m, err := s.Mapping(ctx, c)
	if err != nil {
		return nil, err
	}
	return m.ResourcesWith(MethodRead), nil
}

// coveredByAncestor reports whether a proper ancestor of p (on whole
// segments: discovery.Prefixes without the path itself) is in set. It walks
// p's separators in place: a mapping may hold thousands of paths.
func coveredByAncestor(set map[string]bool, p string) bool {
	if len(p) < 2 || p[0] != '/' {
		return false // not a path, or the root: no ancestor
	}
	if set["/"] {
		return true
	}
	for i := 1; i < len(p); i++ {
		if p[i] == '/' && set[p[:i]] {
			return true
		}
	}
	return false
}
