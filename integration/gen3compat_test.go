package integration

import (
	"net/http"
	"net/url"
	"reflect"
	"testing"

	"github.com/datacommons/indexd/internal/app"
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

// TestGen3Routes (issue 10): the routes and parameters Gen3 clients call.
func TestGen3Routes(t *testing.T) {
	t.Parallel()
	e := Start(t, func(c *app.Config) { c.DefaultPrefix, c.PrependPrefix = "dg.G3/", true })
	w := e.Writer()
	t.Run("guid prefix", func(t *testing.T) {
		if got := ixOK(t, e.Do(http.MethodGet, "/guid/prefix", "", nil)); !reflect.DeepEqual(got, map[string]any{"prefix": "dg.G3/"}) {
			t.Fatalf("/guid/prefix: %v", got)
		}
		plain := Start(t)
		if got := ixOK(t, plain.Do(http.MethodGet, "/guid/prefix", "", nil)); !reflect.DeepEqual(got, map[string]any{"prefix": ""}) {
			t.Fatalf("/guid/prefix without a prefix: %v", got)
		}
	})
	const did = "dg.G3/0b7e7f8a-1c2d-4e3f-9a0b-1c2d3e4f5a6b"
	e.Do(http.MethodPost, "/index", w, Rec(did, "/programs/g3")).MustStatus(t, http.StatusOK)
	t.Run("old alias API is gone", func(t *testing.T) {
		for _, c := range []struct{ method, path string }{
			{http.MethodGet, "/alias/"}, {http.MethodGet, "/alias"}, {http.MethodGet, "/alias/my-alias"},
			{http.MethodPut, "/alias/my-alias?rev=x"},
		} {
			r := e.Do(c.method, c.path, w, map[string]any{"size": 1, "hashes": map[string]string{"md5": lsMD5a}, "release": "public"})
			if c.method == http.MethodGet {
				r = e.Do(c.method, c.path, w, nil)
			}
			ixErrIs(t, r, http.StatusGone, "the /alias API is gone: read and change a record's aliases at /index/{guid}/aliases")
		}
		// A write needs a credential before anything else.
		if r := e.Do(http.MethodPut, "/alias/my-alias", "", map[string]any{}); r.Status != http.StatusUnauthorized {
			t.Fatalf("anonymous PUT /alias: %d", r.Status)
		}
		// And nothing was written: the name is no alias of any record.
		e.Do(http.MethodGet, "/my-alias", "", nil).MustStatus(t, http.StatusNotFound)
	})
	t.Run("url query ignores unknown fields", func(t *testing.T) {
		r := e.Do(http.MethodGet, "/_query/urls/q?fields=did,urls,file_name&include="+url.QueryEscape("s3://bucket/"), "", nil)
		var got []map[string]any
		r.MustStatus(t, http.StatusOK).JSON(t, &got)
		if len(got) != 1 || got[0]["did"] != did || got[0]["urls"] == nil || len(got[0]) != 2 {
			t.Fatalf("fields=did,urls,file_name: %v", got)
		}
	})
	t.Run("blank without uploader", func(t *testing.T) {
		ref := ixRef(t, e.Do(http.MethodPost, "/index/blank", w, map[string]any{"file_name": "f"}), http.StatusCreated)
		if rec := ixGetRecord(t, e, ref.DID); rec["uploader"] != nil || rec["file_name"] != "f" {
			t.Fatalf("blank record %v", rec)
		}
	})
	t.Run("stats month and year", func(t *testing.T) {
		for _, q := range []string{"month=3", "year=2024", "month=13&year=2024", "month=0&year=2024", "month=x&year=2024", "month=3&year=y"} {
			r := e.Do(http.MethodGet, "/_stats?"+q, "", nil)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("/_stats?%s: %d, want 400", q, r.Status)
			}
			if msg, _ := r.Map(t)["error"].(string); msg == "" {
				t.Fatalf("/_stats?%s: no error message: %s", q, r.Body)
			}
		}
		ixOK(t, e.Do(http.MethodGet, "/_stats?month=3&year=2024", "", nil))
	})
	t.Run("ids echoes the default limit", func(t *testing.T) {
		env := ixOK(t, e.Do(http.MethodGet, "/index?ids="+url.QueryEscape(did), "", nil))
		if env["limit"] != float64(100) || len(env["records"].([]any)) != 1 {
			t.Fatalf("ids=: limit %v, records %v", env["limit"], env["records"])
		}
	})
}
