package signing

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"cloud.google.com/go/storage"
)

// gcsSigner makes GCS V4 signed URLs (GOOG4-RSA-SHA256) with
// cloud.google.com/go/storage, signing with a service-account key parsed
// once at start-up (no network call per URL).
type gcsSigner struct {
	email    string
	key      *rsa.PrivateKey
	hostname string // "" for storage.googleapis.com
	insecure bool   // an http:// test endpoint
	style    storage.URLStyle
	query    url.Values // userProject for requester-pays buckets
	now      func() time.Time
}

var _ Signer = (*gcsSigner)(nil)

// serviceAccountKey is the part of a service-account JSON key used here.
type serviceAccountKey struct {
	Type        string `json:"type"`
	ClientEmail string `json:"client_email"`
	PrivateKey  string `json:"private_key"`
}

func newGCS(bc BucketConfig, getenv func(string) string) (*gcsSigner, error) {
	path := bc.Credentials.File
	if bc.Credentials.Source == "default" {
		path = getenv("GOOGLE_APPLICATION_CREDENTIALS")
		if path == "" {
			return nil, fmt.Errorf("credentials: source default needs GOOGLE_APPLICATION_CREDENTIALS naming a service-account key " +
				"(keyless signing through the IAM signBlob API would make a network call per URL and is not supported)")
		}
	}
	email, key, err := readServiceAccount(path)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	g := &gcsSigner{email: email, key: key, style: storage.VirtualHostedStyle(), now: time.Now}
	if bc.PathStyle {
		g.style = storage.PathStyle()
	}
	if bc.Endpoint != "" {
		u, err := url.Parse(bc.Endpoint)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("endpoint %q is not a base URL", bc.Endpoint)
		}
		g.hostname, g.insecure = u.Host, u.Scheme == "http"
	}
	if bc.RequesterPays {
		g.query = url.Values{"userProject": {bc.BillingProject}}
	}
	return g, nil
}

// readServiceAccount reads a service-account JSON key: its email and RSA
// private key. Errors never quote the file's content.
func readServiceAccount(path string) (string, *rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	var sa serviceAccountKey
	if err := json.Unmarshal(b, &sa); err != nil {
		return "", nil, fmt.Errorf("%s is not a service-account JSON key", path)
	}
	if sa.Type != "service_account" || sa.ClientEmail == "" || sa.PrivateKey == "" {
		return "", nil, fmt.Errorf("%s is not a service-account key (type service_account with client_email and private_key)", path)
	}
	block, _ := pem.Decode([]byte(sa.PrivateKey))
	if block == nil {
		return "", nil, fmt.Errorf("%s: private_key is not PEM", path)
	}
	var key *rsa.PrivateKey
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return "", nil, fmt.Errorf("%s: private_key is not an RSA key", path)
		}
		key = rk
	} else if rk, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		key = rk
	} else {
		return "", nil, fmt.Errorf("%s: private_key does not parse as PKCS#8 or PKCS#1", path)
	}
	key.Precompute()
	return sa.ClientEmail, key, nil
}

func (g *gcsSigner) SignGET(_ context.Context, loc Location, lifetime time.Duration) (string, error) {
	u, err := storage.SignedURL(loc.Bucket, loc.Key, &storage.SignedURLOptions{
		GoogleAccessID:  g.email,
		SignBytes:       g.sign,
		Method:          http.MethodGet,
		Expires:         g.now().Add(lifetime),
		Scheme:          storage.SigningSchemeV4,
		Style:           g.style,
		Hostname:        g.hostname,
		Insecure:        g.insecure,
		QueryParameters: g.query,
	})
	if err != nil {
		return "", sanitize(err)
	}
	if strings.Contains(u, "X-Goog-SignedHeaders=") && !strings.Contains(u, "X-Goog-SignedHeaders=host&") && !strings.HasSuffix(u, "X-Goog-SignedHeaders=host") {
		return "", fmt.Errorf("signed GET needs headers a URL cannot carry")
	}
	return u, nil
}

func (g *gcsSigner) sign(b []byte) ([]byte, error) {
	h := sha256.Sum256(b)
	return rsa.SignPKCS1v15(rand.Reader, g.key, crypto.SHA256, h[:])
}

// gcsHMACEndpoint is the GCS XML API, which accepts SigV4 signatures made
// with a GCS HMAC key (region "auto").
const gcsHMACEndpoint = "https://storage.googleapis.com"

// gcsHMAC turns a gs bucket entry whose credentials are an HMAC key
// (source hmac_env or hmac_file: the key id and secret as for s3 env and
// file) into the S3 signer's entry: SigV4 against the GCS XML API, region
// auto. Signing is then an HMAC, as for S3, instead of an RSA signature.
func gcsHMAC(bc BucketConfig) BucketConfig {
	bc.Region = "auto"
	if bc.Endpoint == "" {
		bc.Endpoint = gcsHMACEndpoint
	}
	bc.Credentials.Source = strings.TrimPrefix(bc.Credentials.Source, "hmac_")
	bc.fixedEndpoint = true
	return bc
}
