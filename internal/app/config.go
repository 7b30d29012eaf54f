// Package app wires the service together from configuration: database,
// migrations, settings watcher, policy backend, authenticator and the HTTP
// API. cmd/indexd and the integration tests both start the service here.
package app

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/datacommons/indexd/apitoken"
	"github.com/datacommons/indexd/discovery"
)

// Config is the whole service configuration. FromEnv reads it from
// environment variables (the README's configuration table).
type Config struct {
	DatabaseURL    string
	Listen         string
	MigrateOnStart bool

	// Read replicas (INDEXD_DATABASE_READ_URL, comma-separated) and the
	// staleness a read without a commit position accepts from them.
	ReadURLs      []string
	ReplicaMaxLag time.Duration
	// ListenURL is a direct connection to the primary for LISTEN, when
	// DatabaseURL goes through a transaction-pooling proxy (PgBouncer).
	ListenURL string

	// Policy backend: ArboristURL, or PolicyFile (static), exactly one.
	ArboristURL    string
	PolicyFile     string
	PolicyTimeout  time.Duration
	PolicyCacheTTL time.Duration

	// APITokenMaxTTL is the longest lifetime of an API token
	// (INDEXD_API_TOKEN_MAX_TTL: "90d", "12h" or seconds; default 90 days).
	APITokenMaxTTL time.Duration

	// Token verification.
	JWKSURL      string
	JWTIssuer    string
	JWTAudience  string
	SigningKey   []byte
	VerifyTokens bool
	// BasicAuth accepts basic-auth admin credentials (default true).
	BasicAuth bool
	// PasswordCost is the bcrypt cost of admin passwords (0: identity.BcryptCost).
	// Not read from the environment: only tests lower it, so that their
	// admin users and wrong-password probes do not each spend a cost-12
	// bcrypt under -race.
	PasswordCost int

	// Initial discovery settings (seed the database once).
	InitialSettings discovery.Settings
	SettingsPoll    time.Duration
	HideExistence   bool

	DefaultPrefix  string
	PrependPrefix  bool
	AddPrefixAlias bool

	QueryTimeout   time.Duration
	RequestTimeout time.Duration
	BodyLimit      string
	MaxConns       int32

	DRSHostname      string
	DRSCompactPrefix string
	DRSMaxBulk       int
	// DRSVersion is the DRS version served: "1.5" (default) or "1.2"
	// (strict DRS 1.2.0 answers). INDEXD_DRS_SERVICE_INFO_1_2=true is an
	// older spelling of "1.2".
	DRSVersion string

	// StorageConfig is the storage configuration file (buckets whose
	// objects the access routes sign; package signing).
	StorageConfig string

	LogLevel  string
	LogFormat string
}

// Defaults returns the configuration with every default filled in.
func Defaults() Config {
	return Config{
		Listen:          "127.0.0.1:8080",
		BasicAuth:       true,
		ReplicaMaxLag:   5 * time.Second,
		PolicyTimeout:   3 * time.Second,
		PolicyCacheTTL:  60 * time.Second,
		APITokenMaxTTL:  apitoken.DefaultMaxTTL,
		InitialSettings: discovery.DefaultSettings(),
		SettingsPoll:    5 * time.Second,
		QueryTimeout:    10 * time.Second,
		RequestTimeout:  30 * time.Second,
		BodyLimit:       "1M",
		DRSMaxBulk:      1000,
		DRSVersion:      "1.5",
		LogLevel:        "info",
		LogFormat:       "json",
	}
}

// FromEnv reads the configuration from the environment (look up with getenv).
func FromEnv(getenv func(string) string) (Config, error) {
	c := Defaults()
	var errs []string
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	boolean := func(name string, dst *bool) {
		if v := getenv(name); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s must be true or false", name))
				return
			}
			*dst = b
		}
	}
	dur := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Sprintf("%s must be a positive duration such as 3s", name))
				return
			}
			*dst = d
		}
	}
	integer := func(name string, dst *int) {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				errs = append(errs, fmt.Sprintf("%s must be a positive integer", name))
				return
			}
			*dst = n
		}
	}
	str("INDEXD_DATABASE_URL", &c.DatabaseURL)
	str("INDEXD_LISTEN", &c.Listen)
	var readURLs string
	str("INDEXD_DATABASE_READ_URL", &readURLs)
	if readURLs != "" {
		c.ReadURLs = strings.Split(readURLs, ",")
		for i := range c.ReadURLs {
			c.ReadURLs[i] = strings.TrimSpace(c.ReadURLs[i])
		}
	}
	dur("INDEXD_REPLICA_MAX_LAG", &c.ReplicaMaxLag)
	str("INDEXD_DATABASE_LISTEN_URL", &c.ListenURL)
	boolean("INDEXD_MIGRATE", &c.MigrateOnStart)
	str("INDEXD_ARBORIST_URL", &c.ArboristURL)
	str("INDEXD_POLICY_FILE", &c.PolicyFile)
	dur("INDEXD_POLICY_TIMEOUT", &c.PolicyTimeout)
	dur("INDEXD_POLICY_CACHE_TTL", &c.PolicyCacheTTL)
	str("INDEXD_JWKS_URL", &c.JWKSURL)
	str("INDEXD_JWT_ISSUER", &c.JWTIssuer)
	str("INDEXD_JWT_AUDIENCE", &c.JWTAudience)
	if v := getenv("INDEXD_SIGNING_KEY"); v != "" {
		c.SigningKey = []byte(v)
	}
	if p := getenv("INDEXD_SIGNING_KEY_FILE"); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, fmt.Sprintf("INDEXD_SIGNING_KEY_FILE: %v", err))
		}
		c.SigningKey = []byte(strings.TrimSpace(string(b)))
	}
	boolean("INDEXD_VERIFY_TOKENS", &c.VerifyTokens)
	boolean("INDEXD_BASIC_AUTH", &c.BasicAuth)
	boolean("INDEXD_ARE_RECORDS_DISCOVERABLE", &c.InitialSettings.AreRecordsDiscoverable)
	if v := getenv("INDEXD_GLOBAL_DISCOVERY_AUTHZ"); v != "" {
		c.InitialSettings.GlobalDiscoveryAuthz = strings.Split(v, ",")
	}
	dur("INDEXD_SETTINGS_POLL", &c.SettingsPoll)
	boolean("INDEXD_HIDE_EXISTENCE", &c.HideExistence)
	str("INDEXD_DEFAULT_PREFIX", &c.DefaultPrefix)
	boolean("INDEXD_PREPEND_PREFIX", &c.PrependPrefix)
	boolean("INDEXD_ADD_PREFIX_ALIAS", &c.AddPrefixAlias)
	dur("INDEXD_QUERY_TIMEOUT", &c.QueryTimeout)
	dur("INDEXD_REQUEST_TIMEOUT", &c.RequestTimeout)
	str("INDEXD_BODY_LIMIT", &c.BodyLimit)
	var maxConns int
	integer("INDEXD_DB_MAX_CONNS", &maxConns)
	c.MaxConns = int32(maxConns)
	str("INDEXD_DRS_HOSTNAME", &c.DRSHostname)
	str("INDEXD_DRS_COMPACT_PREFIX", &c.DRSCompactPrefix)
	integer("INDEXD_DRS_MAX_BULK", &c.DRSMaxBulk)
	str("INDEXD_DRS_VERSION", &c.DRSVersion)
	var info12 bool
	boolean("INDEXD_DRS_SERVICE_INFO_1_2", &info12)
	if info12 {
		if v := getenv("INDEXD_DRS_VERSION"); v != "" && v != "1.2" {
			errs = append(errs, fmt.Sprintf("INDEXD_DRS_SERVICE_INFO_1_2=true (an older spelling of INDEXD_DRS_VERSION=1.2) contradicts INDEXD_DRS_VERSION=%s", v))
		}
		c.DRSVersion = "1.2"
	}
	if v := getenv("INDEXD_API_TOKEN_MAX_TTL"); v != "" {
		d, err := apitoken.ParseDuration(v)
		if err != nil {
			errs = append(errs, "INDEXD_API_TOKEN_MAX_TTL must be a positive duration such as 90d, 12h or a number of seconds")
		} else {
			c.APITokenMaxTTL = d
		}
	}
	str("INDEXD_STORAGE_CONFIG", &c.StorageConfig)
	str("INDEXD_LOG_LEVEL", &c.LogLevel)
	str("INDEXD_LOG_FORMAT", &c.LogFormat)
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

// Validate checks the combination of settings.
func (c Config) Validate() error {
	if c.DatabaseURL == "" {
		return fmt.Errorf("configuration: INDEXD_DATABASE_URL is required")
	}
	for i, u := range c.ReadURLs {
		// The values are never echoed: they may hold passwords.
		if _, err := pgconn.ParseConfig(u); u == "" || err != nil {
			return fmt.Errorf("configuration: INDEXD_DATABASE_READ_URL entry %d (of %d, comma-separated) is not a valid PostgreSQL connection string", i+1, len(c.ReadURLs))
		}
	}
	if c.ReplicaMaxLag <= 0 {
		return fmt.Errorf("configuration: INDEXD_REPLICA_MAX_LAG must be a positive duration such as 5s")
	}
	if c.ListenURL != "" {
		if _, err := pgconn.ParseConfig(c.ListenURL); err != nil {
			return fmt.Errorf("configuration: INDEXD_DATABASE_LISTEN_URL is not a valid PostgreSQL connection string")
		}
	}
	if (c.ArboristURL == "") == (c.PolicyFile == "") {
		return fmt.Errorf("configuration: set exactly one of INDEXD_ARBORIST_URL and INDEXD_POLICY_FILE")
	}
	if c.PolicyFile != "" && len(c.SigningKey) == 0 && c.JWKSURL == "" {
		return fmt.Errorf("configuration: a static policy file needs INDEXD_SIGNING_KEY (or INDEXD_JWKS_URL) so the service can verify tokens itself")
	}
	if c.DRSMaxBulk <= 0 {
		return fmt.Errorf("configuration: INDEXD_DRS_MAX_BULK must be a positive integer (got %d)", c.DRSMaxBulk)
	}
	if c.DRSVersion != "1.5" && c.DRSVersion != "1.2" {
		return fmt.Errorf("configuration: INDEXD_DRS_VERSION must be 1.5 or 1.2 (got %q)", c.DRSVersion)
	}
	for _, p := range c.InitialSettings.GlobalDiscoveryAuthz {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("configuration: INDEXD_GLOBAL_DISCOVERY_AUTHZ path %q must start with /", p)
		}
	}
	return nil
}
