package indexd

import "testing"

func TestIsDRSObject(t *testing.T) {
	size := int64(1)
	md5 := ObjectOf(map[string]string{"md5": "0123456789abcdef0123456789abcdef"})
	for _, tc := range []struct {
		name string
		rec  Record
		want bool
	}{
		{"complete", Record{Size: &size, Hashes: md5, URLs: []string{"s3://b/k"}}, true},
		{"scheme in any case", Record{Size: &size, Hashes: md5, URLs: []string{"HTTPS://h/k"}}, true},
		{"one DRS url among others", Record{Size: &size, Hashes: md5, URLs: []string{"az://a/k", "gs://b/k"}}, true},
		{"blank: no size", Record{Hashes: md5, URLs: []string{"s3://b/k"}}, false},
		{"no checksum", Record{Size: &size, URLs: []string{"s3://b/k"}}, false},
		{"no url", Record{Size: &size, Hashes: md5}, false},
		{"only non-DRS schemes", Record{Size: &size, Hashes: md5, URLs: []string{"az://a/k", "abfss://c@a/k"}}, false},
		{"no scheme", Record{Size: &size, Hashes: md5, URLs: []string{"/data/k", "://k", "s3:/b/k"}}, false},
	} {
		if got := tc.rec.IsDRSObject(); got != tc.want {
			t.Errorf("%s: IsDRSObject = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestURLScheme(t *testing.T) {
	for u, want := range map[string]string{
		"s3://b/k": "s3", "GS://b/k": "gs", "https://h/x://y": "https", "://k": "", "noscheme": "", "s3:/b": "",
	} {
		if got := URLScheme(u); got != want {
			t.Errorf("URLScheme(%q) = %q, want %q", u, got, want)
		}
	}
}
