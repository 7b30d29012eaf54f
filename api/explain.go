package api

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/explain"
)

// The admin questions (package explain): GET /admin/explain, POST
// /admin/discovery/preview, PUT /admin/discovery with dry_run, and their
// audit. The handlers only bind the request and call the explainer.

// askedBy names the admin asking, for the audit: the user name, or a
// short hash of the token (never the token).
func askedBy(c echo.Context) string {
	caller := callerOf(c)
	if caller.Username != "" {
		return caller.Username
	}
	return "token:" + shortHash(caller.Token)
}

// Candidates is the prefix rule single reads apply to an id (the dids it
// may be stored under) for a deployment's default prefix: for callers
// outside the HTTP layer (the CLI's explain).
func Candidates(defaultPrefix string) func(id string) []string {
	s := &Server{cfg: Config{DefaultPrefix: defaultPrefix}}
	return s.candidates
}

// explainParams are the query parameters GET /admin/explain reads; any
// other is a 400 (a misspelt what-if must not explain the current settings
// silently).
var explainParams = map[string]bool{
	"id": true, "user": true, "anonymous": true,
	"are_records_discoverable": true, "global_discovery_authz": true,
}

func (s *Server) explainRecord(c echo.Context) error {
	q := c.QueryParams()
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !explainParams[k] {
			return indexd.Invalidf("unknown parameter %s (want id, user or anonymous, are_records_discoverable, global_discovery_authz)", k)
		}
		if len(q[k]) != 1 {
			return indexd.Invalidf("parameter %s given more than once", k)
		}
	}
	id := q.Get("id")
	if id == "" {
		return indexd.Invalidf("id is required (a did or an alias)")
	}
	subj := explain.Subject{User: q.Get("user")}
	if q.Has("user") && subj.User == "" {
		return indexd.Invalidf("user must not be empty")
	}
	if q.Has("anonymous") {
		b, err := strconv.ParseBool(q.Get("anonymous"))
		if err != nil {
			return indexd.Invalidf("anonymous must be true or false")
		}
		subj.Anonymous = b
	}
	cur := s.settings.Get()
	st := cur
	st.GlobalDiscoveryAuthz = append([]string{}, cur.GlobalDiscoveryAuthz...)
	if q.Has("are_records_discoverable") {
		b, err := strconv.ParseBool(q.Get("are_records_discoverable"))
		if err != nil {
			return indexd.Invalidf("are_records_discoverable must be true or false")
		}
		st.AreRecordsDiscoverable = b
	}
	if q.Has("global_discovery_authz") {
		st.GlobalDiscoveryAuthz = []string{}
		if v := q.Get("global_discovery_authz"); v != "" {
			st.GlobalDiscoveryAuthz = strings.Split(v, ",")
		}
		if err := indexd.ValidateAuthz(st.GlobalDiscoveryAuthz); err != nil {
			return indexd.Invalidf("global_discovery_authz: %s", indexd.Message(err))
		}
	}
	x, err := s.explainer.Explain(c.Request().Context(), askedBy(c), explain.Question{ID: id, Subject: subj, Settings: st, Current: cur})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, x)
}

// previewDiscovery serves POST /admin/discovery/preview: the body is a
// settings change as PUT /admin/discovery takes it (fields left out keep
// their current value) plus "users".
func (s *Server) previewDiscovery(c echo.Context) error {
	var body settingsBody
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	if err := body.validate(); err != nil {
		return err
	}
	return s.preview(c, &body)
}

// preview answers the preview of body's change to the current settings.
func (s *Server) preview(c echo.Context, body *settingsBody) error {
	before := s.settings.Get()
	after := before
	after.GlobalDiscoveryAuthz = append([]string{}, before.GlobalDiscoveryAuthz...)
	after = body.apply(after)
	p, err := s.explainer.PreviewChange(c.Request().Context(), askedBy(c), before, after, body.Users)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (s *Server) queryAudit(c echo.Context) error {
	limit := 100
	if v := c.QueryParam("limit"); v != "" {
		n, err := atoiRange(v, 1, 1000)
		if err != nil {
			return indexd.Invalidf("limit must be an integer between 1 and 1000")
		}
		limit = n
	}
	rows, err := s.store.QueryAudit(c.Request().Context(), limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"questions": rows})
}
