package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
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
		return jsonError(err)
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

func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return indexd.Invalidf("request body must be a JSON %s, not %s", goTypeName(te.Type.Kind().String()), te.Value)
		}
		return indexd.Invalidf("field %s must be %s, not %s", field, goTypeName(te.Type.String()), te.Value)
	case errors.As(err, &se):
		return indexd.Invalidf("malformed JSON at byte %d: %s", se.Offset, se.Error())
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return indexd.Invalidf("malformed JSON: unexpected end of input")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return indexd.Invalidf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return indexd.Invalidf("malformed JSON: %s", err.Error())
}

func goTypeName(t string) string {
	switch {
	case strings.Contains(t, "int"):
		return "an integer"
	case t == "string", t == "*string":
		return "a string"
	case strings.HasPrefix(t, "[]"), t == "slice":
		return "an array"
	case strings.HasPrefix(t, "map"), t == "struct", t == "map":
		return "an object"
	case t == "bool", t == "*bool":
		return "a boolean"
	}
	return "of type " + t
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
