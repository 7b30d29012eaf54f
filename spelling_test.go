package indexd

import (
	"slices"
	"testing"
)

func TestSpellings(t *testing.T) {
	cases := []struct {
		id, prefix string
		want       []string
		key        string
	}{
		{"abc", "", []string{"abc"}, "abc"},
		{"dg.X/abc", "", []string{"dg.X/abc"}, "dg.X/abc"},
		{"abc", "dg.X/", []string{"abc", "dg.X/abc"}, "abc"},
		{"dg.X/abc", "dg.X/", []string{"dg.X/abc", "abc"}, "abc"},
		{"dg.X/", "dg.X/", []string{"dg.X/"}, "dg.X/"},
		{"dg.Y/abc", "dg.X/", []string{"dg.Y/abc", "dg.X/dg.Y/abc"}, "dg.Y/abc"},
	}
	for _, c := range cases {
		if got := Spellings(c.id, c.prefix); !slices.Equal(got, c.want) {
			t.Errorf("Spellings(%q, %q) = %q, want %q", c.id, c.prefix, got, c.want)
		}
		if got := SpellingKey(c.id, c.prefix); got != c.key {
			t.Errorf("SpellingKey(%q, %q) = %q, want %q", c.id, c.prefix, got, c.key)
		}
		// An id and its twin share their key.
		if tw := PrefixTwin(c.id, c.prefix); tw != "" && SpellingKey(tw, c.prefix) != c.key {
			t.Errorf("twin %q of %q has key %q, want %q", tw, c.id, SpellingKey(tw, c.prefix), c.key)
		}
	}
}
