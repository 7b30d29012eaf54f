package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/identity"
	"github.com/datacommons/indexd/policy"
	"github.com/datacommons/indexd/tokens"
)

// userOf is the user a caller acts as: its verified name, or for a
// pass-through token (accepted by the policy service before the handler
// ran) the name it claims; "" when it has none.
func userOf(caller policy.Caller) string {
	if caller.Username != "" {
		return caller.Username
	}
	return identity.ClaimedName(caller.Token)
}

// issueToken: POST /tokens. A user issues for themselves; a basic-auth
// admin (or an admin by policy) may name another user in "user". An API
// token cannot issue tokens (403).
func (s *Server) issueToken(c echo.Context) error {
	caller := callerOf(c)
	if caller.TokenID != "" {
		return errf("%w: an API token cannot issue tokens", indexd.ErrForbidden)
	}
	var req tokens.Request
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	self := userOf(caller)
	user := self
	if caller.BasicAdmin {
		if req.User == "" {
			return indexd.Invalidf(`a basic-auth admin issues tokens for a named user: set "user"`)
		}
		user = req.User
	} else if req.User != "" && !strings.EqualFold(req.User, self) {
		ok, err := s.isAdmin(c.Request().Context(), caller)
		if err != nil {
			return err
		}
		if !ok {
			return errf("%w: only an admin may issue a token for another user", indexd.ErrForbidden)
		}
		user = req.User
	}
	if user == "" {
		return errf("%w: the credential names no user to issue a token for", indexd.ErrForbidden)
	}
	issued, err := s.tokens.Issue(c.Request().Context(), actor(caller), user, req)
	if err != nil {
		return err
	}
	s.log.Info("api token issued", "request_id", requestID(c), "token_id", issued.ID, "user", issued.User, "by", actor(caller))
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusCreated, issued)
}

// listTokens: GET /tokens, the caller's own tokens (never a secret).
func (s *Server) listTokens(c echo.Context) error {
	user := userOf(callerOf(c))
	if user == "" {
		return errf("%w: the credential names no user", indexd.ErrForbidden)
	}
	list, err := s.tokens.List(c.Request().Context(), user)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"tokens": list})
}

// revokeToken: DELETE /tokens/{id}, one's own; another user's is 404.
func (s *Server) revokeToken(c echo.Context) error {
	caller := callerOf(c)
	user := userOf(caller)
	if user == "" {
		return errf("%w: the credential names no user", indexd.ErrForbidden)
	}
	hash, err := s.tokens.Revoke(c.Request().Context(), actor(caller), user, c.Param("token_id"))
	if err != nil {
		return err
	}
	s.forgetToken(hash)
	s.log.Info("api token revoked", "request_id", requestID(c), "token_id", c.Param("token_id"), "by", actor(caller))
	return c.NoContent(http.StatusNoContent)
}

// adminListTokens: GET /admin/tokens[?user=], any user's tokens.
func (s *Server) adminListTokens(c echo.Context) error {
	list, err := s.tokens.List(c.Request().Context(), c.QueryParam("user"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"tokens": list})
}

// adminRevokeToken: DELETE /admin/tokens/{id}, any user's token.
func (s *Server) adminRevokeToken(c echo.Context) error {
	caller := callerOf(c)
	hash, err := s.tokens.Revoke(c.Request().Context(), actor(caller), "", c.Param("token_id"))
	if err != nil {
		return err
	}
	s.forgetToken(hash)
	s.log.Info("api token revoked by an admin", "request_id", requestID(c), "token_id", c.Param("token_id"), "by", actor(caller))
	return c.NoContent(http.StatusNoContent)
}

// forgetToken evicts a revoked token from this instance's verification
// cache at once, when the authenticator keeps one (identity does); other
// instances evict it on the revocation's NOTIFY.
func (s *Server) forgetToken(hash string) {
	if f, ok := s.authn.(interface{ ForgetAPIToken(string) }); ok && hash != "" {
		f.ForgetAPIToken(hash)
	}
}
