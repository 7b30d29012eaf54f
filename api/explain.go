package api

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
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
	"id": true, "user": true, "anonymous": true, "token_id": true,
	"are_records_discoverable": true, "global_discovery_authz": true,
}

func (s *Server) explainRecord(c echo.Context) error {
	q, err := ParseExplainQuery(c.QueryParams(), s.settings.Get())
	if err != nil {
		return err
	}
	x, err := s.explainer.Explain(c.Request().Context(), askedBy(c), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, x)
}

// ParseExplainQuery reads GET /admin/explain's parameters: the record, the
// caller, and the what-if settings (cur with the parameters given applied).
// Exported for fuzzing.
func ParseExplainQuery(q url.Values, cur discovery.Settings) (explain.Question, error) {
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !explainParams[k] {
			return explain.Question{}, indexd.Invalidf("unknown parameter %s (want id, user, anonymous or token_id, are_records_discoverable, global_discovery_authz)", k)
		}
		if len(q[k]) != 1 {
			return explain.Question{}, indexd.Invalidf("parameter %s given more than once", k)
		}
	}
	id := q.Get("id")
	if id == "" {
		return explain.Question{}, indexd.Invalidf("id is required (a did or an alias)")
	}
	subj := explain.Subject{User: q.Get("user"), TokenID: q.Get("token_id")}
	if q.Has("user") && subj.User == "" {
		return explain.Question{}, indexd.Invalidf("user must not be empty")
	}
	if q.Has("token_id") && subj.TokenID == "" {
		return explain.Question{}, indexd.Invalidf("token_id must not be empty")
	}
	if q.Has("anonymous") {
		b, err := strconv.ParseBool(q.Get("anonymous"))
		if err != nil {
			return explain.Question{}, indexd.Invalidf("anonymous must be true or false")
		}
		subj.Anonymous = b
	}
	if err := subj.Validate(); err != nil {
		return explain.Question{}, err
	}
	cur.GlobalDiscoveryAuthz = append([]string{}, cur.GlobalDiscoveryAuthz...)
	st := cur
	st.GlobalDiscoveryAuthz = append([]string{}, cur.GlobalDiscoveryAuthz...)
	if q.Has("are_records_discoverable") {
		b, err := strconv.ParseBool(q.Get("are_records_discoverable"))
		if err != nil {
			return explain.Question{}, indexd.Invalidf("are_records_discoverable must be true or false")
		}
		st.AreRecordsDiscoverable = b
	}
	if q.Has("global_discovery_authz") {
		st.GlobalDiscoveryAuthz = []string{}
		if v := q.Get("global_discovery_authz"); v != "" {
			st.GlobalDiscoveryAuthz = strings.Split(v, ",")
		}
		if err := indexd.ValidateAuthz(st.GlobalDiscoveryAuthz); err != nil {
			return explain.Question{}, indexd.Invalidf("global_discovery_authz: %s", indexd.Message(err))
		}
	}
	return explain.Question{ID: id, Subject: subj, Settings: st, Current: cur}, nil
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
	limit, err := auditLimit(c)
	if err != nil {
		return err
	}
	rows, err := s.store.QueryAudit(c.Request().Context(), limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"questions": rows})
}
