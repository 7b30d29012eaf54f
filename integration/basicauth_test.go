package integration

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/datacommons/indexd/internal/app"
)

// Finding 4: every route evaluated a basic-auth header (a bcrypt
// comparison, about 230 ms at cost 12), /_status included. Routes that
// need nothing never look at credentials.
func TestBasicAuthPublicRoutesIgnoreCredentials(t *testing.T) {
	e := Start(t)
	for _, path := range []string{"/_status", "/_version", "/openapi.yaml", "/guid/mint"} {
		for _, auth := range []string{Basic("nobody", "wrong-password-123"), "Bearer not-a-jwt", "Garbage"} {
			if r := e.Do(http.MethodGet, path, auth, nil); r.Status != http.StatusOK {
				t.Errorf("GET %s with %q: %d %s, want 200 (credentials not evaluated)", path, auth, r.Status, r.Body)
			}
		}
	}
	// Routes that need a caller still refuse a bad credential.
	if r := e.Do(http.MethodGet, "/index", Basic("nobody", "wrong-password-123"), nil); r.Status != http.StatusUnauthorized {
		t.Errorf("GET /index with a wrong password: %d, want 401", r.Status)
	}
}

// Finding 4, the bound: a client that keeps failing basic authentication
// spends its failure budget and is then answered 429 with Retry-After,
// without a password check, while other credentials keep working; and
// INDEXD_BASIC_AUTH=false refuses every basic credential.
func TestBasicAuthFailureBudgetAndSwitch(t *testing.T) {
	e := Start(t)
	admin := azAddAdmin(t, e, "ba-admin", "ba-admin-password")
	e.Do(http.MethodGet, "/admin/users", admin, nil).MustStatus(t, http.StatusOK) // verified once, remembered
	var last *Response
	for i := range 12 {
		last = e.Do(http.MethodGet, "/index", Basic("ba-admin", "guess-"+strconv.Itoa(i)), nil)
		if i < 10 && last.Status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d %s, want 401", i, last.Status, last.Body)
		}
	}
	if last.Status != http.StatusTooManyRequests || !azSameBody(last.Body, `{"error":"too many authentication attempts, retry later"}`) {
		t.Fatalf("past the budget: %d %s, want 429", last.Status, last.Body)
	}
	if s, err := strconv.Atoi(last.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Fatalf("Retry-After %q", last.Header.Get("Retry-After"))
	}
	// DRS routes answer the DRS error shape.
	d := e.Do(http.MethodGet, "/ga4gh/drs/v1/objects", Basic("ba-admin", "guess-x"), nil)
	if d.Status != http.StatusTooManyRequests || !azSameBody(d.Body, azDRSBody(429, "too many authentication attempts, retry later")) {
		t.Fatalf("DRS past the budget: %d %s", d.Status, d.Body)
	}
	// Bearer tokens, and credentials verified before, still work (a
	// success clears the client's count).
	e.Do(http.MethodGet, "/admin/users", admin, nil).MustStatus(t, http.StatusOK)
	e.Do(http.MethodGet, "/index", e.Writer(), nil).MustStatus(t, http.StatusOK)

	off := Start(t, func(c *app.Config) { c.BasicAuth = false })
	offAdmin := azAddAdmin(t, off, "ba-off", "ba-off-password")
	for _, path := range []string{"/index", "/admin/users"} {
		if r := off.Do(http.MethodGet, path, offAdmin, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("basic auth off: GET %s with a right password: %d %s, want 401", path, r.Status, r.Body)
		}
	}
	off.Do(http.MethodGet, "/admin/users", off.Writer(), nil).MustStatus(t, http.StatusOK)
}
