package signing

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/datacommons/indexd"
)

// FuzzAccessURL: for any stored location (record URLs are caller input)
// AccessURL never panics and answers exactly one of: the location as
// stored (public schemes), a URL signed for the configured bucket's
// endpoint whose path is that bucket (never another), or a refusal of
// kind ErrNotFound.
func FuzzAccessURL(f *testing.F) {
	for _, seed := range []string{
		"s3://conf/key", "s3://conf/dir/a b.bin", "s3://conf/%2E%2E/x", "s3://conf/../other/x", "s3://conf/?x=1#f",
		"S3://conf/k", "s3://other/k", "s3://conf", "s3://conf/", "s3:///k", "https://conf/k?sig=1", "ftp://h/p",
		"gs://conf/k", "s3://conf.evil/k", "s3://conf@evil/k", "s3://conf/k\x00", "s3://conf/\u00e9t\u00e9",
	} {
		f.Add(seed)
	}
	sg := newS3WithCreds(BucketConfig{Provider: "s3", Bucket: "conf", Region: "us-east-1", Endpoint: "http://127.0.0.1:9", PathStyle: true},
		credentials.NewStaticCredentialsProvider(awsExampleKeyID, awsExampleSecret, ""), time.Now)
	st := &Storage{unsigned: UnsignedRefuse, buckets: map[bucketKey]*bucket{{"s3", "conf"}: {signer: sg, lifetime: time.Minute}}}
	f.Fuzz(func(t *testing.T, stored string) {
		u, err := st.AccessURL(context.Background(), stored)
		scheme := indexd.URLScheme(stored)
		switch {
		case publicSchemes[scheme]:
			if err != nil || u != stored {
				t.Fatalf("public %q: %q %v", stored, u, err)
			}
		case err != nil:
			if !errors.Is(err, indexd.ErrNotFound) && !errors.Is(err, indexd.ErrUnavailable) {
				t.Fatalf("%q: error of no known kind: %v", stored, err)
			}
			if loc, ok := ParseLocation(stored); ok && loc.Scheme == "s3" && loc.Bucket == "conf" && errors.Is(err, indexd.ErrNotFound) {
				t.Fatalf("%q is in the configured bucket but was refused: %v", stored, err)
			}
		default:
			loc, ok := ParseLocation(stored)
			if !ok || loc.Scheme != "s3" || loc.Bucket != "conf" {
				t.Fatalf("%q signed although not in the configured bucket: %s", stored, Redact(u))
			}
			p, perr := url.Parse(u)
			if perr != nil || p.Host != "127.0.0.1:9" || !strings.HasPrefix(p.EscapedPath(), "/conf/") || p.Query().Get("X-Amz-Signature") == "" {
				t.Fatalf("%q: signed URL %s is not for the configured bucket", stored, Redact(u))
			}
		}
	})
}
