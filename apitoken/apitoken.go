// Package apitoken is the format of the API tokens users issue to
// themselves (issue 14): a recognisable prefix, 256 bits of randomness and
// a checksum, so that secret scanners find leaked ones and typos are
// rejected without a database query. Only a token's SHA-256 is ever
// stored. It also parses token lifetimes ("12h", "30d", seconds).
package apitoken

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"strconv"
	"strings"
	"time"
)

// Prefix starts every token.
const Prefix = "idx_"

// Format: Prefix + BodyLen base62 characters (≥ 256 bits: 62^43 > 2^256)
// + ChecksumLen base62 characters (CRC-32 of the body, zero-padded).
const (
	BodyLen     = 43
	ChecksumLen = 6
	// Len is the length of every token.
	Len = len(Prefix) + BodyLen + ChecksumLen
)

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// ErrMalformed: the string is not a well-formed token (wrong prefix,
// length, alphabet or checksum).
var ErrMalformed = errors.New("apitoken: malformed token")

// New returns a fresh random token.
func New() (string, error) {
	var b strings.Builder
	b.Grow(Len)
	b.WriteString(Prefix)
	var buf [64]byte
	n := 0
	for n < BodyLen {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("apitoken: random: %w", err)
		}
		for _, c := range buf {
			// 248 = 4*62: rejection sampling keeps the characters uniform.
			if c >= 248 || n == BodyLen {
				continue
			}
			b.WriteByte(alphabet[int(c)%62])
			n++
		}
	}
	body := b.String()[len(Prefix):]
	b.WriteString(checksum(body))
	return b.String(), nil
}

func checksum(body string) string {
	var out [ChecksumLen]byte
	checksumInto(&out, body)
	return string(out[:])
}

func checksumInto(out *[ChecksumLen]byte, body string) {
	v := uint64(crc32.ChecksumIEEE([]byte(body)))
	for i := ChecksumLen - 1; i >= 0; i-- {
		out[i] = alphabet[v%62]
		v /= 62
	}
}

// inAlphabet[c] reports whether c is a base62 character.
var inAlphabet = func() (t [256]bool) {
	for i := 0; i < len(alphabet); i++ {
		t[alphabet[i]] = true
	}
	return t
}()

// Looks reports whether s claims to be an API token (has the prefix): the
// authentication layer then never treats it as anything else.
func Looks(s string) bool { return strings.HasPrefix(s, Prefix) }

// Check reports whether s is a well-formed token (ErrMalformed if not),
// without any database query.
func Check(s string) error {
	if len(s) != Len || !strings.HasPrefix(s, Prefix) {
		return ErrMalformed
	}
	for i := len(Prefix); i < len(s); i++ {
		if !inAlphabet[s[i]] {
			return ErrMalformed
		}
	}
	var sum [ChecksumLen]byte
	checksumInto(&sum, s[len(Prefix):len(Prefix)+BodyLen])
	if s[len(Prefix)+BodyLen:] != string(sum[:]) {
		return ErrMalformed
	}
	return nil
}

// Hash is the stored form of a token: its SHA-256, hex.
func Hash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// DefaultMaxTTL is the longest lifetime when INDEXD_API_TOKEN_MAX_TTL is unset.
const DefaultMaxTTL = 90 * 24 * time.Hour

// ParseDuration parses a lifetime: a Go duration ("12h", "90m"), a number
// of days ("30d"), or a whole number of seconds ("3600"). It must be
// positive.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration")
	}
	var d time.Duration
	switch {
	case strings.HasSuffix(s, "d"):
		n, err := strconv.ParseUint(strings.TrimSuffix(s, "d"), 10, 32)
		if err != nil || n > math.MaxInt64/uint64(24*time.Hour) {
			return 0, fmt.Errorf("duration %q: want a whole number of days such as 30d", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	case isDigits(s):
		n, err := strconv.ParseUint(s, 10, 63)
		if err != nil || n > math.MaxInt64/uint64(time.Second) {
			return 0, fmt.Errorf("duration %q: too many seconds", s)
		}
		d = time.Duration(n) * time.Second
	default:
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("duration %q: want e.g. 12h, 30d or a number of seconds", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration %q: must be positive", s)
	}
	return d, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
