package signing

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
)

// BenchmarkSign: one signed URL per operation, through Storage.AccessURL
// as the access route calls it (docs/performance.md: target ≤ 0.1 ms).
func BenchmarkSign(b *testing.B) {
	ctx := context.Background()
	s3 := newS3WithCreds(BucketConfig{Provider: "s3", Bucket: "bkt", Region: "us-east-1"},
		credentials.NewStaticCredentialsProvider(awsExampleKeyID, awsExampleSecret, ""), time.Now)
	s3compat := newS3WithCreds(BucketConfig{Provider: "s3", Bucket: "bkt", Region: "us-east-1", Endpoint: "https://s3.example.org", PathStyle: true},
		credentials.NewStaticCredentialsProvider(awsExampleKeyID, awsExampleSecret, ""), time.Now)
	gcs := benchGCS(b)
	gcsHMACSigner := newS3WithCreds(gcsHMAC(BucketConfig{Provider: "gs", Bucket: "bkt", Credentials: Creds{Source: "hmac_env"}}),
		credentials.NewStaticCredentialsProvider("GOOGEXAMPLEHMACKEYID", awsExampleSecret, ""), time.Now)
	for _, tc := range []struct {
		name   string
		signer Signer
		stored string
	}{
		{"s3", s3, "s3://bkt/programs/p1/file-000001.bam"},
		{"s3-compatible-path-style", s3compat, "s3://bkt/programs/p1/file-000001.bam"},
		{"gs-rsa-service-account", gcs, "gs://bkt/programs/p1/file-000001.bam"},
		{"gs-hmac-key", gcsHMACSigner, "gs://bkt/programs/p1/file-000001.bam"},
	} {
		loc, _ := ParseLocation(tc.stored)
		st := &Storage{unsigned: UnsignedRefuse, buckets: map[bucketKey]*bucket{{loc.Scheme, loc.Bucket}: {signer: tc.signer, lifetime: time.Hour}}}
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := st.AccessURL(ctx, tc.stored); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchGCS(b *testing.B) *gcsSigner {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	j, _ := json.Marshal(map[string]string{"type": "service_account", "client_email": "bench@p.iam.gserviceaccount.com",
		"private_key": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))})
	p := filepath.Join(b.TempDir(), "sa.json")
	if err := os.WriteFile(p, j, 0o600); err != nil {
		b.Fatal(err)
	}
	g, err := newGCS(BucketConfig{Provider: "gs", Bucket: "bkt", Credentials: Creds{Source: "file", File: p}}, func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	return g
}
