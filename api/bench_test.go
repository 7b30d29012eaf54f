package api

import (
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
		r := indexd.Record{
			DID: fmt.Sprintf("dg.BENCH/%08x-1c2d-4e5f-8a9b-%012x", i, i), BaseID: fmt.Sprintf("%08x-aaaa-4bbb-8ccc-%012x", i, i),
			Rev: "a1b2c3d4", Form: &form, Size: &size, FileName: &name,
			CreatedDate: created, UpdatedDate: created,
			Hashes:       map[string]string{"md5": hex.EncodeToString(sum[:])},
			URLs:         []string{u},
			URLsMetadata: map[string]map[string]string{},
			ACL:          []string{fmt.Sprintf("p%02d", i%50)},
			Authz:        []string{fmt.Sprintf("/programs/p%02d/projects/q%d", i%50, i%4)},
			Metadata:     map[string]string{"program": fmt.Sprintf("p%02d", i%50), "data_type": "WGS", "sample_id": fmt.Sprintf("S%07d", i)},
		}
		if i%4 == 0 {
			r.Hashes["sha256"] = hex.EncodeToString(append(sum[:], sum[:]...))
		}
		if i%3 == 0 {
			r.URLs = append(r.URLs, fmt.Sprintf("gs://indexd-bench-mirror/objects/%d/sample-%d.cram", i, i))
		}
		if i%5 == 0 {
			r.URLsMetadata[u] = map[string]string{"state": "validated", "storage_class": "STANDARD"}
		}
		recs[i] = r
	}
	return indexd.Page{Records: recs, Next: recs[n-1].DID}
}

// BenchmarkListPageJSON is the JSON work of one GET /index page of 100
// records: toWireList inside listEnvelope, then json.Marshal.
func BenchmarkListPageJSON(b *testing.B) {
	lq, err := ParseListQuery(url.Values{"limit": {"100"}})
	if err != nil {
		b.Fatal(err)
	}
	page := benchPage(100)
	out, _ := json.Marshal(listEnvelope(lq, page))
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(listEnvelope(lq, page)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListPageEncoder is the same page through a json.Encoder, as
// Echo's c.JSON writes it to the response.
func BenchmarkListPageEncoder(b *testing.B) {
	lq, err := ParseListQuery(url.Values{"limit": {"100"}})
	if err != nil {
		b.Fatal(err)
	}
	page := benchPage(100)
	b.ReportAllocs()
	for b.Loop() {
		if err := json.NewEncoder(io.Discard).Encode(listEnvelope(lq, page)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkToWireList isolates the record → wire conversion (dates
// formatted, nil slices and maps replaced).
func BenchmarkToWireList(b *testing.B) {
	page := benchPage(100)
	b.ReportAllocs()
	for b.Loop() {
		_ = toWireList(page.Records)
	}
}

// BenchmarkDRSListPageJSON is the JSON work of one DRS list page of 100
// objects (toDRS, then json.Marshal of the list).
func BenchmarkDRSListPageJSON(b *testing.B) {
	s := &Server{cfg: Config{Hostname: "indexd.example.org"}}
	page := benchPage(100)
	b.ReportAllocs()
	for b.Loop() {
		out := drsObjectList{DrsObjects: make([]drsObject, 0, len(page.Records))}
		for i := range page.Records {
			if page.Records[i].IsDRSObject() {
				out.DrsObjects = append(out.DrsObjects, s.toDRS(&page.Records[i], "indexd.example.org"))
			}
		}
		if _, err := json.Marshal(out); err != nil {
			b.Fatal(err)
		}
	}
}
