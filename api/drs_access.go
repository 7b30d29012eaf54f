package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/policy"
)

// Discovery is not access (SPEC §4). The access endpoints first resolve the
// record through the caller's discovery context, exactly like every other
// read, and then require read-storage on EVERY authz path of the record.
// They return the stored URL as-is: this service does not sign URLs.

// canReadStorage asks the policy service whether caller holds read-storage
// on every path of authz. A basic-auth admin may; empty authz is admin-only;
// anonymous callers never may. Policy failures are errors (fail closed).
func (s *Server) canReadStorage(ctx context.Context, caller policy.Caller, authz []string) (bool, error) {
	if caller.BasicAdmin {
		return true, nil
	}
	if caller.Anonymous() {
		return false, nil
	}
	if len(authz) == 0 {
		return s.isAdmin(ctx, caller)
	}
	seen := map[string]bool{}
	reqs := make([]policy.Request, 0, len(authz))
	for _, p := range authz {
		if !seen[p] {
			seen[p] = true
			reqs = append(reqs, policy.Request{Resource: p, Method: policy.MethodReadStorage})
		}
	}
	ok, err := s.policy.Authorize(ctx, caller, reqs)
	if err != nil {
		return false, errf("authorize read-storage: %w", err)
	}
	return ok, nil
}

// drsAccess serves GET/POST objects/{object_id}/access/{access_id}.
// Order: a credential is required (401) → the record must be visible
// (403/404 as for any read) and a DRS object → read-storage on every authz
// path (403; 503 when the policy service fails) → the access id must name
// one of the object's access methods (404).
func (s *Server) drsAccess(c echo.Context, t drsTarget, post bool) error {
	if post {
		var body struct {
			Passports []string `json:"passports"`
		}
		if err := decodeOptionalJSON(c, &body); err != nil {
			return err
		}
		if err := validatePassports(body.Passports); err != nil {
			return err
		}
	}
	caller := callerOf(c)
	if caller.Anonymous() {
		return errf("%w: access needs a credential", indexd.ErrUnauthenticated)
	}
	rec, err := s.drsRecord(c, t.ID)
	if err != nil {
		return err
	}
	ok, err := s.canReadStorage(c.Request().Context(), caller, rec.Authz)
	if err != nil {
		return err
	}
	if !ok {
		return errf("%w: read-storage denied", indexd.ErrForbidden)
	}
	for _, m := range drsMethods(rec.URLs) {
		if m.AccessID == t.AccessID {
			return c.JSON(http.StatusOK, drsAccessURL{URL: m.url})
		}
	}
	return indexd.Errorf(indexd.ErrNotFound, "object has no access method %q", t.AccessID)
}

// bulkAccessBody is BulkObjectAccessId.
type bulkAccessBody struct {
	Passports []string          `json:"passports"`
	Items     *[]bulkAccessItem `json:"bulk_object_access_ids"`
}

type bulkAccessItem struct {
	ObjectID  string   `json:"bulk_object_id"`
	AccessIDs []string `json:"bulk_access_ids"`
}

type bulkAccessURL struct {
	DrsObjectID string `json:"drs_object_id"`
	DrsAccessID string `json:"drs_access_id"`
	URL         string `json:"url"`
}

type drsBulkAccessBody struct {
	Summary    bulkSummary       `json:"summary"`
	Resolved   []bulkAccessURL   `json:"resolved_drs_object_access_urls"`
	Unresolved []unresolvedGroup `json:"unresolved_drs_objects"`
}

// drsBulkAccess serves POST /objects/access. Counting is per requested
// (object id, access id) pair. Per object: malformed id → 400; missing,
// invisible or blank → 404 (alike); read-storage denied → 403; unknown
// access id → 404. Anonymous callers get 401 for the whole request; a policy
// failure fails the whole request closed (503).
func (s *Server) drsBulkAccess(c echo.Context) error {
	var body bulkAccessBody
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	items, err := body.items(s.cfg.DRSMaxBulk)
	if err != nil {
		return err
	}
	caller := callerOf(c)
	if caller.Anonymous() {
		return errf("%w: access needs a credential", indexd.ErrUnauthenticated)
	}
	dc, err := s.discoveryContext(c)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(items))
	for _, it := range items {
		ids = append(ids, it.ObjectID)
	}
	ids = dedupe(ids)
	found, unresolvedIDs, err := s.resolveBulk(c, dc, ids)
	if err != nil {
		return err
	}
	return s.finishBulkAccess(c, caller, items, found, unresolvedIDs)
}

// items checks a decoded bulk access body against maxBulk
// (maxBulkRequestLength, for objects and for access ids alike).
func (body *bulkAccessBody) items(maxBulk int) ([]bulkAccessItem, error) {
	if err := validatePassports(body.Passports); err != nil {
		return nil, err
	}
	if body.Items == nil || len(*body.Items) == 0 {
		return nil, indexd.Invalidf("bulk_object_access_ids must be a non-empty array")
	}
	items := *body.Items
	if len(items) > maxBulk {
		return nil, indexd.Errorf(indexd.ErrTooLarge, "bulk_object_access_ids holds %d objects; maxBulkRequestLength is %d", len(items), maxBulk)
	}
	pairs := 0
	for i, it := range items {
		if it.ObjectID == "" {
			return nil, indexd.Invalidf("bulk_object_access_ids[%d].bulk_object_id is required", i)
		}
		if len(it.AccessIDs) == 0 {
			return nil, indexd.Invalidf("bulk_object_access_ids[%d].bulk_access_ids must name at least one access id", i)
		}
		pairs += len(it.AccessIDs)
	}
	if pairs > maxBulk {
		return nil, indexd.Errorf(indexd.ErrTooLarge, "%d access ids requested; maxBulkRequestLength is %d", pairs, maxBulk)
	}
	return items, nil
}

// finishBulkAccess authorizes each resolved object (one policy question per
// distinct authz set) and collects the URLs.
func (s *Server) finishBulkAccess(c echo.Context, caller policy.Caller, items []bulkAccessItem, found map[string]*indexd.Record, pre unresolvedSet) error {
	ctx := c.Request().Context()
	codeOf := map[string]int{}
	for code, ids := range pre {
		for _, id := range ids {
			codeOf[id] = code
		}
	}
	decisions := map[string]bool{}
	out := drsBulkAccessBody{Resolved: []bulkAccessURL{}}
	unresolved := unresolvedSet{}
	listed := map[int]map[string]bool{}
	requested, missed := 0, 0
	miss := func(code int, id string, n int) {
		missed += n
		if listed[code] == nil {
			listed[code] = map[string]bool{}
		}
		if !listed[code][id] {
			listed[code][id] = true
			unresolved.add(code, id)
		}
	}
	for _, it := range items {
		requested += len(it.AccessIDs)
		rec, ok := found[it.ObjectID]
		if !ok {
			miss(codeOf[it.ObjectID], it.ObjectID, len(it.AccessIDs))
			continue
		}
		key := strings.Join(discovery.CanonicalSet(rec.Authz), "\x00")
		allowed, decided := decisions[key]
		if !decided {
			var err error
			if allowed, err = s.canReadStorage(ctx, caller, rec.Authz); err != nil {
				return err
			}
			decisions[key] = allowed
		}
		if !allowed {
			miss(http.StatusForbidden, it.ObjectID, len(it.AccessIDs))
			continue
		}
		methods := drsMethods(rec.URLs)
		for _, acc := range it.AccessIDs {
			url := ""
			for _, m := range methods {
				if m.AccessID == acc {
					url = m.url
					break
				}
			}
			if url == "" {
				miss(http.StatusNotFound, it.ObjectID, 1)
				continue
			}
			out.Resolved = append(out.Resolved, bulkAccessURL{DrsObjectID: rec.DID, DrsAccessID: acc, URL: url})
		}
	}
	out.Unresolved = unresolved.list()
	out.Summary = bulkSummary{Requested: requested, Resolved: len(out.Resolved), Unresolved: missed}
	return c.JSON(http.StatusOK, out)
}
