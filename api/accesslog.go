package api

import (
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/datacommons/indexd/redact"
)

// accessLog writes one line per request: route template, method, status
// (499 when the client went away), duration_ms, client address, caller
// (user name or a token hash, never the token), request id, and the query
// string with secrets redacted.
func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		c.Set(connCtxKey, c.Request().Context())
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		status := c.Response().Status
		level := slog.LevelInfo
		if clientGone(c) {
			status = StatusClientClosedRequest
		}
		caller := callerOf(c)
		route := c.Path()
		if route == "" {
			route = "(no route)"
		}
		s.log.LogAttrs(c.Request().Context(), level, "request",
			slog.String("request_id", requestID(c)),
			slog.String("method", c.Request().Method),
			slog.String("route", route),
			slog.String("path", c.Request().URL.Path),
			slog.String("query", redact.Query(c.Request().URL.RawQuery)),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.String("client", logClientAddr(c, s.cfg.TrustedProxies)),
			slog.String("caller", redact.Caller(caller.Username, caller.Token)),
		)
		return nil
	}
}

// logClientAddr is the client's address: the connection's peer, or, when the
// peer is a trusted proxy, the right-most X-Forwarded-For entry that is
// not a trusted proxy (entries left of it are the client's to forge).
func logClientAddr(c echo.Context, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(c.Request().RemoteAddr)
	if err != nil {
		host = c.Request().RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(peer, trusted) {
		return host
	}
	hops := strings.Split(strings.Join(c.Request().Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return host // malformed: the proxy is the last address known
		}
		if !isTrusted(a, trusted) {
			return a.String()
		}
		host = a.String()
	}
	return host
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
