// Package app wires the service together from configuration: database,
// migrations, settings watcher, policy backend, authenticator and the HTTP
// API. cmd/indexd and the integration tests both start the service here.
package app

import (
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/datacommons/indexd/apitoken"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/identity"
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

	// DBConnectTimeout bounds start-up's retries of an unreachable
	// database (INDEXD_DB_CONNECT_TIMEOUT).
	DBConnectTimeout time.Duration

	// DiscoverableFromEnv and GlobalAuthzFromEnv: the initial settings
	// were set in the environment (start-up warns when they differ from
	// the stored ones).
	// TrustedProxies: X-Forwarded-For is believed only from these
	// (INDEXD_TRUSTED_PROXIES, comma-separated addresses or CIDRs).
	TrustedProxies []netip.Prefix

	DiscoverableFromEnv bool
	GlobalAuthzFromEnv  bool
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

		DBConnectTimeout: 30 * time.Second,
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
				errs = append(errs, fmt.Sprintf("%s must be true or false (got %q)", name, v))
				return
			}
			*dst = b
		}
	}
	dur := func(name string, dst *time.Duration) {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				errs = append(errs, fmt.Sprintf("%s must be a positive duration such as 3s (got %q)", name, v))
				return
			}
			*dst = d
		}
	}
	integer := func(name string, dst *int) {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				errs = append(errs, fmt.Sprintf("%s must be a positive integer (got %q)", name, v))
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
	key, err := SigningKeyFromEnv(getenv)
	if err != nil {
		errs = append(errs, err.Error())
	}
	c.SigningKey = key
	boolean("INDEXD_VERIFY_TOKENS", &c.VerifyTokens)
	boolean("INDEXD_BASIC_AUTH", &c.BasicAuth)
	boolean("INDEXD_ARE_RECORDS_DISCOVERABLE", &c.InitialSettings.AreRecordsDiscoverable)
	c.DiscoverableFromEnv = getenv("INDEXD_ARE_RECORDS_DISCOVERABLE") != ""
	c.GlobalAuthzFromEnv = getenv("INDEXD_GLOBAL_DISCOVERY_AUTHZ") != ""
	if v := getenv("INDEXD_GLOBAL_DISCOVERY_AUTHZ"); v != "" {
		// "/a, /b" is two paths: spaces around the commas are trimmed.
		c.InitialSettings.GlobalDiscoveryAuthz = []string{}
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.InitialSettings.GlobalDiscoveryAuthz = append(c.InitialSettings.GlobalDiscoveryAuthz, p)
			}
		}
	}
	dur("INDEXD_SETTINGS_POLL", &c.SettingsPoll)
	boolean("INDEXD_HIDE_EXISTENCE", &c.HideExistence)
	str("INDEXD_DEFAULT_PREFIX", &c.DefaultPrefix)
	boolean("INDEXD_PREPEND_PREFIX", &c.PrependPrefix)
	boolean("INDEXD_ADD_PREFIX_ALIAS", &c.AddPrefixAlias)
	dur("INDEXD_QUERY_TIMEOUT", &c.QueryTimeout)
	dur("INDEXD_REQUEST_TIMEOUT", &c.RequestTimeout)
	if v := getenv("INDEXD_BODY_LIMIT"); v != "" {
		if _, err := ParseBodyLimit(v); err != nil {
			errs = append(errs, fmt.Sprintf("INDEXD_BODY_LIMIT=%q: %v", v, err))
		} else {
			c.BodyLimit = v
		}
	}
	dur("INDEXD_DB_CONNECT_TIMEOUT", &c.DBConnectTimeout)
	if v := getenv("INDEXD_TRUSTED_PROXIES"); v != "" {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			pfx, err := netip.ParsePrefix(p)
			if err != nil {
				a, aerr := netip.ParseAddr(p)
				if aerr != nil {
					errs = append(errs, fmt.Sprintf("INDEXD_TRUSTED_PROXIES entry %q must be an IP address or CIDR such as 10.0.0.0/8", p))
					continue
				}
				pfx = netip.PrefixFrom(a, a.BitLen())
			}
			c.TrustedProxies = append(c.TrustedProxies, pfx.Masked())
		}
	}
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
	if !slices.Contains(logLevels, strings.ToLower(c.LogLevel)) {
		errs = append(errs, fmt.Sprintf("INDEXD_LOG_LEVEL=%q: must be one of %s", c.LogLevel, strings.Join(logLevels, ", ")))
	}
	if !slices.Contains(logFormats, strings.ToLower(c.LogFormat)) {
		errs = append(errs, fmt.Sprintf("INDEXD_LOG_FORMAT=%q: must be one of %s", c.LogFormat, strings.Join(logFormats, ", ")))
	}
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
	if len(c.SigningKey) > 0 && len(c.SigningKey) < identity.MinSigningKeyLen {
		return fmt.Errorf("configuration: INDEXD_SIGNING_KEY (or the file INDEXD_SIGNING_KEY_FILE names) is %d bytes, must be at least %d", len(c.SigningKey), identity.MinSigningKeyLen)
	}
	if _, err := ParseBodyLimit(c.BodyLimit); err != nil {
		return fmt.Errorf("configuration: INDEXD_BODY_LIMIT=%q: %v", c.BodyLimit, err)
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

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"json", "text"}
)

// Body limits accepted: the echo BodyLimit middleware's format, 1K to 1G.
var bodyLimitPattern = regexp.MustCompile(`(?i)^([0-9]+)\s?([KMG]?)B?$`)

const (
	minBodyLimit = 1 << 10
	maxBodyLimit = 1 << 30
)

// ParseBodyLimit is the byte count of a body limit such as 512K, 1M, 2MB,
// 65536; anything else, or outside 1K..1G, is an error saying what is
// allowed (the echo middleware would panic on a malformed one, and 0 would
// refuse every POST).
func ParseBodyLimit(v string) (int64, error) {
	m := bodyLimitPattern.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return 0, fmt.Errorf("must be a size such as 512K, 1M or 2M (K, M, G: powers of 1024), between 1K and 1G")
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n > maxBodyLimit {
		return 0, fmt.Errorf("must be between 1K and 1G")
	}
	switch strings.ToUpper(m[2]) {
	case "K":
		n <<= 10
	case "M":
		n <<= 20
	case "G":
		n <<= 30
	}
	if n < minBodyLimit || n > maxBodyLimit {
		return 0, fmt.Errorf("must be between 1K and 1G")
	}
	return n, nil
}

// SigningKeyFromEnv is the HS256 key of INDEXD_SIGNING_KEY or the file
// INDEXD_SIGNING_KEY_FILE names (nil when neither is set). Both set, an
// unreadable file, or a key shorter than identity.MinSigningKeyLen is an
// error naming the variable (never the key). `serve` and `token` share it.
func SigningKeyFromEnv(getenv func(string) string) ([]byte, error) {
	v, p := getenv("INDEXD_SIGNING_KEY"), getenv("INDEXD_SIGNING_KEY_FILE")
	var key []byte
	name := "INDEXD_SIGNING_KEY"
	switch {
	case v != "" && p != "":
		return nil, fmt.Errorf("set only one of INDEXD_SIGNING_KEY and INDEXD_SIGNING_KEY_FILE")
	case v != "":
		key = []byte(v)
	case p != "":
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("INDEXD_SIGNING_KEY_FILE=%q: %v", p, err)
		}
		key, name = []byte(strings.TrimSpace(string(b))), fmt.Sprintf("INDEXD_SIGNING_KEY_FILE=%q", p)
	default:
		return nil, nil
	}
	if len(key) < identity.MinSigningKeyLen {
		return nil, fmt.Errorf("%s: the key is %d bytes, must be at least %d", name, len(key), identity.MinSigningKeyLen)
	}
	return key, nil
}
