package api

import (
	"errors"
	"github.com/datacommons/indexd/redact"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/identity"
	"github.com/datacommons/indexd/policy"
)

// statusOf is the one place where errors become HTTP status codes, with the
// message that is safe to show. 401/403 say no more than their name.
func (s *Server) statusOf(err error) (int, string) {
	var he *echo.HTTPError
	switch {
	case errors.Is(err, indexd.ErrNotVisible):
		if s.cfg.HideExistence {
			return http.StatusNotFound, msgNotFound
		}
		if errors.Is(err, indexd.ErrUnauthenticated) {
			return http.StatusUnauthorized, "unauthorized" // an anonymous caller: a token may help
		}
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, indexd.ErrNotFound):
		if m := indexd.Message(err); m != "" {
			return http.StatusNotFound, m
		}
		return http.StatusNotFound, msgNotFound
	case errors.Is(err, indexd.ErrInvalid):
		return http.StatusBadRequest, messageOr(err, "invalid request")
	case errors.Is(err, indexd.ErrConflict):
		return http.StatusConflict, messageOr(err, "conflict")
	case errors.Is(err, indexd.ErrGone):
		return http.StatusGone, messageOr(err, "gone")
	case errors.Is(err, indexd.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, messageOr(err, "request too large")
	case errors.Is(err, indexd.ErrUnauthenticated), errors.Is(err, identity.ErrUnauthenticated), errors.Is(err, policy.ErrBadToken):
		return http.StatusUnauthorized, "unauthorized"
	case errors.Is(err, indexd.ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, identity.ErrBusy):
		return http.StatusTooManyRequests, "too many authentication attempts, retry later"
	case errors.Is(err, indexd.ErrUnavailable), errors.Is(err, policy.ErrUnavailable), errors.Is(err, identity.ErrUnavailable):
		return http.StatusServiceUnavailable, "service unavailable, try again later"
	case errors.As(err, &he):
		msg := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok && he.Code < 500 {
			msg = m
		}
		if he.Code == http.StatusRequestEntityTooLarge {
			msg = "request body too large"
		}
		if msg == http.StatusText(he.Code) {
			return he.Code, strings.ToLower(msg) // "method not allowed"
		}
		return he.Code, strings.ToLower(msg[:1]) + msg[1:]
	}
	return http.StatusInternalServerError, "internal server error"
}

const msgNotFound = "no record found"

func messageOr(err error, fallback string) string {
	if m := indexd.Message(err); m != "" {
		return m
	}
	return fallback
}

// errorHandler writes every error as JSON: {"error": msg} on indexd routes,
// {"msg", "status_code"} on DRS routes. Only 5xx are logged as errors; the
// reason behind a 401/403 is logged at info, never sent.
func (s *Server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if clientGone(c) {
		s.clientClosed(c, err)
		return
	}
	code, msg := s.statusOf(err)
	log := s.log.With("request_id", requestID(c), "method", c.Request().Method, "path", c.Request().URL.Path, "status", code)
	switch {
	case code >= 500:
		log.Error("request failed", "err", redact.Text(err.Error()))
	case code == http.StatusUnauthorized || code == http.StatusForbidden || code == http.StatusTooManyRequests:
		log.Info("request denied", "reason", err.Error())
	default:
		log.Debug("request rejected", "err", err)
	}
	var body any = map[string]string{"error": msg}
	if code == http.StatusUnauthorized {
		reason := s.setChallenge(c, err)
		body = map[string]string{"error": msg, "reason": string(reason)}
	}
	if isDRS(c.Request().URL.Path) {
		body = drsError{Msg: msg, StatusCode: code}
	}
	if d, ok := identity.RetryAfter(err); ok && code == http.StatusTooManyRequests {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	if werr := c.JSON(code, body); werr != nil {
		log.Warn("write error response", "err", werr)
	}
}

// setChallenge sets the challenges of a 401 and returns its reason (the
// JSON body says it): RFC 6750's Bearer challenge — with
// error="invalid_token" and a short error_description when a credential
// was sent and refused — and, where basic authentication is accepted, a
// Basic challenge as well. The reason comes from identity.ReasonOf and
// never holds any part of the credential.
func (s *Server) setChallenge(c echo.Context, err error) identity.Reason {
	given := strings.TrimSpace(c.Request().Header.Get(echo.HeaderAuthorization)) != ""
	reason := identity.ReasonOf(err, given)
	challenge := `Bearer realm="indexd"`
	if reason != identity.ReasonMissing {
		challenge += `, error="invalid_token", error_description="` + reason.Description() + `"`
	}
	h := c.Response().Header()
	h.Set(echo.HeaderWWWAuthenticate, challenge)
	if s.cfg.BasicAuth {
		h.Add(echo.HeaderWWWAuthenticate, `Basic realm="indexd", charset="UTF-8"`)
	}
	return reason
}

type drsError struct {
	Msg        string `json:"msg"`
	StatusCode int    `json:"status_code"`
}

func isDRS(path string) bool { return strings.HasPrefix(path, drsBase+"/") || path == drsBase }

func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}

var _ = slog.LevelInfo
