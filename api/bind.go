package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/datacommons/indexd"
)

// decodeJSON reads the request body into v strictly: JSON content type,
// valid UTF-8, one value, no unknown fields, types as declared. Errors name
// the field and the rule.
func decodeJSON(c echo.Context, v any) error {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != echo.MIMEApplicationJSON && !strings.HasSuffix(mt, "+json")) {
			return echo.NewHTTPError(http.StatusUnsupportedMediaType, "content type must be application/json")
		}
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return echo.ErrStatusRequestEntityTooLarge
		}
		return indexd.Invalidf("could not read the request body")
	}
	return DecodeStrict(body, v)
}

// DecodeStrict decodes one JSON value from body into v with the rules of
// decodeJSON. Exported for fuzzing.
func DecodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return indexd.Invalidf("request body must be a JSON document")
	}
	if !utf8.Valid(body) {
		return indexd.Invalidf("request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, v)
	}
	if dec.More() {
		return indexd.Invalidf("request body must hold exactly one JSON value")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err != io.EOF {
		return indexd.Invalidf("request body must hold exactly one JSON value")
	}
	return nil
}

func jsonError(err error, v any) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		want := kindName(te.Type.Kind())
		switch {
		case te.Field != "":
			return indexd.Invalidf("field %s: expected %s, got %s", te.Field, want, te.Value)
		case isTopLevel(te.Type, v):
			return indexd.Invalidf("request body must be %s, not %s", want, te.Value)
		}
		return indexd.Invalidf("request body: expected %s, got %s", want, te.Value)
	case errors.As(err, &se):
		return indexd.Invalidf("malformed JSON at byte %d: %s", se.Offset, se.Error())
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return indexd.Invalidf("malformed JSON: unexpected end of input")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return indexd.Invalidf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return indexd.Invalidf("malformed JSON: %s", err.Error())
}

// isTopLevel reports whether t is the type decoded into (v is a pointer).
func isTopLevel(t reflect.Type, v any) bool {
	vt := reflect.TypeOf(v)
	return vt != nil && vt.Kind() == reflect.Pointer && vt.Elem() == t
}

// kindName names a JSON-decoded Go kind the way a JSON user would.
func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a value of another type"
}

// dateLayouts are accepted for content dates (ISO 8601, as indexd accepts).
var dateLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02"}

func parseDate(field string, s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, *s); err == nil {
			t = t.UTC()
			return &t, nil
		}
	}
	return nil, indexd.Invalidf("%s %q is not an ISO 8601 date", field, *s)
}
