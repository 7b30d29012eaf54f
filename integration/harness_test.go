package integration

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/internal/app"
	"github.com/datacommons/indexd/internal/testdb"
	"github.com/datacommons/indexd/policy/policytest"
)

// Env is one running service instance with its database and policy server.
type Env struct {
	T      testing.TB
	URL    string // base URL, no trailing slash
	App    *app.App
	Policy *policytest.Server
	DBURL  string
	Client *http.Client
}

// Option adjusts the service configuration before start.
type Option func(*app.Config)

// WithSettings seeds the discovery settings.
func WithSettings(st discovery.Settings) Option {
	return func(c *app.Config) { c.InitialSettings = st }
}

// WithFiltering seeds are_records_discoverable=false and the global paths.
func WithFiltering(global ...string) Option {
	return WithSettings(discovery.Settings{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: append([]string{}, global...)})
}

// testLogger keeps test output quiet unless INDEXD_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("INDEXD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// Start runs a service on a fresh database with a fresh Arborist double.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	pol := policytest.New(t)
	return start(t, testdb.NewDatabase(t), pol, testLogger(), opts...)
}

// StartLogged is Start with the service's log (every level) written to w.
func StartLogged(t testing.TB, w io.Writer, opts ...Option) *Env {
	t.Helper()
	pol := policytest.New(t)
	log := slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return start(t, testdb.NewDatabase(t), pol, log, opts...)
}

// StartAnother runs a second instance against the same database and policy.
func (e *Env) StartAnother(t testing.TB, opts ...Option) *Env {
	t.Helper()
	return start(t, e.DBURL, e.Policy, testLogger(), opts...)
}

// WithStorage writes yaml as the storage configuration file
// (INDEXD_STORAGE_CONFIG).
func WithStorage(t testing.TB, yaml string) Option {
	p := filepath.Join(t.TempDir(), "storage.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(c *app.Config) { c.StorageConfig = p }
}

func start(t testing.TB, dbURL string, pol *policytest.Server, log *slog.Logger, opts ...Option) *Env {
	t.Helper()
	cfg := app.Defaults()
	cfg.DatabaseURL = dbURL
	cfg.ArboristURL = pol.URL()
	cfg.PolicyTimeout = 2 * time.Second
	cfg.SettingsPoll = 2 * time.Second
	cfg.RequestTimeout = 10 * time.Second
	// Admin passwords (and the dummy hash wrong ones are checked against)
	// at bcrypt's lowest cost: cost 12 under -race on busy cores takes
	// seconds per hash (AddAdmin does the same).
	cfg.PasswordCost = bcrypt.MinCost
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		t.Fatalf("start service: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.Close()
		t.Fatalf("listen: %v", err)
	}
	sctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(sctx, l) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		a.Close()
	})
	return &Env{T: t, URL: "http://" + l.Addr().String(), App: a, Policy: pol, DBURL: dbURL,
		Client: &http.Client{Timeout: 30 * time.Second}}
}

// Response is a finished HTTP exchange.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test when it is not JSON.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("response %d is not JSON (%v): %s", r.Status, err, r.Body)
	}
}

// Map decodes a JSON object body.
func (r *Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// Tok makes a JWT-shaped opaque token for the Arborist double (the service
// passes tokens through to Arborist unverified, but rejects ones that are
// not shaped like a JWT). name: letters, digits, '-' and '_'.
func Tok(name string) string {
	enc := base64.RawURLEncoding.EncodeToString
	claims, _ := json.Marshal(map[string]any{"sub": name, "exp": time.Now().Add(24 * time.Hour).Unix(), "context": map[string]any{"user": map[string]string{"name": name}}})
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc(claims) + ".c2lnbmF0dXJl"
}

// Bearer returns an Authorization header value for a token.
func Bearer(tok string) string { return "Bearer " + tok }

// Basic returns an Authorization header value for basic auth.
func Basic(user, pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}

// Do sends a request. auth is a full Authorization header value ("" for
// none). body is sent as JSON unless it is a string or []byte (sent raw).
func (e *Env) Do(method, path, auth string, body any) *Response {
	e.T.Helper()
	var rd io.Reader
	raw := false
	switch b := body.(type) {
	case nil:
	case string:
		rd, raw = strings.NewReader(b), true
	case []byte:
		rd, raw = bytes.NewReader(b), true
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.T.Fatalf("encode body: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		e.T.Fatalf("new request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	_ = raw
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatalf("read body: %v", err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// MustStatus fails the test unless the response has the status.
func (r *Response) MustStatus(t testing.TB, want int) *Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body: %s", r.Status, want, r.Body)
	}
	return r
}

// AddAdmin creates a basic-auth admin user and returns its header value.
func (e *Env) AddAdmin(user, pw string) string {
	e.T.Helper()
	// Production hashes use cost 12 (identity.HashPassword); verification
	// follows the stored hash's cost, and cost 12 under -race on two busy
	// cores takes seconds per request, so test admins use the minimum cost.
	hb, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		e.T.Fatal(err)
	}
	h := string(hb)
	if _, err := e.App.Store.PutAdmin(context.Background(), "test", user, h); err != nil {
		e.T.Fatal(err)
	}
	return Basic(user, pw)
}

// SetDiscovery changes the settings through the store and applies them to
// this instance at once (others see them through NOTIFY).
func (e *Env) SetDiscovery(st discovery.Settings) {
	e.T.Helper()
	stored, err := e.App.Store.SetSettings(context.Background(), "test", st)
	if err != nil {
		e.T.Fatal(err)
	}
	e.App.Settings.Set(stored)
}

// Writer is a token whose Arborist grants allow every method on /; use it
// to create fixtures.
func (e *Env) Writer() string {
	tok := Tok("fixture-writer")
	e.Policy.SetUser(tok, "fixture-writer", map[string][]string{"/": {"*"}, "/services/indexd/admin": {"admin"}})
	return Bearer(tok)
}

// Create posts a record and returns its did, failing on non-200.
func (e *Env) Create(auth string, rec map[string]any) string {
	e.T.Helper()
	r := e.Do(http.MethodPost, "/index", auth, rec).MustStatus(e.T, http.StatusOK)
	var ref struct{ DID string }
	r.JSON(e.T, &ref)
	return ref.DID
}

// Rec builds a minimal valid record body.
func Rec(did string, authz ...string) map[string]any {
	m := map[string]any{
		"form": "object", "size": 123, "hashes": map[string]string{"md5": "0123456789abcdef0123456789abcdef"},
		"urls": []string{"s3://bucket/" + strings.ReplaceAll(did, "/", "_")}, "authz": authz,
	}
	if did != "" {
		m["did"] = did
	}
	if authz == nil {
		m["authz"] = []string{}
	}
	return m
}
