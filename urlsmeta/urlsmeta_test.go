package urlsmeta

import (
	"reflect"
	"testing"
)

func TestCloud(t *testing.T) {
	for u, want := range map[string][2]string{
		"s3://bucket/key":                                  {"aws", ""},
		"S3://bucket/key":                                  {"aws", ""},
		"gs://bucket/key":                                  {"gcp", ""},
		"az://acct/c/k":                                    {"azure", ""},
		"https://acct.blob.core.windows.net/c/k":           {"azure", ""},
		"https://bucket.s3.us-west-2.amazonaws.com/k":      {"aws", "us-west-2"},
		"https://s3-eu-central-1.amazonaws.com/bucket/k":   {"aws", "eu-central-1"},
		"https://bucket.s3.amazonaws.com/k":                {"aws", ""},
		"https://bucket.s3-external-1.amazonaws.com/k":     {"aws", ""},
		"https://storage.googleapis.com/bucket/k":          {"gcp", ""},
		"https://example.org/data":                         {"", ""},
		"ftp://example.org/data":                           {"", ""},
		"no scheme":                                        {"", ""},
		"https://%zz":                                      {"", ""},
		"https://bucket.s3.accelerate.amazonaws.com/k?x=1": {"aws", ""},
	} {
		c, r := Cloud(u)
		if c != want[0] || r != want[1] {
			t.Errorf("Cloud(%q) = %q, %q; want %q, %q", u, c, r, want[0], want[1])
		}
	}
}

func TestExpandStoredKeysWin(t *testing.T) {
	got := Expand([]string{"s3://b/k", "https://example.org/x"}, map[string]map[string]string{
		"s3://b/k":   {"cloud": "mine", "state": "validated"},
		"gs://old/k": {"a": "b"},
	})
	want := map[string]map[string]any{
		"s3://b/k":              {"cloud": "mine", "available": true, "state": "validated"},
		"https://example.org/x": {"available": true},
		"gs://old/k":            {"a": "b"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if e := Expand(nil, nil); len(e) != 0 {
		t.Fatalf("no urls: %v", e)
	}
}
