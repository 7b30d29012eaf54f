package api

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
)

// Need is the permission a route declares at registration. There is no
// permissive default: the zero value is invalid and stops the server from
// starting.
type Need int

const (
	needUnset Need = iota
	// NeedNothing: public (status, version, the OpenAPI document, minting
	// ids). Such a route never evaluates credentials: an Authorization
	// header is ignored, so it costs nothing (no bcrypt, no policy call)
	// and cannot fail.
	NeedNothing
	// NeedDiscover: a read; the discovery context filters what is seen.
	NeedDiscover
	// NeedWrite: an authenticated caller; the handler asks the policy
	// service for the record-specific permission (SPEC §3).
	NeedWrite
	// NeedAdmin: a basic-auth admin or a policy grant of admin on
	// /services/indexd/admin.
	NeedAdmin
)

func (n Need) String() string {
	switch n {
	case NeedNothing:
		return "public"
	case NeedDiscover:
		return "discover"
	case NeedWrite:
		return "write"
	case NeedAdmin:
		return "admin"
	}
	return "unset"
}

// Route is one registered route and the permission it declares.
type Route struct {
	Method  string
	Path    string
	Need    Need
	handler echo.HandlerFunc
}

func (s *Server) register(routes []Route) error {
	for _, r := range routes {
		if r.Need < NeedNothing || r.Need > NeedAdmin {
			return fmt.Errorf("api: route %s %s declares no known permission (%d)", r.Method, r.Path, r.Need)
		}
		if r.handler == nil {
			return fmt.Errorf("api: route %s %s has no handler", r.Method, r.Path)
		}
		h := r.handler
		switch r.Need {
		case NeedDiscover:
			h = s.readRouting(h)
		case NeedWrite:
			h = s.requireCaller(s.stampCommit(h))
		case NeedAdmin:
			h = s.requireAdmin(h)
		}
		if r.Need != NeedNothing {
			h = s.authenticate(h)
		}
		s.echo.Add(r.Method, r.Path, h)
		s.routes = append(s.routes, r)
	}
	return nil
}

// RegisterForTest exposes register so tests can prove a route without a
// permission stops the server.
func (s *Server) RegisterForTest(method, path string, need Need) error {
	return s.register([]Route{{Method: method, Path: path, Need: need, handler: func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }}})
}

const drsBase = "/ga4gh/drs/v1"

// routeTable is every route the service serves.
func (s *Server) routeTable() []Route {
	r := func(method, path string, need Need, h echo.HandlerFunc) Route {
		return Route{Method: method, Path: path, Need: need, handler: h}
	}
	routes := []Route{
		r(http.MethodGet, "/_status", NeedNothing, s.status),
		r(http.MethodGet, "/_version", NeedNothing, s.version),
		r(http.MethodGet, "/_health/live", NeedNothing, s.healthLive),
		r(http.MethodGet, "/_health/ready", NeedNothing, s.healthReady),
		r(http.MethodGet, "/_stats", NeedDiscover, s.stats),
		r(http.MethodGet, "/openapi.yaml", NeedNothing, s.openapiDoc),
		r(http.MethodGet, "/guid/mint", NeedNothing, s.mintGUIDs),
		r(http.MethodGet, "/guid/prefix", NeedNothing, s.guidPrefix),

		r(http.MethodGet, "/index", NeedDiscover, s.listRecords),
		r(http.MethodGet, "/index/", NeedDiscover, s.listRecords),
		r(http.MethodPost, "/index", NeedWrite, s.createRecord),
		r(http.MethodPost, "/index/", NeedWrite, s.createRecord),
		r(http.MethodPost, "/index/blank", NeedWrite, s.createBlank),
		r(http.MethodPost, "/index/blank/", NeedWrite, s.createBlank),
		r(http.MethodPut, "/index/blank/*", NeedWrite, s.fillBlank),
		r(http.MethodPost, "/index/blank/*", NeedWrite, s.createBlankVersion),
		r(http.MethodGet, "/index/*", NeedDiscover, s.indexGet),
		r(http.MethodPut, "/index/*", NeedWrite, s.indexPut),
		r(http.MethodPost, "/index/*", NeedWrite, s.indexPost),
		r(http.MethodDelete, "/index/*", NeedWrite, s.indexDelete),

		// indexd's older alias API: gone, the aliases of a record are
		// read and changed at /index/{guid}/aliases (docs/decisions.md).
		r(http.MethodGet, "/alias", NeedDiscover, s.aliasGone),
		r(http.MethodGet, "/alias/", NeedDiscover, s.aliasGone),
		r(http.MethodGet, "/alias/*", NeedDiscover, s.aliasGone),
		r(http.MethodPut, "/alias/*", NeedWrite, s.aliasGone),

		r(http.MethodPost, "/bulk/documents", NeedDiscover, s.bulkDocuments),
		r(http.MethodGet, "/urls", NeedDiscover, s.listURLs),
		r(http.MethodGet, "/urls/", NeedDiscover, s.listURLs), // indexd's spelling
		r(http.MethodGet, "/_query/urls/q", NeedDiscover, s.queryURLs),
		r(http.MethodGet, "/_query/urls/q/", NeedDiscover, s.queryURLs),
		r(http.MethodGet, "/_query/urls/metadata/q", NeedDiscover, s.queryURLsMetadata),
		r(http.MethodGet, "/_query/urls/metadata/q/", NeedDiscover, s.queryURLsMetadata),

		r(http.MethodGet, "/admin/discovery", NeedAdmin, s.getDiscoverySettings),
		r(http.MethodPut, "/admin/discovery", NeedAdmin, s.putDiscoverySettings),
		r(http.MethodGet, "/admin/discovery/audit", NeedAdmin, s.discoveryAudit),
		r(http.MethodPost, "/admin/discovery/preview", NeedAdmin, s.previewDiscovery),
		r(http.MethodGet, "/admin/explain", NeedAdmin, s.explainRecord),
		r(http.MethodGet, "/admin/explain/audit", NeedAdmin, s.queryAudit),
		r(http.MethodGet, "/admin/users", NeedAdmin, s.listAdmins),
		r(http.MethodGet, "/admin/users/audit", NeedAdmin, s.adminAudit),
		r(http.MethodPut, "/admin/users/:name", NeedAdmin, s.putAdmin),
		r(http.MethodDelete, "/admin/users/:name", NeedAdmin, s.deleteAdmin),

		r(http.MethodPost, "/tokens", NeedWrite, s.issueToken),
		r(http.MethodGet, "/tokens", NeedWrite, s.listTokens),
		r(http.MethodDelete, "/tokens/:token_id", NeedWrite, s.revokeToken),
		r(http.MethodGet, "/admin/tokens", NeedAdmin, s.adminListTokens),
		r(http.MethodDelete, "/admin/tokens/:token_id", NeedAdmin, s.adminRevokeToken),
	}
	routes = append(routes, s.drsRoutes()...)
	// Last: GET /{id} resolves a did or an alias anywhere.
	routes = append(routes, r(http.MethodGet, "/*", NeedDiscover, s.globalGet))
	return routes
}
