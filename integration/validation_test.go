package integration

// SPEC §6: every malformed request gets a 4xx JSON {"error": ...} naming the
// problem, never a 500, and never a partial write.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/datacommons/indexd"
)

// vaCount is the number of records GET /index sees.
func vaCount(t testing.TB, e *Env) int {
	t.Helper()
	return len(ixDIDs(t, lsList(t, e, "limit=1024")["records"]))
}

// vaBody builds a valid create body as JSON text with one field replaced
// (or removed, when value is ""), so wrong types can be written literally.
func vaBody(did, field, value string) string {
	fields := map[string]string{
		"did": `"` + did + `"`, "form": `"object"`, "size": `12`, "urls": `["s3://b/x"]`,
		"hashes": `{"md5": "` + ixMD5a + `"}`, "authz": `["/programs/p1"]`,
	}
	order := []string{"did", "form", "size", "urls", "hashes", "authz"}
	if field != "" {
		if _, ok := fields[field]; !ok {
			order = append(order, field)
		}
		fields[field] = value
	}
	var parts []string
	for _, k := range order {
		if v := fields[k]; v != "" {
			parts = append(parts, fmt.Sprintf("%q: %s", k, v))
		}
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func TestValidationCreate(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	ixRef(t, e.Do(http.MethodPost, "/index", w, vaBody("va-ok", "", "")), http.StatusOK)
	long := strings.Repeat("a", 257)
	cases := []struct {
		name string
		body string
		want string // the error message must contain this
	}{
		{"empty body", "", "request body must be a JSON document"},
		{"whitespace body", " \n ", "request body must be a JSON document"},
		{"malformed", `{"form": "object",`, "malformed JSON"},
		{"syntax error", `{"form": object}`, "malformed JSON at byte"},
		{"two values", vaBody("va-1", "", "") + " {}", "request body must hold exactly one JSON value"},
		{"trailing garbage", vaBody("va-1", "", "") + " x", "request body must hold exactly one JSON value"},
		{"array", `[]`, "request body must be an object, not array"},
		{"string", `"x"`, "request body must be an object, not string"},
		{"null", `null`, "form is required (object, container or multipart)"},
		{"unknown field", vaBody("va-1", "bogus", "1"), `unknown field "bogus"`},
		{"rev is not a create field", vaBody("va-1", "rev", `"abcd0123"`), `unknown field "rev"`},
		{"size string", vaBody("va-1", "size", `"12"`), "field size: expected an integer, got string"},
		{"size float", vaBody("va-1", "size", `1.5`), "field size: expected an integer, got number 1.5"},
		{"size huge", vaBody("va-1", "size", `1e30`), "field size: expected an integer, got number 1e30"},
		{"size negative", vaBody("va-1", "size", `-1`), "size must be >= 0"},
		{"size missing", vaBody("va-1", "size", ""), "size is required"},
		{"form missing", vaBody("va-1", "form", ""), "form is required (object, container or multipart)"},
		{"form bad", vaBody("va-1", "form", `"folder"`), `form "folder" must be object, container or multipart`},
		{"form number", vaBody("va-1", "form", `1`), "field form: expected a string, got number"},
		{"urls missing", vaBody("va-1", "urls", ""), "urls is required"},
		{"urls string", vaBody("va-1", "urls", `"s3://x"`), "field urls: expected an array, got string"},
		{"urls number entry", vaBody("va-1", "urls", `[1]`), "field urls: expected a string, got number"},
		{"urls empty entry", vaBody("va-1", "urls", `[""]`), "urls must not contain empty strings"},
		{"urls NUL", vaBody("va-1", "urls", `["s3://a\u0000b"]`), "urls entry must be valid UTF-8 text without NUL bytes"},
		{"hashes missing", vaBody("va-1", "hashes", ""), "hashes must hold at least one of crc, etag, md5, sha1, sha256, sha512"},
		{"hashes empty", vaBody("va-1", "hashes", `{}`), "hashes must hold at least one of"},
		{"hashes array", vaBody("va-1", "hashes", `["md5"]`), "field hashes: expected an object, got array"},
		{"hash malformed", vaBody("va-1", "hashes", `{"md5": "xyz"}`), `hash md5 value "xyz" is malformed`},
		{"hash uppercase", vaBody("va-1", "hashes", `{"md5": "`+strings.ToUpper(ixMD5a)+`"}`), "hash md5 value"},
		{"hash too long", vaBody("va-1", "hashes", `{"sha1": "`+ixMD5a+`00000000x"}`), "hash sha1 value"},
		{"hash unknown type", vaBody("va-1", "hashes", `{"md6": "`+ixMD5a+`"}`), `hash type "md6" is not supported`},
		{"hash value number", vaBody("va-1", "hashes", `{"md5": 5}`), "field hashes: expected a string, got number"},
		{"etag ok but crc bad", vaBody("va-1", "hashes", `{"etag": "`+ixMD5a+`-3", "crc": "1234567"}`), `hash crc value "1234567" is malformed`},
		{"metadata value number", vaBody("va-1", "metadata", `{"a": 1}`), "field metadata: expected a string, got number"},
		{"urls_metadata key not in urls", vaBody("va-1", "urls_metadata", `{"s3://other": {"k": "v"}}`), `urls_metadata key "s3://other" is not one of urls`},
		{"urls_metadata value not object", vaBody("va-1", "urls_metadata", `{"s3://b/x": "v"}`), "field urls_metadata: expected an object, got string"},
		{"acl empty entry", vaBody("va-1", "acl", `["ok", ""]`), "acl must not contain empty strings"},
		{"authz relative", vaBody("va-1", "authz", `["programs/p1"]`), `authz path "programs/p1" must start with '/'`},
		{"authz double slash", vaBody("va-1", "authz", `["/programs//p1"]`), `authz path "/programs//p1" has an empty segment`},
		{"authz trailing slash", vaBody("va-1", "authz", `["/programs/p1/"]`), `authz path "/programs/p1/" has an empty segment`},
		{"authz object", vaBody("va-1", "authz", `{"a": 1}`), "field authz: expected an array, got object"},
		{"content dates out of order", vaBody("va-1", "content_created_date", `"2021-01-01T00:00:00", "content_updated_date": "2020-12-31T23:59:59"`),
			"content_updated_date must not be before content_created_date"},
		{"content date not ISO", vaBody("va-1", "content_created_date", `"yesterday"`), `content_created_date "yesterday" is not an ISO 8601 date`},
		{"content updated without created", vaBody("va-1", "content_updated_date", `"2020-01-01"`), "content_updated_date needs content_created_date"},
		{"did empty", vaBody("", "", ""), "did must not be empty"},
		{"did space", vaBody("va 1", "", ""), `id "va 1" contains a character that is not allowed (' ')`},
		{"did query char", vaBody("va?1", "", ""), `contains a character that is not allowed ('?')`},
		{"did percent", vaBody("va%201", "", ""), `contains a character that is not allowed ('%')`},
		{"did unicode", vaBody("vä", "", ""), "contains a character that is not allowed"},
		{"did too long", vaBody(long, "", ""), "id is longer than 256 bytes"},
		{"did empty segment", vaBody("a//b", "", ""), `id "a//b" has an empty path segment`},
		{"did trailing slash", vaBody("a/b/", "", ""), `id "a/b/" has an empty path segment`},
		{"did leading slash", vaBody("/a", "", ""), `id "/a" has an empty path segment`},
		{"did dot-dot", vaBody("a/../b", "", ""), `id "a/../b" has a relative path segment`},
		{"did route word", vaBody("a/versions", "", ""), `id "a/versions" contains the reserved segment "versions"`},
		{"did blank route", vaBody("blank/x", "", ""), `id "blank/x" may not start with the reserved segment "blank"`},
		{"did blank", vaBody("blank", "", ""), `id "blank" may not start with the reserved segment "blank"`},
		{"baseid blank route", vaBody("va-1", "baseid", `"blank/b"`), `baseid: id "blank/b" may not start with the reserved segment "blank"`},
		{"did number", vaBody("x", "did", `5`), "field did: expected a string, got number"},
		{"baseid bad", vaBody("va-1", "baseid", `"a b"`), "baseid: id \"a b\" contains a character that is not allowed"},
		{"invalid UTF-8", "{\"did\": \"va-1\", \"form\": \"object\", \"file_name\": \"\xff\xfe\"}", "request body is not valid UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ixErrHas(t, e.Do(http.MethodPost, "/index", w, c.body), http.StatusBadRequest, c.want)
		})
	}
	// nothing was written by any of them
	if n := vaCount(t, e); n != 1 {
		t.Fatalf("%d records after rejected creates, want 1", n)
	}
	ixErrIs(t, e.Do(http.MethodGet, "/index/va-1", "", nil), http.StatusNotFound, "no record found")

	t.Run("content type", func(t *testing.T) {
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "not a media type;;"} {
			ixErrIs(t, ixRaw(e, http.MethodPost, "/index", w, ct, []byte(vaBody("va-ct", "", ""))), http.StatusUnsupportedMediaType, "content type must be application/json")
		}
		ixErrIs(t, ixRaw(e, http.MethodPost, "/bulk/documents", "", "text/plain", []byte(`["va-ok"]`)), http.StatusUnsupportedMediaType, "content type must be application/json")
		ixErrIs(t, e.Do(http.MethodGet, "/index/va-ct", "", nil), http.StatusNotFound, "no record found")
		// JSON with parameters and +json suffixes are JSON; a missing
		// Content-Type is read as JSON (curl -d without -H)
		ixRef(t, ixRaw(e, http.MethodPost, "/index", w, "", []byte(vaBody("va-ct0", "", ""))), http.StatusOK)
		ixRef(t, ixRaw(e, http.MethodPost, "/index", w, "application/json; charset=utf-8", []byte(vaBody("va-ct1", "", ""))), http.StatusOK)
		ixRef(t, ixRaw(e, http.MethodPost, "/index", w, "application/vnd.api+json", []byte(vaBody("va-ct2", "", ""))), http.StatusOK)
	})
	t.Run("oversized body", func(t *testing.T) {
		big := vaBody("va-big", "description", `"`+strings.Repeat("x", 1100*1024)+`"`)
		ixErrIs(t, e.Do(http.MethodPost, "/index", w, big), http.StatusRequestEntityTooLarge, "request body too large")
		ixErrIs(t, e.Do(http.MethodGet, "/index/va-big", "", nil), http.StatusNotFound, "no record found")
		// just under the limit (1M = 1,000,000 bytes) is fine
		ok := vaBody("va-big", "description", `"`+strings.Repeat("x", 990*1000)+`"`)
		ixRef(t, e.Do(http.MethodPost, "/index", w, ok), http.StatusOK)
	})
}

func TestValidationUpdate(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	body := map[string]any{
		"did": "vu/1", "form": "object", "size": 5, "urls": []string{"s3://b/1", "s3://b/2"},
		"urls_metadata": map[string]any{"s3://b/1": map[string]string{"k": "v"}},
		"hashes":        map[string]string{"md5": ixMD5a}, "authz": []string{"/programs/p1"}, "file_name": "f",
		"content_created_date": "2020-06-01T00:00:00",
	}
	ref := ixRef(t, e.Do(http.MethodPost, "/index", w, body), http.StatusOK)
	orig := ixGetRecord(t, e, "vu/1")
	if orig["content_updated_date"] != "2020-06-01T00:00:00" {
		t.Fatalf("content_updated_date %v: should default to content_created_date", orig["content_updated_date"])
	}
	put := "/index/vu/1?rev=" + ref.Rev
	cases := []struct {
		name, body, want string
	}{
		{"unknown field", `{"bogus": 1}`, `unknown field "bogus"`},
		{"size is not updatable", `{"size": 6}`, `unknown field "size"`},
		{"hashes are not updatable", `{"hashes": {"md5": "` + ixMD5b + `"}}`, `unknown field "hashes"`},
		{"did is not updatable", `{"did": "x"}`, `unknown field "did"`},
		{"form is not updatable", `{"form": "container"}`, `unknown field "form"`},
		{"file_name number", `{"file_name": 5}`, "field file_name: expected a string, got number"},
		{"metadata value number", `{"metadata": {"a": true}}`, "field metadata: expected a string, got bool"},
		{"urls_metadata key not in current urls", `{"urls_metadata": {"s3://b/9": {}}}`, `urls_metadata key "s3://b/9" is not one of urls`},
		{"urls_metadata key not in new urls", `{"urls": ["s3://b/3"], "urls_metadata": {"s3://b/1": {}}}`, `urls_metadata key "s3://b/1" is not one of urls`},
		{"urls empty entry", `{"urls": ["s3://b/1", ""]}`, "urls must not contain empty strings"},
		{"authz relative", `{"authz": ["p1"]}`, `authz path "p1" must start with '/'`},
		{"acl empty entry", `{"acl": [""]}`, "acl must not contain empty strings"},
		{"dates out of order", `{"content_created_date": "2022-01-01", "content_updated_date": "2021-01-01"}`, "content_updated_date must not be before content_created_date"},
		{"updated before stored created", `{"content_updated_date": "2019-01-01"}`, "content_updated_date must not be before content_created_date"},
		{"created after stored updated", `{"content_created_date": "2021-01-01"}`, "content_updated_date must not be before content_created_date"},
		{"bad date", `{"content_created_date": "2020-13-45"}`, `content_created_date "2020-13-45" is not an ISO 8601 date`},
		{"array body", `[]`, "request body must be an object, not array"},
		{"malformed", `{"file_name": "x"`, "malformed JSON"},
		{"invalid UTF-8", "{\"file_name\": \"\xc3\x28\"}", "request body is not valid UTF-8"},
		{"empty", ``, "request body must be a JSON document"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ixErrHas(t, e.Do(http.MethodPut, put, w, c.body), http.StatusBadRequest, c.want)
		})
	}
	ixEqual(t, "record after rejected updates", ixGetRecord(t, e, "vu/1"), orig)

	t.Run("content type and size", func(t *testing.T) {
		ixErrIs(t, ixRaw(e, http.MethodPut, put, w, "text/plain", []byte(`{"file_name": "g"}`)), http.StatusUnsupportedMediaType, "content type must be application/json")
		big := `{"description": "` + strings.Repeat("y", 1100*1024) + `"}`
		ixErrIs(t, e.Do(http.MethodPut, put, w, big), http.StatusRequestEntityTooLarge, "request body too large")
		ixEqual(t, "record after rejected updates", ixGetRecord(t, e, "vu/1"), orig)
	})
	t.Run("other write bodies", func(t *testing.T) {
		ixErrHas(t, e.Do(http.MethodPost, "/index/vu/1", w, `{"form": "object", "size": -3, "urls": [], "hashes": {"md5": "`+ixMD5a+`"}}`), http.StatusBadRequest, "size must be >= 0")
		ixErrHas(t, e.Do(http.MethodPut, "/index/vu/1/versions", w, `{"acl": "x"}`), http.StatusBadRequest, "field acl: expected an array, got string")
		ixErrHas(t, e.Do(http.MethodPost, "/index/vu/1/aliases", w, `{"aliases": ["x"]}`), http.StatusBadRequest, "field aliases: expected an object, got string")
		ixErrHas(t, e.Do(http.MethodPost, "/index/blank", w, `{"uploader": 1}`), http.StatusBadRequest, "field uploader: expected a string, got number")
		ixErrHas(t, e.Do(http.MethodPost, "/bulk/documents", "", `["a",`), http.StatusBadRequest, "malformed JSON")
		ixEqual(t, "versions", ixOK(t, e.Do(http.MethodGet, "/index/vu/1/versions", "", nil))["1"], nil)
		ixEqual(t, "aliases", ixOK(t, e.Do(http.MethodGet, "/index/vu/1/aliases", "", nil)), map[string]any{"aliases": []any{}})
		ixEqual(t, "record", ixGetRecord(t, e, "vu/1"), orig)
	})
}

// TestValidationPathIDs: ids in paths are checked like ids in bodies.
func TestValidationPathIDs(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	ixRef(t, e.Do(http.MethodPost, "/index", w, Rec("vp-1", "/programs/p1")), http.StatusOK)
	cases := []struct{ method, path, want string }{
		{http.MethodGet, "/index/a%20b", `id "a b" contains a character that is not allowed (' ')`},
		{http.MethodGet, "/index/%ff", "contains a character that is not allowed"},
		{http.MethodGet, "/index/a/../b", `id "a/../b" has a relative path segment`},
		{http.MethodGet, "/index/a//b", `id "a//b" has an empty path segment`},
		{http.MethodGet, "/index/" + strings.Repeat("z", 300), "id is longer than 256 bytes"},
		{http.MethodGet, "/index/a%22b/versions", `contains a character that is not allowed ('"')`},
		{http.MethodGet, "/index/vp-1/aliases/a%20b", "alias: "},
		{http.MethodPut, "/index/a%20b?rev=12345678", "contains a character that is not allowed"},
		{http.MethodDelete, "/index/a%20b?rev=12345678", "contains a character that is not allowed"},
		{http.MethodPost, "/index/a%20b", "contains a character that is not allowed"},
		{http.MethodPut, "/index/blank/a%20b?rev=12345678", "contains a character that is not allowed"},
		{http.MethodDelete, "/index/vp-1/aliases/a%3Cb", "alias: "},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			ixErrHas(t, e.Do(c.method, c.path, w, `{"file_name": "x"}`), http.StatusBadRequest, c.want)
		})
	}
	if n := vaCount(t, e); n != 1 {
		t.Fatalf("%d records, want 1", n)
	}
}

// vaRandom is n bytes of hex that does not compress (the database
// compresses long index entries, so repeated characters would fit).
func vaRandom(n int) string {
	var b strings.Builder
	h := sha256.Sum256([]byte("va"))
	for b.Len() < n {
		b.WriteString(hex.EncodeToString(h[:]))
		h = sha256.Sum256(h[:])
	}
	return b.String()[:n]
}

// TestValidationLimitsAndText: values too long to index, and NUL bytes in
// any string field or map key, are a 400 naming the field on every write
// path (create, update, new version, update all versions, blank records),
// never the database's error or a 500; nothing is written.
func TestValidationLimitsAndText(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	base := Rec("vl/1", "/programs/p1")
	base["acl"] = []string{"open"}
	ref := ixRef(t, e.Do(http.MethodPost, "/index", w, base), http.StatusOK)
	orig := ixGetRecord(t, e, "vl/1")

	longURL := "s3://b/" + vaRandom(3000)
	longPath := "/programs/" + vaRandom(1100)
	manyPaths := make([]string, 65)
	for i := range manyPaths {
		manyPaths[i] = fmt.Sprintf("/programs/p%d", i)
	}
	bigSet := []string{"/a/" + vaRandom(1000), "/b/" + vaRandom(1000), "/c/" + vaRandom(100)}
	// field → body value (JSON) → message part
	cases := []struct {
		name, field, value, want string
	}{
		{"url too long", "urls", `["` + longURL + `"]`, "urls entry is longer than 2048 bytes"},
		{"acl too long", "acl", `["` + vaRandom(3000) + `"]`, "acl entry is longer than 2048 bytes"},
		{"authz path too long", "authz", `["` + longPath + `"]`, "authz entry is longer than 1024 bytes"},
		{"authz too many paths", "authz", `["` + strings.Join(manyPaths, `","`) + `"]`, "authz holds more than 64 paths"},
		{"authz list too long", "authz", `["` + strings.Join(bigSet, `","`) + `"]`, "authz paths are longer than 2048 bytes together"},
		{"file_name too long", "file_name", `"` + vaRandom(3000) + `"`, "file_name is longer than 2048 bytes"},
		{"version too long", "version", `"` + vaRandom(3000) + `"`, "version is longer than 2048 bytes"},
		{"uploader too long", "uploader", `"` + vaRandom(3000) + `"`, "uploader is longer than 2048 bytes"},
		{"file_name NUL", "file_name", `"a\u0000b"`, "file_name must be valid UTF-8 text without NUL bytes"},
		{"version NUL", "version", `"\u0000"`, "version must be valid UTF-8 text without NUL bytes"},
		{"uploader NUL", "uploader", `"u\u0000"`, "uploader must be valid UTF-8 text without NUL bytes"},
		{"description NUL", "description", `"d\u0000"`, "description must be valid UTF-8 text without NUL bytes"},
		{"metadata key NUL", "metadata", `{"k\u0000": "v"}`, `metadata key "k\x00" must be valid UTF-8 text without NUL bytes`},
		{"metadata value NUL", "metadata", `{"k": "v\u0000"}`, `metadata value of "k" must be valid UTF-8 text without NUL bytes`},
		{"urls_metadata key NUL", "urls_metadata", `{"s3://bucket/vl_1": {"k\u0000": "v"}}`, `urls_metadata["s3://bucket/vl_1"] key "k\x00"`},
		{"urls_metadata value NUL", "urls_metadata", `{"s3://bucket/vl_1": {"k": "\u0000"}}`, `urls_metadata["s3://bucket/vl_1"] value of "k"`},
		{"urls_metadata url NUL", "urls_metadata", `{"s3://\u0000": {}}`, `urls_metadata key "s3://\x00" must be valid UTF-8 text`},
		{"acl NUL", "acl", `["a\u0000"]`, "acl entry must be valid UTF-8 text without NUL bytes"},
		{"authz NUL", "authz", `["/a\u0000"]`, "authz entry must be valid UTF-8 text without NUL bytes"},
		{"hash type NUL", "hashes", `{"md5\u0000": "` + ixMD5a + `"}`, `hash type "md5\x00" is not supported`},
	}
	for _, c := range cases {
		t.Run("create "+c.name, func(t *testing.T) {
			body := vaBody("vl/new", c.field, c.value)
			if c.field == "urls_metadata" {
				body = vaBody("vl/new", "urls", `["s3://bucket/vl_1"]`)
				body = strings.TrimSuffix(body, "}") + `, "urls_metadata": ` + c.value + "}"
			}
			ixErrHas(t, e.Do(http.MethodPost, "/index", w, body), http.StatusBadRequest, c.want)
		})
		t.Run("new version "+c.name, func(t *testing.T) {
			body := vaBody("vl/v2", c.field, c.value)
			if c.field == "urls_metadata" {
				body = vaBody("vl/v2", "urls", `["s3://bucket/vl_1"]`)
				body = strings.TrimSuffix(body, "}") + `, "urls_metadata": ` + c.value + "}"
			}
			ixErrHas(t, e.Do(http.MethodPost, "/index/vl/1", w, body), http.StatusBadRequest, c.want)
		})
		if c.field == "hashes" {
			continue // not updatable
		}
		t.Run("update "+c.name, func(t *testing.T) {
			ixErrHas(t, e.Do(http.MethodPut, "/index/vl/1?rev="+ref.Rev, w, `{"`+c.field+`": `+c.value+`}`), http.StatusBadRequest, c.want)
		})
		if c.field == "acl" || c.field == "authz" {
			t.Run("versions "+c.name, func(t *testing.T) {
				ixErrHas(t, e.Do(http.MethodPut, "/index/vl/1/versions", w, `{"`+c.field+`": `+c.value+`}`), http.StatusBadRequest, c.want)
			})
		}
		if c.field == "file_name" || c.field == "uploader" || c.field == "authz" || c.field == "acl" {
			t.Run("blank "+c.name, func(t *testing.T) {
				body := `{"uploader": "u", "` + c.field + `": ` + c.value + `}`
				if c.field == "uploader" {
					body = `{"uploader": ` + c.value + `}`
				}
				ixErrHas(t, e.Do(http.MethodPost, "/index/blank", w, body), http.StatusBadRequest, c.want)
			})
		}
	}
	t.Run("just within the limits", func(t *testing.T) {
		b := Rec("vl/max", "/programs/"+vaRandom(1024-len("/programs/")))
		b["urls"] = []string{"s3://b/" + vaRandom(2048-len("s3://b/"))}
		b["acl"] = []string{vaRandom(2048)}
		b["file_name"], b["version"], b["uploader"] = vaRandom(2048), vaRandom(2048), vaRandom(2048)
		ixRef(t, e.Do(http.MethodPost, "/index", w, b), http.StatusOK)
		two := Rec("vl/max2", "/a/"+vaRandom(1021), "/b/"+vaRandom(1021))
		ixRef(t, e.Do(http.MethodPost, "/index", w, two), http.StatusOK)
		many := Rec("vl/max3", manyPaths[:64]...)
		ixRef(t, e.Do(http.MethodPost, "/index", w, many), http.StatusOK)
	})
	ixEqual(t, "record after rejected writes", ixGetRecord(t, e, "vl/1"), orig)
	ixErrIs(t, e.Do(http.MethodGet, "/index/vl/new", "", nil), http.StatusNotFound, "no record found")
	ixErrIs(t, e.Do(http.MethodGet, "/index/vl/v2", "", nil), http.StatusNotFound, "no record found")
	if n := vaCount(t, e); n != 4 {
		t.Fatalf("%d records, want 4", n)
	}

	// The database's own limit (SQLSTATE 54000), reached by bypassing
	// validation, is still a client error, never a 500.
	t.Run("program limit is invalid input", func(t *testing.T) {
		_, err := e.App.Store.Create(context.Background(), indexd.NewRecord{DID: "vl/raw", Authz: []string{"/" + vaRandom(3000)}})
		if !errors.Is(err, indexd.ErrInvalid) {
			t.Fatalf("store error %v, want indexd.ErrInvalid", err)
		}
		if m := indexd.Message(err); !strings.Contains(m, "too long to be stored") {
			t.Fatalf("message %q", m)
		}
	})
}

// TestValidationQueryJSON: NUL in the JSON of negate_params and
// urls_metadata list filters is a 400 naming the field.
func TestValidationQueryJSON(t *testing.T) {
	t.Parallel()
	e := Start(t)
	j := url.QueryEscape
	cases := []struct{ query, want string }{
		{"negate_params=" + j(`{"file_name":"a\u0000"}`), "negate_params file_name must be valid UTF-8 text without NUL bytes"},
		{"negate_params=" + j(`{"version":"\u0000"}`), "negate_params version must be valid UTF-8 text"},
		{"negate_params=" + j(`{"urls":["\u0000"]}`), "negate_params urls entry must be valid UTF-8 text"},
		{"negate_params=" + j(`{"acl":["\u0000"]}`), "negate_params acl entry"},
		{"negate_params=" + j(`{"authz":["\u0000"]}`), "negate_params authz entry"},
		{"negate_params=" + j(`{"metadata":{"k\u0000":""}}`), `negate_params metadata key "k\x00"`},
		{"negate_params=" + j(`{"metadata":{"k":"\u0000"}}`), `negate_params metadata value of "k"`},
		{"negate_params=" + j(`{"urls_metadata":{"s3":{"k":"\u0000"}}}`), `negate_params urls_metadata["s3"] value of "k"`},
		{"negate_params=" + j(`{"hashes":{"md5":"\u0000"}}`), `negate_params: hash md5 value "\x00" is malformed`},
		{"urls_metadata=" + j(`{"s3\u0000":{"k":"v"}}`), `urls_metadata key "s3\x00" must be valid UTF-8 text`},
		{"urls_metadata=" + j(`{"s3":{"k\u0000":"v"}}`), `urls_metadata["s3"] key "k\x00"`},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			ixErrHas(t, e.Do(http.MethodGet, "/index?"+c.query, "", nil), http.StatusBadRequest, c.want)
			var d struct {
				Msg        string `json:"msg"`
				StatusCode int    `json:"status_code"`
			}
			e.Do(http.MethodGet, "/ga4gh/drs/v1/objects?"+c.query, "", nil).MustStatus(t, http.StatusBadRequest).JSON(t, &d)
			if !strings.Contains(d.Msg, c.want) || d.StatusCode != http.StatusBadRequest {
				t.Fatalf("DRS list error %+v, want %q", d, c.want)
			}
		})
	}
}
