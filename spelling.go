package indexd

import "strings"

// A record answers to several spellings of one id: its did, each of its
// aliases, and — when the service has a default prefix (indexd's
// DEFAULT_PREFIX) — the prefix twin of each: "dg.X/abc" and "abc" are two
// spellings of one id. No two live records may answer to the same
// spelling (creating one that is taken is a conflict, whoever asks), and
// every read resolves an id the same way: the record holding it literally,
// else the record holding its twin (docs/decisions.md, "Ids and their
// spellings").

// PrefixTwin returns the other spelling of id under the default prefix:
// id without the prefix when it starts with it, the prefix followed by id
// otherwise; "" when there is no prefix or id is the prefix alone.
func PrefixTwin(id, prefix string) string {
	if prefix == "" {
		return ""
	}
	if rest, ok := strings.CutPrefix(id, prefix); ok {
		return rest
	}
	return prefix + id
}

// Spellings returns id and, when it has one, its prefix twin: the
// spellings a read of id tries, literal first.
func Spellings(id, prefix string) []string {
	if twin := PrefixTwin(id, prefix); twin != "" {
		return []string{id, twin}
	}
	return []string{id}
}

// SpellingKey is the form id and its twin share (the id without the
// prefix): the key writes serialize on.
func SpellingKey(id, prefix string) string {
	if prefix != "" {
		if rest, ok := strings.CutPrefix(id, prefix); ok && rest != "" {
			return rest
		}
	}
	return id
}
