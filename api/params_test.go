package api

import (
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/datacommons/indexd"
)

func pqParse(t *testing.T, raw string) (listQuery, error) {
	t.Helper()
	q, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("test query %q: %v", raw, err)
	}
	return ParseListQuery(q)
}

func pqStr(s string) *string { return &s }
func pqI64(n int64) *int64   { return &n }

func TestParseListQueryDefaults(t *testing.T) {
	lq, err := pqParse(t, "")
	if err != nil {
		t.Fatal(err)
	}
	want := indexd.ListFilter{Limit: indexd.DefaultLimit, Page: -1}
	if !reflect.DeepEqual(lq.Filter, want) || lq.LimitGiven || lq.Cursor != "" {
		t.Fatalf("defaults %+v", lq)
	}
}

func TestParseListQuery(t *testing.T) {
	md5, md5b := "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
	cursor := EncodeCursor("dg.X/abc")
	cases := []struct {
		query string
		want  func(f *indexd.ListFilter, lq *listQuery)
	}{
		{"limit=0", func(f *indexd.ListFilter, lq *listQuery) { f.Limit, lq.LimitGiven = 0, true }},
		{"limit=1024", func(f *indexd.ListFilter, lq *listQuery) { f.Limit, lq.LimitGiven = 1024, true }},
		{"limit=5&limit=7", func(f *indexd.ListFilter, lq *listQuery) { f.Limit, lq.LimitGiven = 5, true }}, // first wins, as Flask (werkzeug MultiDict.get)
		{"start=abc", func(f *indexd.ListFilter, _ *listQuery) { f.Start = "abc" }},
		{"start=", func(*indexd.ListFilter, *listQuery) {}},
		{"cursor=" + cursor, func(f *indexd.ListFilter, lq *listQuery) { f.Start, lq.Cursor = "dg.X/abc", cursor }},
		{"cursor=", func(*indexd.ListFilter, *listQuery) {}},
		{"page=0", func(f *indexd.ListFilter, _ *listQuery) { f.Page = 0 }},
		{"page=3&limit=10", func(f *indexd.ListFilter, lq *listQuery) { f.Page, f.Limit, lq.LimitGiven = 3, 10, true }},
		{"ids=a,b,,c", func(f *indexd.ListFilter, _ *listQuery) { f.IDs, f.Limit = []string{"a", "b", "c"}, indexd.MaxLimit }},
		{"ids=+a+,b", func(f *indexd.ListFilter, _ *listQuery) { f.IDs, f.Limit = []string{"a", "b"}, indexd.MaxLimit }},
		{"size=0", func(f *indexd.ListFilter, _ *listQuery) { f.Size = pqI64(0) }},
		{"size=9223372036854775807", func(f *indexd.ListFilter, _ *listQuery) { f.Size = pqI64(1<<63 - 1) }},
		{"file_name=a.txt&version=&uploader=u", func(f *indexd.ListFilter, _ *listQuery) {
			f.FileName, f.Version, f.Uploader = pqStr("a.txt"), pqStr(""), pqStr("u")
		}},
		{"form=object", func(f *indexd.ListFilter, _ *listQuery) { f.Form = pqStr("object") }},
		{"form=multipart", func(f *indexd.ListFilter, _ *listQuery) { f.Form = pqStr("multipart") }},
		{"form=all", func(*indexd.ListFilter, *listQuery) {}},
		{"form=", func(*indexd.ListFilter, *listQuery) {}},
		{"url=s3://a&url=&url=gs://b", func(f *indexd.ListFilter, _ *listQuery) { f.URLs = []string{"s3://a", "gs://b"} }},
		{"hash=md5:" + md5 + "&hash=crc:0a0b0c0d", func(f *indexd.ListFilter, _ *listQuery) {
			f.Hashes = []indexd.KV{{Key: "md5", Value: md5}, {Key: "crc", Value: "0a0b0c0d"}}
		}},
		// a repeated hash type or metadata key: the last value wins, in the
		// key's first position (indexd builds a dict)
		{"hash=md5:" + md5 + "&hash=crc:0a0b0c0d&hash=md5:" + md5b, func(f *indexd.ListFilter, _ *listQuery) {
			f.Hashes = []indexd.KV{{Key: "md5", Value: md5b}, {Key: "crc", Value: "0a0b0c0d"}}
		}},
		{"metadata=k:1&metadata=j:2&metadata=k:3", func(f *indexd.ListFilter, _ *listQuery) {
			f.Metadata = []indexd.KV{{Key: "k", Value: "3"}, {Key: "j", Value: "2"}}
		}},
		// an empty ids is no ids filter, so paging may come with it
		{"ids=&limit=5", func(f *indexd.ListFilter, lq *listQuery) { f.Limit, lq.LimitGiven = 5, true }},
		{"ids=,,&start=a&page=1", func(f *indexd.ListFilter, _ *listQuery) { f.Start, f.Page = "a", 1 }},
		{"metadata=k:v&metadata=k2:a:b&metadata=k3:", func(f *indexd.ListFilter, _ *listQuery) {
			f.Metadata = []indexd.KV{{Key: "k", Value: "v"}, {Key: "k2", Value: "a:b"}, {Key: "k3", Value: ""}}
		}},
		{"acl=a,b", func(f *indexd.ListFilter, _ *listQuery) { f.ACL = []string{"a", "b"} }},
		{"acl=null", func(f *indexd.ListFilter, _ *listQuery) { f.ACLNull = true }},
		{"authz=/p/1,/p/2", func(f *indexd.ListFilter, _ *listQuery) { f.Authz = []string{"/p/1", "/p/2"} }},
		{"authz=null", func(f *indexd.ListFilter, _ *listQuery) { f.AuthzNull = true }},
		{"authz=NULL", func(f *indexd.ListFilter, _ *listQuery) { f.Authz = []string{"NULL"} }},
		{"urls_metadata=" + url.QueryEscape(`{"s3://a":{"k":"v"}}`), func(f *indexd.ListFilter, _ *listQuery) {
			f.URLsMetadata = map[string]map[string]string{"s3://a": {"k": "v"}}
		}},
		{"urls_metadata=", func(*indexd.ListFilter, *listQuery) {}},
		{"negate_params=" + url.QueryEscape(`{"file_name":"x","metadata":{"k":""},"hashes":{"md5":"`+md5+`"}}`), func(f *indexd.ListFilter, _ *listQuery) {
			f.Negate = &indexd.Negation{FileName: pqStr("x"), Metadata: map[string]string{"k": ""}, Hashes: map[string]string{"md5": md5}}
		}},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			want := listQuery{Filter: indexd.ListFilter{Limit: indexd.DefaultLimit, Page: -1}}
			c.want(&want.Filter, &want)
			got, err := pqParse(t, c.query)
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseListQueryRejects(t *testing.T) {
	cursor := EncodeCursor("x")
	cases := []struct{ query, want string }{
		{"limit=1025", "limit must be an integer between 0 and 1024"},
		{"limit=-1", "limit must be an integer between 0 and 1024"},
		{"limit=0x10", "limit must be an integer between 0 and 1024"},
		{"limit=", "limit must be an integer between 0 and 1024"},
		{"page=-1", "page must be a non-negative integer"},
		{"page=1000001", "page must be a non-negative integer"},
		{"size=-1", "size must be an integer >= 0"},
		{"size=9223372036854775808", "size must be an integer >= 0"},
		{"form=bundle", "form must be object, container, multipart or all"},
		{"hash=md5", `hash filter "md5" must be type:value`},
		{"hash=md5:", `hash md5 value "" is malformed`},
		{"hash=:abc", `hash type "" is not supported`},
		{"metadata=k", `metadata filter "k" must be key:value`},
		{"metadata=:v", `metadata filter ":v" must be key:value`},
		{"urls_metadata=[]", "urls_metadata must be a JSON object"},
		{"urls_metadata=" + url.QueryEscape(`{"u":{"k":1}}`), "urls_metadata must be a JSON object"},
		{"negate_params=x", "negate_params: malformed JSON"},
		{"negate_params=" + url.QueryEscape(`{"size":1}`), `negate_params: unknown field "size"`},
		{"negate_params=" + url.QueryEscape(`{"hashes":{"sha1":"abc"}}`), `negate_params: hash sha1 value "abc" is malformed`},
		{"ids=a&limit=1", "ids cannot be combined with limit, start, cursor or page"},
		{"ids=a&start=b", "ids cannot be combined"},
		{"ids=a&page=0", "ids cannot be combined"},
		{"ids=a&cursor=" + cursor, "ids cannot be combined"},
		{"ids=" + strings.Repeat("x,", indexd.MaxBulkIDs) + "y", "ids holds more than 1024 ids"},
		{"cursor=%%%", "cursor is not one this service issued"},
		{"cursor=eA", "cursor is not one this service issued"},  // "x", no version
		{"cursor=MTo", "cursor is not one this service issued"}, // "1:", no did
		{"cursor=" + cursor + "&start=y", "give start or cursor, not both"},
		{"file_name=%ff", `query parameter "file_name" is not valid UTF-8 text`},
		{"a%ffb=1", `query parameter "a?b" is not valid UTF-8 text`},
		{"uploader=%00", `query parameter "uploader" is not valid UTF-8 text`},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			q, perr := url.ParseQuery(c.query)
			if perr != nil {
				// "%%%" does not parse as a query; build it by hand
				q = url.Values{}
				k, v, _ := strings.Cut(c.query, "=")
				q.Set(k, v)
			}
			_, err := ParseListQuery(q)
			if !errors.Is(err, indexd.ErrInvalid) {
				t.Fatalf("error %v, want ErrInvalid", err)
			}
			if !strings.Contains(indexd.Message(err), c.want) {
				t.Fatalf("message %q does not contain %q", indexd.Message(err), c.want)
			}
		})
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, did := range []string{"a", "dg.4503/0b8a-ff", strings.Repeat("z", indexd.MaxIDLength), "ü/ö"} {
		c := EncodeCursor(did)
		if strings.ContainsAny(c, "+/=") {
			t.Fatalf("cursor %q is not URL-safe", c)
		}
		got, err := DecodeCursor(c)
		if err != nil || got != did {
			t.Fatalf("DecodeCursor(EncodeCursor(%q)) = %q, %v", did, got, err)
		}
	}
	if _, err := DecodeCursor(EncodeCursor(strings.Repeat("z", indexd.MaxIDLength+1))); !errors.Is(err, indexd.ErrInvalid) {
		t.Fatalf("over-long cursor accepted: %v", err)
	}
}

func TestParseURLQuery(t *testing.T) {
	vq := func(raw string) url.Values {
		q, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatal(err)
		}
		return q
	}
	// default fields as indexd: did,urls for urls/q; did,urls,rev for metadata/q
	uq, fields, err := ParseURLQuery(vq(""), false)
	if err != nil || uq.Limit != 1000 || uq.Offset != 0 || uq.Versioned != nil || !reflect.DeepEqual(fields, []string{"did", "urls"}) {
		t.Fatalf("defaults %+v %v %v", uq, fields, err)
	}
	_, fields, err = ParseURLQuery(vq("key=k&value=v"), true)
	if err != nil || !reflect.DeepEqual(fields, []string{"did", "urls", "rev"}) {
		t.Fatalf("metadata defaults %v %v", fields, err)
	}
	// indexd's truthy words
	for raw, want := range map[string]bool{"true": true, "T": true, "yes": true, "y": true, "false": false, "F": false, "no": false, "N": false} {
		uq, _, err = ParseURLQuery(vq("versioned="+raw), false)
		if err != nil || uq.Versioned == nil || *uq.Versioned != want {
			t.Fatalf("versioned=%s: %+v %v", raw, uq.Versioned, err)
		}
	}
	uq, _, err = ParseURLQuery(vq(fmt.Sprintf("offset=%d", indexd.MaxOffset)), false)
	if err != nil || uq.Offset != indexd.MaxOffset {
		t.Fatalf("offset at the cap: %+v %v", uq, err)
	}
	uq, fields, err = ParseURLQuery(vq("include=s3&exclude=gs&versioned=TRUE&limit=5&offset=10&fields=rev,did"), false)
	if err != nil || uq.Include != "s3" || uq.Exclude != "gs" || uq.Versioned == nil || !*uq.Versioned || uq.Limit != 5 || uq.Offset != 10 || !reflect.DeepEqual(fields, []string{"rev", "did"}) {
		t.Fatalf("parsed %+v %v %v", uq, fields, err)
	}
	uq, _, err = ParseURLQuery(vq("key=k&value=v&url=s3&versioned=false"), true)
	if err != nil || uq.Key != "k" || uq.Value != "v" || uq.URL != "s3" || uq.Versioned == nil || *uq.Versioned {
		t.Fatalf("metadata parsed %+v %v", uq, err)
	}
	for _, c := range []struct {
		raw      string
		metadata bool
		want     string
	}{
		{"foo=1", false, `unknown query parameter "foo"`},
		{"key=k&value=v", false, `unknown query parameter`},
		{"include=x", true, `unknown query parameter "include"`},
		{"key=k", true, "key and value are required"},
		{"value=v", true, "key and value are required"},
		{"versioned=maybe", false, "versioned must be true or false"},
		{fmt.Sprintf("offset=%d", indexd.MaxOffset+1), false, "offset may not pass 100000 records"},
		{"offset=99999999999999999999", false, "offset must be a non-negative integer"},
		{"limit=1025", false, "limit must be an integer between 0 and 1024"},
		{"offset=-1", false, "offset must be a non-negative integer"},
		{"include=%ff", false, `query parameter "include" is not valid UTF-8 text`},
	} {
		_, _, err := ParseURLQuery(vq(c.raw), c.metadata)
		if !errors.Is(err, indexd.ErrInvalid) || !strings.Contains(indexd.Message(err), c.want) {
			t.Fatalf("%s: error %v, want %q", c.raw, err, c.want)
		}
	}
}

// FuzzParseListQuery: no input panics; every rejection is ErrInvalid with a
// message; every acceptance is within the documented bounds.
func FuzzParseListQuery(f *testing.F) {
	for _, s := range []string{
		"", "limit=10&start=a", "ids=a,b", "ids=a&limit=1", "hash=md5:0123456789abcdef0123456789abcdef",
		"hash=md5", "metadata=a:b&metadata=c", "acl=null&authz=/a,/b", "page=2&limit=3",
		"urls_metadata=%7B%22u%22%3A%7B%22k%22%3A%22v%22%7D%7D", "negate_params=%7B%22urls%22%3A%5B%22x%22%5D%7D",
		"cursor=" + EncodeCursor("x"), "size=-5", "form=container", "file_name=%ff", "limit=99999999999999999999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		// As Echo's c.QueryParams(): malformed pairs are dropped, the rest
		// reaches the parser.
		lq, err := ParseListQuery(queryOf(raw))
		if err != nil {
			if !errors.Is(err, indexd.ErrInvalid) || indexd.Message(err) == "" {
				t.Fatalf("rejection %v is not ErrInvalid with a message", err)
			}
			return
		}
		fl := lq.Filter
		if fl.Limit < 0 || fl.Limit > indexd.MaxLimit || fl.Page < -1 || (fl.Size != nil && *fl.Size < 0) || len(fl.IDs) > indexd.MaxBulkIDs {
			t.Fatalf("accepted out-of-range filter %+v", fl)
		}
		if len(fl.IDs) > 0 && (lq.LimitGiven || fl.Start != "" || fl.Page >= 0) {
			t.Fatalf("accepted ids with paging: %+v", lq)
		}
		for _, h := range fl.Hashes {
			if indexd.ValidateHash(h.Key, h.Value) != nil {
				t.Fatalf("accepted bad hash %+v", h)
			}
		}
	})
}

func TestParseURLList(t *testing.T) {
	md5, md5b := "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
	cases := []struct {
		raw  string
		want indexd.URLListFilter
	}{
		{"", indexd.URLListFilter{Limit: 100}},
		{"limit=0&start=0", indexd.URLListFilter{Limit: 0}},
		{"limit=1024&start=7", indexd.URLListFilter{Limit: 1024, Offset: 7}},
		{fmt.Sprintf("start=%d", indexd.MaxOffset), indexd.URLListFilter{Limit: 100, Offset: indexd.MaxOffset}},
		{"ids=a,,b", indexd.URLListFilter{Limit: 100, IDs: []string{"a", "b"}}},
		{"ids=", indexd.URLListFilter{Limit: 100}},
		{"size=0", indexd.URLListFilter{Limit: 100, Size: pqI64(0)}},
		{"size=", indexd.URLListFilter{Limit: 100}},
		{"hash=md5:" + md5 + "&hash=crc:0a0b0c0d&hash=md5:" + md5b, indexd.URLListFilter{Limit: 100,
			Hashes: []indexd.KV{{Key: "md5", Value: md5b}, {Key: "crc", Value: "0a0b0c0d"}}}},
	}
	for _, c := range cases {
		t.Run(c.raw, func(t *testing.T) {
			q, err := url.ParseQuery(c.raw)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseURLList(q)
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %+v %v, want %+v", got, err, c.want)
			}
		})
	}
	for raw, want := range map[string]string{
		"start=abc":    "start must be an integer >= 0 (an offset into the urls)",
		"start=-1":     "start must be an integer >= 0",
		"start=100001": "start may not pass 100000 urls",
		"limit=1025":   "limit must be an integer between 0 and 1024",
		"limit=x":      "limit must be an integer between 0 and 1024",
		"size=-1":      "size must be an integer >= 0",
		"size=x":       "size must be an integer >= 0",
		"hash=md5:zz":  `hash md5 value "zz" is malformed`,
		"hash=md5":     `hash filter "md5" must be type:value`,
		"url=s3://x":   `unknown query parameter "url" (GET /urls takes ids, hash, size, start and limit)`,
		"authz=/p":     `unknown query parameter "authz"`,
		"cursor=x":     `unknown query parameter "cursor"`,
		"ids=" + strings.Repeat("a,", indexd.MaxBulkIDs) + "b": "ids holds more than 1024 ids",
		"ids=%00": `query parameter "ids" is not valid UTF-8 text`,
	} {
		q, _ := url.ParseQuery(raw)
		_, err := ParseURLList(q)
		if !errors.Is(err, indexd.ErrInvalid) || indexd.Message(err) != want && !strings.HasPrefix(indexd.Message(err), want) {
			t.Errorf("%s: error %v, want %q", raw, err, want)
		}
	}
}
