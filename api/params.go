package api

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/datacommons/indexd"
)

// listQuery is a parsed GET /index query plus what the envelope echoes.
type listQuery struct {
	Filter indexd.ListFilter
	// explicit marks a limit given by the caller.
	LimitGiven bool
	// Cursor given instead of start.
	Cursor string
}

// ParseListQuery parses the indexd list parameters (and our cursor). It is
// exported for fuzzing: no input may panic, every rejection is ErrInvalid.
func ParseListQuery(q url.Values) (listQuery, error) {
	var lq listQuery
	f := &lq.Filter
	f.Page = -1
	f.Limit = indexd.DefaultLimit
	if err := checkQueryText(q); err != nil {
		return lq, err
	}
	if v, ok := single(q, "limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > indexd.MaxLimit {
			return lq, indexd.Invalidf("limit must be an integer between 0 and %d", indexd.MaxLimit)
		}
		f.Limit, lq.LimitGiven = n, true
	}
	if v, ok := single(q, "start"); ok {
		f.Start = v
	}
	if v, ok := single(q, "cursor"); ok && v != "" {
		did, err := DecodeCursor(v)
		if err != nil {
			return lq, err
		}
		if f.Start != "" {
			return lq, indexd.Invalidf("give start or cursor, not both")
		}
		f.Start, lq.Cursor = did, v
	}
	if v, ok := single(q, "page"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1_000_000 {
			return lq, indexd.Invalidf("page must be a non-negative integer")
		}
		// Any depth: deep pages are keyset reads from the list's page
		// boundaries (repository/pagebounds.go).
		f.Page = n
	}
	// An empty ids= is no ids filter (as indexd, which tests "if ids").
	if v, ok := single(q, "ids"); ok && len(splitList(v)) > 0 {
		if lq.LimitGiven || f.Start != "" || f.Page >= 0 {
			return lq, indexd.Invalidf("ids cannot be combined with limit, start, cursor or page")
		}
		f.IDs = splitList(v)
		if len(f.IDs) > indexd.MaxBulkIDs {
			return lq, indexd.Invalidf("ids holds more than %d ids", indexd.MaxBulkIDs)
		}
		f.Limit = indexd.MaxLimit
	}
	if v, ok := single(q, "size"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return lq, indexd.Invalidf("size must be an integer >= 0")
		}
		f.Size = &n
	}
	for _, p := range []struct {
		name string
		dst  **string
	}{{"file_name", &f.FileName}, {"version", &f.Version}, {"uploader", &f.Uploader}} {
		if v, ok := single(q, p.name); ok {
			v := v
			*p.dst = &v
		}
	}
	if v, ok := single(q, "form"); ok && v != "" && v != "all" {
		switch v {
		case indexd.FormObject, indexd.FormContainer, indexd.FormMultipart:
			f.Form = &v
		default:
			return lq, indexd.Invalidf("form must be object, container, multipart or all")
		}
	}
	f.URLs = nonEmpty(q["url"])
	for _, h := range q["hash"] {
		kv, err := indexd.ParseHashTerm(h)
		if err != nil {
			return lq, err
		}
		f.Hashes = setKV(f.Hashes, kv)
	}
	for _, m := range q["metadata"] {
		k, v, ok := strings.Cut(m, ":")
		if !ok || k == "" {
			return lq, indexd.Invalidf("metadata filter %q must be key:value", m)
		}
		f.Metadata = setKV(f.Metadata, indexd.KV{Key: k, Value: v})
	}
	if v, ok := single(q, "acl"); ok {
		f.ACL, f.ACLNull = nullableList(v)
	}
	if v, ok := single(q, "authz"); ok {
		f.Authz, f.AuthzNull = nullableList(v)
	}
	if v, ok := single(q, "urls_metadata"); ok && v != "" {
		var um map[string]map[string]string
		if err := json.Unmarshal([]byte(v), &um); err != nil {
			return lq, indexd.Invalidf("urls_metadata must be a JSON object of url → {key: string value}")
		}
		if err := indexd.ValidateNestedTextMap("urls_metadata", um); err != nil {
			return lq, err
		}
		f.URLsMetadata = um
	}
	if v, ok := single(q, "negate_params"); ok && v != "" {
		var n indexd.Negation
		if err := DecodeStrict([]byte(v), &n); err != nil {
			return lq, indexd.Invalidf("negate_params: %s", indexd.Message(err))
		}
		if err := indexd.ValidateNegation(&n); err != nil {
			return lq, err
		}
		f.Negate = &n
	}
	return lq, nil
}

// setKV sets kv in list: a repeated key (hash=md5:A&hash=md5:B) keeps its
// first position and takes the last value, as indexd builds a dict.
func setKV(list []indexd.KV, kv indexd.KV) []indexd.KV {
	for i := range list {
		if list[i].Key == kv.Key {
			list[i].Value = kv.Value
			return list
		}
	}
	return append(list, kv)
}

// checkQueryText rejects parameters that are not text the database can
// compare with: invalid UTF-8 or NUL.
func checkQueryText(q url.Values) error {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range q[k] {
			if !utf8.ValidString(k) || !utf8.ValidString(v) || strings.ContainsRune(k+v, 0) {
				return indexd.Invalidf("query parameter %q is not valid UTF-8 text", strings.ToValidUTF8(k, "?"))
			}
		}
	}
	return nil
}

// single returns the first value of a parameter, as indexd reads it
// (Flask's request.args.get, a werkzeug MultiDict, answers the first).
func single(q url.Values, k string) (string, bool) {
	vs, ok := q[k]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func nonEmpty(vs []string) []string {
	var out []string
	for _, v := range vs {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// nullableList parses acl/authz: the literal "null" selects empty lists.
func nullableList(v string) ([]string, bool) {
	if v == "null" {
		return nil, true
	}
	return splitList(v), false
}

const cursorVersion = "1:"

// EncodeCursor makes the opaque next-page token for a did.
func EncodeCursor(did string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorVersion + did))
}

// DecodeCursor reverses EncodeCursor; a token it did not make is ErrInvalid.
func DecodeCursor(tok string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || !strings.HasPrefix(string(b), cursorVersion) {
		return "", indexd.Invalidf("cursor is not one this service issued")
	}
	did := strings.TrimPrefix(string(b), cursorVersion)
	if did == "" || len(did) > indexd.MaxIDLength {
		return "", indexd.Invalidf("cursor is not one this service issued")
	}
	return did, nil
}
