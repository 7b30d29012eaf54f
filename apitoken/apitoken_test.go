package apitoken_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/datacommons/indexd/apitoken"
)

func TestNewCheck(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		tok, err := apitoken.New()
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != apitoken.Len || !strings.HasPrefix(tok, "idx_") || seen[tok] {
			t.Fatalf("bad or repeated token %q", tok)
		}
		seen[tok] = true
		if err := apitoken.Check(tok); err != nil {
			t.Fatalf("Check(%q) = %v", tok, err)
		}
		// Every one-character typo is caught without a database.
		for i := len(apitoken.Prefix); i < len(tok); i++ {
			b := []byte(tok)
			if b[i] == 'a' {
				b[i] = 'b'
			} else {
				b[i] = 'a'
			}
			if err := apitoken.Check(string(b)); !errors.Is(err, apitoken.ErrMalformed) {
				t.Fatalf("typo at %d accepted", i)
			}
		}
		if h := apitoken.Hash(tok); len(h) != 64 || strings.Contains(h, tok) {
			t.Fatalf("Hash = %q", h)
		}
	}
	for _, bad := range []string{"", "idx_", "idx_short", "tok_" + strings.Repeat("a", 49), "idx_" + strings.Repeat("-", 49)} {
		if err := apitoken.Check(bad); err == nil {
			t.Errorf("Check(%q) accepted", bad)
		}
	}
}

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{"12h": 12 * time.Hour, "30d": 30 * 24 * time.Hour, "3600": time.Hour, "90m": 90 * time.Minute, " 1d ": 24 * time.Hour}
	for in, want := range good {
		if got, err := apitoken.ParseDuration(in); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "0d", "-1h", "-5", "1.5d", "d", "abc", "99999999999999999999", "9999999999999d", "1e9"} {
		if got, err := apitoken.ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func FuzzCheck(f *testing.F) {
	tok, _ := apitoken.New()
	for _, s := range []string{tok, "", "idx_", tok[:len(tok)-1], tok + "a", "Bearer " + tok} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if apitoken.Check(s) == nil {
			if len(s) != apitoken.Len || !apitoken.Looks(s) {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"12h", "30d", "3600", "-1", "1e3", "9999999999999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := apitoken.ParseDuration(s)
		if err == nil && d <= 0 {
			t.Fatalf("ParseDuration(%q) = %v", s, d)
		}
	})
}
