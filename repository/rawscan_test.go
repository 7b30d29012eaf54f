package repository

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/internal/testdb"
)

// rawWorld stores records with every kind of value a column can hold.
func rawWorld(t testing.TB) *Store {
	t.Helper()
	ctx := context.Background()
	st, err := Open(ctx, testdb.NewDatabase(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	s := func(v string) *string { return &v }
	i := func(v int64) *int64 { return &v }
	tm := func(v time.Time) *time.Time { return &v }
	recs := []indexd.NewRecord{
		{}, // blank: every optional value absent, empty arrays and objects
		{Form: s("object"), Size: i(0), FileName: s(""), Version: s("1"), Uploader: s("ü"), Description: s("line\nnext\t\"q\" \\ 𝄞"),
			ContentCreatedDate: tm(time.Date(1970, 1, 1, 0, 0, 0, 1000, time.UTC)), ContentUpdatedDate: tm(time.Date(2199, 12, 31, 23, 59, 59, 999999000, time.UTC)),
			Hashes: map[string]string{"md5": "0123456789abcdef0123456789abcdef", "sha256": "ab"}, URLs: []string{"s3://b/k with space", "gs://b/ü/\"x\"", ""},
			URLsMetadata: map[string]map[string]string{"s3://b/k with space": {"a": "\u0001", "b": "{}"}}, ACL: []string{"*", "p1"},
			Authz: []string{"/programs/p1", "/programs/p2/projects/x"}, Metadata: map[string]string{"k\"ey": "v\\al", "": "empty"}},
		{Size: i(math.MaxInt64), ContentCreatedDate: tm(time.Date(1901, 1, 1, 0, 0, 0, 0, time.UTC)), URLs: []string{"https://h/" + string(make([]byte, 0)) + "long" + fmt.Sprint(make([]int, 300))},
			Authz: []string{"/programs/p1"}},
	}
	for n, r := range recs {
		r.DID = fmt.Sprintf("dg.RAW/00000000-0000-4000-8000-%012d", n)
		if _, err := st.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	rec, err := st.GetRecord(ctx, discovery.Open, []string{"dg.RAW/00000000-0000-4000-8000-000000000001"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddAliases(ctx, rec.DID, rec.Rev, []string{"b-alias", "a-alias"}, false); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestRawDecodingMatchesScan: rows decoded from pgx's raw values equal the
// rows pgx scans, for every read that collects records and every value
// kind; a result in another shape or format (exec mode: all text) is left
// to pgx.
func TestRawDecodingMatchesScan(t *testing.T) {
	st := rawWorld(t)
	ctx := context.Background()
	read := func() map[string]any {
		page, err := st.ListRecords(ctx, discovery.Open, indexd.ListFilter{Limit: 100}, ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		drs, err := st.ListRecords(ctx, discovery.Open, indexd.ListFilter{Limit: 100}, ListOptions{WithAliases: true})
		if err != nil {
			t.Fatal(err)
		}
		bulk, err := st.GetRecords(ctx, discovery.Context{AuthorizedResources: []string{"/programs"}},
			[]string{"dg.RAW/00000000-0000-4000-8000-000000000001", "dg.RAW/00000000-0000-4000-8000-000000000002"}, ListOptions{WithAliases: true})
		if err != nil {
			t.Fatal(err)
		}
		vers, err := st.Versions(ctx, discovery.Open, []string{"dg.RAW/00000000-0000-4000-8000-000000000001"})
		if err != nil {
			t.Fatal(err)
		}
		return map[string]any{"list": page.Records, "drs": drs.Records, "bulk": bulk, "versions": vers}
	}
	rawDecoding = true
	fast := read()
	rawDecoding = false
	slow := read()
	rawDecoding = true
	for k := range fast {
		if !reflect.DeepEqual(fast[k], slow[k]) {
			t.Errorf("%s: raw decoding differs from pgx:\n raw %+v\n pgx %+v", k, fast[k], slow[k])
		}
	}
	if n := len(fast["list"].([]indexd.Record)); n != 3 {
		t.Fatalf("%d records", n)
	}

	// The fast path is taken for the service's modes, and not for exec
	// mode, whose rows arrive as text.
	for mode, want := range map[pgx.QueryExecMode]bool{pgx.QueryExecModeCacheStatement: true, pgx.QueryExecModeCacheDescribe: true, pgx.QueryExecModeExec: false} {
		sql, _, _ := st.selectPage(true).OrderBy(colDID).ToSql()
		rows, err := st.pool.Query(ctx, sql, mode)
		if err != nil {
			t.Fatal(err)
		}
		got := false
		for rows.Next() {
			d := newRawRow(rows.FieldDescriptions())
			got = d != nil
			var r indexd.Record
			if d != nil {
				if err := d.decode(rows.RawValues(), &r); err != nil {
					t.Errorf("mode %v: a row the fast path should read: %v", mode, err)
				}
			}
		}
		rows.Close()
		if got != want {
			t.Errorf("mode %v: raw decoding %v, want %v", mode, got, want)
		}
	}
}

// BenchmarkDecodePage: a 101-row page read and decoded, through pgx's
// scanning and from the raw values (the difference is the decoding).
func BenchmarkDecodePage(b *testing.B) {
	ctx := context.Background()
	st, err := Open(ctx, testdb.NewDatabase(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.Close)
	size := int64(123456789)
	for n := 0; n < 101; n++ {
		v := "1"
		_, err := st.Create(ctx, indexd.NewRecord{Size: &size, FileName: &v, Version: &v,
			Hashes:       map[string]string{"md5": "0123456789abcdef0123456789abcdef", "sha256": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
			URLs:         []string{fmt.Sprintf("s3://indexd-bench-data/objects/%d/sample-%d.cram", n, n), fmt.Sprintf("gs://indexd-bench-mirror/objects/%d/sample-%d.cram", n, n)},
			URLsMetadata: map[string]map[string]string{fmt.Sprintf("s3://indexd-bench-data/objects/%d/sample-%d.cram", n, n): {"state": "validated"}},
			ACL:          []string{"p01"}, Authz: []string{"/programs/p01/projects/q1"},
			Metadata: map[string]string{"program": "p01", "data_type": "WGS", "sample_id": fmt.Sprintf("S%07d", n)}})
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, raw := range []bool{false, true} {
		name := "pgx-scan"
		if raw {
			name = "raw"
		}
		b.Run(name, func(b *testing.B) {
			rawDecoding = raw
			defer func() { rawDecoding = true }()
			b.ReportAllocs()
			cpu0 := processCPU()
			for i := 0; i < b.N; i++ {
				p, err := st.ListRecords(ctx, discovery.Open, indexd.ListFilter{Limit: 100}, ListOptions{})
				if err != nil || len(p.Records) != 100 {
					b.Fatal(err, len(p.Records))
				}
			}
			// The database is another process: this is the client's share
			// (protocol, decoding, garbage collection), what the service
			// spends per page, whatever the database's latency.
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N)/1e3, "client-cpu-µs/op")
		})
	}
}

// binArray encodes a one-dimensional binary text[].
func binArray(elems ...string) []byte {
	if len(elems) == 0 {
		return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 0), 0), pgtype.TextOID)
	}
	b := binary.BigEndian.AppendUint32(nil, 1)
	b = binary.BigEndian.AppendUint32(b, 0)
	b = binary.BigEndian.AppendUint32(b, pgtype.TextOID)
	b = binary.BigEndian.AppendUint32(b, uint32(len(elems)))
	b = binary.BigEndian.AppendUint32(b, 1)
	for _, e := range elems {
		b = binary.BigEndian.AppendUint32(b, uint32(len(e)))
		b = append(b, e...)
	}
	return b
}

// FuzzRawArray: the array decoder never panics or reads past its input,
// and whatever it accepts pgx decodes to the same elements.
func FuzzRawArray(f *testing.F) {
	f.Add(binArray())
	f.Add(binArray("a", "", "ü"))
	f.Add(binArray("s3://b/k")[:20])
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 25, 127, 255, 255, 255, 0, 0, 0, 1})
	m := pgtype.NewMap()
	f.Fuzz(func(t *testing.T, v []byte) {
		var got []string
		if err := arrayElems(v, func(e []byte) { got = append(got, string(e)) }); err != nil {
			return
		}
		var want []string
		if err := m.Scan(pgtype.TextArrayOID, pgtype.BinaryFormatCode, v, &want); err != nil {
			t.Fatalf("accepted %x, which pgx refuses: %v", v, err)
		}
		if len(got) != len(want) || (len(got) > 0 && !reflect.DeepEqual(got, want)) {
			t.Fatalf("%x: got %q, pgx %q", v, got, want)
		}
	})
}

// processCPU is this process's user+system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
