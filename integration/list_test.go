package integration

// GET /index: every filter, their combinations, the envelope, limits, ids,
// and paging through thousands of records with start, cursor and page.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/datacommons/indexd"
)

const (
	lsMD5a = "11111111111111111111111111111111"
	lsMD5b = "22222222222222222222222222222222"
	lsMD5c = "33333333333333333333333333333333"
	lsSHA1 = "4444444444444444444444444444444444444444"
)

// lsFixtures are six records that differ in every filtered field.
func lsFixtures() []indexd.NewRecord {
	obj, ctr, mp := indexd.FormObject, indexd.FormContainer, indexd.FormMultipart
	return []indexd.NewRecord{
		{DID: "lf-1", Form: &obj, Size: ixI64(10), FileName: ixStr("a.txt"), Version: ixStr("1"), Uploader: ixStr("ann"),
			Hashes: map[string]string{"md5": lsMD5a}, URLs: []string{"s3://b/1", "gs://b/1"},
			URLsMetadata: map[string]map[string]string{"s3://b/1": {"state": "ok", "tier": "hot"}},
			ACL:          []string{"open"}, Authz: []string{"/programs/a"}, Metadata: map[string]string{"proj": "x", "kind": "raw"}},
		{DID: "lf-2", Form: &obj, Size: ixI64(20), FileName: ixStr("b.txt"), Version: ixStr("1"), Uploader: ixStr("bob"),
			Hashes: map[string]string{"md5": lsMD5b, "sha1": lsSHA1}, URLs: []string{"s3://b/2"},
			URLsMetadata: map[string]map[string]string{"s3://b/2": {"state": "bad"}},
			ACL:          []string{"open", "phs1"}, Authz: []string{"/programs/a", "/programs/b"}, Metadata: map[string]string{"proj": "x"}},
		{DID: "lf-3", Form: &ctr, Size: ixI64(10), FileName: ixStr("a.txt"), Version: ixStr("2"), Uploader: ixStr("ann"),
			Hashes: map[string]string{"md5": lsMD5c}, URLs: []string{"s3://c/3"}, Metadata: map[string]string{"proj": "y"}},
		{DID: "lf-4", Form: &mp, Size: ixI64(0), Hashes: map[string]string{"sha256": ixSHA256}, URLs: []string{},
			ACL: []string{"phs1"}, Authz: []string{"/programs/b"}},
		{DID: "lf-5", Form: &obj, Size: ixI64(10), FileName: ixStr("c.txt"), Uploader: ixStr("bob"),
			Hashes: map[string]string{"md5": lsMD5a}, URLs: []string{"s3://b/1"},
			ACL: []string{"open"}, Authz: []string{"/programs/a"}, Metadata: map[string]string{"kind": "raw"}},
		{DID: "lf-6", Uploader: ixStr("zed"), Authz: []string{"/programs/c"}},
	}
}

// lsList GETs /index?query (200) and returns the envelope.
func lsList(t testing.TB, e *Env, query string) map[string]any {
	t.Helper()
	return ixOK(t, e.Do(http.MethodGet, "/index?"+query, "", nil))
}

func lsSet(s ...string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func TestListFilters(t *testing.T) {
	t.Parallel()
	e := Start(t)
	ixSeed(t, e, lsFixtures()...)
	all := lsSet("lf-1", "lf-2", "lf-3", "lf-4", "lf-5", "lf-6")
	j := url.QueryEscape
	cases := []struct {
		name, query string
		want        []string
	}{
		{"none", "", all},
		{"size", "size=10", lsSet("lf-1", "lf-3", "lf-5")},
		{"size zero", "size=0", lsSet("lf-4")},
		{"size none", "size=11", lsSet()},
		{"file_name", "file_name=a.txt", lsSet("lf-1", "lf-3")},
		{"version", "version=1", lsSet("lf-1", "lf-2")},
		{"uploader", "uploader=bob", lsSet("lf-2", "lf-5")},
		{"url", "url=" + j("s3://b/1"), lsSet("lf-1", "lf-5")},
		{"url repeated (all must be present)", "url=" + j("s3://b/1") + "&url=" + j("gs://b/1"), lsSet("lf-1")},
		{"hash", "hash=md5:" + lsMD5a, lsSet("lf-1", "lf-5")},
		{"hash repeated types", "hash=md5:" + lsMD5b + "&hash=sha1:" + lsSHA1, lsSet("lf-2")},
		// a repeated hash type or metadata key: the last value wins, as in indexd
		{"hash repeated one type, last wins", "hash=md5:" + lsMD5a + "&hash=md5:" + lsMD5b, lsSet("lf-2")},
		{"hash repeated one type, last wins (reversed)", "hash=md5:" + lsMD5b + "&hash=md5:" + lsMD5a, lsSet("lf-1", "lf-5")},
		{"metadata repeated key, last wins", "metadata=proj:y&metadata=proj:x", lsSet("lf-1", "lf-2")},
		// an empty ids is no filter
		{"empty ids with limit", "ids=&limit=2", lsSet("lf-1", "lf-2")},
		{"hash sha256", "hash=sha256:" + ixSHA256, lsSet("lf-4")},
		{"metadata", "metadata=proj:x", lsSet("lf-1", "lf-2")},
		{"metadata repeated", "metadata=proj:x&metadata=kind:raw", lsSet("lf-1")},
		{"metadata value with colon", "metadata=proj:x:y", lsSet()},
		{"acl", "acl=open", lsSet("lf-1", "lf-2", "lf-5")},
		{"acl list (all present)", "acl=open,phs1", lsSet("lf-2")},
		{"acl null", "acl=null", lsSet("lf-3", "lf-6")},
		{"authz", "authz=/programs/a", lsSet("lf-1", "lf-2", "lf-5")},
		{"authz list", "authz=/programs/a,/programs/b", lsSet("lf-2")},
		{"authz exact path, not below", "authz=/programs", lsSet()},
		{"authz null", "authz=null", lsSet("lf-3")},
		{"form object", "form=object", lsSet("lf-1", "lf-2", "lf-5")},
		{"form container", "form=container", lsSet("lf-3")},
		{"form multipart", "form=multipart", lsSet("lf-4")},
		{"form all", "form=all", all},
		{"urls_metadata", "urls_metadata=" + j(`{"s3://b/1":{"state":"ok"}}`), lsSet("lf-1")},
		{"urls_metadata two keys", "urls_metadata=" + j(`{"s3://b/1":{"state":"ok","tier":"hot"}}`), lsSet("lf-1")},
		{"urls_metadata url substring", "urls_metadata=" + j(`{"s3://b/":{"state":"bad"}}`), lsSet("lf-2")},
		{"urls_metadata no match", "urls_metadata=" + j(`{"s3://b/1":{"state":"bad"}}`), lsSet()},
		{"negate file_name (null kept)", "negate_params=" + j(`{"file_name":"a.txt"}`), lsSet("lf-2", "lf-4", "lf-5", "lf-6")},
		{"negate version", "negate_params=" + j(`{"version":"1"}`), lsSet("lf-3", "lf-4", "lf-5", "lf-6")},
		{"negate urls", "negate_params=" + j(`{"urls":["s3://b/1"]}`), lsSet("lf-2", "lf-3", "lf-4", "lf-6")},
		{"negate acl", "negate_params=" + j(`{"acl":["phs1"]}`), lsSet("lf-1", "lf-3", "lf-5", "lf-6")},
		{"negate authz", "negate_params=" + j(`{"authz":["/programs/b"]}`), lsSet("lf-1", "lf-3", "lf-5", "lf-6")},
		{"negate hashes", "negate_params=" + j(`{"hashes":{"md5":"`+lsMD5a+`"}}`), lsSet("lf-2", "lf-3", "lf-4", "lf-6")},
		{"negate metadata pair", "negate_params=" + j(`{"metadata":{"proj":"x"}}`), lsSet("lf-3", "lf-4", "lf-5", "lf-6")},
		{"negate metadata key presence", "negate_params=" + j(`{"metadata":{"kind":""}}`), lsSet("lf-2", "lf-3", "lf-4", "lf-6")},
		{"negate urls_metadata", "negate_params=" + j(`{"urls_metadata":{"s3://b/1":{"state":"ok"}}}`), lsSet("lf-2", "lf-3", "lf-4", "lf-5", "lf-6")},
		{"negate two fields", "negate_params=" + j(`{"file_name":"a.txt","metadata":{"kind":""}}`), lsSet("lf-2", "lf-4", "lf-6")},
		{"empty negate", "negate_params=" + j(`{}`), all},
		// combinations
		{"size+file_name+uploader", "size=10&file_name=a.txt&uploader=ann", lsSet("lf-1", "lf-3")},
		{"size+file_name+uploader+form", "size=10&file_name=a.txt&uploader=ann&form=container", lsSet("lf-3")},
		{"acl+authz+hash+url", "acl=open&authz=/programs/a&hash=md5:" + lsMD5a + "&url=" + j("s3://b/1"), lsSet("lf-1", "lf-5")},
		{"acl+authz+hash+url+metadata+version", "acl=open&authz=/programs/a&hash=md5:" + lsMD5a + "&url=" + j("s3://b/1") + "&metadata=kind:raw&version=1", lsSet("lf-1")},
		{"file_name+negate version", "file_name=a.txt&negate_params=" + j(`{"version":"2"}`), lsSet("lf-1")},
		{"form+negate urls_metadata", "form=object&negate_params=" + j(`{"urls_metadata":{"s3://b":{"state":"bad"}}}`), lsSet("lf-1", "lf-5")},
		{"acl null+authz null", "acl=null&authz=null", lsSet("lf-3")},
		{"authz+urls_metadata+uploader", "authz=/programs/a&uploader=bob&urls_metadata=" + j(`{"s3://b/2":{"state":"bad"}}`), lsSet("lf-2")},
		{"filter+limit", "uploader=bob&limit=1", lsSet("lf-2")},
		{"filter+start", "size=10&start=lf-1", lsSet("lf-3", "lf-5")},
		{"filter+page", "size=10&limit=2&page=1", lsSet("lf-5")},
		// paging without filters
		{"limit", "limit=2", lsSet("lf-1", "lf-2")},
		{"limit zero", "limit=0", lsSet()},
		{"start", "start=lf-2", lsSet("lf-3", "lf-4", "lf-5", "lf-6")},
		{"start before all", "start=a", all},
		{"start past all", "start=lf-9", lsSet()},
		{"start+limit", "start=lf-2&limit=2", lsSet("lf-3", "lf-4")},
		{"page", "limit=2&page=1", lsSet("lf-3", "lf-4")},
		{"page 0", "limit=4&page=0", lsSet("lf-1", "lf-2", "lf-3", "lf-4")},
		{"page past end", "limit=2&page=5", lsSet()},
		{"start+page", "start=lf-1&limit=2&page=1", lsSet("lf-4", "lf-5")},
		// ids
		{"ids", "ids=lf-3,lf-1,missing", lsSet("lf-1", "lf-3")},
		{"ids+filter", "ids=lf-1,lf-2,lf-3&size=10", lsSet("lf-1", "lf-3")},
		{"ids none found", "ids=x,y", lsSet()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ixDIDs(t, lsList(t, e, c.query)["records"])
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("GET /index?%s: %v, want %v", c.query, got, c.want)
			}
		})
	}

	t.Run("records are whole", func(t *testing.T) {
		recs := lsList(t, e, "ids=lf-2")["records"].([]any)
		got := ixDates(t, recs[0].(map[string]any))
		want := map[string]any{
			"did": "lf-2", "baseid": got["baseid"], "rev": got["rev"], "form": "object", "size": 20, "file_name": "b.txt",
			"version": "1", "uploader": "bob", "description": nil, "urls": []string{"s3://b/2"},
			"urls_metadata": map[string]any{"s3://b/2": map[string]string{"state": "bad"}}, "acl": []string{"open", "phs1"},
			"authz": []string{"/programs/a", "/programs/b"}, "hashes": map[string]string{"md5": lsMD5b, "sha1": lsSHA1},
			"metadata": map[string]string{"proj": "x"}, "content_created_date": nil, "content_updated_date": nil,
		}
		ixEqual(t, "listed record", got, want)
		ixEqual(t, "same as single read", got, ixGetRecord(t, e, "lf-2"))
	})
}

func TestListEnvelope(t *testing.T) {
	t.Parallel()
	e := Start(t)
	ixSeed(t, e, lsFixtures()...)
	env := lsList(t, e, "")
	if recs := ixDIDs(t, env["records"]); len(recs) != 6 {
		t.Fatalf("records %v", recs)
	}
	delete(env, "records")
	ixEqual(t, "default envelope", env, map[string]any{
		"ids": nil, "limit": 100, "start": nil, "page": nil, "size": nil, "file_name": nil, "version": nil,
		"urls": []any{}, "acl": nil, "authz": nil, "hashes": nil, "metadata": map[string]any{}, "urls_metadata": nil,
		"uploader": nil, "form": nil, "negate_params": nil, "next_cursor": nil,
	})

	q := url.Values{}
	q.Set("limit", "5")
	q.Set("start", "a")
	q.Set("page", "0")
	q.Set("size", "10")
	q.Set("file_name", "a.txt")
	q.Set("version", "1")
	q.Set("uploader", "ann")
	q.Set("form", "object")
	q["url"] = []string{"s3://b/1", "gs://b/1"}
	q["hash"] = []string{"md5:" + lsMD5a}
	q["metadata"] = []string{"proj:x", "kind:raw"}
	q.Set("acl", "open")
	q.Set("authz", "/programs/a")
	q.Set("urls_metadata", `{"s3://b/1":{"state":"ok"}}`)
	q.Set("negate_params", `{"version":"2"}`)
	env = lsList(t, e, q.Encode())
	if recs := ixDIDs(t, env["records"]); !reflect.DeepEqual(recs, []string{"lf-1"}) {
		t.Fatalf("records %v", recs)
	}
	delete(env, "records")
	ixEqual(t, "echoed envelope", env, map[string]any{
		"ids": nil, "limit": 5, "start": "a", "page": 0, "size": 10, "file_name": "a.txt", "version": "1",
		"urls": []string{"s3://b/1", "gs://b/1"}, "acl": []string{"open"}, "authz": []string{"/programs/a"},
		"hashes": map[string]string{"md5": lsMD5a}, "metadata": map[string]string{"proj": "x", "kind": "raw"},
		"uploader": "ann", "form": "object", "negate_params": map[string]string{"version": "2"}, "next_cursor": nil,
		"urls_metadata": map[string]any{"s3://b/1": map[string]string{"state": "ok"}},
	})

	env = lsList(t, e, "acl=null&authz=null&ids=lf-3,lf-x&form=all")
	delete(env, "records")
	ixEqual(t, "null lists and ids", env, map[string]any{
		"ids": []string{"lf-3", "lf-x"}, "limit": indexd.DefaultLimit, "start": nil, "page": nil, "size": nil, "file_name": nil,
		"version": nil, "urls": []any{}, "acl": []any{}, "authz": []any{}, "hashes": nil, "metadata": map[string]any{},
		"urls_metadata": nil, "uploader": nil, "form": nil, "negate_params": nil, "next_cursor": nil,
	})
	// repeated keys: the envelope echoes the value the filter used
	env = lsList(t, e, "hash=md5:"+lsMD5a+"&hash=md5:"+lsMD5b+"&metadata=proj:y&metadata=proj:x")
	if recs := ixDIDs(t, env["records"]); !reflect.DeepEqual(recs, []string{"lf-2"}) {
		t.Fatalf("records %v", recs)
	}
	ixEqual(t, "echo of repeated keys", []any{env["hashes"], env["metadata"]},
		[]any{map[string]string{"md5": lsMD5b}, map[string]string{"proj": "x"}})
	// an empty ids is no filter: it echoes null and paging applies
	env = lsList(t, e, "ids=&limit=1")
	if recs := ixDIDs(t, env["records"]); !reflect.DeepEqual(recs, []string{"lf-1"}) || env["ids"] != nil || env["limit"] != 1.0 {
		t.Fatalf("ids= with limit: records %v, ids %v, limit %v", recs, env["ids"], env["limit"])
	}
	// the trailing-slash form answers the same
	if got := ixDIDs(t, ixOK(t, e.Do(http.MethodGet, "/index/?limit=1", "", nil))["records"]); !reflect.DeepEqual(got, []string{"lf-1"}) {
		t.Fatalf("/index/: %v", got)
	}
}

func TestListBadQueries(t *testing.T) {
	t.Parallel()
	e := Start(t)
	ixSeed(t, e, lsFixtures()[:2]...)
	j := url.QueryEscape
	cursor, _ := lsList(t, e, "limit=1")["next_cursor"].(string)
	if cursor == "" {
		t.Fatal("no next_cursor on a partial page")
	}
	cases := []struct{ query, want string }{
		{"limit=1025", "limit must be an integer between 0 and 1024"},
		{"limit=-1", "limit must be an integer between 0 and 1024"},
		{"limit=abc", "limit must be an integer between 0 and 1024"},
		{"limit=1.5", "limit must be an integer between 0 and 1024"},
		{"limit=", "limit must be an integer between 0 and 1024"},
		{"limit=99999999999999999999", "limit must be an integer between 0 and 1024"},
		{"page=-1", "page must be a non-negative integer"},
		{"page=x", "page must be a non-negative integer"},
		{"size=-1", "size must be an integer >= 0"},
		{"size=ten", "size must be an integer >= 0"},
		{"hash=md5", `hash filter "md5" must be type:value`},
		{"hash=md5:xyz", `hash md5 value "xyz" is malformed`},
		{"hash=md5:" + strings.ToUpper(lsMD5a[:31]) + "A", `is malformed`},
		{"hash=md6:" + lsMD5a, `hash type "md6" is not supported (use one of crc, etag, md5, sha1, sha256, sha512)`},
		{"hash=md5:" + lsMD5a + "&hash=bogus", `hash filter "bogus" must be type:value`},
		{"metadata=novalue", `metadata filter "novalue" must be key:value`},
		{"metadata=:v", `metadata filter ":v" must be key:value`},
		{"urls_metadata=notjson", "urls_metadata must be a JSON object of url → {key: string value}"},
		{"urls_metadata=" + j(`{"u":"v"}`), "urls_metadata must be a JSON object of url → {key: string value}"},
		{"negate_params=notjson", "negate_params: malformed JSON"},
		{"negate_params=" + j(`{"bogus":1}`), `negate_params: unknown field "bogus"`},
		{"negate_params=" + j(`{"file_name":1}`), "negate_params: field file_name: expected a string, got number"},
		{"negate_params=" + j(`{"hashes":{"md5":"zz"}}`), `negate_params: hash md5 value "zz" is malformed`},
		{"form=bundle", "form must be object, container, multipart or all"},
		{"ids=lf-1&limit=5", "ids cannot be combined with limit, start, cursor or page"},
		{"ids=lf-1&start=lf-0", "ids cannot be combined with limit, start, cursor or page"},
		{"ids=lf-1&page=0", "ids cannot be combined with limit, start, cursor or page"},
		{"ids=lf-1&cursor=" + cursor, "ids cannot be combined with limit, start, cursor or page"},
		{"ids=" + strings.Repeat("a,", indexd.MaxBulkIDs) + "b", "ids holds more than 1024 ids"},
		{"cursor=garbage!", "cursor is not one this service issued"},
		{"cursor=bGYtMQ", "cursor is not one this service issued"}, // base64 "lf-1" without the version tag
		{"cursor=" + cursor + "&start=lf-1", "give start or cursor, not both"},
		{"file_name=%ff", `query parameter "file_name" is not valid UTF-8 text`},
		{"uploader=a%00b", `query parameter "uploader" is not valid UTF-8 text`},
		{"ids=%c3%28", `query parameter "ids" is not valid UTF-8 text`},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			ixErrHas(t, e.Do(http.MethodGet, "/index?"+c.query, "", nil), http.StatusBadRequest, c.want)
		})
	}
	t.Run("limit bounds accepted", func(t *testing.T) {
		for _, q := range []string{"limit=0", "limit=1024", "limit=1", "page=1000", "page=97&limit=1024", "page=1000000&limit=0"} {
			lsList(t, e, q)
		}
	})
}

// TestListPaging pages through a few thousand records with start, with the
// cursor, and with page, and checks no record is skipped or repeated.
func TestListPaging(t *testing.T) {
	t.Parallel()
	e := Start(t)
	const n = 2500
	want := make([]string, 0, n)
	recs := make([]indexd.NewRecord, n)
	obj := indexd.FormObject
	for i := range recs {
		// dids that sort differently from creation order, some with '/'
		did := fmt.Sprintf("pg/%04d/x%s", (i*7919)%n, strings.Repeat("y", i%3))
		authz := "/programs/odd"
		if i%2 == 0 {
			authz = "/programs/even"
		}
		recs[i] = indexd.NewRecord{DID: did, Form: &obj, Size: ixI64(int64(i)), Hashes: map[string]string{"md5": lsMD5a},
			URLs: []string{"s3://p/" + did}, Authz: []string{authz}}
		want = append(want, did)
	}
	sort.Strings(want) // byte order, as the did column's collation "C"
	lsSeedBatch(t, e, recs)

	collect := func(t *testing.T, first string, next func(env map[string]any) string) ([]string, int) {
		t.Helper()
		var got []string
		q, calls := first, 0
		for q != "" {
			calls++
			if calls > n {
				t.Fatal("paging does not end")
			}
			env := lsList(t, e, q)
			got = append(got, ixDIDs(t, env["records"])...)
			q = next(env)
		}
		return got, calls
	}
	check := func(t *testing.T, got, want []string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%d records, want %d", len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("record %d is %s, want %s (gap or duplicate)", i, got[i], want[i])
			}
		}
	}

	t.Run("start", func(t *testing.T) {
		const limit = 1024
		got, calls := collect(t, fmt.Sprintf("limit=%d", limit), func(env map[string]any) string {
			recs := ixDIDs(t, env["records"])
			if len(recs) < limit {
				if env["next_cursor"] != nil {
					t.Fatalf("last page carries next_cursor %v", env["next_cursor"])
				}
				return ""
			}
			return fmt.Sprintf("limit=%d&start=%s", limit, url.QueryEscape(recs[len(recs)-1]))
		})
		check(t, got, want)
		if calls != 3 {
			t.Fatalf("%d pages, want 3", calls)
		}
	})
	t.Run("cursor", func(t *testing.T) {
		// 2500 = 5 × 500: the last page is full and must still say it is last
		got, calls := collect(t, "limit=500", func(env map[string]any) string {
			if env["start"] != nil {
				t.Fatalf("start echoed as %v when paging by cursor", env["start"])
			}
			c, _ := env["next_cursor"].(string)
			if c == "" {
				if env["next_cursor"] != nil {
					t.Fatalf("next_cursor %v", env["next_cursor"])
				}
				return ""
			}
			return "limit=500&cursor=" + url.QueryEscape(c)
		})
		check(t, got, want)
		if calls != 5 {
			t.Fatalf("%d pages, want 5", calls)
		}
	})
	t.Run("cursor with default limit", func(t *testing.T) {
		got, calls := collect(t, "limit=100", func(env map[string]any) string {
			if c, _ := env["next_cursor"].(string); c != "" {
				return "cursor=" + url.QueryEscape(c)
			}
			return ""
		})
		check(t, got, want)
		if calls != 25 {
			t.Fatalf("%d pages, want 25", calls)
		}
	})
	t.Run("page", func(t *testing.T) {
		var got []string
		for p := 0; ; p++ {
			recs := ixDIDs(t, lsList(t, e, fmt.Sprintf("limit=700&page=%d", p))["records"])
			if len(recs) == 0 {
				if p != 4 {
					t.Fatalf("empty page %d, want 4", p)
				}
				break
			}
			got = append(got, recs...)
		}
		check(t, got, want)
	})
	t.Run("filtered cursor", func(t *testing.T) {
		var even []string
		for i, r := range recs {
			if i%2 == 0 {
				even = append(even, r.DID)
			}
		}
		sort.Strings(even)
		got, _ := collect(t, "authz=/programs/even&limit=300", func(env map[string]any) string {
			if c, _ := env["next_cursor"].(string); c != "" {
				return "authz=/programs/even&limit=300&cursor=" + url.QueryEscape(c)
			}
			return ""
		})
		check(t, got, even)
	})
	t.Run("cursor survives inserts", func(t *testing.T) {
		env := lsList(t, e, "limit=1000")
		first := ixDIDs(t, env["records"])
		c := env["next_cursor"].(string)
		// a record inserted before the cursor position is not seen; one
		// after it is, and nothing already seen repeats
		ixSeed(t, e, indexd.NewRecord{DID: "pg/0000/0-new", Form: &obj, Size: ixI64(1), Hashes: map[string]string{"md5": lsMD5a}, URLs: []string{}},
			indexd.NewRecord{DID: "pg/9999/new", Form: &obj, Size: ixI64(1), Hashes: map[string]string{"md5": lsMD5a}, URLs: []string{}})
		got := append([]string{}, first...)
		rest, _ := collect(t, "limit=1000&cursor="+url.QueryEscape(c), func(env map[string]any) string {
			if c, _ := env["next_cursor"].(string); c != "" {
				return "limit=1000&cursor=" + url.QueryEscape(c)
			}
			return ""
		})
		got = append(got, rest...)
		check(t, got, append(append([]string{}, want...), "pg/9999/new"))
	})
}

// lsSeedBatch inserts many records fast: the first record of each distinct
// authz list goes through the repository (which creates its authz set), the
// rest are one INSERT ... SELECT that copies the set and the other columns
// from that template, with their own did, size, urls, baseid and rev.
func lsSeedBatch(t testing.TB, e *Env, recs []indexd.NewRecord) {
	t.Helper()
	ctx := context.Background()
	tmpl := map[string]string{} // authz list → template did
	var dids, tmpls []string
	var sizes []int64
	for _, n := range recs {
		key := strings.Join(n.Authz, ",")
		if _, ok := tmpl[key]; !ok {
			tmpl[key] = n.DID
			ixSeed(t, e, n)
			continue
		}
		dids, tmpls, sizes = append(dids, n.DID), append(tmpls, tmpl[key]), append(sizes, *n.Size)
	}
	tag, err := e.App.Store.Pool().Exec(ctx, `
		INSERT INTO record (did, baseid, rev, form, size, file_name, version, uploader, description,
			created_date, updated_date, content_created_date, content_updated_date,
			hashes, urls, urls_metadata, acl, authz, metadata, authz_set_id)
		SELECT d.did, gen_random_uuid()::text, substr(md5(d.did), 1, 8), t.form, d.size, t.file_name, t.version,
			t.uploader, t.description, now(), now(), t.content_created_date, t.content_updated_date,
			t.hashes, ARRAY['s3://p/' || d.did], '{}', t.acl, t.authz, t.metadata, t.authz_set_id
		FROM unnest($1::text[], $2::text[], $3::bigint[]) AS d(did, tmpl, size)
		JOIN record t ON t.did = d.tmpl`, dids, tmpls, sizes)
	if err != nil {
		t.Fatalf("batch seed: %v", err)
	}
	if int(tag.RowsAffected()) != len(dids) {
		t.Fatalf("batch seed inserted %d rows, want %d", tag.RowsAffected(), len(dids))
	}
}
