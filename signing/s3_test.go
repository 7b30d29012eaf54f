package signing

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/rclone/gofakes3/signature"

	"github.com/datacommons/indexd/signing/signingtest"
)

// The AWS documentation's presigned-URL example ("Authenticating Requests:
// Using Query Parameters (AWS Signature Version 4)", Amazon S3 API
// Reference): a GET of examplebucket/test.txt, signed 2013-05-24T00:00:00Z
// for 86400 s with the documentation's example key.
const (
	awsExampleKeyID  = "AKIAIOSFODNN7EXAMPLE"
	awsExampleSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	awsExampleURL    = "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
)

var awsExampleTime = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)

// pinVerifierClock sets the S3 verifier's clock (a package variable of
// gofakes3's signature package: the tests of this package are not parallel).
func pinVerifierClock(t *testing.T, at time.Time) {
	old := signature.TimeNow
	signature.TimeNow = func() time.Time { return at }
	t.Cleanup(func() { signature.TimeNow = old })
}

func verifyS3(rawURL, secret string) signature.ErrorCode {
	u, _ := url.Parse(rawURL)
	r := &http.Request{Method: http.MethodGet, URL: u, Host: u.Host, Header: http.Header{}}
	return signature.V4SignVerifyWithSecret(r, secret)
}

// TestSigV4PublishedVector: the SigV4 presigner this package uses
// reproduces AWS's published example signature byte for byte, and the S3
// verifier the integration tests rely on (gofakes3's) accepts exactly that
// URL: not after it expires, not with another secret, not altered.
func TestSigV4PublishedVector(t *testing.T) {
	req, _ := http.NewRequest(http.MethodGet, "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Expires=86400", nil)
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	got, _, err := signer.PresignHTTP(context.Background(), aws.Credentials{AccessKeyID: awsExampleKeyID, SecretAccessKey: awsExampleSecret},
		req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", awsExampleTime)
	if err != nil {
		t.Fatal(err)
	}
	if got != awsExampleURL {
		t.Fatalf("presigned example:\n got %s\nwant %s", got, awsExampleURL)
	}

	pinVerifierClock(t, awsExampleTime.Add(time.Hour))
	if code := verifyS3(awsExampleURL, awsExampleSecret); code != signature.ErrNone {
		t.Fatalf("verifier refuses the published example: %v", code)
	}
	altered := strings.Replace(awsExampleURL, "Signature=aeeed9", "Signature=beeed9", 1)
	otherKey := strings.Replace(awsExampleURL, "test.txt", "other.txt", 1)
	for name, tc := range map[string]struct{ url, secret string }{
		"altered signature": {altered, awsExampleSecret},
		"another secret":    {awsExampleURL, "another-secret"},
		"another object":    {otherKey, awsExampleSecret},
	} {
		if code := verifyS3(tc.url, tc.secret); code == signature.ErrNone {
			t.Errorf("%s: verifier accepts it", name)
		}
	}
	pinVerifierClock(t, awsExampleTime.Add(24*time.Hour+time.Second))
	if code := verifyS3(awsExampleURL, awsExampleSecret); code == signature.ErrNone {
		t.Errorf("verifier accepts the example after it expired")
	}
}

// TestS3SignerExample: the bucket signer (the SDK's presign client) signs
// the documentation's object with the documentation's key; the verifier
// accepts its URL at the pinned time and not after the lifetime.
func TestS3SignerExample(t *testing.T) {
	bc := BucketConfig{Provider: "s3", Bucket: "examplebucket", Region: "us-east-1", Endpoint: "https://s3.amazonaws.com"}
	s := newS3WithCreds(bc, credentials.NewStaticCredentialsProvider(awsExampleKeyID, awsExampleSecret, ""), func() time.Time { return awsExampleTime })
	u, err := s.SignGET(context.Background(), Location{"s3", "examplebucket", "test.txt"}, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, "https://examplebucket.s3.amazonaws.com/test.txt?") || !strings.Contains(u, "X-Amz-Expires=86400") {
		t.Fatalf("signed URL %s", Redact(u))
	}
	pinVerifierClock(t, awsExampleTime.Add(time.Minute))
	if code := verifyS3(u, awsExampleSecret); code != signature.ErrNone {
		t.Fatalf("verifier refuses the signer's URL: %v", code)
	}
	pinVerifierClock(t, awsExampleTime.Add(24*time.Hour+time.Second))
	if code := verifyS3(u, awsExampleSecret); code == signature.ErrNone {
		t.Errorf("verifier accepts the signer's URL after its lifetime")
	}
}

// TestS3SignedFetch fetches bytes through signed URLs from an S3 that
// verifies signatures; a URL for another key, an altered signature,
// another key pair and an expired URL are refused by the S3 side.
func TestS3SignedFetch(t *testing.T) {
	s3 := signingtest.NewS3(t)
	body := []byte("the bytes of an object\n")
	s3.Put(t, "bkt", "dir/file name.txt", body)
	s3.Put(t, "bkt", "secret.txt", []byte("not yours"))
	for _, pathStyle := range []bool{true} {
		bc := BucketConfig{Provider: "s3", Bucket: "bkt", Region: "us-east-1", Endpoint: s3.URL, PathStyle: pathStyle}
		creds := credentials.NewStaticCredentialsProvider(s3.KeyID, s3.Secret, "")
		sg := newS3WithCreds(bc, creds, time.Now)
		u, err := sg.SignGET(context.Background(), Location{"s3", "bkt", "dir/file name.txt"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		status, got := get(t, u)
		if status != 200 || string(got) != string(body) || md5hex(got) != md5hex(body) {
			t.Fatalf("GET signed URL: %d %q", status, got)
		}
		// Another object with the same signature.
		if status, _ := get(t, strings.Replace(u, "dir/file%20name.txt", "secret.txt", 1)); status != 403 {
			t.Errorf("URL for another key: %d, want 403", status)
		}
		// An altered signature.
		i := strings.Index(u, "X-Amz-Signature=") + len("X-Amz-Signature=")
		flip := map[byte]byte{'0': '1'}[u[i]]
		if flip == 0 {
			flip = '0'
		}
		if status, _ := get(t, u[:i]+string(flip)+u[i+1:]); status != 403 {
			t.Errorf("altered signature: %d, want 403", status)
		}
		// Signed with a key the S3 does not hold.
		other := newS3WithCreds(bc, credentials.NewStaticCredentialsProvider(s3.KeyID, "not-the-secret", ""), time.Now)
		ou, _ := other.SignGET(context.Background(), Location{"s3", "bkt", "dir/file name.txt"}, time.Hour)
		if status, _ := get(t, ou); status != 403 {
			t.Errorf("other secret: %d, want 403", status)
		}
		// Expired: signed two hours ago for one hour.
		past := newS3WithCreds(bc, creds, func() time.Time { return time.Now().Add(-2 * time.Hour) })
		pu, _ := past.SignGET(context.Background(), Location{"s3", "bkt", "dir/file name.txt"}, time.Hour)
		if status, _ := get(t, pu); status != 403 {
			t.Errorf("expired URL: %d, want 403", status)
		}
	}
}

func TestS3RequesterPays(t *testing.T) {
	bc := BucketConfig{Provider: "s3", Bucket: "rp", Region: "us-east-1", RequesterPays: true}
	sg := newS3WithCreds(bc, credentials.NewStaticCredentialsProvider(awsExampleKeyID, awsExampleSecret, ""), time.Now)
	u, err := sg.SignGET(context.Background(), Location{"s3", "rp", "k"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u, "x-amz-request-payer=requester") {
		t.Errorf("requester-pays URL lacks x-amz-request-payer: %s", Redact(u))
	}
}

func get(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func md5hex(b []byte) string {
	h := md5.Sum(b)
	return hex.EncodeToString(h[:])
}
