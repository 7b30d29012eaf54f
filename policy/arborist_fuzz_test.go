package policy

// Fuzz targets for the two Arborist answers the service trusts: the
// mapping (GET /auth/mapping) and the decision (POST /auth/request). A
// policy service that answers nonsense must make the request fail closed,
// so the property is two-sided: whatever is accepted is exactly what the
// body says when read as plain JSON, and every body of the documented shape
// is accepted. Seed corpora: testdata/fuzz/<FuzzName>/.

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecodeMapping: decodeMapping accepts a body exactly when it is one
// JSON object of path → list of objects with string "service" and
// "method" keys, and then returns what a plain JSON reading finds.
func FuzzDecodeMapping(f *testing.F) {
	for _, s := range []string{
		`{"/a":[{"service":"indexd","method":"read"}],"/b":[{"service":"*","method":"*"}]}`, `{}`, ` {"/a":[]} `, "{}\n",
		`[]`, `null`, `"x"`, `{"/a":{"service":"indexd","method":"read"}}`, `{"/a":null}`, `{"/a":["read"]}`, `{"/a":[null]}`,
		`{"/a":[{"service":"indexd"}]}`, `{"/a":[{"service":"indexd","method":1}]}`, `{}{}`, `{"/a":[`, ``,
		`{"/a":[{"service":"indexd","method":"read","extra":true}]}`, `{"/a":[{"service":"indexd","method":"read","SERVICE":"fence"}]}`,
		`{"/a":[{"Service":"indexd","Method":"read"}]}`, `{"/a":[{"service":"fence","service":"indexd","method":"read"}]}`,
		`{"/a":[],"/a":[{"service":"indexd","method":"read"}]}`, "{\"/\xff\":[]}", `{"/a":[{"service":null,"method":"read"}]}`,
		`{"/a":[{"service":"\u0069ndexd","method":"read"}]}`, `<html>502 Bad Gateway</html>`, `["/programs",{"auth":true}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := decodeMapping(bytes.NewReader(body))
		want, ok := plainMapping(body)
		switch {
		case err != nil && got != nil:
			t.Fatalf("decodeMapping(%q): a mapping and an error", body)
		case err != nil && ok:
			t.Fatalf("decodeMapping(%q) rejected a well-formed mapping %v: %v", body, want, err)
		case err == nil && !ok:
			t.Fatalf("decodeMapping(%q) accepted %v from a body that is not a mapping", body, got)
		case err == nil && !reflect.DeepEqual(got, want):
			t.Fatalf("decodeMapping(%q) = %v, the JSON says %v", body, got, want)
		}
	})
}

// plainMapping reads body with encoding/json into plain values: ok when it
// is one object whose values are lists of objects, each with string
// "service" and "method" keys.
func plainMapping(body []byte) (Mapping, bool) {
	if !json.Valid(body) || !everyValueIsList(body) {
		return nil, false
	}
	var obj map[string]any
	if json.Unmarshal(body, &obj) != nil || obj == nil {
		return nil, false
	}
	m := Mapping{}
	for path, v := range obj {
		list, ok := v.([]any)
		if !ok {
			return nil, false
		}
		actions := make([]Action, 0, len(list))
		for _, el := range list {
			a, ok := el.(map[string]any)
			if !ok {
				return nil, false
			}
			svc, ok1 := a["service"].(string)
			method, ok2 := a["method"].(string)
			if !ok1 || !ok2 {
				return nil, false
			}
			actions = append(actions, Action{Service: svc, Method: method})
		}
		m[path] = actions
	}
	return m, true
}

// FuzzDecodeDecision: decodeDecision answers exactly when the body is one
// JSON object with a boolean "auth", and then answers that boolean; every
// other body is an error and never a grant.
func FuzzDecodeDecision(f *testing.F) {
	for _, s := range []string{
		`{"auth":true}`, `{"auth":false}`, "{\"auth\":true}\n", `{}`, `{"auth":"true"}`, `{"auth":null}`, `[true]`, `<html>`,
		`{"auth":true} <html>`, `{"auth":true}{"auth":false}`, `{"auth":true`, ``, `true`, `{"auth":1}`,
		`{"auth":false,"auth":true}`, `{"Auth":true}`, `{"auth":false,"AUTH":true}`, `{"auth":true,"extra":[1,2]}`,
		" \t{\"auth\":false} \r\n", `{"auth": true }`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := decodeDecision(bytes.NewReader(body))
		want, ok := plainDecision(body)
		switch {
		case err != nil && got:
			t.Fatalf("decodeDecision(%q): granted with an error", body)
		case err != nil && ok:
			t.Fatalf("decodeDecision(%q) rejected a well-formed decision: %v", body, err)
		case err == nil && !ok:
			t.Fatalf("decodeDecision(%q) = %v from a body that is not a decision", body, got)
		case err == nil && got != want:
			t.Fatalf("decodeDecision(%q) = %v, the JSON says %v", body, got, want)
		}
	})
}

// plainDecision reads body as plain JSON: ok when it is one object with a
// boolean "auth".
func plainDecision(body []byte) (auth, ok bool) {
	if !json.Valid(body) {
		return false, false
	}
	var m map[string]any
	if json.Unmarshal(body, &m) != nil || m == nil {
		return false, false
	}
	auth, ok = m["auth"].(bool)
	return auth, ok
}

// everyValueIsList reports whether every top-level value of an object body
// — a key's earlier values included, which a plain reading of duplicate
// keys drops — reads as a list of objects (or null). A body whose shadowed
// value is not one is not a mapping: the service refuses it (fail closed).
func everyValueIsList(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return true // not an object: plainMapping's other checks decide
	}
	for dec.More() {
		if _, err := dec.Token(); err != nil {
			return true
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return true
		}
		var list []map[string]json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			return false
		}
	}
	return true
}
