package signing

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the storage configuration file (INDEXD_STORAGE_CONFIG, YAML;
// docs/drs.md has an example per provider).
type Config struct {
	// Unsigned: what the access route does for a location in a bucket
	// without an entry: "refuse" (default; 404 naming the reason) or
	// "passthrough" (the stored URL as is).
	Unsigned Unsigned `yaml:"unsigned"`
	// Lifetime is the default URL lifetime (default 1h).
	Lifetime Duration       `yaml:"lifetime"`
	Buckets  []BucketConfig `yaml:"buckets"`
}

// BucketConfig is one bucket entry.
type BucketConfig struct {
	Provider string `yaml:"provider"` // "s3" or "gs"
	Bucket   string `yaml:"bucket"`
	// Region (s3; default us-east-1).
	Region string `yaml:"region"`
	// Endpoint: an S3-compatible endpoint (MinIO, Ceph, Wasabi) or a GCS
	// XML API host, as a base URL (https://s3.example.org).
	Endpoint string `yaml:"endpoint"`
	// PathStyle: https://endpoint/bucket/key instead of
	// https://bucket.endpoint/key.
	PathStyle bool `yaml:"path_style"`
	// Lifetime of URLs for this bucket (default: the file's lifetime).
	Lifetime Duration `yaml:"lifetime"`
	// RequesterPays: the requester (the URL's holder) is billed; s3 signs
	// x-amz-request-payer, gs needs BillingProject (userProject).
	RequesterPays  bool   `yaml:"requester_pays"`
	BillingProject string `yaml:"billing_project"`
	Credentials    Creds  `yaml:"credentials"`

	// fixedEndpoint: Endpoint is used as is, without the AWS endpoint
	// rules (GCS with HMAC keys: region "auto" is no AWS region, and the
	// rules' partition look-up for an unknown region costs a millisecond).
	fixedEndpoint bool
}

// Creds says how a bucket's signing credentials are found.
type Creds struct {
	// Source: "default" (the provider's default chain: for s3 environment,
	// shared config, web identity, container and instance roles; for gs
	// GOOGLE_APPLICATION_CREDENTIALS naming a service-account key), "env"
	// (s3: static keys from the named environment variables), "file" (s3:
	// a YAML/JSON file {access_key_id, secret_access_key, session_token?};
	// gs: a service-account JSON key).
	Source string `yaml:"source"`
	// AccessKeyIDEnv, SecretAccessKeyEnv, SessionTokenEnv name the
	// variables of source env (default AWS_ACCESS_KEY_ID,
	// AWS_SECRET_ACCESS_KEY, none).
	AccessKeyIDEnv     string `yaml:"access_key_id_env"`
	SecretAccessKeyEnv string `yaml:"secret_access_key_env"`
	SessionTokenEnv    string `yaml:"session_token_env"`
	// File for source file.
	File string `yaml:"file"`
	// Profile: a shared-config profile for s3 source default.
	Profile string `yaml:"profile"`
}

// Duration is a time.Duration written as "15m", "1h".
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return fmt.Errorf("line %d: a duration such as 15m or 1h", n.Line)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 15m or 1h", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

const (
	// DefaultLifetime of a signed URL.
	DefaultLifetime = time.Hour
	// MaxLifetime is what SigV4 presigned URLs and GCS V4 signed URLs
	// allow: seven days.
	MaxLifetime = 7 * 24 * time.Hour
	// MinLifetime: shorter URLs are refused by the providers.
	MinLifetime = time.Second
)

// ParseConfig reads a configuration file's bytes strictly: unknown keys
// are errors.
func ParseConfig(b []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return c, err
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	switch c.Unsigned {
	case "":
		c.Unsigned = UnsignedRefuse
	case UnsignedRefuse, UnsignedPassthrough:
	default:
		return fmt.Errorf("unsigned must be refuse or passthrough, not %q", c.Unsigned)
	}
	if c.Lifetime == 0 {
		c.Lifetime = Duration(DefaultLifetime)
	}
	if err := checkLifetime(time.Duration(c.Lifetime)); err != nil {
		return fmt.Errorf("lifetime: %w", err)
	}
	seen := map[bucketKey]bool{}
	for i := range c.Buckets {
		b := &c.Buckets[i]
		if err := b.validate(time.Duration(c.Lifetime)); err != nil {
			return fmt.Errorf("buckets[%d] (%s bucket %q): %w", i, b.Provider, b.Bucket, err)
		}
		k := bucketKey{b.Provider, b.Bucket}
		if seen[k] {
			return fmt.Errorf("buckets[%d]: %s bucket %q is configured twice", i, b.Provider, b.Bucket)
		}
		seen[k] = true
	}
	return nil
}

func checkLifetime(d time.Duration) error {
	if d < MinLifetime || d > MaxLifetime {
		return fmt.Errorf("%v is outside what the providers allow (%v to %v)", d, MinLifetime, MaxLifetime)
	}
	return nil
}

func (b *BucketConfig) validate(defaultLifetime time.Duration) error {
	switch b.Provider {
	case "s3", "gs":
	case "az", "azure":
		return fmt.Errorf("provider %s: Azure SAS signing is not supported (docs/drs.md)", b.Provider)
	default:
		return fmt.Errorf("provider must be s3 or gs, not %q", b.Provider)
	}
	if b.Bucket == "" || strings.ContainsAny(b.Bucket, "/ ") {
		return fmt.Errorf("bucket must be a bucket name (no '/')")
	}
	if b.Lifetime == 0 {
		b.Lifetime = Duration(defaultLifetime)
	}
	if err := checkLifetime(time.Duration(b.Lifetime)); err != nil {
		return fmt.Errorf("lifetime: %w", err)
	}
	if b.Endpoint != "" {
		if !strings.HasPrefix(b.Endpoint, "https://") && !strings.HasPrefix(b.Endpoint, "http://") {
			return fmt.Errorf("endpoint must be an http(s) base URL, not %q", b.Endpoint)
		}
	}
	if b.Credentials.Source == "" {
		b.Credentials.Source = "default"
	}
	switch b.Provider {
	case "s3":
		if b.Region == "" {
			b.Region = "us-east-1"
		}
		switch b.Credentials.Source {
		case "default", "env":
		case "file":
			if b.Credentials.File == "" {
				return fmt.Errorf("credentials: source file needs file")
			}
		default:
			return fmt.Errorf("credentials: source must be default, env or file, not %q", b.Credentials.Source)
		}
	case "gs":
		if b.RequesterPays && b.BillingProject == "" {
			return fmt.Errorf("requester_pays needs billing_project (the project billed, sent as userProject)")
		}
		switch b.Credentials.Source {
		case "default":
		case "file", "hmac_file":
			if b.Credentials.File == "" {
				return fmt.Errorf("credentials: source %s needs file", b.Credentials.Source)
			}
		case "hmac_env":
		default:
			return fmt.Errorf("credentials: source must be default, file, hmac_env or hmac_file, not %q", b.Credentials.Source)
		}
		if strings.HasPrefix(b.Credentials.Source, "hmac_") && b.RequesterPays {
			return fmt.Errorf("requester_pays is not supported with HMAC keys")
		}
	}
	return nil
}

// Load reads the configuration file at path and builds the Storage
// (credentials loaded, refreshers started). An empty path is a Storage
// with no bucket that refuses unsigned locations. getenv reads the
// credential variables. Errors say what is wrong and where.
func Load(ctx context.Context, path string, getenv func(string) string, log *slog.Logger) (*Storage, error) {
	if path == "" {
		return Refusing(), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, err
	}
	return New(ctx, c, getenv, log)
}

// Refusing is a Storage without buckets that refuses unsigned locations
// (what no configuration file means). It starts nothing.
func Refusing() *Storage {
	return &Storage{unsigned: UnsignedRefuse, buckets: map[bucketKey]*bucket{}}
}

// Passthrough is a Storage without buckets that answers every location as
// stored (unsigned: passthrough, and nothing to sign). It starts nothing.
func Passthrough() *Storage {
	return &Storage{unsigned: UnsignedPassthrough, buckets: map[bucketKey]*bucket{}}
}

// New builds the Storage of a parsed configuration: one signer per bucket,
// with its credentials loaded now (bounded by ctx). Credentials that
// expire are refreshed in the background until Close.
func New(ctx context.Context, c Config, getenv func(string) string, log *slog.Logger) (*Storage, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	bg, stop := context.WithCancel(context.Background())
	s := &Storage{unsigned: c.Unsigned, buckets: map[bucketKey]*bucket{}, stop: stop, done: make(chan struct{})}
	var refreshers []*refresher
	for i, bc := range c.Buckets {
		var (
			sg  Signer
			r   *refresher
			err error
		)
		switch bc.Provider {
		case "s3":
			sg, r, err = newS3(ctx, bc, getenv, log)
		case "gs":
			if strings.HasPrefix(bc.Credentials.Source, "hmac_") {
				sg, r, err = newS3(ctx, gcsHMAC(bc), getenv, log)
			} else {
				sg, err = newGCS(bc, getenv)
			}
		}
		if err != nil {
			stop()
			return nil, fmt.Errorf("buckets[%d] (%s bucket %q): %w", i, bc.Provider, bc.Bucket, err)
		}
		if r != nil {
			refreshers = append(refreshers, r)
		}
		s.buckets[bucketKey{bc.Provider, bc.Bucket}] = &bucket{signer: sg, lifetime: time.Duration(bc.Lifetime)}
	}
	go func() {
		defer close(s.done)
		done := make(chan struct{}, len(refreshers))
		for _, r := range refreshers {
			go func() { r.run(bg); done <- struct{}{} }()
		}
		for range refreshers {
			<-done
		}
	}()
	return s, nil
}
