package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/replica"
)

// Read-your-writes with read replicas (docs/scaling.md). A successful write
// answers the primary's WAL position after it as an opaque token, in the
// X-Indexd-Consistency header and in a cookie of the same meaning; a read
// that presents it (header first, else cookie) is served by a replica that
// has replayed past it, or by the primary. Without read replicas no token is
// issued and one presented is checked for shape only.
const (
	consistencyHeader = "X-Indexd-Consistency"
	consistencyCookie = "indexd_consistency"
	// consistencyCookieAge outlives the replica lag bound: a read without
	// a token is served by a replica at most that far behind, which has the
	// write anyway once the bound has passed since it.
	consistencyCookieAge = time.Minute
)

// readRouting binds a read route's request to where its reads go (a replica,
// or the primary), honouring the client's commit position.
func (s *Server) readRouting(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		var after replica.Position
		if v := c.Request().Header.Get(consistencyHeader); v != "" {
			p, err := replica.ParseToken(v)
			if err != nil {
				return indexd.Invalidf("%s must be a token from a write's answer (16 hex digits)", consistencyHeader)
			}
			after = p
		} else if ck, err := c.Cookie(consistencyCookie); err == nil {
			// A cookie is not always the client's own doing: a malformed one
			// is ignored rather than refused.
			if p, err := replica.ParseToken(ck.Value); err == nil {
				after = p
			}
		} else if !errors.Is(err, http.ErrNoCookie) {
			return err
		}
		req := c.Request()
		c.SetRequest(req.WithContext(s.store.ForRead(req.Context(), after)))
		return next(c)
	}
}

// stampCommit gives a successful write's answer its commit position.
func (s *Server) stampCommit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Method == http.MethodGet || c.Request().Method == http.MethodHead {
			return next(c)
		}
		resp := c.Response()
		resp.Before(func() {
			if resp.Status < 200 || resp.Status > 299 {
				return
			}
			pos, err := s.store.CommitPosition(c.Request().Context())
			if err != nil {
				// The write is committed and answered as such; only the
				// token is missing (the client's next reads may be served
				// up to the replica lag bound behind).
				s.log.Warn("commit position for read-your-writes", "request_id", requestID(c), "err", err)
				return
			}
			if pos == 0 {
				return
			}
			tok := pos.Token()
			resp.Header().Set(consistencyHeader, tok)
			http.SetCookie(resp, &http.Cookie{Name: consistencyCookie, Value: tok, Path: "/",
				MaxAge: int((s.cfg.ReplicaMaxLag + consistencyCookieAge) / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode})
		})
		return next(c)
	}
}
