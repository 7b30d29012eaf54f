package indexd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Forms a record may take.
const (
	FormObject    = "object"
	FormContainer = "container"
	FormMultipart = "multipart"
)

// Record is one indexed data object. Optional values are pointers: nil
// means absent (JSON null on the indexd wire, omitted in DRS).
type Record struct {
	DID                string
	BaseID             string
	Rev                string
	Form               *string
	Size               *int64
	FileName           *string
	Version            *string
	Uploader           *string
	Description        *string
	CreatedDate        time.Time
	UpdatedDate        time.Time
	ContentCreatedDate *time.Time
	ContentUpdatedDate *time.Time
	Hashes             JSONObject // {type: value}
	URLs               []string
	URLsMetadata       JSONObject // {url: {key: value}}
	ACL                []string
	Authz              []string
	Metadata           JSONObject // {key: value}
	// Aliases are filled only by reads that ask for them (DRS).
	Aliases []string
}

// JSONObject is a JSON object as the database returned it (jsonb text:
// valid JSON by construction, keys in jsonb's order). A read keeps a
// record's hashes, metadata and urls_metadata in this form, so the indexd
// wire, which passes them through unchanged, never decodes and re-encodes
// them; the few handlers that need the values call StringMap or
// StringMaps. Nil is the empty object.
type JSONObject []byte

// IsEmpty reports whether o is nil or the empty object.
func (o JSONObject) IsEmpty() bool {
	return len(bytes.TrimSpace(o)) == 0 || string(o) == "{}"
}

// StringMap decodes an object of strings ({"md5": "…"}).
func (o JSONObject) StringMap() (map[string]string, error) {
	if m, ok := o.plainStringMap(); ok {
		return m, nil
	}
	m := map[string]string{}
	return m, o.decode(&m)
}

// StringMaps decodes an object of objects of strings (urls_metadata).
func (o JSONObject) StringMaps() (map[string]map[string]string, error) {
	if m, ok := o.plainStringMaps(); ok {
		return m, nil
	}
	m := map[string]map[string]string{}
	return m, o.decode(&m)
}

// plainStringMap and plainStringMaps decode the common case without
// encoding/json: objects of strings with no escape sequences, as jsonb
// prints them ({"k": "v", …}, any spacing). Anything else answers false and
// is left to the full decoder (FuzzStringMap, FuzzStringMaps).
func (o JSONObject) plainStringMap() (map[string]string, bool) {
	p, ok := newPlainScanner(o)
	if !ok {
		return nil, false
	}
	m := map[string]string{}
	ok = p.object(func(k string) bool {
		v, ok := p.str()
		m[k] = v
		return ok
	})
	return m, ok && p.end()
}

func (o JSONObject) plainStringMaps() (map[string]map[string]string, bool) {
	p, ok := newPlainScanner(o)
	if !ok {
		return nil, false
	}
	m := map[string]map[string]string{}
	ok = p.object(func(k string) bool {
		inner := map[string]string{}
		m[k] = inner
		return p.object(func(k2 string) bool {
			v, ok := p.str()
			inner[k2] = v
			return ok
		})
	})
	return m, ok && p.end()
}

// plainScanner reads escape-free JSON objects of strings.
type plainScanner struct {
	s string
	i int
}

func newPlainScanner(o JSONObject) (*plainScanner, bool) {
	if bytes.IndexByte(o, '\\') >= 0 || !utf8.Valid(o) {
		return nil, false
	}
	return &plainScanner{s: string(o)}, true
}

func (p *plainScanner) skip() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\n' || p.s[p.i] == '\t' || p.s[p.i] == '\r') {
		p.i++
	}
}

// str reads a string with no escapes and no raw control characters.
func (p *plainScanner) str() (string, bool) {
	p.skip()
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", false
	}
	end := strings.IndexByte(p.s[p.i+1:], '"')
	if end < 0 {
		return "", false
	}
	v := p.s[p.i+1 : p.i+1+end]
	for j := 0; j < len(v); j++ {
		if v[j] < 0x20 {
			return "", false
		}
	}
	p.i += end + 2
	return v, true
}

// object reads {"key": value, …}, value read by member.
func (p *plainScanner) object(member func(key string) bool) bool {
	p.skip()
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		return false
	}
	p.i++
	p.skip()
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		return true
	}
	for {
		k, ok := p.str()
		if !ok {
			return false
		}
		p.skip()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return false
		}
		p.i++
		if !member(k) {
			return false
		}
		p.skip()
		if p.i >= len(p.s) {
			return false
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return true
		default:
			return false
		}
	}
}

// end reports whether only spacing is left.
func (p *plainScanner) end() bool {
	p.skip()
	return p.i == len(p.s)
}

func (o JSONObject) decode(v any) error {
	if o.IsEmpty() {
		return nil
	}
	if err := json.Unmarshal(o, v); err != nil {
		return fmt.Errorf("decode stored JSON object: %w", err)
	}
	return nil
}

// ObjectOf encodes v (a map) as a JSONObject; for building records in
// tests and tools.
func ObjectOf(v any) JSONObject {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("indexd.ObjectOf: %v", err))
	}
	if string(b) == "null" {
		return nil
	}
	return b
}

// Ref is what a write answers with: the record's identity after the write.
type Ref struct {
	DID    string `json:"did"`
	BaseID string `json:"baseid"`
	Rev    string `json:"rev"`
}

// NewRecord is a validated record to create (POST /index, a new version,
// or a blank record).
type NewRecord struct {
	DID                string // "" → minted
	BaseID             string // "" → minted (or the base of the version chain)
	Form               *string
	Size               *int64
	FileName           *string
	Version            *string
	Uploader           *string
	Description        *string
	ContentCreatedDate *time.Time
	ContentUpdatedDate *time.Time
	Hashes             map[string]string
	URLs               []string
	URLsMetadata       map[string]map[string]string
	ACL                []string
	Authz              []string
	Metadata           map[string]string
	// Aliases are claimed in the same transaction as the record
	// (ADD_PREFIX_ALIAS); a taken alias fails the whole create.
	Aliases []string
}

// RecordUpdate holds the fields a PUT replaces; nil fields stay as they are.
type RecordUpdate struct {
	URLs               *[]string
	URLsMetadata       *map[string]map[string]string
	ACL                *[]string
	Authz              *[]string
	FileName           *string
	Version            *string
	Uploader           *string
	Description        *string
	Metadata           *map[string]string
	ContentCreatedDate *time.Time
	ContentUpdatedDate *time.Time
	// Blank fills: only for PUT /index/blank/{id}.
	Size   *int64
	Hashes *map[string]string
}

// KV is one key:value filter term.
type KV struct{ Key, Value string }

// ListFilter is a parsed GET /index (or DRS list) query. The zero value lists
// everything from the start in did order.
type ListFilter struct {
	IDs          []string
	Limit        int
	Start        string // keyset: dids strictly greater than Start
	Page         int    // -1: not set; else OFFSET Page*Limit (indexd compatibility)
	Size         *int64
	FileName     *string
	Version      *string
	Uploader     *string
	Form         *string
	URLs         []string // every url must be present
	Hashes       []KV     // every type:value must match
	Metadata     []KV     // every k:v must match
	ACL          []string // every entry present; ACLNull selects empty acl
	ACLNull      bool
	Authz        []string
	AuthzNull    bool
	URLsMetadata map[string]map[string]string // url substring → k:v that its metadata must hold
	Negate       *Negation
	// OnlyObjects keeps records that are DRS objects: a size and at least
	// one checksum (blank records are not, until they are filled).
	OnlyObjects bool
}

// Negation is negate_params: records matching any of these are left out.
type Negation struct {
	FileName     *string                      `json:"file_name,omitempty"`
	Version      *string                      `json:"version,omitempty"`
	URLs         []string                     `json:"urls,omitempty"`
	ACL          []string                     `json:"acl,omitempty"`
	Authz        []string                     `json:"authz,omitempty"`
	Hashes       map[string]string            `json:"hashes,omitempty"`
	Metadata     map[string]string            `json:"metadata,omitempty"`
	URLsMetadata map[string]map[string]string `json:"urls_metadata,omitempty"`
}

// Page is one page of a list, with the did to start after for the next page
// ("" when this was the last page).
type Page struct {
	Records []Record
	Next    string
}

// URLListFilter is a GET /urls query (indexd's get_urls): the url rows of
// the visible records matching every filter given, in did order, then in
// the order of the record's urls. Offset and Limit count url rows.
type URLListFilter struct {
	IDs    []string
	Size   *int64
	Hashes []KV // every type:value must match
	Offset int
	Limit  int
}

// URLEntry is one (record, url) row of GET /urls, with that url's metadata.
type URLEntry struct {
	DID      string
	URL      string
	Metadata map[string]string
}

// URLMatch is one row of a URL query: a record with its urls
// (/_query/urls/q), or one (record, url) pair (/_query/urls/metadata/q).
type URLMatch struct {
	DID  string
	Rev  string
	URLs []string
}

// URLQuery is a /_query/urls/q or /_query/urls/metadata/q search.
type URLQuery struct {
	Include   string // url substring that must be present
	Exclude   string // url substring that must be absent from every url
	Key       string // urls_metadata key (metadata/q)
	Value     string // urls_metadata value (metadata/q)
	URL       string // url substring the metadata must belong to (metadata/q)
	Versioned *bool  // true: only records with a version; false: only without
	Limit     int
	Offset    int
}

// Stats are /_stats and DRS service-info figures.
type Stats struct {
	FileCount     int64
	TotalFileSize int64
}

// Limits shared by the HTTP and storage layers.
const (
	DefaultLimit    = 100
	MaxLimit        = 1024
	MaxBulkIDs      = 1024
	MaxIDLength     = 256
	MaxGUIDMintSize = 10000
	// MaxOffset bounds the url listings' integer offsets (an OFFSET reads
	// every row it skips). page=N of the record list has no bound: deep
	// pages start from cached page boundaries (package pageindex).
	MaxOffset = 100_000
)
