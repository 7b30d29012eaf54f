package api

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/datacommons/indexd"
)

// ---- GET /urls (indexd's /urls/) ----

var urlListParams = map[string]bool{"ids": true, "hash": true, "size": true, "start": true, "limit": true}

// ParseURLList parses GET /urls as indexd does: ids (comma-separated),
// hash=type:value (repeatable; a repeated type takes its last value), size,
// start (an integer offset into the url rows, at most indexd.MaxOffset) and
// limit (url rows, 0..1024, default 100). Unknown parameters are 400: this
// route does not take the /index filters, and a filter silently ignored
// would answer more than was asked.
func ParseURLList(q url.Values) (indexd.URLListFilter, error) {
	f := indexd.URLListFilter{Limit: indexd.DefaultLimit}
	if err := checkQueryText(q); err != nil {
		return f, err
	}
	for _, k := range sortedParams(q) {
		if !urlListParams[k] {
			return f, indexd.Invalidf("unknown query parameter %q (GET /urls takes ids, hash, size, start and limit)", k)
		}
	}
	if v, ok := single(q, "ids"); ok {
		f.IDs = splitList(v)
		if len(f.IDs) > indexd.MaxBulkIDs {
			return f, indexd.Invalidf("ids holds more than %d ids", indexd.MaxBulkIDs)
		}
	}
	for _, h := range q["hash"] {
		kv, err := indexd.ParseHashTerm(h)
		if err != nil {
			return f, err
		}
		f.Hashes = setKV(f.Hashes, kv)
	}
	if v, ok := single(q, "size"); ok && v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return f, indexd.Invalidf("size must be an integer >= 0")
		}
		f.Size = &n
	}
	if v, ok := single(q, "start"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return f, indexd.Invalidf("start must be an integer >= 0 (an offset into the urls)")
		}
		if n > indexd.MaxOffset {
			return f, indexd.Invalidf("start may not pass %d urls", indexd.MaxOffset)
		}
		f.Offset = n
	}
	if v, ok := single(q, "limit"); ok {
		n, err := atoiRange(v, 0, indexd.MaxLimit)
		if err != nil {
			return f, indexd.Invalidf("limit must be an integer between 0 and %d", indexd.MaxLimit)
		}
		f.Limit = n
	}
	return f, nil
}

type urlEntry struct {
	URL      string            `json:"url"`
	Metadata map[string]string `json:"metadata"`
}

func (s *Server) listURLs(c echo.Context) error {
	f, err := ParseURLList(c.QueryParams())
	if err != nil {
		return err
	}
	dc, err := s.discoveryContext(c)
	if err != nil {
		return err
	}
	urls := []urlEntry{}
	if f.Limit > 0 {
		sf := f
		if len(sf.IDs) > 0 {
			sf.IDs = s.expandIDs(sf.IDs)
		}
		rows, err := s.store.ListURLs(c.Request().Context(), dc, sf)
		if err != nil {
			return err
		}
		for _, r := range rows {
			urls = append(urls, urlEntry{URL: r.URL, Metadata: nonNilMap(r.Metadata)})
		}
	}
	var size any
	if f.Size != nil {
		size = *f.Size
	}
	// indexd's envelope: {urls, limit, start, size, hashes}.
	return c.JSON(http.StatusOK, map[string]any{"urls": urls, "limit": f.Limit, "start": f.Offset, "size": size, "hashes": kvMap(f.Hashes)})
}

// ---- GET /_query/urls/q and /_query/urls/metadata/q ----

// urlQueryDefaultLimit is indexd's default for the URL queries (1000, not
// the list default of 100).
const urlQueryDefaultLimit = 1000

var urlQueryParams = map[string]bool{"include": true, "exclude": true, "versioned": true, "fields": true, "limit": true, "offset": true}
var urlMetadataQueryParams = map[string]bool{"key": true, "value": true, "url": true, "versioned": true, "fields": true, "limit": true, "offset": true}

// ParseURLQuery parses /_query/urls/q (metadata=false) or
// /_query/urls/metadata/q (metadata=true); unknown parameters are 400. The
// default fields are indexd's: did,urls for urls/q, did,urls,rev for
// metadata/q.
func ParseURLQuery(q url.Values, metadata bool) (indexd.URLQuery, []string, error) {
	allowed := urlQueryParams
	if metadata {
		allowed = urlMetadataQueryParams
	}
	var uq indexd.URLQuery
	if err := checkQueryText(q); err != nil {
		return uq, nil, err
	}
	for _, k := range sortedParams(q) {
		if !allowed[k] {
			return uq, nil, indexd.Invalidf("unknown query parameter %q", k)
		}
	}
	uq.Include, uq.Exclude = q.Get("include"), q.Get("exclude")
	uq.Key, uq.Value, uq.URL = q.Get("key"), q.Get("value"), q.Get("url")
	if metadata && (uq.Key == "" || uq.Value == "") {
		return uq, nil, indexd.Invalidf("key and value are required")
	}
	if v := q.Get("versioned"); v != "" {
		b, ok := parseVersioned(v)
		if !ok {
			return uq, nil, indexd.Invalidf("versioned must be true or false")
		}
		uq.Versioned = &b
	}
	uq.Limit = urlQueryDefaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := atoiRange(v, 0, indexd.MaxLimit)
		if err != nil {
			return uq, nil, indexd.Invalidf("limit must be an integer between 0 and %d", indexd.MaxLimit)
		}
		uq.Limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return uq, nil, indexd.Invalidf("offset must be a non-negative integer")
		}
		if n > indexd.MaxOffset {
			return uq, nil, indexd.Invalidf("offset may not pass %d records", indexd.MaxOffset)
		}
		uq.Offset = n
	}
	fields := []string{"did", "urls"}
	if metadata {
		fields = append(fields, "rev")
	}
	if v := q.Get("fields"); v != "" {
		// As indexd: names of fields it does not return are ignored
		// (clients ask for did,urls,file_name).
		fields = nil
		for _, f := range splitList(v) {
			if f == "did" || f == "urls" || f == "rev" {
				fields = append(fields, f)
			}
		}
	}
	return uq, fields, nil
}

// parseVersioned reads indexd's truthy words (true, t, yes, y) and their
// negations; anything else is not a boolean.
func parseVersioned(v string) (bool, bool) {
	switch strings.ToLower(v) {
	case "true", "t", "yes", "y":
		return true, true
	case "false", "f", "no", "n":
		return false, true
	}
	return false, false
}

func sortedParams(q url.Values) []string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (s *Server) queryURLs(c echo.Context) error         { return s.urlQuery(c, false) }
func (s *Server) queryURLsMetadata(c echo.Context) error { return s.urlQuery(c, true) }

func (s *Server) urlQuery(c echo.Context, metadata bool) error {
	uq, fields, err := ParseURLQuery(c.QueryParams(), metadata)
	if err != nil {
		return err
	}
	dc, err := s.discoveryContext(c)
	if err != nil {
		return err
	}
	out := []map[string]any{}
	if uq.Limit == 0 {
		return c.JSON(http.StatusOK, out)
	}
	ctx := c.Request().Context()
	var matches []indexd.URLMatch
	if metadata {
		matches, err = s.store.QueryURLMetadata(ctx, dc, uq)
	} else {
		matches, err = s.store.QueryURLs(ctx, dc, uq)
	}
	if err != nil {
		return err
	}
	for _, r := range matches {
		m := map[string]any{}
		for _, f := range fields {
			switch f {
			case "did":
				m["did"] = r.DID
			case "rev":
				m["rev"] = r.Rev
			case "urls":
				m["urls"] = nonNil(r.URLs)
			}
		}
		out = append(out, m)
	}
	return c.JSON(http.StatusOK, out)
}
