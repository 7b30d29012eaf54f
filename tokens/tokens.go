// Package tokens issues, lists and revokes the API tokens users issue to
// themselves (issue 14): it checks an issue request (lifetime, scope,
// description), mints the token (package apitoken) and stores only its
// hash (package repository). Verification is package identity's; what a
// token may do is package policy's (the user's live mapping ∩ the scope).
package tokens

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/apitoken"
	"github.com/datacommons/indexd/policy"
	"github.com/datacommons/indexd/repository"
)

// Store is where tokens live (repository.Store).
type Store interface {
	IssueAPIToken(ctx context.Context, t repository.NewAPIToken) (repository.APIToken, error)
	APITokens(ctx context.Context, user string, limit int) ([]repository.APIToken, error)
	RevokeAPIToken(ctx context.Context, by, user, id string) (string, error)
}

var _ Store = (*repository.Store)(nil)

// Limits.
const (
	MaxDescription = 256
	MaxUserName    = 256
	// ListLimit bounds a listing.
	ListLimit = 1000
)

// Request is the body of POST /tokens.
type Request struct {
	Description string          `json:"description"`
	ExpiresIn   json.RawMessage `json:"expires_in"`
	Scope       *policy.Scope   `json:"scope"`
	// User names the user to issue for; only a basic-auth admin (or an
	// admin caller) may name another user than itself.
	User string `json:"user"`
}

// Issued is the answer to an issue: the only place the token ever appears.
type Issued struct {
	ID          string       `json:"id"`
	Token       string       `json:"token"`
	ExpiresAt   time.Time    `json:"expires_at"`
	Scope       policy.Scope `json:"scope"`
	Description string       `json:"description"`
	User        string       `json:"user"`
}

// Service issues and revokes tokens.
type Service struct {
	Store  Store
	MaxTTL time.Duration // apitoken.DefaultMaxTTL when 0
}

// Lifetime parses expires_in: a duration string ("12h", "30d", "3600") or
// a number of seconds, positive and at most max.
func Lifetime(raw json.RawMessage, max time.Duration) (time.Duration, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, indexd.Invalidf("expires_in is required (e.g. \"12h\", \"30d\" or a number of seconds)")
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, indexd.Invalidf("expires_in: not a string")
		}
	} else {
		n, err := strconv.ParseUint(string(raw), 10, 63)
		if err != nil {
			return 0, indexd.Invalidf("expires_in: want a whole positive number of seconds or a duration such as \"30d\"")
		}
		s = strconv.FormatUint(n, 10)
	}
	d, err := apitoken.ParseDuration(s)
	if err != nil {
		return 0, indexd.Invalidf("expires_in: %v", err)
	}
	if d > max {
		return 0, indexd.Invalidf("expires_in: %s is longer than the longest allowed lifetime %s (INDEXD_API_TOKEN_MAX_TTL)", d, max)
	}
	return d, nil
}

// Issue checks req and issues a token for user, recorded as issued by
// `by`. The plaintext is in the answer and nowhere else.
func (s *Service) Issue(ctx context.Context, by, user string, req Request) (Issued, error) {
	maxTTL := s.MaxTTL
	if maxTTL <= 0 {
		maxTTL = apitoken.DefaultMaxTTL
	}
	if user == "" || len(user) > MaxUserName || !utf8.ValidString(user) {
		return Issued{}, indexd.Invalidf("the token's user must be a non-empty user name of at most %d bytes", MaxUserName)
	}
	if len(req.Description) > MaxDescription || !utf8.ValidString(req.Description) {
		return Issued{}, indexd.Invalidf("description must be UTF-8 of at most %d bytes", MaxDescription)
	}
	ttl, err := Lifetime(req.ExpiresIn, maxTTL)
	if err != nil {
		return Issued{}, err
	}
	scope := policy.FullScope()
	if req.Scope != nil {
		if scope, err = req.Scope.Validate(); err != nil {
			return Issued{}, indexd.Invalidf("%v", err)
		}
	}
	tok, err := apitoken.New()
	if err != nil {
		return Issued{}, fmt.Errorf("tokens: %w", err)
	}
	stored, err := s.Store.IssueAPIToken(ctx, repository.NewAPIToken{
		User: user, Hash: apitoken.Hash(tok), Description: req.Description, Scope: scope,
		ExpiresAt: time.Now().Add(ttl).UTC().Truncate(time.Microsecond), By: by,
	})
	if err != nil {
		return Issued{}, err
	}
	return Issued{ID: stored.ID, Token: tok, ExpiresAt: stored.ExpiresAt, Scope: stored.Scope, Description: stored.Description, User: stored.User}, nil
}

// List is user's tokens (every user's when user is "").
func (s *Service) List(ctx context.Context, user string) ([]repository.APIToken, error) {
	return s.Store.APITokens(ctx, user, ListLimit)
}

// Revoke revokes token id of user (any user's when user is ""), as `by`;
// indexd.ErrNotFound when there is no such token of that user. It returns
// the token's hash (apitoken.Hash), for the caller to evict it from this
// instance's verification cache at once (others hear of it by NOTIFY).
func (s *Service) Revoke(ctx context.Context, by, user, id string) (string, error) {
	return s.Store.RevokeAPIToken(ctx, by, user, id)
}
