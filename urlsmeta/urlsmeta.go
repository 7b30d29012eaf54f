// Package urlsmeta is the urls_metadata a record answers with on the indexd
// wire (issue 10), as indexd 6.x does: every url of the record has an entry
// ({} when nothing was stored for it), and each entry carries the keys
// indexd derives on read — cloud (aws, gcp, azure, from the url's scheme or
// host), available (true) and, where the url names it, region — under the
// keys stored for it, which win. Derived keys are never stored.
package urlsmeta

import (
	"net/url"
	"strings"
)

// Derived keys.
const (
	KeyCloud     = "cloud"
	KeyAvailable = "available"
	KeyRegion    = "region"
)

// Cloud names the cloud of a url ("" when unknown) and its region when the
// url names one (an S3 endpoint host such as bucket.s3.us-west-2.amazonaws.com).
func Cloud(raw string) (cloud, region string) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "", ""
	}
	switch strings.ToLower(scheme) {
	case "s3":
		return "aws", ""
	case "gs":
		return "gcp", ""
	case "az", "azure", "abfs", "abfss", "wasb", "wasbs":
		return "azure", ""
	case "http", "https":
	default:
		return "", ""
	}
	u, err := url.Parse("https://" + rest)
	if err != nil {
		return "", ""
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case strings.HasSuffix(host, ".amazonaws.com"):
		return "aws", s3Region(strings.TrimSuffix(host, ".amazonaws.com"))
	case host == "storage.googleapis.com" || strings.HasSuffix(host, ".storage.googleapis.com") ||
		host == "storage.cloud.google.com":
		return "gcp", ""
	case strings.HasSuffix(host, ".blob.core.windows.net") || strings.HasSuffix(host, ".dfs.core.windows.net"):
		return "azure", ""
	}
	return "", ""
}

// s3Region reads the region of an S3 host without ".amazonaws.com":
// "bucket.s3.us-west-2", "s3.us-west-2", "s3-us-west-2", "bucket.s3-us-west-2".
func s3Region(h string) string {
	labels := strings.Split(h, ".")
	for i, l := range labels {
		switch {
		case l == "s3" && i+1 < len(labels):
			if r := labels[i+1]; looksLikeRegion(r) {
				return r
			}
		case strings.HasPrefix(l, "s3-") && looksLikeRegion(l[3:]):
			return l[3:]
		}
	}
	return ""
}

// looksLikeRegion: "us-west-2", "eu-central-1", "ap-southeast-1" (not
// "external-1", "accelerate", "website").
func looksLikeRegion(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || len(parts[0]) != 2 {
		return false
	}
	last := parts[len(parts)-1]
	if last == "" {
		return false
	}
	for _, c := range last {
		if c < '0' || c > '9' {
			return false
		}
	}
	return parts[0] != "s3"
}

// Expand is the urls_metadata answer of a record with urls and the stored
// urls_metadata (nil for none): an entry for every url, derived keys under
// the stored ones, and stored entries of urls the record no longer lists
// kept as stored.
func Expand(urls []string, stored map[string]map[string]string) map[string]map[string]any {
	out := make(map[string]map[string]any, len(urls)+len(stored))
	for _, u := range urls {
		e := map[string]any{KeyAvailable: true}
		if c, r := Cloud(u); c != "" {
			e[KeyCloud] = c
			if r != "" {
				e[KeyRegion] = r
			}
		}
		out[u] = e
	}
	for u, kv := range stored {
		e := out[u]
		if e == nil {
			e = make(map[string]any, len(kv))
			out[u] = e
		}
		for k, v := range kv {
			e[k] = v
		}
	}
	return out
}
