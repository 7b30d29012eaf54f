package indexd

import (
	"encoding/json"
	"reflect"
	"testing"
)

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
	f.Fuzz(func(t *testing.T, s string) {
		got, gotErr := JSONObject(s).StringMap()
		want := map[string]string{}
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
	})
}

// FuzzStringMaps: JSONObject.StringMaps agrees with encoding/json.
func FuzzStringMaps(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"s3://b/k": {"state": "validated"}, "gs://b/k": {}}`, `{"u": {"a": "1", "a": "2"}}`, `{"u": null}`,
		`{"u": {"k": 1}}`, `{"u": {"k": "v"},}`, `{"u": "v"}`, `{"u": {"k": "x\"y"}}`, "{\"u\": {\"k\": \"\xff\"}}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gotErr := JSONObject(s).StringMaps()
		want := map[string]map[string]string{}
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
	})
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
