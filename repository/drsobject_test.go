package repository_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/internal/testdb"
	"github.com/datacommons/indexd/repository"
)

// TestDRSObjectColumnMatchesGo: the stored record.drs_object column
// (migrations/00003, what DRS lists filter on) agrees with
// indexd.Record.IsDRSObject for every DRS scheme and the ways a record can
// fall short of being an object.
func TestDRSObjectColumnMatchesGo(t *testing.T) {
	ctx := context.Background()
	st, err := repository.Open(ctx, testdb.NewDatabase(t), repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	size := int64(7)
	md5 := map[string]string{"md5": "0123456789abcdef0123456789abcdef"}
	cases := map[string]indexd.NewRecord{
		"blank":             {},
		"no url":            {Size: &size, Hashes: md5},
		"no checksum":       {Size: &size, URLs: []string{"s3://b/k"}},
		"no size":           {Hashes: md5, URLs: []string{"s3://b/k"}},
		"az only":           {Size: &size, Hashes: md5, URLs: []string{"az://c/k", "abfss://c@a/k"}},
		"no scheme":         {Size: &size, Hashes: md5, URLs: []string{"/data/k", "s3:/b/k"}},
		"upper-case scheme": {Size: &size, Hashes: md5, URLs: []string{"HTTPS://h/k"}},
		"mixed":             {Size: &size, Hashes: md5, URLs: []string{"az://c/k", "gs://b/k"}},
	}
	for _, scheme := range indexd.DRSSchemes() {
		cases["scheme "+scheme] = indexd.NewRecord{Size: &size, Hashes: md5, URLs: []string{scheme + "://host/key"}}
	}
	for name, n := range cases {
		n.DID = "drs-" + fmt.Sprint(len(name)) + "-" + name
		n.Authz = []string{"/programs/p"}
		if _, err := st.Create(ctx, n); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rec, err := st.GetRecord(ctx, discovery.Open, []string{n.DID})
		if err != nil {
			t.Fatal(err)
		}
		var column bool
		if err := st.Pool().QueryRow(ctx, "SELECT drs_object FROM record WHERE did = $1", n.DID).Scan(&column); err != nil {
			t.Fatal(err)
		}
		if want := rec.IsDRSObject(); column != want {
			t.Errorf("%s: drs_object = %v, IsDRSObject = %v", name, column, want)
		}
	}
	if n := len(indexd.DRSSchemes()); n < 5 {
		t.Fatalf("only %d DRS schemes", n)
	}
}
