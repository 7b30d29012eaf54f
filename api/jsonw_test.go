package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/urlsmeta"
)

// refWireRecord is the indexd wire record as a struct for encoding/json:
// the reference writeRecord must reproduce byte for byte.
type refWireRecord struct {
	DID                string                    `json:"did"`
	BaseID             string                    `json:"baseid"`
	Rev                string                    `json:"rev"`
	Form               *string                   `json:"form"`
	Size               *int64                    `json:"size"`
	FileName           *string                   `json:"file_name"`
	Version            *string                   `json:"version"`
	Uploader           *string                   `json:"uploader"`
	Description        *string                   `json:"description"`
	URLs               []string                  `json:"urls"`
	URLsMetadata       map[string]map[string]any `json:"urls_metadata"`
	ACL                []string                  `json:"acl"`
	Authz              []string                  `json:"authz"`
	Hashes             map[string]string         `json:"hashes"`
	Metadata           map[string]string         `json:"metadata"`
	CreatedDate        string                    `json:"created_date"`
	UpdatedDate        string                    `json:"updated_date"`
	ContentCreatedDate *string                   `json:"content_created_date"`
	ContentUpdatedDate *string                   `json:"content_updated_date"`
}

func refTime(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := isoformat(*t)
	return &s
}

func refWire(r *indexd.Record) refWireRecord {
	hashes, err := r.Hashes.StringMap()
	if err != nil {
		panic(err)
	}
	metadata, err := r.Metadata.StringMap()
	if err != nil {
		panic(err)
	}
	urlsMetadata, err := r.URLsMetadata.StringMaps()
	if err != nil {
		panic(err)
	}
	return refWireRecord{
		DID: r.DID, BaseID: r.BaseID, Rev: r.Rev, Form: r.Form, Size: r.Size,
		FileName: r.FileName, Version: r.Version, Uploader: r.Uploader, Description: r.Description,
		URLs: nonNil(r.URLs), URLsMetadata: urlsmeta.Expand(r.URLs, urlsMetadata), ACL: nonNil(r.ACL), Authz: nonNil(r.Authz),
		Hashes: hashes, Metadata: metadata,
		CreatedDate: isoformat(r.CreatedDate), UpdatedDate: isoformat(r.UpdatedDate),
		ContentCreatedDate: refTime(r.ContentCreatedDate), ContentUpdatedDate: refTime(r.ContentUpdatedDate),
	}
}

// refEnvelope is the list envelope as a map for encoding/json.
func refEnvelope(lq listQuery, page indexd.Page) map[string]any {
	f := lq.Filter
	recs := make([]refWireRecord, len(page.Records))
	for i := range page.Records {
		recs[i] = refWire(&page.Records[i])
	}
	env := map[string]any{
		"records": recs, "limit": f.Limit,
		"ids": nil, "start": nil, "page": nil, "size": nil, "file_name": nil, "version": nil,
		"urls": nonNil(f.URLs), "acl": nil, "authz": nil, "hashes": nil, "metadata": map[string]string{},
		"urls_metadata": nil, "uploader": nil, "form": nil, "negate_params": nil, "next_cursor": nil,
	}
	if f.IDs != nil {
		env["ids"] = f.IDs
	}
	if len(f.IDs) > 0 {
		env["limit"] = indexd.DefaultLimit // indexd's echo (issue 10)
	}
	if f.Start != "" && lq.Cursor == "" {
		env["start"] = f.Start
	}
	if f.Page >= 0 {
		env["page"] = f.Page
	}
	if f.Size != nil {
		env["size"] = *f.Size
	}
	for k, v := range map[string]*string{"file_name": f.FileName, "version": f.Version, "uploader": f.Uploader, "form": f.Form} {
		if v != nil {
			env[k] = *v
		}
	}
	if f.ACL != nil || f.ACLNull {
		env["acl"] = nonNil(f.ACL)
	}
	if f.Authz != nil || f.AuthzNull {
		env["authz"] = nonNil(f.Authz)
	}
	if len(f.Hashes) > 0 {
		env["hashes"] = kvMap(f.Hashes)
	}
	if len(f.Metadata) > 0 {
		env["metadata"] = kvMap(f.Metadata)
	}
	if f.URLsMetadata != nil {
		env["urls_metadata"] = f.URLsMetadata
	}
	if f.Negate != nil {
		env["negate_params"] = f.Negate
	}
	if page.Next != "" {
		env["next_cursor"] = EncodeCursor(page.Next)
	}
	return env
}

// encodeLikeEcho is what Echo's c.JSON writes: a json.Encoder (HTML
// escaping on), with its trailing newline.
func encodeLikeEcho(t testing.TB, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func ptr[T any](v T) *T { return &v }

// awkward are strings that exercise every escaping rule.
var awkward = []string{
	"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnl\ncr\rbs\bff\f",
	"\x00\x01\x1f\x7f", "é ü 中文 🚀", "line\u2028para\u2029", "bad \xff\xfe utf8", "\xe2\x82", "s3://b/k?x=1&y=<2>",
}

func wireTestRecords() []indexd.Record {
	t0 := time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC)
	t1 := time.Date(2024, 3, 2, 1, 2, 3, 456789000, time.FixedZone("x", 3600))
	recs := []indexd.Record{
		{DID: "a", BaseID: "b", Rev: "r", CreatedDate: t0, UpdatedDate: t1},
		{
			DID: "dg.X/1", BaseID: "b", Rev: "12345678", Form: ptr("object"), Size: ptr(int64(0)),
			FileName: ptr(""), Version: ptr("v1"), Uploader: ptr("u"), Description: ptr("d"),
			CreatedDate: t1, UpdatedDate: t0, ContentCreatedDate: &t0, ContentUpdatedDate: &t1,
			Hashes: indexd.ObjectOf(map[string]string{"sha256": "ab", "md5": "cd", "crc": "ef"}), URLs: []string{"s3://a", "gs://b"},
			URLsMetadata: indexd.ObjectOf(map[string]map[string]string{"s3://a": {"z": "1", "a": "2"}, "gs://b": {}, "x": nil}),
			ACL:          []string{}, Authz: []string{"/p/1", "/p/0"}, Metadata: indexd.JSONObject(`{}`),
		},
	}
	for i, s := range awkward {
		m := strings.ToValidUTF8(s, "\uFFFD") // map contents: see TestWriteRecordMatchesWireStruct
		recs = append(recs, indexd.Record{
			DID: s, BaseID: s, Rev: s, Form: &awkward[i], Size: ptr(int64(-1 << 62)), FileName: &awkward[i],
			CreatedDate: t0, UpdatedDate: t0,
			Hashes: indexd.ObjectOf(map[string]string{m: m, "k" + m: "v"}), URLs: []string{s, s + "2"},
			URLsMetadata: indexd.ObjectOf(map[string]map[string]string{m: {m: m}}), ACL: []string{s}, Authz: []string{s},
			Metadata: indexd.ObjectOf(map[string]string{m: m, m + "x": ""}),
		})
	}
	return recs
}

// sameJSON: got must be byte for byte what encoding/json wrote (want).
func sameJSON(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\n got %.800s\nwant %.800s", what, got, want)
	}
}

// wireTestRecords' objects are encoded by encoding/json (indexd.ObjectOf),
// so writeRecord's verbatim copy of them matches the reference byte for
// byte (their strings are valid UTF-8: the JSON text of invalid UTF-8 does
// not survive a decode and re-encode unchanged, and stored jsonb never
// holds any); TestWriteRecordPassesStoredObjects covers jsonb-shaped text.
func TestWriteRecordMatchesWireStruct(t *testing.T) {
	for i, r := range wireTestRecords() {
		var w jsonWriter
		writeRecord(&w, &r)
		w.buf = append(w.buf, '\n')
		sameJSON(t, fmt.Sprintf("record %d", i), w.buf, encodeLikeEcho(t, refWire(&r)))
	}
}

// TestWriteRecordPassesStoredObjects: objects as PostgreSQL prints jsonb
// (spaces, jsonb's key order, unescaped <>&) pass through as the same
// JSON values.
func TestWriteRecordPassesStoredObjects(t *testing.T) {
	r := indexd.Record{
		DID: "d", BaseID: "b", Rev: "r",
		Hashes:       indexd.JSONObject(`{"md5": "cd", "sha256": "ab"}`),
		Metadata:     indexd.JSONObject(`{"b": "<x&y>", "aa": "\u0000é", "ccc": ""}`),
		URLsMetadata: indexd.JSONObject(`{"s3://a": {"k": "v"}, "gs://b": {}}`),
	}
	var w jsonWriter
	writeRecord(&w, &r)
	var got, want map[string]any
	if err := json.Unmarshal(w.buf, &got); err != nil {
		t.Fatalf("writeRecord wrote invalid JSON: %v\n%s", err, w.buf)
	}
	if err := json.Unmarshal(encodeLikeEcho(t, refWire(&r)), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	if got["metadata"].(map[string]any)["b"] != "<x&y>" || got["hashes"].(map[string]any)["sha256"] != "ab" {
		t.Errorf("stored objects not passed through: %s", w.buf)
	}
}

func TestWriteRecordsMatchesWireStruct(t *testing.T) {
	recs := wireTestRecords()
	for _, in := range [][]indexd.Record{nil, {}, recs[:1], recs} {
		var w jsonWriter
		writeRecords(&w, in)
		w.buf = append(w.buf, '\n')
		ref := make([]refWireRecord, len(in))
		for i := range in {
			ref[i] = refWire(&in[i])
		}
		sameJSON(t, fmt.Sprintf("%d records", len(in)), w.buf, encodeLikeEcho(t, ref))
	}
}

func TestWriteListEnvelopeMatchesMap(t *testing.T) {
	recs := wireTestRecords()
	queries := []string{
		"", "limit=5", "limit=0", "start=abc", "page=2&limit=3", "ids=a,b", "size=12", "file_name=f&version=v&uploader=u&form=object",
		"acl=a,b", "acl=null", "authz=null", "authz=/p/1", "hash=md5:0123456789abcdef0123456789abcdef&hash=sha1:0123456789abcdef0123456789abcdef01234567",
		"metadata=a:1&metadata=b:2&metadata=a:3", "url=s3://a&url=gs://<b>", `urls_metadata={"s3":{"k":"v"}}`,
		`negate_params={"file_name":"x","metadata":{"a":"b"}}`, "cursor=" + url.QueryEscape(EncodeCursor("dg.X/1")),
	}
	for _, raw := range queries {
		q, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatal(err)
		}
		lq, err := ParseListQuery(q)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		for _, page := range []indexd.Page{{Records: []indexd.Record{}}, {Records: recs, Next: "n<&>"}} {
			var w jsonWriter
			if err := writeListEnvelope(&w, lq, page); err != nil {
				t.Fatal(err)
			}
			w.buf = append(w.buf, '\n')
			sameJSON(t, fmt.Sprintf("%q (%d records)", raw, len(page.Records)), w.buf, encodeLikeEcho(t, refEnvelope(lq, page)))
		}
	}
}

func TestWriteVersionsOrder(t *testing.T) {
	recs := make([]indexd.Record, 12)
	for i := range recs {
		recs[i] = indexd.Record{DID: itoa(i), CreatedDate: time.Unix(int64(i), 0)}
	}
	ref := map[string]refWireRecord{}
	for i := range recs {
		ref[itoa(i)] = refWire(&recs[i])
	}
	got := versionsJSON(recs)
	sameJSON(t, "versions", got, encodeLikeEcho(t, ref))
}

// FuzzJSONWriterString: appendJSONString agrees with encoding/json on any
// string, valid UTF-8 or not.
func FuzzJSONWriterString(f *testing.F) {
	for _, s := range awkward {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, want)
		}
	})
}
