package signing

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
	"gopkg.in/yaml.v3"
)

// s3Signer presigns GetObject with the AWS SDK's presign client (SigV4,
// UNSIGNED-PAYLOAD, query-string auth), virtual-hosted or path-style, for
// AWS or any S3-compatible endpoint.
type s3Signer struct {
	presign       *s3.PresignClient
	requesterPays bool
}

var _ Signer = (*s3Signer)(nil)

// credentialTimeout bounds each credential retrieval (start-up and refresh).
const credentialTimeout = 10 * time.Second

func newS3(ctx context.Context, bc BucketConfig, getenv func(string) string, log *slog.Logger) (*s3Signer, *refresher, error) {
	src, err := s3Credentials(ctx, bc, getenv)
	if err != nil {
		return nil, nil, err
	}
	r := &refresher{src: src, name: "s3://" + bc.Bucket, log: log}
	if err := r.refresh(ctx); err != nil {
		return nil, nil, fmt.Errorf("credentials: %w", err)
	}
	return newS3WithCreds(bc, r.provider(), time.Now), r, nil
}

// newS3WithCreds builds the signer over a credentials provider that answers
// from memory; now is the signing clock (tests pin it).
func newS3WithCreds(bc BucketConfig, creds aws.CredentialsProvider, now func() time.Time) *s3Signer {
	opts := s3.Options{
		Region:       bc.Region,
		Credentials:  creds,
		UsePathStyle: bc.PathStyle,
	}
	switch {
	case bc.fixedEndpoint:
		u, _ := url.Parse(strings.TrimSuffix(bc.Endpoint, "/")) // validated
		opts.EndpointResolverV2 = fixedResolver{base: *u, pathStyle: bc.PathStyle}
	case bc.Endpoint != "":
		opts.BaseEndpoint = aws.String(strings.TrimSuffix(bc.Endpoint, "/"))
	}
	client := s3.New(opts)
	presigner := clockPresigner{
		signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
		now:    now,
	}
	return &s3Signer{
		presign:       s3.NewPresignClient(client, func(o *s3.PresignOptions) { o.Presigner = presigner }),
		requesterPays: bc.RequesterPays,
	}
}

func (s *s3Signer) SignGET(ctx context.Context, loc Location, lifetime time.Duration) (string, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(loc.Key)}
	if s.requesterPays {
		in.RequestPayer = types.RequestPayerRequester
	}
	req, err := s.presign.PresignGetObject(ctx, in, s3.WithPresignExpires(lifetime))
	if err != nil {
		return "", sanitize(err)
	}
	// Every header the URL depends on must be in the URL: a client gets
	// the URL only.
	for h := range req.SignedHeader {
		if !strings.EqualFold(h, "Host") {
			return "", fmt.Errorf("presigned GET needs header %s, which a URL cannot carry", h)
		}
	}
	return req.URL, nil
}

// fixedResolver puts the bucket into a fixed endpoint (path or host)
// without the AWS endpoint rules.
type fixedResolver struct {
	base      url.URL
	pathStyle bool
}

func (r fixedResolver) ResolveEndpoint(_ context.Context, p s3.EndpointParameters) (smithyendpoints.Endpoint, error) {
	u := r.base
	if p.Bucket == nil {
		return smithyendpoints.Endpoint{URI: u}, nil
	}
	if r.pathStyle {
		u.Path += "/" + *p.Bucket
	} else {
		u.Host = *p.Bucket + "." + u.Host
	}
	return smithyendpoints.Endpoint{URI: u}, nil
}

// clockPresigner is the SDK's SigV4 presigner with the signing time taken
// from now (time.Now in service; tests pin it).
type clockPresigner struct {
	signer *v4.Signer
	now    func() time.Time
}

func (p clockPresigner) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, _ time.Time, optFns ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return p.signer.PresignHTTP(ctx, creds, r, payloadHash, service, region, p.now(), optFns...)
}

// s3Credentials is the credential source of a bucket entry.
func s3Credentials(ctx context.Context, bc BucketConfig, getenv func(string) string) (aws.CredentialsProvider, error) {
	c := bc.Credentials
	switch c.Source {
	case "env":
		idVar, secretVar := or(c.AccessKeyIDEnv, "AWS_ACCESS_KEY_ID"), or(c.SecretAccessKeyEnv, "AWS_SECRET_ACCESS_KEY")
		id, secret := getenv(idVar), getenv(secretVar)
		if id == "" || secret == "" {
			return nil, fmt.Errorf("credentials: source env needs %s and %s set", idVar, secretVar)
		}
		token := ""
		if c.SessionTokenEnv != "" {
			token = getenv(c.SessionTokenEnv)
		}
		return credentials.NewStaticCredentialsProvider(id, secret, token), nil
	case "file":
		b, err := os.ReadFile(c.File)
		if err != nil {
			return nil, fmt.Errorf("credentials: %w", err)
		}
		var keys struct {
			AccessKeyID     string `yaml:"access_key_id"`
			SecretAccessKey string `yaml:"secret_access_key"`
			SessionToken    string `yaml:"session_token"`
		}
		if err := yaml.Unmarshal(b, &keys); err != nil || keys.AccessKeyID == "" || keys.SecretAccessKey == "" {
			// The file's content is a secret: never quote it.
			return nil, fmt.Errorf("credentials: %s must hold access_key_id and secret_access_key (YAML or JSON)", c.File)
		}
		return credentials.NewStaticCredentialsProvider(keys.AccessKeyID, keys.SecretAccessKey, keys.SessionToken), nil
	}
	opts := []func(*config.LoadOptions) error{config.WithRegion(bc.Region)}
	if c.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(c.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("credentials: the AWS default chain: %w", err)
	}
	if cfg.Credentials == nil {
		return nil, fmt.Errorf("credentials: the AWS default chain found none")
	}
	return cfg.Credentials, nil
}

func or(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

// refresher keeps a bucket's credentials in memory: retrieved once at
// start-up and, when they expire, again in the background well before
// they do. Signing reads them without a network call.
type refresher struct {
	src  aws.CredentialsProvider
	name string
	log  *slog.Logger
	cur  atomic.Pointer[aws.Credentials]
}

func (r *refresher) refresh(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, credentialTimeout)
	defer cancel()
	c, err := r.src.Retrieve(ctx)
	if err != nil {
		return sanitize(err)
	}
	r.cur.Store(&c)
	return nil
}

// provider answers the cached credentials; expired ones are an error (the
// background refresh has been failing).
func (r *refresher) provider() aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		c := r.cur.Load()
		if c == nil || c.Expired() {
			return aws.Credentials{}, fmt.Errorf("credentials for %s expired and could not be refreshed", r.name)
		}
		return *c, nil
	})
}

// refreshLead is how long before expiry credentials are refreshed.
const refreshLead = 10 * time.Minute

// run refreshes expiring credentials until ctx ends: at expiry minus
// refreshLead (at least a minute from now), or 30 s after a failure.
func (r *refresher) run(ctx context.Context) {
	for {
		c := r.cur.Load()
		if c == nil || !c.CanExpire {
			return
		}
		wait := time.Until(c.Expires.Add(-refreshLead))
		if wait < time.Minute {
			wait = time.Minute
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		for {
			err := r.refresh(ctx)
			if err == nil || ctx.Err() != nil {
				break
			}
			if r.log != nil {
				r.log.Warn("storage credentials refresh failed", "bucket", r.name, "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(30 * time.Second):
			}
		}
	}
}

// sanitize drops URLs' query strings from an SDK error's text: a request
// URL in an error may carry a signature.
func sanitize(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s", RedactText(err.Error()))
}
