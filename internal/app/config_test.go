package app

import (
	"strings"
	"testing"
	"time"
)

// TestDRSMaxBulkConfig: a non-positive or malformed maxBulkRequestLength
// is a configuration error at startup, never silently replaced.
func TestDRSMaxBulkConfig(t *testing.T) {
	base := map[string]string{
		"INDEXD_DATABASE_URL": "postgres://x/y",
		"INDEXD_ARBORIST_URL": "http://arborist",
	}
	for _, tc := range []struct {
		name    string
		env     string // INDEXD_DRS_MAX_BULK; "" leaves it unset
		want    int
		errPart string
	}{
		{name: "unset uses the default", env: "", want: 1000},
		{name: "positive", env: "250", want: 250},
		{name: "zero", env: "0", errPart: "INDEXD_DRS_MAX_BULK must be a positive integer"},
		{name: "negative", env: "-5", errPart: "INDEXD_DRS_MAX_BULK must be a positive integer"},
		{name: "not a number", env: "many", errPart: "INDEXD_DRS_MAX_BULK must be a positive integer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"INDEXD_DRS_MAX_BULK": tc.env}
			for k, v := range base {
				env[k] = v
			}
			c, err := FromEnv(func(k string) string { return env[k] })
			if err == nil {
				err = c.Validate()
			}
			if tc.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errPart) {
					t.Fatalf("err = %v, want one containing %q", err, tc.errPart)
				}
				return
			}
			if err != nil || c.DRSMaxBulk != tc.want {
				t.Fatalf("DRSMaxBulk = %d, err %v; want %d", c.DRSMaxBulk, err, tc.want)
			}
		})
	}
	// A Config built in code (not from the environment) is checked too.
	c := Defaults()
	c.DatabaseURL, c.ArboristURL, c.DRSMaxBulk = "postgres://x/y", "http://arborist", 0
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "INDEXD_DRS_MAX_BULK") {
		t.Fatalf("Validate with DRSMaxBulk 0: %v", err)
	}
}

// TestBasicAuthSwitch: INDEXD_BASIC_AUTH turns basic-auth admins off; on
// by default; anything but a boolean stops start-up naming the variable.
func TestBasicAuthSwitch(t *testing.T) {
	for env, want := range map[string]bool{"": true, "true": true, "false": false, "0": false} {
		c, err := FromEnv(func(k string) string {
			if k == "INDEXD_BASIC_AUTH" {
				return env
			}
			return ""
		})
		if err != nil || c.BasicAuth != want {
			t.Errorf("INDEXD_BASIC_AUTH=%q: %v %v, want %v", env, c.BasicAuth, err, want)
		}
	}
	if _, err := FromEnv(func(k string) string {
		if k == "INDEXD_BASIC_AUTH" {
			return "sometimes"
		}
		return ""
	}); err == nil || !strings.Contains(err.Error(), "INDEXD_BASIC_AUTH") {
		t.Errorf("malformed INDEXD_BASIC_AUTH: %v", err)
	}
}

// TestDRSVersionConfig: INDEXD_DRS_VERSION is 1.5 or 1.2;
// INDEXD_DRS_SERVICE_INFO_1_2=true is an older spelling of 1.2 and may not
// contradict it.
func TestDRSVersionConfig(t *testing.T) {
	base := map[string]string{"INDEXD_DATABASE_URL": "postgres://x/y", "INDEXD_ARBORIST_URL": "http://arborist"}
	for _, tc := range []struct {
		env     map[string]string
		want    string
		errPart string
	}{
		{map[string]string{}, "1.5", ""},
		{map[string]string{"INDEXD_DRS_VERSION": "1.2"}, "1.2", ""},
		{map[string]string{"INDEXD_DRS_SERVICE_INFO_1_2": "true"}, "1.2", ""},
		{map[string]string{"INDEXD_DRS_SERVICE_INFO_1_2": "true", "INDEXD_DRS_VERSION": "1.2"}, "1.2", ""},
		{map[string]string{"INDEXD_DRS_SERVICE_INFO_1_2": "false"}, "1.5", ""},
		{map[string]string{"INDEXD_DRS_SERVICE_INFO_1_2": "true", "INDEXD_DRS_VERSION": "1.5"}, "", "contradicts INDEXD_DRS_VERSION=1.5"},
		{map[string]string{"INDEXD_DRS_VERSION": "1.3"}, "", "INDEXD_DRS_VERSION must be 1.5 or 1.2"},
	} {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range tc.env {
			env[k] = v
		}
		c, err := FromEnv(func(k string) string { return env[k] })
		if err == nil {
			err = c.Validate()
		}
		switch {
		case tc.errPart != "":
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("%v: %v, want %q", tc.env, err, tc.errPart)
			}
		case err != nil || c.DRSVersion != tc.want:
			t.Errorf("%v: %q %v, want %s", tc.env, c.DRSVersion, err, tc.want)
		}
	}
}

// TestReplicaConfig: read replicas are a comma-separated list of
// connection strings; a bad one stops start-up naming the variable and the
// entry, never echoing the value (it may hold a password).
func TestReplicaConfig(t *testing.T) {
	base := map[string]string{"INDEXD_DATABASE_URL": "postgres://x/y", "INDEXD_ARBORIST_URL": "http://arborist"}
	load := func(extra map[string]string) (Config, error) {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		c, err := FromEnv(func(k string) string { return env[k] })
		if err == nil {
			err = c.Validate()
		}
		return c, err
	}
	c, err := load(nil)
	if err != nil || c.ReadURLs != nil || c.ReplicaMaxLag != 5*time.Second {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	c, err = load(map[string]string{"INDEXD_DATABASE_READ_URL": "postgres://r1:pw@h1/db, postgres://h2/db", "INDEXD_REPLICA_MAX_LAG": "2s"})
	if err != nil || len(c.ReadURLs) != 2 || c.ReadURLs[1] != "postgres://h2/db" || c.ReplicaMaxLag != 2*time.Second {
		t.Fatalf("two replicas: %q %s, %v", c.ReadURLs, c.ReplicaMaxLag, err)
	}
	for _, tc := range []struct{ name, key, val, want string }{
		{"bad url", "INDEXD_DATABASE_READ_URL", "postgres://h1/db,postgres://u:topsecret@h2:notaport/db", "INDEXD_DATABASE_READ_URL entry 2"},
		{"empty entry", "INDEXD_DATABASE_READ_URL", "postgres://h1/db,,postgres://h2/db", "INDEXD_DATABASE_READ_URL entry 2"},
		{"zero lag", "INDEXD_REPLICA_MAX_LAG", "0s", "INDEXD_REPLICA_MAX_LAG"},
		{"lag not a duration", "INDEXD_REPLICA_MAX_LAG", "five", "INDEXD_REPLICA_MAX_LAG"},
		{"bad listen url", "INDEXD_DATABASE_LISTEN_URL", "postgres://u:topsecret@h:notaport/db", "INDEXD_DATABASE_LISTEN_URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(map[string]string{tc.key: tc.val})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Fatalf("the error echoes a password: %v", err)
			}
		})
	}
}
