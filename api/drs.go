package api

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/policy"
	"github.com/datacommons/indexd/repository"
)

// drsRoutes are the GA4GH DRS 1.5 routes (docs/drs.md). Object ids may
// contain "/", so objects/{object_id}[/access/{access_id}] is one wildcard
// route per method, parsed by ParseDRSTarget. Every read goes through the
// caller's discovery context; the access routes additionally require
// read-storage (drs_access.go).
func (s *Server) drsRoutes() []Route {
	r := func(method, path string, need Need, h echo.HandlerFunc) Route {
		return Route{Method: method, Path: drsBase + path, Need: need, handler: h}
	}
	return []Route{
		r(http.MethodGet, "/service-info", NeedDiscover, s.drsServiceInfo),
		r(http.MethodGet, "/objects", NeedDiscover, s.drsListObjects),
		r(http.MethodPost, "/objects", NeedDiscover, s.drsBulkObjects),
		r(http.MethodOptions, "/objects", NeedDiscover, s.drsBulkOptions),
		r(http.MethodPost, "/objects/access", NeedDiscover, s.drsBulkAccess),
		r(http.MethodGet, "/objects/*", NeedDiscover, s.drsObjectGet),
		r(http.MethodPost, "/objects/*", NeedDiscover, s.drsObjectPost),
		r(http.MethodOptions, "/objects/*", NeedDiscover, s.drsObjectOptions),
	}
}

// drsVersion is the DRS specification version served.
const drsVersion = "1.5.0"

type serviceType struct {
	Group    string `json:"group"`
	Artifact string `json:"artifact"`
	Version  string `json:"version"`
}

type serviceOrg struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

type drsServiceStats struct {
	MaxBulkRequestLength int   `json:"maxBulkRequestLength"`
	ObjectCount          int64 `json:"objectCount"`
	TotalObjectSize      int64 `json:"totalObjectSize"`
}

type serviceInfo struct {
	ID           string      `json:"id"`
	Name         string      `json:"name"`
	Type         serviceType `json:"type"`
	Description  string      `json:"description,omitempty"`
	Organization serviceOrg  `json:"organization"`
	Version      string      `json:"version"`
	// MaxBulkRequestLength at the root is deprecated in DRS 1.5 but still
	// required by its DrsService schema.
	MaxBulkRequestLength int              `json:"maxBulkRequestLength,omitempty"`
	DRS                  *drsServiceStats `json:"drs,omitempty"`
}

// drsHost is the hostname used in self URIs and service-info.
func (s *Server) drsHost(c echo.Context) string {
	if s.cfg.Hostname != "" {
		return s.cfg.Hostname
	}
	return c.Request().Host
}

// serviceID is the reverse-domain form of the hostname plus ".drs"
// (data.example.org → org.example.data.drs).
func serviceID(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "" || net.ParseIP(host) != nil || !strings.Contains(host, ".") {
		return "indexd.drs"
	}
	labels := strings.Split(host, ".")
	for i, j := 0, len(labels)-1; i < j; i, j = i+1, j-1 {
		labels[i], labels[j] = labels[j], labels[i]
	}
	return strings.Join(labels, ".") + ".drs"
}

// drsServiceInfo answers the DRS 1.5 service-info. Object count and total
// size count DRS objects only (what GET objects lists; blank records and
// records without a DRS-typed URL are not objects), under the caller's
// discovery context: a count of records the caller may not see would leak
// their existence. In DRS 1.2 mode it answers the DRS 1.2 shape
// (type.version 1.2.0, no drs block).
func (s *Server) drsServiceInfo(c echo.Context) error {
	host := s.drsHost(c)
	version := s.cfg.Version
	if version == "" {
		version = "unknown"
	}
	info := serviceInfo{
		ID:           serviceID(host),
		Name:         "indexd",
		Type:         serviceType{Group: "org.ga4gh", Artifact: "drs", Version: drsVersion},
		Description:  "GA4GH DRS over a Gen3 indexd-compatible record index with row-level discovery authorization",
		Organization: serviceOrg{Name: host, URL: "https://" + host},
		Version:      version,
	}
	if s.cfg.DRS12 {
		info.Type.Version = "1.2.0"
		return c.JSON(http.StatusOK, info)
	}
	dc, err := s.discoveryContext(c)
	if err != nil {
		return err
	}
	st, err := s.store.Stats(c.Request().Context(), dc, repository.StatsOptions{OnlyObjects: true})
	if err != nil {
		return err
	}
	info.MaxBulkRequestLength = s.cfg.DRSMaxBulk
	info.DRS = &drsServiceStats{MaxBulkRequestLength: s.cfg.DRSMaxBulk, ObjectCount: st.FileCount, TotalObjectSize: st.TotalFileSize}
	return c.JSON(http.StatusOK, info)
}

// ---- single objects ----

// drsTargetOf parses the wildcard of objects/* as sent (percent-encoded).
func drsTargetOf(c echo.Context) (drsTarget, error) {
	return ParseDRSTarget(c.Param("*"))
}

// drsRecord reads one record through the caller's discovery context:
// invisible → 403 (404 under hide_existence), missing → 404, exactly as the
// indexd routes. A visible record that is not a DRS object (a blank record,
// or one without a URL of a DRS type) is 404 with a message saying why.
func (s *Server) drsRecord(c echo.Context, id string) (*indexd.Record, error) {
	dc, err := s.discoveryContext(c)
	if err != nil {
		return nil, err
	}
	rec, err := s.store.GetRecord(c.Request().Context(), dc, s.candidates(id))
	if err != nil {
		return nil, err
	}
	if err := notDRSObject(rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// notDRSObject says why a visible record is not a DRS object (nil when it
// is one): ErrNotFound with a message a client can act on.
func notDRSObject(rec *indexd.Record) error {
	switch {
	case rec.IsDRSObject():
		return nil
	case rec.Size == nil || len(drsChecksums(rec.Hashes)) == 0:
		return indexd.Errorf(indexd.ErrNotFound, "object has no size or checksum registered yet (blank record)")
	}
	return indexd.Errorf(indexd.ErrNotFound, "record has no URL of a DRS access type (%s), so it is not a DRS object; read it through /index",
		strings.Join(indexd.DRSSchemes(), ", "))
}

func (s *Server) drsObjectGet(c echo.Context) error {
	if c.Param("*") == "" {
		return s.drsListObjects(c)
	}
	t, err := drsTargetOf(c)
	if err != nil {
		return err
	}
	if t.Access {
		return s.drsAccess(c, t, false)
	}
	if _, err := ParseExpand(c.QueryParams().Get("expand"), c.QueryParams().Has("expand")); err != nil {
		return err
	}
	rec, err := s.drsRecord(c, t.ID)
	if err != nil {
		return err
	}
	return writeOneDRSObject(c, s.toDRS(rec, s.drsHost(c)))
}

// drsObjectBody is PostObjectBody.
type drsObjectBody struct {
	Expand    *bool    `json:"expand"`
	Passports []string `json:"passports"`
}

func (s *Server) drsObjectPost(c echo.Context) error {
	if c.Param("*") == "" {
		return s.drsBulkObjects(c)
	}
	t, err := drsTargetOf(c)
	if err != nil {
		return err
	}
	if t.Access {
		return s.drsAccess(c, t, true)
	}
	var body drsObjectBody
	if err := decodeOptionalJSON(c, &body); err != nil {
		return err
	}
	if err := validatePassports(body.Passports); err != nil {
		return err
	}
	rec, err := s.drsRecord(c, t.ID)
	if err != nil {
		return err
	}
	return writeOneDRSObject(c, s.toDRS(rec, s.drsHost(c)))
}

// objectAuthorizations says how to authorize GetObject/PostObject on one
// object: a bearer token always works for a caller with the grants, and
// "None" is listed first when a caller without credentials may read it
// (anonymousOK: see anonymousVisible).
func (s *Server) objectAuthorizations(id string, anonymousOK bool) drsAuthorizations {
	types := []string{"BearerAuth"}
	if anonymousOK {
		types = []string{"None", "BearerAuth"}
	}
	return drsAuthorizations{DrsObjectID: id, SupportedTypes: types, BearerAuthIssuers: s.cfg.DRSBearerIssuers}
}

// anonymousVisible returns the dids among dids that a caller without
// credentials may read, asked of the repository under the anonymous
// discovery context (the same visibility predicate as every read, in SQL).
// A caller who is anonymous just read them; an unfiltered anonymous
// context sees everything. A policy failure is an error (fail closed: 503,
// never a guessed "None").
func (s *Server) anonymousVisible(c echo.Context, dids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(dids))
	if len(dids) == 0 {
		return out, nil
	}
	everything := func() map[string]bool {
		for _, d := range dids {
			out[d] = true
		}
		return out
	}
	if callerOf(c).Anonymous() {
		return everything(), nil
	}
	ctx := c.Request().Context()
	dc, err := s.buildDiscoveryContext(ctx, policy.Caller{})
	if err != nil {
		return nil, err
	}
	if dc.Unfiltered() {
		return everything(), nil
	}
	recs, err := s.store.GetRecords(ctx, dc, dids, repository.ListOptions{})
	if err != nil {
		return nil, err
	}
	for i := range recs {
		out[recs[i].DID] = true
	}
	return out, nil
}

// drsObjectOptions answers OPTIONS objects/{id}: the record resolves like
// GET (invisible 403, or 404 under hide_existence; missing or not a DRS
// object 404 — docs/drs.md), then "None" is offered when an anonymous
// caller could read it too.
func (s *Server) drsObjectOptions(c echo.Context) error {
	if c.Param("*") == "" {
		return s.drsBulkOptions(c)
	}
	t, err := drsTargetOf(c)
	if err != nil {
		return err
	}
	if t.Access {
		return echo.NewHTTPError(http.StatusMethodNotAllowed, "method not allowed")
	}
	rec, err := s.drsRecord(c, t.ID)
	if err != nil {
		return err
	}
	anon, err := s.anonymousVisible(c, []string{rec.DID})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.objectAuthorizations(rec.DID, anon[rec.DID]))
}

// ---- lists and bulk ----

// drsObjectList is GET /objects: one page of DrsObjects and, when there are
// more, the cursor of the next page (pass it back as ?cursor=).
type drsObjectList struct {
	DrsObjects []drsObject `json:"drs_objects"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// drsListObjects lists the visible records as DrsObjects, with the /index
// list filters (filtered in SQL under the caller's discovery context).
// Records that are not DRS objects are left out of the page (in SQL, and
// again here for the per-set page walk, which checks size only); the cursor
// still moves past them.
func (s *Server) drsListObjects(c echo.Context) error {
	q := c.QueryParams()
	if _, err := ParseExpand(q.Get("expand"), q.Has("expand")); err != nil {
		return err
	}
	lq, err := ParseListQuery(q)
	if err != nil {
		return err
	}
	dc, err := s.discoveryContext(c)
	if err != nil {
		return err
	}
	out := drsObjectList{DrsObjects: []drsObject{}}
	if lq.Filter.Limit > 0 {
		f := lq.Filter
		f.OnlyObjects = true
		if len(f.IDs) > 0 {
			f.IDs = s.expandIDs(f.IDs)
		}
		page, err := s.store.ListRecords(c.Request().Context(), dc, f, repository.ListOptions{WithAliases: true})
		if err != nil {
			return err
		}
		host := s.drsHost(c)
		// OnlyObjects filtered in SQL: every record is a DRS object.
		for i := range page.Records {
			out.DrsObjects = append(out.DrsObjects, s.toDRS(&page.Records[i], host))
		}
		if page.Next != "" {
			out.NextCursor = EncodeCursor(page.Next)
		}
	}
	var w jsonWriter
	writeDRSObjectList(&w, &out)
	return writeJSON(c, http.StatusOK, &w)
}

type bulkSummary struct {
	Requested  int `json:"requested"`
	Resolved   int `json:"resolved"`
	Unresolved int `json:"unresolved"`
}

type unresolvedGroup struct {
	ErrorCode int      `json:"error_code"`
	ObjectIDs []string `json:"object_ids"`
}

// drsBulkObjects is the bulk response; the key is the singular
// resolved_drs_object, as DRS 1.5 spells it.
type drsBulkObjects struct {
	Summary    bulkSummary       `json:"summary"`
	Resolved   []drsObject       `json:"resolved_drs_object"`
	Unresolved []unresolvedGroup `json:"unresolved_drs_objects"`
}

type drsBulkOptionsBody struct {
	Summary    bulkSummary         `json:"summary"`
	Resolved   []drsAuthorizations `json:"resolved_drs_object"`
	Unresolved []unresolvedGroup   `json:"unresolved_drs_objects"`
}

// bulkIDsBody is BulkObjectId (POST) and, without passports,
// BulkObjectIdNoPassport (OPTIONS).
type bulkIDsBody struct {
	Passports     []string  `json:"passports"`
	BulkObjectIDs *[]string `json:"bulk_object_ids"`
}

// unresolvedSet collects unresolved ids by error code.
type unresolvedSet map[int][]string

func (u unresolvedSet) add(code int, id string) { u[code] = append(u[code], id) }

func (u unresolvedSet) list() []unresolvedGroup {
	codes := make([]int, 0, len(u))
	for code := range u {
		codes = append(codes, code)
	}
	sort.Ints(codes)
	out := make([]unresolvedGroup, 0, len(codes))
	for _, code := range codes {
		out = append(out, unresolvedGroup{ErrorCode: code, ObjectIDs: u[code]})
	}
	return out
}

func (u unresolvedSet) count() int {
	n := 0
	for _, ids := range u {
		n += len(ids)
	}
	return n
}

// readBulkIDs decodes and checks a bulk id body: 400 when malformed or
// empty, 413 above maxBulkRequestLength. Ids are de-duplicated, order kept.
func (s *Server) readBulkIDs(c echo.Context, allowPassports bool) ([]string, error) {
	var body bulkIDsBody
	if err := decodeJSON(c, &body); err != nil {
		return nil, err
	}
	return body.ids(allowPassports, s.cfg.DRSMaxBulk)
}

// ids checks a decoded bulk id body against maxBulk (maxBulkRequestLength)
// and returns its ids, de-duplicated, order kept.
func (body *bulkIDsBody) ids(allowPassports bool, maxBulk int) ([]string, error) {
	if body.Passports != nil && !allowPassports {
		return nil, indexd.Invalidf("unknown field \"passports\"")
	}
	if err := validatePassports(body.Passports); err != nil {
		return nil, err
	}
	if body.BulkObjectIDs == nil || len(*body.BulkObjectIDs) == 0 {
		return nil, indexd.Invalidf("bulk_object_ids must be a non-empty array of object ids")
	}
	ids := *body.BulkObjectIDs
	if len(ids) > maxBulk {
		return nil, indexd.Errorf(indexd.ErrTooLarge, "bulk_object_ids holds %d ids; maxBulkRequestLength is %d", len(ids), maxBulk)
	}
	return dedupe(ids), nil
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// resolveBulk reads the visible records among ids in one filtered query.
// Each id maps to its record; ids that are malformed (400), missing or
// invisible (404 alike: bulk never tells them apart) or blank (404) are
// reported in the unresolved set.
func (s *Server) resolveBulk(c echo.Context, dc discovery.Context, ids []string) (map[string]*indexd.Record, unresolvedSet, error) {
	unresolved := unresolvedSet{}
	var valid []string
	for _, id := range ids {
		if indexd.ValidateID(id) != nil {
			unresolved.add(http.StatusBadRequest, id)
			continue
		}
		valid = append(valid, id)
	}
	found := map[string]*indexd.Record{}
	if len(valid) == 0 {
		return found, unresolved, nil
	}
	// Each id resolves as a single read does (its did, prefix twin or
	// alias), in one query.
	recs, err := s.resolveIDs(c, dc, valid, repository.ListOptions{WithAliases: true})
	if err != nil {
		return nil, nil, err
	}
	for i, id := range valid {
		rec := recs[i]
		if rec == nil || !rec.IsDRSObject() {
			unresolved.add(http.StatusNotFound, id)
			continue
		}
		found[id] = rec
	}
	return found, unresolved, nil
}

// bulkLookup reads a bulk request's ids and resolves them under the
// caller's discovery context (invisible and missing alike unresolved).
func (s *Server) bulkLookup(c echo.Context, withPassports bool) ([]string, map[string]*indexd.Record, unresolvedSet, error) {
	ids, err := s.readBulkIDs(c, withPassports)
	if err != nil {
		return nil, nil, nil, err
	}
	dc, err := s.discoveryContext(c)
	if err != nil {
		return nil, nil, nil, err
	}
	found, unresolved, err := s.resolveBulk(c, dc, ids)
	if err != nil {
		return nil, nil, nil, err
	}
	return ids, found, unresolved, nil
}

func (s *Server) drsBulkObjects(c echo.Context) error {
	q := c.QueryParams()
	if _, err := ParseExpand(q.Get("expand"), q.Has("expand")); err != nil {
		return err
	}
	ids, found, unresolved, err := s.bulkLookup(c, true)
	if err != nil {
		return err
	}
	out := drsBulkObjects{Resolved: []drsObject{}}
	host := s.drsHost(c)
	for _, id := range ids {
		if rec, ok := found[id]; ok {
			out.Resolved = append(out.Resolved, s.toDRS(rec, host))
		}
	}
	out.Unresolved = unresolved.list()
	out.Summary = bulkSummary{Requested: len(ids), Resolved: len(out.Resolved), Unresolved: unresolved.count()}
	return c.JSON(http.StatusOK, out)
}

// drsBulkOptions answers OPTIONS /objects: the Authorizations of each
// requested object, with the same visibility and unresolved rules as POST.
func (s *Server) drsBulkOptions(c echo.Context) error {
	ids, found, unresolved, err := s.bulkLookup(c, false)
	if err != nil {
		return err
	}
	dids := make([]string, 0, len(found))
	for _, rec := range found {
		dids = append(dids, rec.DID)
	}
	anon, err := s.anonymousVisible(c, dids)
	if err != nil {
		return err
	}
	out := drsBulkOptionsBody{Resolved: []drsAuthorizations{}}
	for _, id := range ids {
		if rec, ok := found[id]; ok {
			out.Resolved = append(out.Resolved, s.objectAuthorizations(rec.DID, anon[rec.DID]))
		}
	}
	out.Unresolved = unresolved.list()
	out.Summary = bulkSummary{Requested: len(ids), Resolved: len(out.Resolved), Unresolved: unresolved.count()}
	return c.JSON(http.StatusOK, out)
}

// ---- request bodies ----

// decodeOptionalJSON is decodeJSON for bodies DRS clients may leave out
// (POST objects/{id}, POST access): an empty body is {}.
func decodeOptionalJSON(c echo.Context, v any) error {
	req := c.Request()
	if req.Body == nil || req.Body == http.NoBody {
		return nil
	}
	b, err := io.ReadAll(req.Body)
	if err != nil {
		req.Body = io.NopCloser(errReader{err})
		return decodeJSON(c, v)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	return decodeJSON(c, v)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// maxPassports bounds the passports a request may carry.
const maxPassports = 32

// validatePassports checks GA4GH passports for shape only. This service
// authorizes by bearer token; passports are accepted, never used to widen
// what a caller may see or fetch, and never logged (docs/drs.md).
func validatePassports(ps []string) error {
	if len(ps) > maxPassports {
		return indexd.Invalidf("passports holds more than %d entries", maxPassports)
	}
	for _, p := range ps {
		if p == "" {
			return indexd.Invalidf("passports must not contain empty strings")
		}
		if len(p) > 64<<10 {
			return indexd.Invalidf("a passport is longer than 64 KiB")
		}
	}
	return nil
}
