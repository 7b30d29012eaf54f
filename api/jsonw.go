package api

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// jsonWriter appends JSON without reflection, for the response shapes on
// the hot read paths (indexd records and list pages). Its output is byte for
// byte what encoding/json produces for the same Go values with HTML escaping
// on, as Echo's c.JSON writes them: strings escaped alike, nil slices as
// null; small maps go through value. The tests in jsonw_test.go and
// drs_json_test.go and FuzzJSONWriterString hold it to that.
//
// Containers are written with begin…/end…; key writes the comma between
// members itself, and every value method the comma between array elements.
type jsonWriter struct {
	buf []byte
	// member[i] is true once the container at nesting depth i holds a
	// member (so the next one needs a comma).
	member []bool
	// afterKey is true between key and the value it introduces.
	afterKey bool
}

// grow makes room for n more bytes.
func (w *jsonWriter) grow(n int) { w.buf = slices.Grow(w.buf, n) }

// pre prepares for a value or key: a comma when the enclosing container
// already has a member, nothing right after a key.
func (w *jsonWriter) pre() {
	if w.afterKey {
		w.afterKey = false
		return
	}
	if n := len(w.member); n > 0 {
		if w.member[n-1] {
			w.buf = append(w.buf, ',')
		}
		w.member[n-1] = true
	}
}

func (w *jsonWriter) beginObject() {
	w.pre()
	w.buf = append(w.buf, '{')
	w.member = append(w.member, false)
}
func (w *jsonWriter) endObject() { w.buf = append(w.buf, '}'); w.member = w.member[:len(w.member)-1] }
func (w *jsonWriter) beginArray() {
	w.pre()
	w.buf = append(w.buf, '[')
	w.member = append(w.member, false)
}
func (w *jsonWriter) endArray() { w.buf = append(w.buf, ']'); w.member = w.member[:len(w.member)-1] }

// key starts an object member; the value written next is its value.
func (w *jsonWriter) key(k string) {
	w.pre()
	w.buf = appendJSONString(w.buf, k)
	w.buf = append(w.buf, ':')
	w.afterKey = true
}

func (w *jsonWriter) null() {
	w.pre()
	w.buf = append(w.buf, "null"...)
}

func (w *jsonWriter) str(s string) {
	w.pre()
	w.buf = appendJSONString(w.buf, s)
}

func (w *jsonWriter) strPtr(s *string) {
	if s == nil {
		w.null()
		return
	}
	w.str(*s)
}

func (w *jsonWriter) int(n int64) {
	w.pre()
	w.buf = strconv.AppendInt(w.buf, n, 10)
}

func (w *jsonWriter) bool(b bool) {
	w.pre()
	w.buf = strconv.AppendBool(w.buf, b)
}

func (w *jsonWriter) intPtr(n *int64) {
	if n == nil {
		w.null()
		return
	}
	w.int(*n)
}

// strings writes a string slice (nil → null, as encoding/json).
func (w *jsonWriter) strings(ss []string) {
	if ss == nil {
		w.null()
		return
	}
	w.pre()
	w.buf = append(w.buf, '[')
	for i, s := range ss {
		if i > 0 {
			w.buf = append(w.buf, ',')
		}
		w.buf = appendJSONString(w.buf, s)
	}
	w.buf = append(w.buf, ']')
}

// value writes any value through encoding/json: for the small, rare parts
// of a response (echoed filters), where its map ordering is wanted.
func (w *jsonWriter) value(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.pre()
	w.buf = append(w.buf, b...)
	return nil
}

const hexDigits = "0123456789abcdef"

// jsonSafe[c] is true for the ASCII bytes a JSON string holds unescaped
// (with encoding/json's HTML escaping of <, > and &).
var jsonSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString appends s as a JSON string exactly as encoding/json does
// with HTML escaping on: quote, backslash and control characters escaped
// (\b \f \n \r \t short, the rest as \u00XX), <, > and & as \u003c,
// \u003e, \u0026, invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonSafe[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// writeJSON sends w's bytes as an application/json response, with the
// trailing newline Echo's c.JSON writes.
func writeJSON(c echo.Context, status int, w *jsonWriter) error {
	w.buf = append(w.buf, '\n')
	return c.Blob(status, echo.MIMEApplicationJSON, w.buf)
}
