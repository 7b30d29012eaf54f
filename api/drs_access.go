package api

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/policy"
)

// Discovery is not access (SPEC §4). The access endpoints first resolve the
// record through the caller's discovery context, exactly like every other
// read, and then require read-storage on EVERY authz path of the record,
// for every caller, anonymous ones included (through the policy service's
// anonymous grants: open-access data). The URL comes from the storage
// configuration (package signing): signed for a configured bucket, as
// stored for a public location. It is a credential: answers carry
// Cache-Control: no-store and the URL is never logged.

// canReadStorage asks the policy service whether caller holds read-storage
// on every path of authz. A basic-auth admin may; empty authz is
// admin-only (so never anonymous). Policy failures are errors (fail closed).
func (s *Server) canReadStorage(ctx context.Context, caller policy.Caller, authz []string) (bool, error) {
	if caller.BasicAdmin {
		return true, nil
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

// accessDenied is the error of a caller who may not fetch: anonymous → 401
// (with a Bearer challenge: a token may help), authenticated → 403.
func accessDenied(caller policy.Caller) error {
	if caller.Anonymous() {
		return errf("%w: read-storage denied to an anonymous caller", indexd.ErrUnauthenticated)
	}
	return errf("%w: read-storage denied", indexd.ErrForbidden)
}

// noStore marks an answer that may carry a signed URL as uncacheable.
func noStore(c echo.Context) {
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
}

// drsAccess serves GET/POST objects/{object_id}/access/{access_id}.
// Order: the record must be visible (403/404 as for any read; an anonymous
// caller who cannot see it gets 401 instead of 403) and a DRS object →
// read-storage on every authz path (anonymous 401, else 403; 503 when the
// policy service fails) → the access id must name one of the object's
// access methods (404) → the storage configuration makes the URL (404
// naming why when it cannot; 503 when signing fails).
func (s *Server) drsAccess(c echo.Context, t drsTarget, post bool) error {
	noStore(c)
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
	rec, err := s.drsRecord(c, t.ID)
	if err != nil {
		if caller.Anonymous() && errors.Is(err, indexd.ErrNotVisible) {
			// 401 with a challenge (404 under hide_existence: statusOf).
			return errf("%w: %w", indexd.ErrUnauthenticated, err)
		}
		return err
	}
	ok, err := s.canReadStorage(c.Request().Context(), caller, rec.Authz)
	if err != nil {
		return err
	}
	if !ok {
		return accessDenied(caller)
	}
	for _, m := range drsMethods(rec.URLs) {
		if m.AccessID == t.AccessID {
			u, err := s.cfg.Storage.AccessURL(c.Request().Context(), m.url)
			if err != nil {
				return err
			}
			return c.JSON(http.StatusOK, drsAccessURL{URL: u})
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
	Summary    bulkSummary        `json:"summary"`
	Resolved   []bulkAccessURL    `json:"resolved_drs_object_access_urls"`
	Unresolved []unresolvedAccess `json:"unresolved_drs_objects"`
}

// unresolvedAccess is one unresolved object of a bulk access request: the
// DRS unresolved entry (error_code, object_ids with the one object id)
// plus the access ids that failed.
type unresolvedAccess struct {
	ErrorCode int      `json:"error_code"`
	ObjectIDs []string `json:"object_ids"`
	AccessIDs []string `json:"access_ids"`
}

// drsBulkAccess serves POST /objects/access. Counting is per requested
// (object id, access id) pair. Per object: malformed id → 400; missing,
// invisible or blank → 404 (alike); read-storage denied → 401 for an
// anonymous caller, else 403; an unknown access id, or a location no URL
// can be made for → 404. An object with any failing access id is
// unresolved as a whole (listed once, with the access ids that failed) and
// none of its URLs are answered: an object is never both resolved and
// unresolved. A policy or signing failure fails the whole request (503).
func (s *Server) drsBulkAccess(c echo.Context) error {
	noStore(c)
	var body bulkAccessBody
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	items, err := body.items(s.cfg.DRSMaxBulk)
	if err != nil {
		return err
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
	return s.finishBulkAccess(c, callerOf(c), items, found, unresolvedIDs)
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

// mergeItems merges the entries of one object id (a request may name it
// more than once) into its distinct access ids, in request order.
func mergeItems(items []bulkAccessItem) (order []string, accessIDs map[string][]string) {
	accessIDs = map[string][]string{}
	seen := map[string]map[string]bool{}
	for _, it := range items {
		if seen[it.ObjectID] == nil {
			seen[it.ObjectID] = map[string]bool{}
			order = append(order, it.ObjectID)
		}
		for _, a := range it.AccessIDs {
			if !seen[it.ObjectID][a] {
				seen[it.ObjectID][a] = true
				accessIDs[it.ObjectID] = append(accessIDs[it.ObjectID], a)
			}
		}
	}
	return order, accessIDs
}

// finishBulkAccess authorizes each resolved object (one policy question per
// distinct authz set) and makes its URLs.
func (s *Server) finishBulkAccess(c echo.Context, caller policy.Caller, items []bulkAccessItem, found map[string]*indexd.Record, pre unresolvedSet) error {
	ctx := c.Request().Context()
	codeOf := map[string]int{}
	for code, ids := range pre {
		for _, id := range ids {
			codeOf[id] = code
		}
	}
	denied := http.StatusForbidden
	if caller.Anonymous() {
		denied = http.StatusUnauthorized
	}
	order, accessIDs := mergeItems(items)
	decisions := map[string]bool{}
	out := drsBulkAccessBody{Resolved: []bulkAccessURL{}, Unresolved: []unresolvedAccess{}}
	requested := 0
	for _, id := range order {
		requested += len(accessIDs[id])
	}
	for _, id := range order {
		accs := accessIDs[id]
		fail := func(code int, failed []string) {
			out.Unresolved = append(out.Unresolved, unresolvedAccess{ErrorCode: code, ObjectIDs: []string{id}, AccessIDs: failed})
		}
		rec, ok := found[id]
		if !ok {
			fail(codeOf[id], accs)
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
			fail(denied, accs)
			continue
		}
		methods := drsMethods(rec.URLs)
		var urls []bulkAccessURL
		var failed []string
		for _, acc := range accs {
			stored := ""
			for _, m := range methods {
				if m.AccessID == acc {
					stored = m.url
					break
				}
			}
			if stored == "" {
				failed = append(failed, acc)
				continue
			}
			u, err := s.cfg.Storage.AccessURL(ctx, stored)
			if errors.Is(err, indexd.ErrNotFound) {
				failed = append(failed, acc)
				continue
			}
			if err != nil {
				return err
			}
			urls = append(urls, bulkAccessURL{DrsObjectID: rec.DID, DrsAccessID: acc, URL: u})
		}
		if len(failed) > 0 {
			fail(http.StatusNotFound, failed)
			continue
		}
		out.Resolved = append(out.Resolved, urls...)
	}
	sort.SliceStable(out.Unresolved, func(i, j int) bool { return out.Unresolved[i].ErrorCode < out.Unresolved[j].ErrorCode })
	out.Summary = bulkSummary{Requested: requested, Resolved: len(out.Resolved), Unresolved: requested - len(out.Resolved)}
	return c.JSON(http.StatusOK, out)
}
