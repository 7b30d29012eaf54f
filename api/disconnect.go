package api

import (
	"context"
	"errors"
	"log/slog"

	"github.com/labstack/echo/v4"
)

// StatusClientClosedRequest is nginx's 499: the client went away before
// the answer. Never a 5xx: the service did nothing wrong.
const StatusClientClosedRequest = 499

// clientGone: the request's context was cancelled, which net/http does
// when the client's connection closes (the request timeout ends it with
// DeadlineExceeded instead).
// The context checked is the one accessLog saw, before the timeout
// middleware (whose own cancel would look like a client leaving).
func clientGone(c echo.Context) bool {
	ctx, ok := c.Get(connCtxKey).(context.Context)
	return ok && errors.Is(ctx.Err(), context.Canceled)
}

const connCtxKey = "indexd.connctx"

// clientClosed answers a request whose client has gone: logged at info,
// status 499 (in the access log and metrics), no body.
func (s *Server) clientClosed(c echo.Context, err error) {
	s.log.LogAttrs(c.Request().Context(), slog.LevelInfo, "client closed request",
		slog.String("request_id", requestID(c)), slog.String("method", c.Request().Method),
		slog.String("path", c.Request().URL.Path), slog.Int("status", StatusClientClosedRequest),
		slog.String("err", err.Error()))
	_ = c.NoContent(StatusClientClosedRequest)
}
