package api

import (
	"context"
	"net"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/identity"
	"github.com/datacommons/indexd/policy"
)

const callerKey = "indexd.caller"

// authenticate resolves the caller once per request, on every route that
// needs more than nothing (register). A present but invalid credential is
// 401, never a fall-back to anonymous.
//
// A bearer token the identity layer could not verify itself (pass-through
// mode: no JWKS, no signing key) must be accepted by the policy service
// first, whatever the route and even while every record is discoverable
// (when reads would not otherwise ask it): one mapping call, cached per
// token for the mapping TTL and reused by the discovery context. Rejected
// (Arborist 400) → 401; the policy service unavailable → 503.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		// The client's address, for the basic-auth failure budget: the
		// connection's peer, never a forwarded-for header a client writes.
		actx := identity.WithClient(ctx, clientAddr(c.Request()))
		caller, err := s.authn.Authenticate(actx, c.Request().Header.Get(echo.HeaderAuthorization))
		if err != nil {
			return err
		}
		if caller.Token != "" && !caller.Verified {
			if _, err := s.policy.Mapping(ctx, caller); err != nil {
				return errf("verify bearer token with the policy service: %w", err)
			}
		}
		c.Set(callerKey, caller)
		return next(c)
	}
}

// clientAddr is the IP address of the connection's peer.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func callerOf(c echo.Context) policy.Caller {
	caller, _ := c.Get(callerKey).(policy.Caller)
	return caller
}

// discoveryContext builds the request's discovery context from the current
// settings and, only when filtering is on, the caller's (cached) mapping.
func (s *Server) discoveryContext(c echo.Context) (discovery.Context, error) {
	return s.buildDiscoveryContext(c.Request().Context(), callerOf(c))
}

func (s *Server) buildDiscoveryContext(ctx context.Context, caller policy.Caller) (discovery.Context, error) {
	st := s.settings.Get()
	if st.AreRecordsDiscoverable {
		return discovery.Context{Discoverable: true}, nil
	}
	if caller.BasicAdmin {
		return discovery.Context{CanDiscoverAll: true}, nil
	}
	reads, err := policy.ReadResources(ctx, s.policy, caller)
	if err != nil {
		return discovery.Context{}, errf("discovery context: %w", err)
	}
	return contextFromReads(st, reads), nil
}

// ContextFromMapping derives the discovery context from settings and a
// caller's mapping: read grants (service indexd or *) are the authorized
// resources; holding read on any global discovery path discovers all.
func ContextFromMapping(st discovery.Settings, m policy.Mapping) discovery.Context {
	return contextFromReads(st, m.ResourcesWith(policy.MethodRead))
}

// contextFromReads is ContextFromMapping from the read resources (shared:
// the context only ever reads them). discovery.FromReads is the one
// builder, also used by explanations and previews (package explain).
func contextFromReads(st discovery.Settings, reads []string) discovery.Context {
	return discovery.FromReads(st, reads)
}

// requireCaller: writes need a credential (anonymous → 401).
func (s *Server) requireCaller(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if callerOf(c).Anonymous() {
			return indexd.ErrUnauthenticated
		}
		return next(c)
	}
}

// requireAdmin: anonymous → 401; not an admin → 403.
func (s *Server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		caller := callerOf(c)
		if caller.Anonymous() {
			return indexd.ErrUnauthenticated
		}
		ok, err := s.isAdmin(c.Request().Context(), caller)
		if err != nil {
			return err
		}
		if !ok {
			return errf("%w: not an admin", indexd.ErrForbidden)
		}
		return next(c)
	}
}

func (s *Server) isAdmin(ctx context.Context, caller policy.Caller) (bool, error) {
	if caller.BasicAdmin {
		return true, nil
	}
	if caller.Anonymous() {
		return false, nil
	}
	ok, err := s.policy.Authorize(ctx, caller, []policy.Request{{Resource: policy.AdminResource, Method: policy.MethodAdmin}})
	if err != nil {
		return false, errf("admin check: %w", err)
	}
	return ok, nil
}

// authorizeWrite asks the policy service whether the caller holds method on
// every path of the union of pathSets (SPEC §3). Empty authz is admin-only.
func (s *Server) authorizeWrite(c echo.Context, method string, pathSets ...[]string) error {
	return s.authorizeWrites(c, writeCheck{method: method, sets: pathSets})
}

// writeCheck is one permission a write needs: method on every path of the
// union of sets.
type writeCheck struct {
	method string
	sets   [][]string
}

// authorizeWrites decides every check in one policy call (a new version
// needs create on its authz and update on its chain's). Anonymous → 401;
// a basic-auth admin may do anything; an empty set among the checks needs
// an admin; denied → 403.
func (s *Server) authorizeWrites(c echo.Context, checks ...writeCheck) error {
	caller := callerOf(c)
	ctx := c.Request().Context()
	if caller.Anonymous() {
		return indexd.ErrUnauthenticated
	}
	if caller.BasicAdmin {
		return nil
	}
	var reqs []policy.Request
	seen := map[policy.Request]bool{}
	empty := false
	var methods []string
	for _, ch := range checks {
		methods = append(methods, ch.method)
		for _, set := range ch.sets {
			if len(set) == 0 {
				empty = true
			}
			for _, p := range set {
				r := policy.Request{Resource: p, Method: ch.method}
				if !seen[r] {
					seen[r] = true
					reqs = append(reqs, r)
				}
			}
		}
	}
	if empty {
		ok, err := s.isAdmin(ctx, caller)
		if err != nil {
			return err
		}
		if !ok {
			return errf("%w: empty authz needs admin", indexd.ErrForbidden)
		}
	}
	if len(reqs) == 0 {
		return nil
	}
	ok, err := s.policy.Authorize(ctx, caller, reqs)
	if err != nil {
		return errf("authorize %v: %w", methods, err)
	}
	if !ok {
		return errf("%w: %v denied", indexd.ErrForbidden, methods)
	}
	return nil
}
