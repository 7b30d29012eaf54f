package api

import (
	"github.com/datacommons/indexd/signing"

	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/identity"
	"github.com/datacommons/indexd/internal/testdb"
	"github.com/datacommons/indexd/policy"
	"github.com/datacommons/indexd/policy/policytest"
	"github.com/datacommons/indexd/repository"
)

// testStack is the real service's parts, as internal/app wires them: a
// repository.Store on a fresh database, the Arborist client behind the
// mapping cache talking to the Arborist double, and the authenticator in
// pass-through mode (the double verifies the tokens it signed, as Arborist
// does in production).
type testStack struct {
	t      *testing.T
	store  *repository.Store
	arb    *policytest.Server
	policy *policy.Cached
	authn  *identity.Authenticator
	tokens int // tokens made by bearer
}

func newTestStack(t *testing.T) *testStack {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := repository.Open(ctx, testdb.NewDatabase(t), repository.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	// Registered after the database's cleanup, so it runs first (LIFO).
	t.Cleanup(store.Close)
	arb := policytest.New(t)
	authn, err := identity.New(identity.Config{}, store)
	if err != nil {
		t.Fatalf("authenticator: %v", err)
	}
	t.Cleanup(func() { _ = authn.Close() })
	pol := policy.NewCached(policy.NewArborist(arb.URL(), 2*time.Second, nil), 0)
	return &testStack{t: t, store: store, arb: arb, policy: pol, authn: authn}
}

// server builds an api.Server on the stack with its own settings holder.
func (s *testStack) server(cfg Config, st discovery.Settings) (*Server, *SettingsHolder) {
	s.t.Helper()
	holder := NewSettingsHolder(st)
	if cfg.DRSMaxBulk == 0 {
		cfg.DRSMaxBulk = 1000
	}
	if cfg.Storage == nil {
		// These tests check the routes' rules with the stored URLs;
		// signing is tested in package signing and the integration tests.
		cfg.Storage = signing.Passthrough()
	}
	srv, err := New(cfg, s.store, s.policy, s.authn, holder, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		s.t.Fatalf("New: %v", err)
	}
	return srv, holder
}

// bearer grants user the paths' indexd methods in the double and returns
// an Authorization header with a fresh token of the user signed by the
// double. Each call makes a new token: one the policy cache has not seen.
func (s *testStack) bearer(user string, grants map[string][]string) string {
	s.t.Helper()
	if grants != nil {
		s.arb.SetGrants(user, grants)
	}
	s.tokens++
	now := time.Now()
	// Token's claims plus a jti: two tokens made in the same second differ.
	return "Bearer " + s.arb.SignToken(map[string]any{
		"sub": user, "context": map[string]any{"user": map[string]any{"name": user}},
		"scope": []string{"openid"}, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"jti": fmt.Sprintf("t%d", s.tokens),
	})
}

// basicAdmin stores a basic-auth admin and returns its Authorization
// header. The hash has the minimum bcrypt cost: verification follows the
// stored cost, and production's cost is slow under -race on busy cores.
func (s *testStack) basicAdmin(user, password string) string {
	s.t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.store.PutAdmin(context.Background(), "test", user, string(hash)); err != nil {
		s.t.Fatalf("put admin: %v", err)
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}
