package api

import (
	"time"

	"github.com/datacommons/indexd"
)

// indexdTime is how indexd prints dates (Python isoformat, no zone, UTC);
// like isoformat, whole seconds print without the fraction.
const (
	indexdTime      = "2006-01-02T15:04:05.000000"
	indexdTimeWhole = "2006-01-02T15:04:05"
)

func isoformat(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format(indexdTimeWhole)
	}
	return t.Format(indexdTime)
}

// wireRecord is a record on the indexd wire.
type wireRecord struct {
	DID                string                       `json:"did"`
	BaseID             string                       `json:"baseid"`
	Rev                string                       `json:"rev"`
	Form               *string                      `json:"form"`
	Size               *int64                       `json:"size"`
	FileName           *string                      `json:"file_name"`
	Version            *string                      `json:"version"`
	Uploader           *string                      `json:"uploader"`
	Description        *string                      `json:"description"`
	URLs               []string                     `json:"urls"`
	URLsMetadata       map[string]map[string]string `json:"urls_metadata"`
	ACL                []string                     `json:"acl"`
	Authz              []string                     `json:"authz"`
	Hashes             map[string]string            `json:"hashes"`
	Metadata           map[string]string            `json:"metadata"`
	CreatedDate        string                       `json:"created_date"`
	UpdatedDate        string                       `json:"updated_date"`
	ContentCreatedDate *string                      `json:"content_created_date"`
	ContentUpdatedDate *string                      `json:"content_updated_date"`
}

func toWire(r *indexd.Record) wireRecord {
	return wireRecord{
		DID: r.DID, BaseID: r.BaseID, Rev: r.Rev, Form: r.Form, Size: r.Size,
		FileName: r.FileName, Version: r.Version, Uploader: r.Uploader, Description: r.Description,
		URLs: nonNil(r.URLs), URLsMetadata: nonNilMap(r.URLsMetadata), ACL: nonNil(r.ACL), Authz: nonNil(r.Authz),
		Hashes: nonNilMap(r.Hashes), Metadata: nonNilMap(r.Metadata),
		CreatedDate: isoformat(r.CreatedDate), UpdatedDate: isoformat(r.UpdatedDate),
		ContentCreatedDate: fmtTime(r.ContentCreatedDate), ContentUpdatedDate: fmtTime(r.ContentUpdatedDate),
	}
}

func toWireList(recs []indexd.Record) []wireRecord {
	out := make([]wireRecord, len(recs))
	for i := range recs {
		out[i] = toWire(&recs[i])
	}
	return out
}

func fmtTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := isoformat(*t)
	return &s
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
