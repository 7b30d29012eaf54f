package integration

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/datacommons/indexd/api"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/identity"
	"github.com/datacommons/indexd/policy"
	"github.com/datacommons/indexd/policy/policytest"
	"github.com/datacommons/indexd/repository"
)

// TestStatusDatabaseUnreachable: with the database unreachable (the pool
// points at a port nothing listens on), /_status answers 503 with a JSON
// error, and so do reads: never 200 "Healthy", never a 500.
func TestStatusDatabaseUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@"+closed+"/apifix_none?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	store := repository.New(pool, repository.Options{QueryTimeout: 3 * time.Second})
	t.Cleanup(store.Close)
	authn, err := identity.New(identity.Config{}, store)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = authn.Close() })
	pol := policy.NewCached(policy.NewArborist(policytest.New(t).URL(), 2*time.Second, nil), time.Minute)
	srv, err := api.New(api.Config{DRSMaxBulk: 1000}, store, pol, authn, api.NewSettingsHolder(discovery.DefaultSettings()), testLogger())
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e := &Env{T: t, URL: ts.URL, Client: &http.Client{Timeout: 30 * time.Second}}

	const msg = "service unavailable, try again later"
	for _, path := range []string{"/_status", "/index", "/index/some-did", "/urls", "/_stats"} {
		t.Run(path, func(t *testing.T) {
			ixErrIs(t, e.Do(http.MethodGet, path, "", nil), http.StatusServiceUnavailable, msg)
		})
	}
	t.Run("DRS", func(t *testing.T) {
		r := e.Do(http.MethodGet, "/ga4gh/drs/v1/objects/some-did", "", nil).MustStatus(t, http.StatusServiceUnavailable)
		var d struct {
			Msg        string `json:"msg"`
			StatusCode int    `json:"status_code"`
		}
		r.JSON(t, &d)
		if d.Msg != msg || d.StatusCode != http.StatusServiceUnavailable || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("DRS body %s (%s)", r.Body, r.Header.Get("Content-Type"))
		}
	})
}
