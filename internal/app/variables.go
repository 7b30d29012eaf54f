package app

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/datacommons/indexd/signing"
)

// Variable is one INDEXD_* environment variable the process knows.
type Variable struct {
	Name string
	// Help is a one-line description (with the default).
	Help string
	// Secret values are masked by `indexd config check`.
	Secret bool
	// Test variables are read only by tests, benchmarks and tools; they
	// are known (so a test environment passes the check) but not listed
	// in the service's usage.
	Test bool
}

// Variables lists every INDEXD_* variable any part of the program reads.
// An INDEXD_* variable not in this list stops start-up (CheckEnviron):
// a typo must never silently fall back to a default.
var Variables = []Variable{
	{Name: "INDEXD_DATABASE_URL", Help: "PostgreSQL connection string of the primary (required)", Secret: true},
	{Name: "INDEXD_DATABASE_READ_URL", Help: "read replicas, comma-separated connection strings", Secret: true},
	{Name: "INDEXD_DATABASE_LISTEN_URL", Help: "direct connection to the primary for LISTEN (behind PgBouncer)", Secret: true},
	{Name: "INDEXD_REPLICA_MAX_LAG", Help: "staleness a replica read accepts (default 5s)"},
	{Name: "INDEXD_DB_MAX_CONNS", Help: "database pool size (default: pgx's, max(4, CPUs))"},
	{Name: "INDEXD_DB_CONNECT_TIMEOUT", Help: "how long start-up retries an unreachable database (default 30s)"},
	{Name: "INDEXD_MIGRATE", Help: "apply migrations at start-up (default false)"},
	{Name: "INDEXD_LISTEN", Help: "API listen address (default 127.0.0.1:8080)"},
	{Name: "INDEXD_ARBORIST_URL", Help: "Arborist policy service base URL (or INDEXD_POLICY_FILE)"},
	{Name: "INDEXD_POLICY_FILE", Help: "static policy file, .yaml/.yml/.json (or INDEXD_ARBORIST_URL)"},
	{Name: "INDEXD_POLICY_TIMEOUT", Help: "timeout of one policy-service call (default 3s)"},
	{Name: "INDEXD_POLICY_CACHE_TTL", Help: "how long a user's policy mapping is cached (default 60s)"},
	{Name: "INDEXD_JWKS_URL", Help: "JWKS URL to verify RS256 tokens"},
	{Name: "INDEXD_JWT_ISSUER", Help: "required token issuer (iss)"},
	{Name: "INDEXD_JWT_AUDIENCE", Help: "required token audience (aud)"},
	{Name: "INDEXD_SIGNING_KEY", Help: "HS256 key, at least 32 bytes (static policy mode)", Secret: true},
	{Name: "INDEXD_SIGNING_KEY_FILE", Help: "file holding the HS256 key (instead of INDEXD_SIGNING_KEY)"},
	{Name: "INDEXD_VERIFY_TOKENS", Help: "verify tokens even in Arborist mode (default false)"},
	{Name: "INDEXD_API_TOKEN_MAX_TTL", Help: "longest lifetime of an API token"},
	{Name: "INDEXD_BASIC_AUTH", Help: "accept basic-auth admin users (default true)"},
	{Name: "INDEXD_ADMIN_PASSWORD", Help: "password for `indexd admin add` (else read from stdin)", Secret: true},
	{Name: "INDEXD_ARE_RECORDS_DISCOVERABLE", Help: "initial discovery setting, seeds an empty database only (default true)"},
	{Name: "INDEXD_GLOBAL_DISCOVERY_AUTHZ", Help: "initial global discovery paths, comma-separated; seeds an empty database only"},
	{Name: "INDEXD_SETTINGS_POLL", Help: "how often settings are re-read from the database (default 5s)"},
	{Name: "INDEXD_HIDE_EXISTENCE", Help: "answer 404 instead of 403 for records the caller may not see (default false)"},
	{Name: "INDEXD_DEFAULT_PREFIX", Help: "prefix of generated dids"},
	{Name: "INDEXD_PREPEND_PREFIX", Help: "prepend the prefix to generated dids (default false)"},
	{Name: "INDEXD_ADD_PREFIX_ALIAS", Help: "add the prefixed did as an alias (default false)"},
	{Name: "INDEXD_QUERY_TIMEOUT", Help: "bound of one database query (default 10s)"},
	{Name: "INDEXD_REQUEST_TIMEOUT", Help: "bound of one request (default 30s)"},
	{Name: "INDEXD_BODY_LIMIT", Help: "largest request body, 1K to 1G such as 512K, 1M (default 1M)"},
	{Name: "INDEXD_DRS_HOSTNAME", Help: "hostname in DRS self URIs"},
	{Name: "INDEXD_DRS_COMPACT_PREFIX", Help: "compact identifier prefix in DRS URIs"},
	{Name: "INDEXD_DRS_MAX_BULK", Help: "largest DRS bulk request (default 1000)"},
	{Name: "INDEXD_DRS_VERSION", Help: "DRS version served: 1.5 or 1.2 (default 1.5)"},
	{Name: "INDEXD_DRS_SERVICE_INFO_1_2", Help: "older spelling of INDEXD_DRS_VERSION=1.2"},
	{Name: "INDEXD_STORAGE_CONFIG", Help: "storage configuration file (buckets whose URLs are signed)"},
	{Name: "INDEXD_TRUSTED_PROXIES", Help: "proxies (addresses or CIDRs, comma-separated) whose X-Forwarded-For the access log believes"},
	{Name: "INDEXD_LOG_LEVEL", Help: "debug, info, warn or error (default info)"},
	{Name: "INDEXD_LOG_FORMAT", Help: "json or text (default json)"},

	{Name: "INDEXD_TEST_DATABASE_URL", Help: "tests: PostgreSQL server for test databases", Secret: true, Test: true},
	{Name: "INDEXD_TEST_DOCKER", Help: "tests: off disables the Docker fallback", Test: true},
	{Name: "INDEXD_TEST_LOG", Help: "tests: show the service's logs", Test: true},
	{Name: "INDEXD_DRS_SCHEMA", Help: "tests: the official DRS 1.5 OpenAPI document", Test: true},
	{Name: "INDEXD_DRS_SCHEMA_1_2", Help: "tests: the official DRS 1.2 OpenAPI document", Test: true},
	{Name: "INDEXD_ORACLE_SEED", Help: "tests: replay a leak-oracle seed", Test: true},
	{Name: "INDEXD_EXPLAIN_SEED", Help: "tests: replay an explain seed", Test: true},
	{Name: "INDEXD_SOAK", Help: "tests: run the soak tests", Test: true},
	{Name: "INDEXD_DEVDB_INITDB_TEST", Help: "tests: run the initdb test", Test: true},
	{Name: "INDEXD_BENCH_DATABASE_URL", Help: "bench: PostgreSQL server of the load harness", Secret: true, Test: true},
}

func knownVariable(name string) (Variable, bool) {
	for _, v := range Variables {
		if v.Name == name {
			return v, true
		}
	}
	return Variable{}, false
}

// CheckEnviron refuses INDEXD_* variables (in os.Environ form) that are not
// in Variables, naming each and the closest known name. extra are further
// allowed names (credential variables a storage configuration names).
func CheckEnviron(environ []string, extra ...string) error {
	allowed := map[string]bool{}
	for _, n := range extra {
		allowed[n] = true
	}
	var problems []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "INDEXD_") || allowed[name] {
			continue
		}
		if _, ok := knownVariable(name); ok {
			continue
		}
		problems = append(problems, fmt.Sprintf("unknown variable %s (did you mean %s?)", name, closestVariable(name)))
	}
	if len(problems) == 0 {
		return nil
	}
	sort.Strings(problems)
	return fmt.Errorf("configuration: %s; `indexd help` lists the known variables", strings.Join(problems, "; "))
}

// StorageVariables are the credential variables the storage configuration
// at path names (allowed by CheckEnviron even when they start INDEXD_).
// A file that cannot be read yields none: loading it reports the problem.
func StorageVariables(path string) []string {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	c, err := signing.ParseConfig(b)
	if err != nil {
		return nil
	}
	var names []string
	for _, bc := range c.Buckets {
		names = append(names, bc.Credentials.AccessKeyIDEnv, bc.Credentials.SecretAccessKeyEnv, bc.Credentials.SessionTokenEnv)
	}
	return names
}

// closestVariable is the known name at the least edit distance from name.
func closestVariable(name string) string {
	best, bestD := "", -1
	for _, v := range Variables {
		if d := editDistance(name, v.Name); bestD < 0 || d < bestD {
			best, bestD = v.Name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Usage lists the service's variables (not the test ones), one a line.
func Usage() string {
	var b strings.Builder
	for _, v := range Variables {
		if !v.Test {
			fmt.Fprintf(&b, "  %-32s %s\n", v.Name, v.Help)
		}
	}
	return b.String()
}

// UsageOf lists the named variables, one a line.
func UsageOf(names ...string) string {
	var b strings.Builder
	for _, n := range names {
		v, _ := knownVariable(n)
		fmt.Fprintf(&b, "  %-32s %s\n", n, v.Help)
	}
	return b.String()
}
