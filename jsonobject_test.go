package indexd

import (
	"encoding/json"
	"reflect"
	"testing"
)

// sameAsEncodingJSON: decode(s) gives what encoding/json gives for s (the
// empty text being the empty object), error for error.
func sameAsEncodingJSON[M any](t *testing.T, s string, decode func(JSONObject) (M, error)) {
	t.Helper()
	got, gotErr := decode(JSONObject(s))
	want, _ := decode(nil) // the empty map of the right type
	var wantErr error
	if !JSONObject(s).IsEmpty() {
		wantErr = json.Unmarshal([]byte(s), &want)
	}
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("%q: error %v, encoding/json %v", s, gotErr, wantErr)
	}
	if gotErr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: %v, encoding/json %v", s, got, want)
	}
}

// FuzzStringMap: JSONObject.StringMap (with its fast path for plain
// objects) decodes exactly what encoding/json decodes, and fails where it
// fails.
func FuzzStringMap(f *testing.F) {
	for _, s := range []string{
		`{}`, ` { } `, `{"md5": "0123"}`, `{"a":"1","b":"2"}`, `{"a": "1", "a": "2"}`, `{"é": "ü 中"}`,
		`{"a": "x\"y"}`, `{"a": "\u00e9"}`, `{"a": 1}`, `{"a": null}`, `{"a": "1",}`, `{"a" "1"}`, `{"a": "1"} x`,
		"{\"a\": \"\x01\"}", "{\"a\": \"\xff\"}", `[]`, `null`, ``, `{"a": {"b": "c"}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { sameAsEncodingJSON(t, s, JSONObject.StringMap) })
}

// FuzzStringMaps: JSONObject.StringMaps agrees with encoding/json.
func FuzzStringMaps(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"s3://b/k": {"state": "validated"}, "gs://b/k": {}}`, `{"u": {"a": "1", "a": "2"}}`, `{"u": null}`,
		`{"u": {"k": 1}}`, `{"u": {"k": "v"},}`, `{"u": "v"}`, `{"u": {"k": "x\"y"}}`, "{\"u\": {\"k\": \"\xff\"}}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { sameAsEncodingJSON(t, s, JSONObject.StringMaps) })
}

func BenchmarkStringMap(b *testing.B) {
	o := JSONObject(`{"md5": "0123456789abcdef0123456789abcdef", "sha256": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := o.StringMap(); err != nil {
			b.Fatal(err)
		}
	}
}
