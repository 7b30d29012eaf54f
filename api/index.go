package api

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/policy"
	"github.com/datacommons/indexd/repository"
)

// wildcardPath returns the unescaped rest of the path matched by "*".
func wildcardPath(c echo.Context) (string, error) {
	p := c.Param("*")
	if strings.Contains(p, "%") {
		u, err := url.PathUnescape(p)
		if err != nil {
			return "", indexd.Invalidf("path is not validly escaped")
		}
		p = u
	}
	return p, nil
}

// indexTarget is /index/{id}[/versions|/latest|/aliases[/{alias}]].
type indexTarget struct {
	ID, Sub, Alias string
}

func parseIndexTarget(p string) (indexTarget, error) {
	var t indexTarget
	p = strings.TrimSuffix(p, "/")
	if i := strings.LastIndex(p, "/aliases/"); i >= 0 {
		t.ID, t.Sub, t.Alias = p[:i], "aliases", p[i+len("/aliases/"):]
		if err := indexd.ValidateAlias(t.Alias); err != nil {
			return t, err
		}
	} else {
		t.ID = p
		for _, sub := range []string{"versions", "latest", "aliases"} {
			if strings.HasSuffix(p, "/"+sub) {
				t.ID, t.Sub = strings.TrimSuffix(p, "/"+sub), sub
				break
			}
		}
	}
	if err := indexd.ValidateID(t.ID); err != nil {
		return t, err
	}
	return t, nil
}

// candidates lists the spellings of an id a read tries: the id, then its
// prefix twin (DEFAULT_PREFIX: found with or without it). The record that
// holds the first of them as its did or an alias is the one it names, on
// every read path (indexd.Spellings; repository/spellings.go).
func (s *Server) candidates(id string) []string {
	return indexd.Spellings(id, s.cfg.DefaultPrefix)
}

// resolveIDs resolves bulk ids as single reads do (nil: missing or
// invisible alike), in one query.
func (s *Server) resolveIDs(c echo.Context, dc discovery.Context, ids []string, opt repository.ListOptions) ([]*indexd.Record, error) {
	twins := make([]string, len(ids))
	for i, id := range ids {
		twins[i] = indexd.PrefixTwin(id, s.cfg.DefaultPrefix)
	}
	return s.store.ResolveRecords(c.Request().Context(), dc, ids, twins, opt)
}

// ---- reads ----

func (s *Server) listRecords(c echo.Context) error {
	lq, err := ParseListQuery(c.QueryParams())
	if err != nil {
		return err
	}
	dc, err := s.discoveryContext(c)
	if err != nil {
		return err
	}
	page := indexd.Page{Records: []indexd.Record{}}
	if lq.Filter.Limit > 0 {
		f := lq.Filter
		if len(f.IDs) > 0 {
			f.IDs = s.expandIDs(f.IDs)
		}
		if page, err = s.store.ListRecords(c.Request().Context(), dc, f, repository.ListOptions{}); err != nil {
			return err
		}
	}
	var w jsonWriter
	if err := writeListEnvelope(&w, lq, page); err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, &w)
}

func (s *Server) expandIDs(ids []string) []string {
	var out []string
	for _, id := range ids {
		out = append(out, s.candidates(id)...)
	}
	return out
}

// writeListEnvelope writes the GET /index answer: indexd's envelope, which
// echoes the parsed filters (unused ones null, except urls [] and metadata
// {}), with the page's records and our next-page cursor. Keys are in
// encoding/json's map order, as indexd clients have always seen them.
func writeListEnvelope(w *jsonWriter, lq listQuery, page indexd.Page) error {
	f := lq.Filter
	w.beginObject()
	w.key("acl")
	if f.ACL != nil || f.ACLNull {
		w.strings(nonNil(f.ACL))
	} else {
		w.null()
	}
	w.key("authz")
	if f.Authz != nil || f.AuthzNull {
		w.strings(nonNil(f.Authz))
	} else {
		w.null()
	}
	w.key("file_name")
	w.strPtr(f.FileName)
	w.key("form")
	w.strPtr(f.Form)
	w.key("hashes")
	var hashes map[string]string // null unless filtered
	if len(f.Hashes) > 0 {
		hashes = kvMap(f.Hashes)
	}
	if err := w.value(hashes); err != nil {
		return err
	}
	w.key("ids")
	w.strings(f.IDs)
	w.key("limit")
	if len(f.IDs) > 0 {
		// As indexd: an ids= list reads every id given, and the envelope
		// echoes the default limit (limit cannot be given with ids).
		w.int(indexd.DefaultLimit)
	} else {
		w.int(int64(f.Limit))
	}
	w.key("metadata")
	if err := w.value(kvMap(f.Metadata)); err != nil { // {} unless filtered
		return err
	}
	w.key("negate_params")
	if f.Negate != nil {
		if err := w.value(f.Negate); err != nil {
			return err
		}
	} else {
		w.null()
	}
	w.key("next_cursor")
	if page.Next != "" {
		w.str(EncodeCursor(page.Next))
	} else {
		w.null()
	}
	w.key("page")
	if f.Page >= 0 {
		w.int(int64(f.Page))
	} else {
		w.null()
	}
	w.key("records")
	writeRecords(w, page.Records)
	w.key("size")
	w.intPtr(f.Size)
	w.key("start")
	if f.Start != "" && lq.Cursor == "" {
		w.str(f.Start)
	} else {
		w.null()
	}
	w.key("uploader")
	w.strPtr(f.Uploader)
	w.key("urls")
	w.strings(nonNil(f.URLs))
	w.key("urls_metadata")
	if err := w.value(f.URLsMetadata); err != nil {
		return err
	}
	w.key("version")
	w.strPtr(f.Version)
	w.endObject()
	return nil
}

// kvMap turns repeated k:v filter terms into the echoed object (the last
// value of a key wins, as in a Python dict).
func kvMap(kvs []indexd.KV) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

func (s *Server) indexGet(c echo.Context) error {
	p, err := wildcardPath(c)
	if err != nil {
		return err
	}
	t, err := parseIndexTarget(p)
	if err != nil {
		return err
	}
	dc, err := s.discoveryContext(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	cands := s.candidates(t.ID)
	switch t.Sub {
	case "":
		rec, err := s.store.GetRecord(ctx, dc, cands)
		if err != nil {
			return err
		}
		return writeOneRecord(c, rec)
	case "versions":
		recs, err := s.store.Versions(ctx, dc, cands)
		if err != nil {
			return err
		}
		return writeVersions(c, recs)
	case "latest":
		hasVersion := strings.EqualFold(c.QueryParam("has_version"), "true")
		rec, err := s.store.Latest(ctx, dc, cands, hasVersion)
		if err != nil {
			return err
		}
		return writeOneRecord(c, rec)
	case "aliases":
		if t.Alias != "" {
			return echo.NewHTTPError(http.StatusMethodNotAllowed, "method not allowed")
		}
		rec, err := s.store.GetRecord(ctx, dc, cands)
		if err != nil {
			return err
		}
		aliases, err := s.store.Aliases(ctx, rec.DID)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, aliasBody(aliases))
	}
	return indexd.Errorf(indexd.ErrNotFound, "no such route")
}

func (s *Server) globalGet(c echo.Context) error {
	p, err := wildcardPath(c)
	if err != nil {
		return err
	}
	p = strings.TrimSuffix(p, "/")
	if err := indexd.ValidateID(p); err != nil {
		return indexd.Errorf(indexd.ErrNotFound, "no record found")
	}
	dc, err := s.discoveryContext(c)
	if err != nil {
		return err
	}
	// A did, its prefix twin or an alias: resolved like every read, in one
	// statement.
	rec, err := s.store.GetRecord(c.Request().Context(), dc, s.candidates(p))
	if err != nil {
		return err
	}
	return writeOneRecord(c, rec)
}

func (s *Server) bulkDocuments(c echo.Context) error {
	var ids []string
	if err := decodeJSON(c, &ids); err != nil {
		return err
	}
	if len(ids) == 0 {
		return indexd.Invalidf("body must be a non-empty JSON array of ids")
	}
	if len(ids) > indexd.MaxBulkIDs {
		return indexd.Invalidf("at most %d ids per request", indexd.MaxBulkIDs)
	}
	for _, id := range ids {
		if err := indexd.ValidateID(id); err != nil {
			return err
		}
	}
	dc, err := s.discoveryContext(c)
	if err != nil {
		return err
	}
	found, err := s.resolveIDs(c, dc, ids, repository.ListOptions{})
	if err != nil {
		return err
	}
	// Each record once, in did order (as a list).
	byDID := map[string]indexd.Record{}
	for _, r := range found {
		if r != nil {
			byDID[r.DID] = *r
		}
	}
	recs := make([]indexd.Record, 0, len(byDID))
	for _, r := range byDID {
		recs = append(recs, r)
	}
	slices.SortFunc(recs, func(a, b indexd.Record) int { return strings.Compare(a.DID, b.DID) })
	var w jsonWriter
	writeRecords(&w, recs)
	return writeJSON(c, http.StatusOK, &w)
}

// ---- writes ----

func (s *Server) createRecord(c echo.Context) error {
	var body recordBody
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	n, err := body.toNew()
	if err != nil {
		return err
	}
	if err := indexd.ValidateNew(&n, false); err != nil {
		return err
	}
	return s.create(c, n, http.StatusOK)
}

// create authorizes and stores a new record, applying the prefix rules. A
// caller-given baseid that names a version chain makes the record a new
// version of it, with exactly the checks, lock and answers of POST
// /index/{id} (newVersion; under hide_existence a chain the caller sees no
// version of is the missing-record 404); any other caller-given baseid
// starts a chain and must be unused (repository.Store.Create: 409).
func (s *Server) create(c echo.Context, n indexd.NewRecord, status int) error {
	if n.BaseID != "" {
		ctx := c.Request().Context()
		chain, err := s.store.Chain(ctx, n.BaseID)
		if err != nil {
			return err
		}
		if len(chain) > 0 {
			if s.cfg.HideExistence {
				dc, err := s.discoveryContext(c)
				if err != nil {
					return err
				}
				seen, err := s.store.ChainVisible(ctx, dc, n.BaseID)
				if err != nil {
					return err
				}
				if !seen {
					return indexd.Errorf(indexd.ErrNotFound, msgNotFound)
				}
			}
			return s.newVersion(c, n.BaseID, chain, n, status)
		}
	}
	if err := s.authorizeWrite(c, policy.MethodCreate, n.Authz); err != nil {
		return err
	}
	if n.DID == "" {
		n.DID = s.mintDID()
	}
	// ADD_PREFIX_ALIAS: the alias is claimed in the record's transaction.
	if s.cfg.AddPrefixAlias && s.cfg.DefaultPrefix != "" && !strings.HasPrefix(n.DID, s.cfg.DefaultPrefix) {
		n.Aliases = []string{s.cfg.DefaultPrefix + n.DID}
	}
	ref, err := s.store.Create(c.Request().Context(), n)
	if err != nil {
		return err
	}
	return c.JSON(status, ref)
}

// mintDID returns a fresh did, prefixed under PREPEND_PREFIX.
func (s *Server) mintDID() string {
	did := repository.NewUUID()
	if s.cfg.PrependPrefix && s.cfg.DefaultPrefix != "" {
		did = s.cfg.DefaultPrefix + did
	}
	return did
}

type blankBody struct {
	DID      *string  `json:"did"`
	Uploader *string  `json:"uploader"`
	FileName *string  `json:"file_name"`
	Authz    []string `json:"authz"`
	ACL      []string `json:"acl"`
}

// readBlankBody reads and validates a blank-record body; authzGiven tells
// whether it carried authz.
func readBlankBody(c echo.Context) (n indexd.NewRecord, authzGiven bool, err error) {
	var body blankBody
	if err := decodeJSON(c, &body); err != nil {
		return n, false, err
	}
	return body.toNew()
}

// toNew checks a decoded blank-record body and makes the record to create.
func (body *blankBody) toNew() (n indexd.NewRecord, authzGiven bool, err error) {
	// uploader is optional, as indexd (issue 10); an empty one is none.
	if body.Uploader != nil && *body.Uploader == "" {
		body.Uploader = nil
	}
	n = indexd.NewRecord{Uploader: body.Uploader, FileName: body.FileName, Authz: body.Authz, ACL: body.ACL}
	if body.DID != nil {
		n.DID = *body.DID
	}
	if err := indexd.ValidateNew(&n, true); err != nil {
		return n, false, err
	}
	return n, body.Authz != nil, nil
}

func (s *Server) createBlank(c echo.Context) error {
	n, _, err := readBlankBody(c)
	if err != nil {
		return err
	}
	return s.create(c, n, http.StatusCreated)
}

// createBlankVersion is POST /index/blank/{id}: a blank new version of the
// record id. Without authz in the body, acl and authz carry over from id.
// Route: POST /index/blank/* (NeedWrite).
func (s *Server) createBlankVersion(c echo.Context) error {
	id, err := wildcardPath(c)
	if err != nil {
		return err
	}
	id = strings.TrimSuffix(id, "/")
	if err := indexd.ValidateID(id); err != nil {
		return err
	}
	n, authzGiven, err := readBlankBody(c)
	if err != nil {
		return err
	}
	cur, err := s.recordForWrite(c, id)
	if err != nil {
		return err
	}
	if !authzGiven {
		n.Authz, n.ACL = cur.Authz, cur.ACL
	}
	return s.newVersion(c, cur.BaseID, nil, n, http.StatusCreated)
}

// newVersion adds n to baseid's chain (found by the caller: the chain of a
// record from recordForWrite, or a caller-given baseid) with the checks of
// a new version: create on n's authz and update on the authz of every
// version of the chain — growing a chain changes what its readers get from
// /latest, so it is a change to the chain (docs/authorization.md) — decided
// in one policy call on the chain as read (chain; read here when nil). The
// store adds the version under the chain's lock only if the chain is still
// covered by that decision (409 otherwise).
func (s *Server) newVersion(c echo.Context, baseid string, chain []repository.Version, n indexd.NewRecord, status int) error {
	ctx := c.Request().Context()
	if chain == nil {
		var err error
		if chain, err = s.store.Chain(ctx, baseid); err != nil {
			return err
		}
		if len(chain) == 0 {
			return indexd.Errorf(indexd.ErrNotFound, msgNotFound)
		}
	}
	sets := make([][]string, 0, len(chain))
	for _, v := range chain {
		sets = append(sets, v.Authz)
	}
	if err := s.authorizeWrites(c, writeCheck{method: policy.MethodCreate, sets: [][]string{n.Authz}},
		writeCheck{method: policy.MethodUpdate, sets: sets}); err != nil {
		return err
	}
	if n.DID == "" {
		n.DID = s.mintDID()
	}
	ref, err := s.store.NewVersion(ctx, baseid, chain, n)
	if err != nil {
		return err
	}
	return c.JSON(status, ref)
}

type fillBlankBody struct {
	Size   *int64            `json:"size"`
	Hashes map[string]string `json:"hashes"`
	URLs   *[]string         `json:"urls"`
	Authz  *[]string         `json:"authz"`
	ACL    *[]string         `json:"acl"`
}

func (s *Server) fillBlank(c echo.Context) error {
	p, err := wildcardPath(c)
	if err != nil {
		return err
	}
	if err := indexd.ValidateID(p); err != nil {
		return err
	}
	rev := c.QueryParam("rev")
	if rev == "" {
		// As PUT /index/{id}: a missing rev is a stale one.
		return indexd.Errorf(indexd.ErrConflict, "rev is required")
	}
	var body fillBlankBody
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	u, err := body.toUpdate()
	if err != nil {
		return err
	}
	return s.update(c, p, rev, u)
}

// toUpdate checks a decoded fill-blank body and makes the update.
func (body *fillBlankBody) toUpdate() (indexd.RecordUpdate, error) {
	if body.Size == nil || len(body.Hashes) == 0 {
		return indexd.RecordUpdate{}, indexd.Invalidf("size and hashes are required")
	}
	if err := indexd.ValidateHashes(body.Hashes, true); err != nil {
		return indexd.RecordUpdate{}, err
	}
	return indexd.RecordUpdate{Size: body.Size, Hashes: &body.Hashes, URLs: body.URLs, Authz: body.Authz, ACL: body.ACL}, nil
}

// update runs the PUT sequence (PUT /index/{id} and the blank fill): the
// cheap local checks (exists, rev), then the policy check on old ∪ new
// authz, and only then anything that depends on the record's state (is it
// blank, do the new urls_metadata keys match its urls): a caller who may
// not update the record learns nothing about it (issue 12, finding 6).
// Then the rev-guarded write.
func (s *Server) update(c echo.Context, id, rev string, u indexd.RecordUpdate) error {
	ctx := c.Request().Context()
	cur, err := s.recordForWrite(c, id)
	if err != nil {
		return err
	}
	if cur.Rev != rev {
		return indexd.Errorf(indexd.ErrConflict, "revision mismatch")
	}
	newAuthz := cur.Authz
	if u.Authz != nil {
		if err := indexd.ValidateRecordAuthz(*u.Authz); err != nil {
			return err
		}
		newAuthz = *u.Authz
	}
	if err := s.authorizeWrite(c, policy.MethodUpdate, cur.Authz, newAuthz); err != nil {
		return err
	}
	// size and hashes are set once, by the blank fill; a record's content
	// never changes afterwards (indexd: "not supported for non-empty record").
	if (u.Size != nil || u.Hashes != nil) && (cur.Size != nil || !cur.Hashes.IsEmpty()) {
		return indexd.Invalidf("record %s is not blank: size and hashes are already set", cur.DID)
	}
	if err := indexd.ValidateUpdate(&u, cur); err != nil {
		return err
	}
	ref, err := s.store.Update(ctx, cur.DID, rev, u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ref)
}

func (s *Server) indexPut(c echo.Context) error {
	p, err := wildcardPath(c)
	if err != nil {
		return err
	}
	t, err := parseIndexTarget(p)
	if err != nil {
		return err
	}
	switch t.Sub {
	case "":
		rev := c.QueryParam("rev")
		if rev == "" {
			// indexd answers a PUT without rev like a stale one.
			return indexd.Errorf(indexd.ErrConflict, "rev is required")
		}
		var body updateBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		u, err := body.toUpdate()
		if err != nil {
			return err
		}
		return s.update(c, t.ID, rev, u)
	case "versions":
		return s.updateAllVersions(c, t.ID)
	case "aliases":
		if t.Alias != "" {
			return echo.NewHTTPError(http.StatusMethodNotAllowed, "method not allowed")
		}
		return s.writeAliases(c, t.ID, true)
	}
	return echo.NewHTTPError(http.StatusMethodNotAllowed, "method not allowed")
}

type versionsBody struct {
	ACL   *[]string `json:"acl"`
	Authz *[]string `json:"authz"`
}

// validate checks a decoded PUT /index/{id}/versions body.
func (body *versionsBody) validate() error {
	if body.ACL == nil && body.Authz == nil {
		return indexd.Invalidf("give acl and/or authz")
	}
	if body.ACL != nil {
		if err := indexd.ValidateStrings("acl", *body.ACL); err != nil {
			return err
		}
	}
	if body.Authz != nil {
		if err := indexd.ValidateRecordAuthz(*body.Authz); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) updateAllVersions(c echo.Context, id string) error {
	var body versionsBody
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	if err := body.validate(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	cur, err := s.recordForWrite(c, id)
	if err != nil {
		return err
	}
	// Authorize against the chain as read now; the store writes only if the
	// chain is still exactly this (same versions, same revs), else 409.
	chain, err := s.store.Chain(ctx, cur.BaseID)
	if err != nil {
		return err
	}
	sets := make([][]string, 0, len(chain)+1)
	for _, v := range chain {
		sets = append(sets, v.Authz)
	}
	if body.Authz != nil {
		sets = append(sets, *body.Authz)
	}
	if err := s.authorizeWrite(c, policy.MethodUpdate, sets...); err != nil {
		return err
	}
	refs, err := s.store.UpdateAllVersions(ctx, cur.BaseID, chain, body.ACL, body.Authz)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, refs)
}

func (s *Server) indexPost(c echo.Context) error {
	p, err := wildcardPath(c)
	if err != nil {
		return err
	}
	t, err := parseIndexTarget(p)
	if err != nil {
		return err
	}
	switch {
	case t.Sub == "aliases" && t.Alias == "":
		return s.writeAliases(c, t.ID, false)
	case t.Sub == "":
		var body recordBody
		if err := decodeJSON(c, &body); err != nil {
			return err
		}
		n, err := body.toNew()
		if err != nil {
			return err
		}
		if err := indexd.ValidateNew(&n, false); err != nil {
			return err
		}
		cur, err := s.recordForWrite(c, t.ID)
		if err != nil {
			return err
		}
		return s.newVersion(c, cur.BaseID, nil, n, http.StatusOK)
	}
	return echo.NewHTTPError(http.StatusMethodNotAllowed, "method not allowed")
}

func (s *Server) indexDelete(c echo.Context) error {
	p, err := wildcardPath(c)
	if err != nil {
		return err
	}
	t, err := parseIndexTarget(p)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	switch t.Sub {
	case "":
		rev := c.QueryParam("rev")
		if rev == "" {
			return indexd.Invalidf("rev is required")
		}
		cur, err := s.recordForWrite(c, t.ID)
		if err != nil {
			return err
		}
		if cur.Rev != rev {
			return indexd.Errorf(indexd.ErrConflict, "revision mismatch")
		}
		if err := s.authorizeWrite(c, policy.MethodDelete, cur.Authz); err != nil {
			return err
		}
		if err := s.store.Delete(ctx, cur.DID, rev); err != nil {
			return err
		}
		return c.NoContent(http.StatusOK)
	case "aliases":
		cur, err := s.recordForWrite(c, t.ID)
		if err != nil {
			return err
		}
		if err := s.authorizeWrite(c, policy.MethodDelete, cur.Authz); err != nil {
			return err
		}
		// Authorized on cur.Authz: the store deletes only if the record is
		// still at cur.Rev, else 409.
		if err := s.store.DeleteAliases(ctx, cur.DID, cur.Rev, t.Alias); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, "Aliases deleted successfully")
	}
	return echo.NewHTTPError(http.StatusMethodNotAllowed, "method not allowed")
}

type aliasEntry struct {
	Value string `json:"value"`
}

type aliasesPayload struct {
	Aliases []aliasEntry `json:"aliases"`
}

func aliasBody(aliases []string) aliasesPayload {
	out := aliasesPayload{Aliases: []aliasEntry{}}
	for _, a := range aliases {
		out.Aliases = append(out.Aliases, aliasEntry{Value: a})
	}
	return out
}

// names checks a decoded alias body and lists the aliases it names.
func (body *aliasesPayload) names() ([]string, error) {
	if body.Aliases == nil {
		return nil, indexd.Invalidf("aliases is required")
	}
	names := make([]string, 0, len(body.Aliases))
	for _, a := range body.Aliases {
		if err := indexd.ValidateAlias(a.Value); err != nil {
			return nil, err
		}
		names = append(names, a.Value)
	}
	return names, nil
}

func (s *Server) writeAliases(c echo.Context, id string, replace bool) error {
	var body aliasesPayload
	if err := decodeJSON(c, &body); err != nil {
		return err
	}
	names, err := body.names()
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	cur, err := s.recordForWrite(c, id)
	if err != nil {
		return err
	}
	if err := s.authorizeWrite(c, policy.MethodUpdate, cur.Authz); err != nil {
		return err
	}
	// Authorized on cur.Authz: the store writes only if the record is still
	// at cur.Rev, else 409.
	aliases, err := s.store.AddAliases(ctx, cur.DID, cur.Rev, names, replace)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, aliasBody(aliases))
}

// recordForWrite loads the record a write applies to, without visibility
// filtering: writes are authorized by the policy service. Under
// hide_existence a record the caller cannot see is "not found" to writes
// too, so a 409 or 403 cannot reveal that it exists.
func (s *Server) recordForWrite(c echo.Context, id string) (*indexd.Record, error) {
	ctx := c.Request().Context()
	if !s.cfg.HideExistence {
		return s.store.GetForWrite(ctx, s.candidates(id))
	}
	dc, err := s.discoveryContext(c)
	if err != nil {
		return nil, err
	}
	return s.store.GetRecord(ctx, dc, s.candidates(id))
}
