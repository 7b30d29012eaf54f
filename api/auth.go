package api

import (
	"context"

	"github.com/labstack/echo/v4"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/policy"
)

const callerKey = "indexd.caller"

// authenticate resolves the caller once per request. A present but invalid
// credential is 401 on every route, never a fall-back to anonymous.
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
		caller, err := s.authn.Authenticate(ctx, c.Request().Header.Get(echo.HeaderAuthorization))
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
	caller := callerOf(c)
	ctx := c.Request().Context()
	if caller.Anonymous() {
		return indexd.ErrUnauthenticated
	}
	if caller.BasicAdmin {
		return nil
	}
	var reqs []policy.Request
	seen := map[string]bool{}
	empty := false
	for _, set := range pathSets {
		if len(set) == 0 {
			empty = true
		}
		for _, p := range set {
			if !seen[p] {
				seen[p] = true
				reqs = append(reqs, policy.Request{Resource: p, Method: method})
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
		return errf("authorize %s: %w", method, err)
	}
	if !ok {
		return errf("%w: %s denied", indexd.ErrForbidden, method)
	}
	return nil
}
