package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/urlsmeta"
)

// indexdTime is how indexd prints dates (Python isoformat, no zone, UTC);
// like isoformat, whole seconds print without the fraction.
const (
	indexdTime      = "2006-01-02T15:04:05.000000"
	indexdTimeWhole = "2006-01-02T15:04:05"
)

func isoformat(t time.Time) string { return string(appendISOFormat(nil, t)) }

func appendISOFormat(b []byte, t time.Time) []byte {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.AppendFormat(b, indexdTimeWhole)
	}
	return t.AppendFormat(b, indexdTime)
}

// isoTime writes t in isoformat (the layout needs no escaping).
func (w *jsonWriter) isoTime(t time.Time) {
	w.pre()
	w.buf = append(w.buf, '"')
	w.buf = appendISOFormat(w.buf, t)
	w.buf = append(w.buf, '"')
}

func (w *jsonWriter) isoTimePtr(t *time.Time) {
	if t == nil {
		w.null()
		return
	}
	w.isoTime(*t)
}

// writeRecord writes r as a record on the indexd wire: every field
// present, absent optional values as null, urls/acl/authz as arrays and
// hashes/metadata/urls_metadata as objects even when empty, dates in
// Python's isoformat. The field order is fixed (the integration and
// OpenAPI tests read records by name; TestWriteRecordMatchesWireStruct pins
// the bytes against a struct encoded by encoding/json).
func writeRecord(w *jsonWriter, r *indexd.Record) {
	w.beginObject()
	w.key("did")
	w.str(r.DID)
	w.key("baseid")
	w.str(r.BaseID)
	w.key("rev")
	w.str(r.Rev)
	w.key("form")
	w.strPtr(r.Form)
	w.key("size")
	w.intPtr(r.Size)
	w.key("file_name")
	w.strPtr(r.FileName)
	w.key("version")
	w.strPtr(r.Version)
	w.key("uploader")
	w.strPtr(r.Uploader)
	w.key("description")
	w.strPtr(r.Description)
	w.key("urls")
	w.strings(nonNil(r.URLs))
	w.key("urls_metadata")
	writeURLsMetadata(w, r)
	w.key("acl")
	w.strings(nonNil(r.ACL))
	w.key("authz")
	w.strings(nonNil(r.Authz))
	w.key("hashes")
	w.object(r.Hashes)
	w.key("metadata")
	w.object(r.Metadata)
	w.key("created_date")
	w.isoTime(r.CreatedDate)
	w.key("updated_date")
	w.isoTime(r.UpdatedDate)
	w.key("content_created_date")
	w.isoTimePtr(r.ContentCreatedDate)
	w.key("content_updated_date")
	w.isoTimePtr(r.ContentUpdatedDate)
	w.endObject()
}

// object writes a stored JSON object verbatim ({} when empty): it is
// jsonb output, valid JSON by construction.
func (w *jsonWriter) object(o indexd.JSONObject) {
	w.pre()
	if o.IsEmpty() {
		w.buf = append(w.buf, '{', '}')
		return
	}
	w.buf = append(w.buf, o...)
}

// writeOneRecord answers with one indexd wire record.
func writeOneRecord(c echo.Context, r *indexd.Record) error {
	var w jsonWriter
	writeRecord(&w, r)
	return writeJSON(c, http.StatusOK, &w)
}

// writeVersions answers GET /index/{id}/versions: indexd's object keyed
// "0", "1", … (oldest first), keys in encoding/json's (string) order.
func writeVersions(c echo.Context, recs []indexd.Record) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, versionsJSON(recs))
}

// versionsJSON is the body of writeVersions, with the trailing newline.
func versionsJSON(recs []indexd.Record) []byte {
	keys := make([]string, len(recs))
	for i := range recs {
		keys[i] = itoa(i)
	}
	order := make([]int, len(recs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
	var w jsonWriter
	w.beginObject()
	for _, i := range order {
		w.key(keys[i])
		writeRecord(&w, &recs[i])
	}
	w.endObject()
	return append(w.buf, '\n')
}

// recordSizeHint is about what one record takes on the wire (a few urls,
// hashes and metadata keys): pages are sized once instead of grown.
const recordSizeHint = 768

// writeRecords writes recs as a JSON array of indexd wire records.
func writeRecords(w *jsonWriter, recs []indexd.Record) {
	w.grow(recordSizeHint * len(recs))
	w.beginArray()
	for i := range recs {
		writeRecord(w, &recs[i])
	}
	w.endArray()
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nonNilMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return map[K]V{}
	}
	return m
}

// recordBody is POST /index, POST /index/{id} (new version) input.
type recordBody struct {
	DID                *string                      `json:"did"`
	BaseID             *string                      `json:"baseid"`
	Form               *string                      `json:"form"`
	Size               *int64                       `json:"size"`
	FileName           *string                      `json:"file_name"`
	Version            *string                      `json:"version"`
	Uploader           *string                      `json:"uploader"`
	Description        *string                      `json:"description"`
	Hashes             map[string]string            `json:"hashes"`
	URLs               []string                     `json:"urls"`
	URLsMetadata       map[string]map[string]string `json:"urls_metadata"`
	ACL                []string                     `json:"acl"`
	Authz              []string                     `json:"authz"`
	Metadata           map[string]string            `json:"metadata"`
	ContentCreatedDate *string                      `json:"content_created_date"`
	ContentUpdatedDate *string                      `json:"content_updated_date"`
}

func (b *recordBody) toNew() (indexd.NewRecord, error) {
	n := indexd.NewRecord{
		Form: b.Form, Size: b.Size, FileName: b.FileName, Version: b.Version, Uploader: b.Uploader,
		Description: b.Description, Hashes: b.Hashes, URLs: b.URLs, URLsMetadata: b.URLsMetadata,
		ACL: b.ACL, Authz: b.Authz, Metadata: b.Metadata,
	}
	if b.DID != nil {
		n.DID = *b.DID
		if n.DID == "" {
			return n, indexd.Invalidf("did must not be empty")
		}
	}
	if b.BaseID != nil {
		n.BaseID = *b.BaseID
	}
	var err error
	if n.ContentCreatedDate, err = parseDate("content_created_date", b.ContentCreatedDate); err != nil {
		return n, err
	}
	if n.ContentUpdatedDate, err = parseDate("content_updated_date", b.ContentUpdatedDate); err != nil {
		return n, err
	}
	// As indexd: content_updated_date defaults to content_created_date.
	if n.ContentUpdatedDate == nil {
		n.ContentUpdatedDate = n.ContentCreatedDate
	}
	return n, nil
}

// updateBody is PUT /index/{id} input (indexd's updatable fields).
type updateBody struct {
	URLs               *[]string                     `json:"urls"`
	URLsMetadata       *map[string]map[string]string `json:"urls_metadata"`
	ACL                *[]string                     `json:"acl"`
	Authz              *[]string                     `json:"authz"`
	FileName           *string                       `json:"file_name"`
	Version            *string                       `json:"version"`
	Uploader           *string                       `json:"uploader"`
	Description        *string                       `json:"description"`
	Metadata           *map[string]string            `json:"metadata"`
	ContentCreatedDate *string                       `json:"content_created_date"`
	ContentUpdatedDate *string                       `json:"content_updated_date"`
}

func (b *updateBody) toUpdate() (indexd.RecordUpdate, error) {
	u := indexd.RecordUpdate{
		URLs: b.URLs, URLsMetadata: b.URLsMetadata, ACL: b.ACL, Authz: b.Authz, FileName: b.FileName,
		Version: b.Version, Uploader: b.Uploader, Description: b.Description, Metadata: b.Metadata,
	}
	var err error
	if u.ContentCreatedDate, err = parseDate("content_created_date", b.ContentCreatedDate); err != nil {
		return u, err
	}
	if u.ContentUpdatedDate, err = parseDate("content_updated_date", b.ContentUpdatedDate); err != nil {
		return u, err
	}
	return u, nil
}

// writeURLsMetadata writes r's urls_metadata as indexd 6.x answers it
// (package urlsmeta: an entry per url, derived cloud/available/region under
// the stored keys), keys in encoding/json's order.
func writeURLsMetadata(w *jsonWriter, r *indexd.Record) {
	var stored map[string]map[string]string
	if !r.URLsMetadata.IsEmpty() {
		m, err := r.URLsMetadata.StringMaps()
		if err != nil { // not an object of string objects: as stored
			w.object(r.URLsMetadata)
			return
		}
		stored = m
	}
	all := urlsmeta.Expand(r.URLs, stored)
	urls := make([]string, 0, len(all))
	for u := range all {
		urls = append(urls, u)
	}
	slices.Sort(urls)
	w.beginObject()
	for _, u := range urls {
		e := all[u]
		keys := make([]string, 0, len(e))
		for k := range e {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		w.key(u)
		w.beginObject()
		for _, k := range keys {
			w.key(k)
			switch v := e[k].(type) {
			case string:
				w.str(v)
			case bool:
				w.pre()
				w.buf = strconv.AppendBool(w.buf, v)
			default:
				w.null()
			}
		}
		w.endObject()
	}
	w.endObject()
}
