package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/explain"
	"github.com/datacommons/indexd/health"
	"github.com/datacommons/indexd/identity"
	"github.com/datacommons/indexd/policy"
	"github.com/datacommons/indexd/repository"
)

func (s *Server) status(c echo.Context) error {
	if err := s.store.Ping(c.Request().Context()); err != nil {
		return errf("%w: %v", indexd.ErrUnavailable, err)
	}
	return c.String(http.StatusOK, "Healthy")
}

// healthLive answers while the process serves HTTP (a liveness probe):
// it touches nothing outside the process.
func (s *Server) healthLive(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": health.StatusOK})
}

// healthReady answers 200 when every readiness check passes, 503 with each
// check's outcome otherwise (a readiness probe).
func (s *Server) healthReady(c echo.Context) error {
	rep := s.cfg.Health.Ready(c.Request().Context())
	c.Response().Header().Set("Cache-Control", "no-store")
	if !rep.Ready() {
		return c.JSON(http.StatusServiceUnavailable, rep)
	}
	return c.JSON(http.StatusOK, rep)
}

func (s *Server) version(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"version": s.cfg.Version, "commit": s.cfg.Commit})
}

// stats counts the records the caller can see (aggregates are filtered too:
// a count of invisible records would leak their existence).
func (s *Server) stats(c echo.Context) error {
	if err := statsQuery(c); err != nil {
		return err
	}
	dc, err := s.discoveryContext(c)
	if err != nil {
		return err
	}
	st, err := s.store.Stats(c.Request().Context(), dc, repository.StatsOptions{})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]int64{"fileCount": st.FileCount, "totalFileSize": st.TotalFileSize})
}

func (s *Server) openapiDoc(c echo.Context) error {
	if len(s.cfg.OpenAPI) == 0 {
		return indexd.Errorf(indexd.ErrNotFound, "no OpenAPI document configured")
	}
	return c.Blob(http.StatusOK, "application/yaml", s.cfg.OpenAPI)
}

func (s *Server) mintGUIDs(c echo.Context) error {
	count := 1
	if v := c.QueryParam("count"); v != "" {
		n, err := atoiRange(v, 0, indexd.MaxGUIDMintSize)
		if err != nil {
			return indexd.Invalidf("count must be an integer between 0 and %d", indexd.MaxGUIDMintSize)
		}
		count = n
	}
	// As indexd: the prefix only under PREPEND_PREFIX, like minted dids.
	guids := make([]string, count)
	for i := range guids {
		guids[i] = s.mintDID()
	}
	return c.JSON(http.StatusOK, map[string][]string{"guids": guids})
}

// ---- admin ----

func (s *Server) getDiscoverySettings(c echo.Context) error {
	st, err := s.store.Settings(c.Request().Context())
	if err != nil {
		return err
	}
	c.Response().Header().Set("ETag", settingsETag(st.Version))
	return c.JSON(http.StatusOK, st)
}

// settingsETag is the settings version as an entity tag (If-Match on PUT).
func settingsETag(v int64) string { return `"` + strconv.FormatInt(v, 10) + `"` }

// ifMatchVersion parses If-Match: a settings ETag ("5", W/"5" or 5);
// ok is false when the header is absent or "*".
func ifMatchVersion(h string) (v int64, ok bool, err error) {
	h = strings.TrimSpace(h)
	if h == "" || h == "*" {
		return 0, false, nil
	}
	t := strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	v, err = strconv.ParseInt(t, 10, 64)
	if err != nil || v < 0 {
		return 0, false, indexd.Invalidf("If-Match must be the settings version as GET /admin/discovery's ETag gives it (such as \"3\"), not %q", h)
	}
	return v, true, nil
}

type settingsBody struct {
	AreRecordsDiscoverable *bool     `json:"are_records_discoverable"`
	GlobalDiscoveryAuthz   *[]string `json:"global_discovery_authz"`
	// Version (PUT): the version the change was made from (what GET
	// answered); a change is refused with 409 when the stored settings
	// are at another version. Absent: no precondition.
	Version *int64 `json:"version"`
	// DryRun (PUT): answer the preview of the change, change nothing.
	DryRun bool `json:"dry_run"`
	// Users the preview counts for (preview and dry_run only).
	Users []string `json:"users"`
}

// validate checks a decoded settings body.
func (body *settingsBody) validate() error {
	if body.Users != nil {
		if _, err := explain.CleanUsers(body.Users); err != nil {
			return err
		}
	}
	if body.GlobalDiscoveryAuthz != nil {
		if err := indexd.ValidateAuthz(*body.GlobalDiscoveryAuthz); err != nil {
			return indexd.Invalidf("global_discovery_authz: %s", indexd.Message(err))
		}
	}
	return nil
}

// apply returns cur with the body's changes; the fields not in the body
// keep their value.
func (body *settingsBody) apply(cur discovery.Settings) discovery.Settings {
	if body.AreRecordsDiscoverable != nil {
		cur.AreRecordsDiscoverable = *body.AreRecordsDiscoverable
	}
	if body.GlobalDiscoveryAuthz != nil {
		cur.GlobalDiscoveryAuthz = *body.GlobalDiscoveryAuthz
	}
	return cur
}

func (s *Server) putDiscoverySettings(c echo.Context) error {
	var body settingsBody
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	if err := body.validate(); err != nil {
		return err
	}
	if body.DryRun {
		return s.preview(c, &body)
	}
	if body.Users != nil {
		return indexd.Invalidf("users is read only with dry_run: true (or by POST /admin/discovery/preview)")
	}
	match, hasMatch, err := ifMatchVersion(c.Request().Header.Get("If-Match"))
	if err != nil {
		return err
	}
	if hasMatch && body.Version != nil && *body.Version != match {
		return indexd.Invalidf("version %d in the body contradicts If-Match %s", *body.Version, settingsETag(match))
	}
	if body.Version != nil {
		match, hasMatch = *body.Version, true
	}
	who := callerOf(c).Username
	if who == "" {
		who = "token:" + shortHash(callerOf(c).Token)
	}
	// The fields not in the body keep their stored value as read under the
	// settings lock, so concurrent partial changes never undo each other.
	// The version precondition is checked under the same lock.
	epoch := s.settings.Epoch()
	var old discovery.Settings
	stored, err := s.store.UpdateSettings(c.Request().Context(), who, func(cur discovery.Settings) (discovery.Settings, error) {
		if hasMatch && cur.Version != match {
			return cur, &indexd.Error{Kind: indexd.ErrConflict, Message: fmt.Sprintf(
				"the settings are at version %d, not %d: someone changed them since you read them; GET /admin/discovery and retry", cur.Version, match)}
		}
		old = cur
		return body.apply(cur), nil
	})
	if err != nil {
		return err
	}
	if stored.Version != old.Version {
		s.log.Info("discovery settings changed", "by", who,
			"old_are_records_discoverable", old.AreRecordsDiscoverable, "old_global_discovery_authz", old.GlobalDiscoveryAuthz,
			"new_are_records_discoverable", stored.AreRecordsDiscoverable, "new_global_discovery_authz", stored.GlobalDiscoveryAuthz,
			"version", stored.Version)
	}
	c.Response().Header().Set("ETag", settingsETag(stored.Version))
	// This instance applies the change at once (the row as committed, even
	// when its version is lower than the one held: a restored database);
	// others within about a second.
	s.settings.Reset(stored, epoch)
	return c.JSON(http.StatusOK, stored)
}

// auditLimit is an audit listing's ?limit= (1–1000, default 100).
func auditLimit(c echo.Context) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return 100, nil
	}
	n, err := atoiRange(v, 1, 1000)
	if err != nil {
		return 0, indexd.Invalidf("limit must be an integer between 1 and 1000")
	}
	return n, nil
}

func (s *Server) discoveryAudit(c echo.Context) error {
	limit, err := auditLimit(c)
	if err != nil {
		return err
	}
	rows, err := s.store.SettingsAudit(c.Request().Context(), limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"changes": rows})
}

// Admin users (basic auth). Every change is audited with who made it
// (GET /admin/users/audit) and each user records its creator (GET
// /admin/users): a basic-auth admin is a credential of its own, which
// outlives the policy grant of whoever created it, so an operator revoking
// a policy admin lists and deletes the users it made (docs/authorization.md,
// "Admin users").

func (s *Server) listAdmins(c echo.Context) error {
	users, err := s.store.ListAdmins(c.Request().Context())
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string][]repository.AdminUser{"users": users})
}

func (s *Server) adminAudit(c echo.Context) error {
	limit, err := auditLimit(c)
	if err != nil {
		return err
	}
	rows, err := s.store.AdminAudit(c.Request().Context(), limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"changes": rows})
}

// actor names the caller in audit rows: the user name; for a pass-through
// token (which the policy service accepted before the handler ran) the
// name it claims; else a short hash of the token (never the token).
func actor(caller policy.Caller) string {
	if caller.Username != "" {
		return caller.Username
	}
	if name := identity.ClaimedName(caller.Token); name != "" {
		return name
	}
	return "token:" + shortHash(caller.Token)
}

type adminBody struct {
	Password string `json:"password"`
}

// Admin password bounds: bcrypt reads at most MaxPasswordLen bytes, so a
// longer password would be cut without telling.
const minAdminPassword = 12

// validate checks a decoded admin-user body.
func (body *adminBody) validate() error {
	if len(body.Password) < minAdminPassword {
		return indexd.Invalidf("password must be at least %d characters", minAdminPassword)
	}
	if len(body.Password) > identity.MaxPasswordLen {
		return indexd.Invalidf("password must be at most %d bytes (bcrypt's limit)", identity.MaxPasswordLen)
	}
	return nil
}

func (s *Server) putAdmin(c echo.Context) error {
	name := c.Param("name")
	if err := indexd.ValidateAlias(name); err != nil {
		return indexd.Invalidf("user name: %s", indexd.Message(err))
	}
	if strings.Contains(name, "/") {
		return indexd.Invalidf("user name must not contain '/'")
	}
	var body adminBody
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	if err := body.validate(); err != nil {
		return err
	}
	hash, err := s.hashPassword(body.Password)
	if err != nil {
		return err
	}
	if _, err := s.store.PutAdmin(c.Request().Context(), actor(callerOf(c)), name, hash); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"username": name})
}

func (s *Server) deleteAdmin(c echo.Context) error {
	if err := s.store.DeleteAdmin(c.Request().Context(), actor(callerOf(c)), c.Param("name")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func itoa(i int) string { return strconv.Itoa(i) }

func atoiRange(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, err
	}
	if n < lo || n > hi {
		return 0, strconv.ErrRange
	}
	return n, nil
}

// guidPrefix is GET /guid/prefix, the Gen3 SDK's get_guids_prefix: the
// prefix minted dids carry, as indexd — DEFAULT_PREFIX under
// PREPEND_PREFIX, else "".
func (s *Server) guidPrefix(c echo.Context) error {
	prefix := ""
	if s.cfg.PrependPrefix {
		prefix = s.cfg.DefaultPrefix
	}
	return c.JSON(http.StatusOK, map[string]string{"prefix": prefix})
}

// statsQuery checks GET /_stats's month and year: indexd's monthly stats
// take both, a month within 1–12; counts are not split by month here, so a
// valid pair answers the totals, and anything else is a 400.
func statsQuery(c echo.Context) error {
	month, year := c.QueryParam("month"), c.QueryParam("year")
	if month == "" && year == "" {
		return nil
	}
	if month == "" || year == "" {
		return indexd.Invalidf("month and year must be given together")
	}
	if _, err := atoiRange(month, 1, 12); err != nil {
		return indexd.Invalidf("month must be an integer between 1 and 12")
	}
	if _, err := atoiRange(year, 1, 9999); err != nil {
		return indexd.Invalidf("year must be an integer between 1 and 9999")
	}
	return nil
}

// aliasGone answers indexd's older alias API (GET /alias/, GET and PUT
// /alias/{alias}; indexclient.create_alias): its aliases were objects of
// their own (size, hashes, release, host authorities) that this service
// does not keep, so it answers 410 naming the route of record aliases.
func (s *Server) aliasGone(c echo.Context) error {
	return indexd.Errorf(indexd.ErrGone, "the /alias API is gone: read and change a record's aliases at /index/{guid}/aliases")
}
