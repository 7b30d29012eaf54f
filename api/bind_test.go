package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/datacommons/indexd"
)

func TestDecodeStrictAccepts(t *testing.T) {
	var rb recordBody
	err := DecodeStrict([]byte(` {"did": "a/b", "size": 0, "hashes": {"md5": "x"}, "urls": [], "metadata": {"k": "v"}, "acl": null} `), &rb)
	if err != nil {
		t.Fatal(err)
	}
	if *rb.DID != "a/b" || *rb.Size != 0 || rb.Hashes["md5"] != "x" || rb.URLs == nil || len(rb.URLs) != 0 || rb.ACL != nil || rb.Metadata["k"] != "v" {
		t.Fatalf("decoded %+v", rb)
	}
	var ids []string
	if err := DecodeStrict([]byte("[\"a\", \"ü\"]\n"), &ids); err != nil || !reflect.DeepEqual(ids, []string{"a", "ü"}) {
		t.Fatalf("ids %v %v", ids, err)
	}
}

func TestDecodeStrictRejects(t *testing.T) {
	cases := []struct {
		name string
		body string
		into func() any
		want string
	}{
		{"empty", "", func() any { return &recordBody{} }, "request body must be a JSON document"},
		{"blank", " \t\r\n", func() any { return &recordBody{} }, "request body must be a JSON document"},
		{"invalid UTF-8", "{\"did\": \"\xff\"}", func() any { return &recordBody{} }, "request body is not valid UTF-8"},
		{"invalid UTF-8 outside strings", "{\"did\": \"a\"}\xc0", func() any { return &recordBody{} }, "request body is not valid UTF-8"},
		{"unknown field", `{"did": "a", "bogus": 1}`, func() any { return &recordBody{} }, `unknown field "bogus"`},
		{"unknown nested field", `{"aliases": [{"value": "a", "x": 1}]}`, func() any { return &aliasesPayload{} }, `unknown field "x"`},
		{"field type", `{"size": "1"}`, func() any { return &recordBody{} }, "field size: expected an integer, got string"},
		{"float size", `{"size": 2.5}`, func() any { return &recordBody{} }, "field size: expected an integer, got number 2.5"},
		{"overflow size", `{"size": 99999999999999999999}`, func() any { return &recordBody{} }, "field size: expected an integer, got number 99999999999999999999"},
		{"map value type", `{"metadata": {"a": []}}`, func() any { return &recordBody{} }, "field metadata: expected a string, got array"},
		{"nested map type", `{"urls_metadata": {"u": 1}}`, func() any { return &recordBody{} }, "field urls_metadata: expected an object, got number"},
		{"element type", `{"urls": [null, 1]}`, func() any { return &recordBody{} }, "field urls: expected a string, got number"},
		{"bool", `{"did": true}`, func() any { return &recordBody{} }, "field did: expected a string, got bool"},
		{"nested struct field", `{"aliases": [{"value": 1}]}`, func() any { return &aliasesPayload{} }, "field aliases.value: expected a string, got number"},
		{"top level array", `[]`, func() any { return &recordBody{} }, "request body must be an object, not array"},
		{"top level number", `12`, func() any { return &recordBody{} }, "request body must be an object, not number"},
		{"top level object for array", `{}`, func() any { return &[]string{} }, "request body must be an array, not object"},
		{"element of top level array", `["a", 2]`, func() any { return &[]string{} }, "request body: expected a string, got number"},
		{"syntax", `{"did": }`, func() any { return &recordBody{} }, "malformed JSON at byte 9"},
		{"truncated", `{"did": "a"`, func() any { return &recordBody{} }, "malformed JSON: unexpected end of input"},
		{"two values", `{} {}`, func() any { return &recordBody{} }, "request body must hold exactly one JSON value"},
		{"trailing token", `{}]`, func() any { return &recordBody{} }, "request body must hold exactly one JSON value"},
		{"trailing garbage", `[] x`, func() any { return &[]string{} }, "request body must hold exactly one JSON value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := DecodeStrict([]byte(c.body), c.into())
			if !errors.Is(err, indexd.ErrInvalid) {
				t.Fatalf("error %v, want ErrInvalid", err)
			}
			if got := indexd.Message(err); !strings.Contains(got, c.want) {
				t.Fatalf("message %q does not contain %q", got, c.want)
			}
		})
	}
}

// bdDecode runs decodeJSON on a request, through Echo's body limit;
// unsized sends the body without a Content-Length (as chunked uploads do).
func bdDecode(t *testing.T, ctype, body, limit string, unsized ...bool) error {
	t.Helper()
	e := echo.New()
	req := httptest.NewRequest(http.MethodPost, "/index", strings.NewReader(body))
	if len(unsized) > 0 && unsized[0] {
		req.ContentLength = -1
	}
	if ctype != "" {
		req.Header.Set(echo.HeaderContentType, ctype)
	}
	var got error
	h := middleware.BodyLimit(limit)(func(c echo.Context) error {
		var rb recordBody
		got = decodeJSON(c, &rb)
		return got
	})
	if err := h(e.NewContext(req, httptest.NewRecorder())); err != nil && got == nil {
		got = err
	}
	return got
}

func TestDecodeJSONContentTypeAndSize(t *testing.T) {
	for _, ct := range []string{"", "application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/problem+json"} {
		if err := bdDecode(t, ct, `{"did": "a"}`, "1K"); err != nil {
			t.Fatalf("content type %q: %v", ct, err)
		}
	}
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/jsonx", "a/b/c", ";"} {
		err := bdDecode(t, ct, `{"did": "a"}`, "1K")
		var he *echo.HTTPError
		if !errors.As(err, &he) || he.Code != http.StatusUnsupportedMediaType || he.Message != "content type must be application/json" {
			t.Fatalf("content type %q: %v, want 415", ct, err)
		}
	}
	// over the limit: 413, whether or not the length is declared up front
	for _, unsized := range []bool{false, true} {
		err := bdDecode(t, "application/json", `{"description": "`+strings.Repeat("x", 2000)+`"}`, "1K", unsized)
		var he *echo.HTTPError
		if !errors.As(err, &he) || he.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("oversized (unsized %v): %v, want 413", unsized, err)
		}
	}
}

func TestParseDate(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2020-01-02":                  time.Date(2020, 1, 2, 0, 0, 0, 0, time.UTC),
		"2020-01-02T03:04:05":         time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC),
		"2020-01-02T03:04:05.123456":  time.Date(2020, 1, 2, 3, 4, 5, 123456000, time.UTC),
		"2020-01-02T03:04:05Z":        time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC),
		"2020-01-02T05:04:05.5+02:00": time.Date(2020, 1, 2, 3, 4, 5, 500000000, time.UTC),
	} {
		got, err := parseDate("d", &in)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Fatalf("parseDate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "yesterday", "2020-13-01", "2020-01-02 03:04:05", "1577836800"} {
		in := in
		if _, err := parseDate("content_created_date", &in); !errors.Is(err, indexd.ErrInvalid) || !strings.Contains(indexd.Message(err), "content_created_date") {
			t.Fatalf("parseDate(%q): %v", in, err)
		}
	}
	if got, err := parseDate("d", nil); got != nil || err != nil {
		t.Fatalf("nil date: %v %v", got, err)
	}
}

func TestIsoformat(t *testing.T) {
	for in, want := range map[time.Time]string{
		time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC):                          "2020-01-02T03:04:05",
		time.Date(2020, 1, 2, 3, 4, 5, 999, time.UTC):                        "2020-01-02T03:04:05", // below a microsecond, as Python
		time.Date(2020, 1, 2, 3, 4, 5, 1000, time.UTC):                       "2020-01-02T03:04:05.000001",
		time.Date(2020, 1, 2, 5, 4, 5, 250000000, time.FixedZone("x", 7200)): "2020-01-02T03:04:05.250000",
	} {
		if got := isoformat(in); got != want {
			t.Fatalf("isoformat(%v) = %q, want %q", in, got, want)
		}
	}
}

// FuzzDecodeStrict: no body panics; every rejection is ErrInvalid with a
// message, whatever the target type. Record bodies then go the way the
// handlers take them: POST /index through toNew and ValidateNew, PUT
// /index/{id} through toUpdate and ValidateUpdate; whatever they accept
// obeys the record rules, restated here.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{
		"", "{}", "[]", "null", `{"did": "a", "size": 1}`, `{"size": "x"}`, `{"bogus": 1}`, `{"urls": [1]}`,
		"{\"did\": \"\xff\"}", `{} {}`, `{"aliases": [{"value": "a"}]}`, `["a", 1]`, `{"metadata": {"a": {}}}`, `{"size": 1e400}`,
		`{"form": "object", "size": 0, "urls": [], "hashes": {"md5": "0123456789abcdef0123456789abcdef"}}`,
		`{"form": "object", "size": 1, "urls": ["s3://b/k"], "hashes": {"etag": "0123456789abcdef0123456789abcdef-3"}, "urls_metadata": {"s3://b/k": {"a": "b"}}, "authz": ["/p/q"], "content_created_date": "2020-01-02", "content_updated_date": "2020-01-01"}`,
		`{"form": "folder", "size": 1, "urls": [], "hashes": {"md5": "0123456789abcdef0123456789abcdef"}}`,
		`{"form": "object", "size": -1, "urls": [], "hashes": {"md5": "0123456789abcdef0123456789abcdef"}}`,
		`{"content_updated_date": "2020-01-01"}`, `{"content_created_date": "2020-13-01"}`, `{"urls_metadata": {"s3://x": {}}}`,
		`{"did": "a//b"}`, `{"did": ""}`, `{"baseid": "a b"}`, `{"authz": ["/a/"]}`, `{"acl": ["a\u0000"]}`, `{"file_name": "\ud800"}`,
	} {
		f.Add([]byte(s))
	}
	current := &indexd.Record{DID: "cur", URLs: []string{"s3://b/cur"}, Authz: []string{"/p"}, CreatedDate: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, v := range []any{&recordBody{}, &updateBody{}, &[]string{}, &aliasesPayload{}, &indexd.Negation{}} {
			err := DecodeStrict(body, v)
			if err != nil && (!errors.Is(err, indexd.ErrInvalid) || indexd.Message(err) == "") {
				t.Fatalf("DecodeStrict(%q, %T): %v is not ErrInvalid with a message", body, v, err)
			}
		}
		var rb recordBody
		if DecodeStrict(body, &rb) == nil {
			n, err := rb.toNew()
			if err == nil {
				err = indexd.ValidateNew(&n, false)
			}
			if err != nil {
				mustBeRejection(t, "toNew/ValidateNew", body, err)
			} else {
				checkNewRecord(t, body, &n)
			}
		}
		var ub updateBody
		if DecodeStrict(body, &ub) == nil {
			u, err := ub.toUpdate()
			if err == nil {
				err = indexd.ValidateUpdate(&u, current)
			}
			if err != nil {
				mustBeRejection(t, "toUpdate/ValidateUpdate", body, err)
			} else {
				urls := current.URLs
				if u.URLs != nil {
					urls = *u.URLs
				}
				checkStrings(t, body, "urls", urls)
				if u.ACL != nil {
					checkStrings(t, body, "acl", *u.ACL)
				}
				if u.Authz != nil {
					checkAuthz(t, body, *u.Authz)
				}
				checkText(t, body, u.FileName, u.Version, u.Uploader, u.Description)
				if u.Metadata != nil {
					for k, v := range *u.Metadata {
						if !okText(k) || !okText(v) {
							t.Fatalf("%q: update accepted metadata %q: %q", body, k, v)
						}
					}
				}
				if u.URLsMetadata != nil {
					for k := range *u.URLsMetadata {
						if !slices.Contains(urls, k) {
							t.Fatalf("%q: update accepted urls_metadata key %q not in urls", body, k)
						}
					}
				}
			}
		}
	})
}

// checkNewRecord restates the rules for a record to create.
func checkNewRecord(t *testing.T, body []byte, n *indexd.NewRecord) {
	t.Helper()
	if n.DID != "" && indexd.ValidateID(n.DID) != nil || n.BaseID != "" && indexd.ValidateID(n.BaseID) != nil {
		t.Fatalf("%q: accepted did %q baseid %q", body, n.DID, n.BaseID)
	}
	if n.Form == nil || (*n.Form != indexd.FormObject && *n.Form != indexd.FormContainer && *n.Form != indexd.FormMultipart) {
		t.Fatalf("%q: accepted form %v", body, n.Form)
	}
	if n.Size == nil || *n.Size < 0 || n.URLs == nil || len(n.Hashes) == 0 {
		t.Fatalf("%q: accepted size %v urls %v hashes %v", body, n.Size, n.URLs, n.Hashes)
	}
	for k, v := range n.Hashes {
		if indexd.ValidateHash(k, v) != nil {
			t.Fatalf("%q: accepted hash %s:%q", body, k, v)
		}
	}
	checkStrings(t, body, "urls", n.URLs)
	checkStrings(t, body, "acl", n.ACL)
	checkAuthz(t, body, n.Authz)
	checkText(t, body, n.FileName, n.Version, n.Uploader, n.Description)
	for k, v := range n.Metadata {
		if !okText(k) || !okText(v) {
			t.Fatalf("%q: accepted metadata %q: %q", body, k, v)
		}
	}
	for u, m := range n.URLsMetadata {
		for k, v := range m {
			if !okText(u) || !okText(k) || !okText(v) {
				t.Fatalf("%q: accepted urls_metadata %q: %q: %q", body, u, k, v)
			}
		}
	}
	for k := range n.URLsMetadata {
		if !slices.Contains(n.URLs, k) {
			t.Fatalf("%q: accepted urls_metadata key %q not in urls", body, k)
		}
	}
	if n.ContentUpdatedDate != nil && (n.ContentCreatedDate == nil || n.ContentUpdatedDate.Before(*n.ContentCreatedDate)) {
		t.Fatalf("%q: accepted content dates %v, %v", body, n.ContentCreatedDate, n.ContentUpdatedDate)
	}
}

func checkStrings(t *testing.T, body []byte, field string, list []string) {
	t.Helper()
	if len(list) > 1000 {
		t.Fatalf("%q: accepted %d %s entries", body, len(list), field)
	}
	for _, s := range list {
		if s == "" || len(s) > indexd.MaxIndexedText || !okText(s) {
			t.Fatalf("%q: accepted %s entry %q", body, field, s)
		}
	}
}

// checkAuthz: a record's authz list stays indexable as a whole too.
func checkAuthz(t *testing.T, body []byte, list []string) {
	t.Helper()
	total := 0
	for _, p := range list {
		if !okResourcePath(p) {
			t.Fatalf("%q: accepted authz path %q", body, p)
		}
		total += len(p)
	}
	if len(list) > indexd.MaxAuthzPaths || total > indexd.MaxAuthzListSize {
		t.Fatalf("%q: accepted %d authz paths of %d bytes", body, len(list), total)
	}
}

func checkText(t *testing.T, body []byte, fields ...*string) {
	t.Helper()
	for i, f := range fields {
		// file_name, version, uploader are indexed; description is not
		if f != nil && (!okText(*f) || i < 3 && len(*f) > indexd.MaxIndexedText) {
			t.Fatalf("%q: accepted text field %q", body, *f)
		}
	}
}
