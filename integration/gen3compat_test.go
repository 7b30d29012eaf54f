package integration

import (
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

// TestURLsMetadataDerived (issue 10): every url has an urls_metadata
// entry, with cloud/available/region derived on read under the stored
// keys, on every indexd read; nothing derived is stored.
func TestURLsMetadataDerived(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	const did = "dg.UM/6f1c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"
	urls := []string{"s3://bk/a", "gs://bk/a", "https://acct.blob.core.windows.net/c/a",
		"https://bk.s3.us-west-2.amazonaws.com/a", "https://example.org/a"}
	body := Rec(did, "/programs/um")
	body["urls"] = urls
	body["urls_metadata"] = map[string]any{"s3://bk/a": map[string]string{"state": "validated", "cloud": "mine"}}
	e.Do(http.MethodPost, "/index", w, body).MustStatus(t, http.StatusOK)
	want := map[string]any{
		"s3://bk/a":                               map[string]any{"available": true, "cloud": "mine", "state": "validated"},
		"gs://bk/a":                               map[string]any{"available": true, "cloud": "gcp"},
		"https://acct.blob.core.windows.net/c/a":  map[string]any{"available": true, "cloud": "azure"},
		"https://bk.s3.us-west-2.amazonaws.com/a": map[string]any{"available": true, "cloud": "aws", "region": "us-west-2"},
		"https://example.org/a":                   map[string]any{"available": true},
	}
	check := func(what string, rec any) {
		t.Helper()
		m, ok := rec.(map[string]any)
		if !ok {
			t.Fatalf("%s: record is %T", what, rec)
		}
		if got := m["urls_metadata"]; !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: urls_metadata\n got  %v\n want %v", what, got, want)
		}
	}
	check("GET /index/{id}", ixOK(t, e.Do(http.MethodGet, "/index/"+did, "", nil)))
	check("GET /{id}", ixOK(t, e.Do(http.MethodGet, "/"+did, "", nil)))
	list := ixOK(t, e.Do(http.MethodGet, "/index?url="+url.QueryEscape("gs://bk/a"), "", nil))["records"].([]any)
	if len(list) != 1 {
		t.Fatalf("list: %d records", len(list))
	}
	check("GET /index", list[0])
	var bulk []any
	e.Do(http.MethodPost, "/bulk/documents", "", []string{did}).MustStatus(t, http.StatusOK).JSON(t, &bulk)
	if len(bulk) != 1 {
		t.Fatalf("bulk: %d records", len(bulk))
	}
	check("POST /bulk/documents", bulk[0])
	check("GET /index/{id}/latest", ixOK(t, e.Do(http.MethodGet, "/index/"+did+"/latest", "", nil)))
	check("GET /index/{id}/versions", ixOK(t, e.Do(http.MethodGet, "/index/"+did+"/versions", "", nil))["0"])

	// Nothing derived is stored: the column holds what the client gave.
	var stored string
	if err := e.App.Store.Pool().QueryRow(t.Context(), `SELECT urls_metadata::text FROM record WHERE did = $1`, did).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != `{"s3://bk/a": {"cloud": "mine", "state": "validated"}}` {
		t.Fatalf("stored urls_metadata %s", stored)
	}
}
