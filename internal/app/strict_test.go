package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnknownVariable: an INDEXD_* variable nobody reads stops start-up,
// naming it and the closest known name (a typo of the discovery setting
// must never silently serve everything).
func TestUnknownVariable(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{"INDEXD_ARE_RECORD_DISCOVERABLE=false", "unknown variable INDEXD_ARE_RECORD_DISCOVERABLE (did you mean INDEXD_ARE_RECORDS_DISCOVERABLE?)"},
		{"INDEXD_GLOBAL_DISCOVERY_AUTH=/a", "did you mean INDEXD_GLOBAL_DISCOVERY_AUTHZ?"},
		{"INDEXD_BODYLIMIT=1M", "did you mean INDEXD_BODY_LIMIT?"},
		{"INDEXD_SIGNINGKEY_FILE=/x", "did you mean INDEXD_SIGNING_KEY_FILE?"},
	} {
		err := CheckEnviron([]string{"PATH=/bin", "INDEXD_DATABASE_URL=postgres://x/y", tc.env})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.env, err, tc.want)
		}
	}
	// Every known variable, other prefixes, and names a storage
	// configuration declares pass.
	var env []string
	for _, v := range Variables {
		env = append(env, v.Name+"=x")
	}
	env = append(env, "HOME=/root", "INDEXDX=1", "INDEXD_S3_KEY=k")
	if err := CheckEnviron(env, "INDEXD_S3_KEY"); err != nil {
		t.Fatal(err)
	}
	// Every INDEXD_ variable the repository's code reads is in the list
	// (the check would otherwise refuse a documented variable).
	for _, name := range []string{"INDEXD_STORAGE_CONFIG", "INDEXD_DRS_VERSION", "INDEXD_DRS_SERVICE_INFO_1_2", "INDEXD_BASIC_AUTH",
		"INDEXD_DATABASE_READ_URL", "INDEXD_REPLICA_MAX_LAG", "INDEXD_DATABASE_LISTEN_URL", "INDEXD_API_TOKEN_MAX_TTL",
		"INDEXD_TEST_DATABASE_URL", "INDEXD_BENCH_DATABASE_URL", "INDEXD_DRS_SCHEMA", "INDEXD_DRS_SCHEMA_1_2", "INDEXD_SOAK", "INDEXD_EXPLAIN_SEED"} {
		if _, ok := knownVariable(name); !ok {
			t.Errorf("%s is not known", name)
		}
	}
}

// TestStorageVariables: credential variables a storage file names are
// allowed even with the INDEXD_ prefix.
func TestStorageVariables(t *testing.T) {
	p := filepath.Join(t.TempDir(), "storage.yaml")
	if err := os.WriteFile(p, []byte("buckets:\n- {provider: s3, bucket: b, credentials: {source: env, access_key_id_env: INDEXD_S3_ID, secret_access_key_env: INDEXD_S3_SECRET}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckEnviron([]string{"INDEXD_S3_ID=a", "INDEXD_S3_SECRET=b"}, StorageVariables(p)...); err != nil {
		t.Fatal(err)
	}
}

// TestBadValues: every malformed value is an error naming the variable,
// the value and what is allowed; nothing panics; nothing is silently
// replaced by a default.
func TestBadValues(t *testing.T) {
	dir := t.TempDir()
	shortKey := filepath.Join(dir, "short.key")
	if err := os.WriteFile(shortKey, []byte("12345\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"body limit word", map[string]string{"INDEXD_BODY_LIMIT": "lots"}, []string{"INDEXD_BODY_LIMIT", `"lots"`, "512K"}},
		{"body limit zero", map[string]string{"INDEXD_BODY_LIMIT": "0"}, []string{"INDEXD_BODY_LIMIT", `"0"`, "between 1K and 1G"}},
		{"body limit huge", map[string]string{"INDEXD_BODY_LIMIT": "99999999999G"}, []string{"INDEXD_BODY_LIMIT", "between 1K and 1G"}},
		{"log level", map[string]string{"INDEXD_LOG_LEVEL": "verbose"}, []string{"INDEXD_LOG_LEVEL", `"verbose"`, "debug, info, warn, error"}},
		{"log format", map[string]string{"INDEXD_LOG_FORMAT": "xml"}, []string{"INDEXD_LOG_FORMAT", `"xml"`, "json, text"}},
		{"boolean", map[string]string{"INDEXD_ARE_RECORDS_DISCOVERABLE": "nope"}, []string{"INDEXD_ARE_RECORDS_DISCOVERABLE", `"nope"`, "true or false"}},
		{"duration", map[string]string{"INDEXD_QUERY_TIMEOUT": "10"}, []string{"INDEXD_QUERY_TIMEOUT", `"10"`, "positive duration"}},
		{"connect timeout", map[string]string{"INDEXD_DB_CONNECT_TIMEOUT": "-1s"}, []string{"INDEXD_DB_CONNECT_TIMEOUT", "positive duration"}},
		{"integer", map[string]string{"INDEXD_DB_MAX_CONNS": "many"}, []string{"INDEXD_DB_MAX_CONNS", `"many"`, "positive integer"}},
		{"short key", map[string]string{"INDEXD_SIGNING_KEY": "short"}, []string{"INDEXD_SIGNING_KEY", "5 bytes", "at least 32"}},
		{"short key file", map[string]string{"INDEXD_SIGNING_KEY_FILE": shortKey}, []string{"INDEXD_SIGNING_KEY_FILE", "5 bytes", "at least 32"}},
		{"missing key file", map[string]string{"INDEXD_SIGNING_KEY_FILE": filepath.Join(dir, "nope")}, []string{"INDEXD_SIGNING_KEY_FILE", "no such file"}},
		{"both keys", map[string]string{"INDEXD_SIGNING_KEY": strings.Repeat("k", 32), "INDEXD_SIGNING_KEY_FILE": shortKey}, []string{"only one of INDEXD_SIGNING_KEY and INDEXD_SIGNING_KEY_FILE"}},
		{"authz path", map[string]string{"INDEXD_GLOBAL_DISCOVERY_AUTHZ": "/a, b"}, []string{"INDEXD_GLOBAL_DISCOVERY_AUTHZ", `"b"`, "must start with /"}},
		{"drs version", map[string]string{"INDEXD_DRS_VERSION": "2"}, []string{"INDEXD_DRS_VERSION", "1.5 or 1.2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"INDEXD_DATABASE_URL": "postgres://x/y", "INDEXD_ARBORIST_URL": "http://arborist"}
			for k, v := range tc.env {
				env[k] = v
			}
			c, err := FromEnv(func(k string) string { return env[k] })
			if err == nil {
				err = c.Validate()
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v: does not contain %q", err, w)
				}
			}
			if k := env["INDEXD_SIGNING_KEY"]; k != "" && strings.Contains(err.Error(), k) {
				t.Errorf("the error echoes the key: %v", err)
			}
		})
	}
}

// TestGoodValues: accepted spellings, and what they mean.
func TestGoodValues(t *testing.T) {
	env := map[string]string{
		"INDEXD_DATABASE_URL": "postgres://x/y", "INDEXD_ARBORIST_URL": "http://arborist",
		"INDEXD_GLOBAL_DISCOVERY_AUTHZ": "/a, /b ,/c", "INDEXD_BODY_LIMIT": "512K", "INDEXD_LOG_LEVEL": "debug",
		"INDEXD_LOG_FORMAT": "text", "INDEXD_DB_CONNECT_TIMEOUT": "2s",
	}
	c, err := FromEnv(func(k string) string { return env[k] })
	if err == nil {
		err = c.Validate()
	}
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.InitialSettings.GlobalDiscoveryAuthz, "|") != "/a|/b|/c" || c.BodyLimit != "512K" || c.DBConnectTimeout.String() != "2s" {
		t.Fatalf("%q %q %s", c.InitialSettings.GlobalDiscoveryAuthz, c.BodyLimit, c.DBConnectTimeout)
	}
	for v, want := range map[string]int64{"1K": 1024, "1M": 1 << 20, "2MB": 2 << 20, "65536": 65536, "1g": 1 << 30} {
		if n, err := ParseBodyLimit(v); err != nil || n != want {
			t.Errorf("ParseBodyLimit(%q) = %d, %v; want %d", v, n, err, want)
		}
	}
}

// TestPolicyFileTrailingComma: a .json policy file with a JSON mistake is
// refused at start-up (YAML's parser would accept it).
func TestPolicyFileTrailingComma(t *testing.T) {
	p := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(p, []byte(`{"anonymous": ["/open"],}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c := Defaults()
	c.PolicyFile = p
	if _, err := NewPolicy(c); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("trailing comma: %v", err)
	}
}
