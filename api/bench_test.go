package api

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"testing"
	"time"

	"github.com/datacommons/indexd"
)

// benchPage is a realistic 100-record page, shaped like the bench
// harness's data (internal/bench): md5 (+ sha256 on some), one or two
// storage urls, urls_metadata on some, acl, authz, three metadata keys.
func benchPage(n int) indexd.Page {
	recs := make([]indexd.Record, n)
	created := time.Date(2024, 3, 1, 12, 30, 0, 0, time.UTC)
	for i := range recs {
		sum := md5.Sum([]byte(fmt.Sprint("bench:", i)))
		size := int64(1<<30 + i)
		form, name := "object", fmt.Sprintf("sample-%d.cram", i)
		u := fmt.Sprintf("s3://indexd-bench-data/objects/%d/sample-%d.cram", i, i)
		hashes := map[string]string{"md5": hex.EncodeToString(sum[:])}
		urlsMetadata := map[string]map[string]string{}
		metadata := map[string]string{"program": fmt.Sprintf("p%02d", i%50), "data_type": "WGS", "sample_id": fmt.Sprintf("S%07d", i)}
		r := indexd.Record{
			DID: fmt.Sprintf("dg.BENCH/%08x-1c2d-4e5f-8a9b-%012x", i, i), BaseID: fmt.Sprintf("%08x-aaaa-4bbb-8ccc-%012x", i, i),
			Rev: "a1b2c3d4", Form: &form, Size: &size, FileName: &name,
			CreatedDate: created, UpdatedDate: created,
			URLs:  []string{u},
			ACL:   []string{fmt.Sprintf("p%02d", i%50)},
			Authz: []string{fmt.Sprintf("/programs/p%02d/projects/q%d", i%50, i%4)},
		}
		if i%4 == 0 {
			hashes["sha256"] = hex.EncodeToString(append(sum[:], sum[:]...))
		}
		if i%3 == 0 {
			r.URLs = append(r.URLs, fmt.Sprintf("gs://indexd-bench-mirror/objects/%d/sample-%d.cram", i, i))
		}
		if i%5 == 0 {
			urlsMetadata[u] = map[string]string{"state": "validated", "storage_class": "STANDARD"}
		}
		// As PostgreSQL returns them: jsonb text.
		r.Hashes, r.URLsMetadata, r.Metadata = jsonbText(hashes), jsonbText(urlsMetadata), jsonbText(metadata)
		recs[i] = r
	}
	return indexd.Page{Records: recs, Next: recs[n-1].DID}
}

// jsonbText encodes a map the way PostgreSQL prints jsonb: a space after
// every colon and comma (key order aside, which does not change the cost).
func jsonbText(v any) indexd.JSONObject {
	b := indexd.ObjectOf(v)
	b = bytes.ReplaceAll(b, []byte(`":"`), []byte(`": "`))
	return bytes.ReplaceAll(b, []byte(`","`), []byte(`", "`))
}

// BenchmarkListPageJSON is the JSON work of one GET /index page of 100
// records as the handler does it (writeListEnvelope).
func BenchmarkListPageJSON(b *testing.B) {
	lq, err := ParseListQuery(url.Values{"limit": {"100"}})
	if err != nil {
		b.Fatal(err)
	}
	page := benchPage(100)
	var w jsonWriter
	if err := writeListEnvelope(&w, lq, page); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(w.buf)))
	b.ReportAllocs()
	for b.Loop() {
		var w jsonWriter
		if err := writeListEnvelope(&w, lq, page); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListPageEncodingJSON is the same page through encoding/json
// (the reflection-based encoder writeListEnvelope replaced; see
// jsonw_test.go), for comparison.
func BenchmarkListPageEncodingJSON(b *testing.B) {
	lq, err := ParseListQuery(url.Values{"limit": {"100"}})
	if err != nil {
		b.Fatal(err)
	}
	page := benchPage(100)
	b.ReportAllocs()
	for b.Loop() {
		if err := json.NewEncoder(io.Discard).Encode(refEnvelope(lq, page)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDRSListPageJSON is the JSON work of one DRS list page of 100
// objects (toDRS, then writeDRSObjectList).
func BenchmarkDRSListPageJSON(b *testing.B) {
	s := &Server{cfg: Config{Hostname: "indexd.example.org"}}
	page := benchPage(100)
	b.ReportAllocs()
	for b.Loop() {
		out := drsObjectList{DrsObjects: make([]drsObject, 0, len(page.Records))}
		for i := range page.Records {
			out.DrsObjects = append(out.DrsObjects, s.toDRS(&page.Records[i], "indexd.example.org"))
		}
		var w jsonWriter
		writeDRSObjectList(&w, &out)
	}
}
