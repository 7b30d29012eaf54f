package app

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/datacommons/indexd/signing"
)

// Effective is the configuration as `indexd config check` prints it: each
// service variable and the value in force (the default when unset), with
// secrets masked: passwords in connection strings, keys as their length.
func Effective(c Config) [][2]string {
	var out [][2]string
	add := func(name, v string) { out = append(out, [2]string{name, v}) }
	b := strconv.FormatBool
	urls := make([]string, len(c.ReadURLs))
	for i, u := range c.ReadURLs {
		urls[i] = MaskURL(u)
	}
	for _, v := range Variables {
		if v.Test {
			continue
		}
		switch v.Name {
		case "INDEXD_DATABASE_URL":
			add(v.Name, MaskURL(c.DatabaseURL))
		case "INDEXD_DATABASE_READ_URL":
			add(v.Name, strings.Join(urls, ","))
		case "INDEXD_DATABASE_LISTEN_URL":
			add(v.Name, MaskURL(c.ListenURL))
		case "INDEXD_REPLICA_MAX_LAG":
			add(v.Name, c.ReplicaMaxLag.String())
		case "INDEXD_DB_MAX_CONNS":
			if c.MaxConns == 0 {
				add(v.Name, "(pgx default)")
			} else {
				add(v.Name, strconv.Itoa(int(c.MaxConns)))
			}
		case "INDEXD_DB_CONNECT_TIMEOUT":
			add(v.Name, c.DBConnectTimeout.String())
		case "INDEXD_MIGRATE":
			add(v.Name, b(c.MigrateOnStart))
		case "INDEXD_LISTEN":
			add(v.Name, c.Listen)
		case "INDEXD_ARBORIST_URL":
			add(v.Name, c.ArboristURL)
		case "INDEXD_POLICY_FILE":
			add(v.Name, c.PolicyFile)
		case "INDEXD_POLICY_TIMEOUT":
			add(v.Name, c.PolicyTimeout.String())
		case "INDEXD_POLICY_CACHE_TTL":
			add(v.Name, c.PolicyCacheTTL.String())
		case "INDEXD_JWKS_URL":
			add(v.Name, c.JWKSURL)
		case "INDEXD_JWT_ISSUER":
			add(v.Name, c.JWTIssuer)
		case "INDEXD_JWT_AUDIENCE":
			add(v.Name, c.JWTAudience)
		case "INDEXD_SIGNING_KEY":
			if len(c.SigningKey) > 0 {
				add(v.Name+"(_FILE)", fmt.Sprintf("(set, %d bytes)", len(c.SigningKey)))
			}
		case "INDEXD_VERIFY_TOKENS":
			add(v.Name, b(c.VerifyTokens)+" (effective: "+tokenVerification(c)+")")
		case "INDEXD_BASIC_AUTH":
			add(v.Name, b(c.BasicAuth))
		case "INDEXD_ARE_RECORDS_DISCOVERABLE":
			add(v.Name, b(c.InitialSettings.AreRecordsDiscoverable)+" (seeds an empty database only)")
		case "INDEXD_GLOBAL_DISCOVERY_AUTHZ":
			add(v.Name, strings.Join(c.InitialSettings.GlobalDiscoveryAuthz, ",")+" (seeds an empty database only)")
		case "INDEXD_SETTINGS_POLL":
			add(v.Name, c.SettingsPoll.String())
		case "INDEXD_HIDE_EXISTENCE":
			add(v.Name, b(c.HideExistence))
		case "INDEXD_DEFAULT_PREFIX":
			add(v.Name, c.DefaultPrefix)
		case "INDEXD_PREPEND_PREFIX":
			add(v.Name, b(c.PrependPrefix))
		case "INDEXD_ADD_PREFIX_ALIAS":
			add(v.Name, b(c.AddPrefixAlias))
		case "INDEXD_QUERY_TIMEOUT":
			add(v.Name, c.QueryTimeout.String())
		case "INDEXD_REQUEST_TIMEOUT":
			add(v.Name, c.RequestTimeout.String())
		case "INDEXD_BODY_LIMIT":
			add(v.Name, c.BodyLimit)
		case "INDEXD_DRS_HOSTNAME":
			add(v.Name, c.DRSHostname)
		case "INDEXD_DRS_COMPACT_PREFIX":
			add(v.Name, c.DRSCompactPrefix)
		case "INDEXD_DRS_MAX_BULK":
			add(v.Name, strconv.Itoa(c.DRSMaxBulk))
		case "INDEXD_DRS_VERSION":
			add(v.Name, c.DRSVersion)
		case "INDEXD_STORAGE_CONFIG":
			add(v.Name, c.StorageConfig)
		case "INDEXD_TRUSTED_PROXIES":
			var ps []string
			for _, p := range c.TrustedProxies {
				ps = append(ps, p.String())
			}
			add(v.Name, strings.Join(ps, ","))
		case "INDEXD_LOG_LEVEL":
			add(v.Name, c.LogLevel)
		case "INDEXD_LOG_FORMAT":
			add(v.Name, c.LogFormat)
		}
	}
	return out
}

// MaskURL replaces the password of a connection URL with "***" (and a
// key=value connection string's password=...). Empty stays empty.
func MaskURL(s string) string {
	if s == "" {
		return ""
	}
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "***")
		}
		q := u.Query()
		if q.Has("password") {
			q.Set("password", "***")
			u.RawQuery = q.Encode()
		}
		return strings.Replace(u.String(), "%2A%2A%2A", "***", 1)
	}
	f := strings.Fields(s)
	for i, kv := range f {
		if strings.HasPrefix(kv, "password=") {
			f[i] = "password=***"
		}
	}
	return strings.Join(f, " ")
}

// CheckStorage parses the storage configuration file (credentials are not
// loaded: that may call a cloud provider).
func CheckStorage(path string) error {
	b, err := os.ReadFile(path)
	if err == nil {
		_, err = signing.ParseConfig(b)
	}
	if err != nil {
		return fmt.Errorf("configuration: INDEXD_STORAGE_CONFIG %s: %w", path, err)
	}
	return nil
}
