package integration

// API tokens (issue 14): issue, list, revoke; the authorization matrix of
// token callers whose scope is narrower than, equal to and wider than
// their grants, on every read path, writes and DRS access; expiry;
// revocation seen by a second instance; other-user revoke 404; token store
// down 503; the plaintext never in logs or any answer but the first.

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/datacommons/indexd/apitoken"
	"github.com/datacommons/indexd/internal/app"
)

// issuedToken is the answer to POST /tokens.
type issuedToken struct {
	ID        string    `json:"id"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	Scope     []struct {
		Resource string   `json:"resource"`
		Methods  []string `json:"methods"`
	} `json:"scope"`
}

func issueToken(t *testing.T, c *Checked, auth string, body map[string]any) issuedToken {
	t.Helper()
	r := c.Do(http.MethodPost, "/tokens", "/tokens", auth, body).MustStatus(t, http.StatusCreated)
	var it issuedToken
	r.JSON(t, &it)
	if apitoken.Check(it.Token) != nil || it.ID == "" {
		t.Fatalf("issued %s", r.Body)
	}
	return it
}

func TestAPITokensLifecycle(t *testing.T) {
	t.Parallel()
	logs := &syncBuffer{}
	e := StartLogged(t, logs, WithFiltering())
	c := e.Checked(t)
	alice, bob := Tok("alice"), Tok("bob")
	e.Policy.SetUser(alice, "alice", map[string][]string{"/programs/p1": {"read", "create"}})
	e.Policy.SetUser(bob, "bob", map[string][]string{"/programs/p1": {"read"}})
	did := "dg.TEST/" + uuid.NewString()
	e.Create(e.Writer(), Rec(did, "/programs/p1"))

	// Bad requests: 400, nothing stored.
	for _, body := range []map[string]any{
		{},
		{"expires_in": "0"},
		{"expires_in": "91d"},
		{"expires_in": -5},
		{"expires_in": "soon"},
		{"expires_in": "1h", "scope": []map[string]any{}},
		{"expires_in": "1h", "scope": []map[string]any{{"resource": "programs", "methods": []string{"read"}}}},
		{"expires_in": "1h", "scope": []map[string]any{{"resource": "/programs", "methods": []string{"write"}}}},
	} {
		c.Do(http.MethodPost, "/tokens", "/tokens", Bearer(alice), body).MustStatus(t, http.StatusBadRequest)
	}
	c.Do(http.MethodPost, "/tokens", "/tokens", "", map[string]any{"expires_in": "1h"}).MustStatus(t, http.StatusUnauthorized)

	it := issueToken(t, c, Bearer(alice), map[string]any{"expires_in": "30d", "description": "pipeline",
		"scope": []map[string]any{{"resource": "/programs/p1", "methods": []string{"read"}}}})
	if d := time.Until(it.ExpiresAt); d < 29*24*time.Hour || d > 30*24*time.Hour+time.Minute {
		t.Fatalf("expires_at %v", it.ExpiresAt)
	}
	tok := Bearer(it.Token)
	// The token reads what alice may read within its scope …
	c.Do(http.MethodGet, "/index/{guid}", "/index/"+did, tok, nil).MustStatus(t, http.StatusOK)
	// … cannot write (scope: read only) though alice may create …
	c.Do(http.MethodPost, "/index", "/index", tok, Rec("dg.TEST/"+uuid.NewString(), "/programs/p1")).MustStatus(t, http.StatusForbidden)
	// … and cannot issue tokens.
	c.Do(http.MethodPost, "/tokens", "/tokens", tok, map[string]any{"expires_in": "1h"}).MustStatus(t, http.StatusForbidden)

	// Listing: one's own, never the secret or its hash.
	list := c.Do(http.MethodGet, "/tokens", "/tokens", Bearer(alice), nil).MustStatus(t, http.StatusOK)
	if !strings.Contains(string(list.Body), it.ID) || strings.Contains(string(list.Body), it.Token) || strings.Contains(string(list.Body), apitoken.Hash(it.Token)) {
		t.Fatalf("list: %s", list.Body)
	}
	if b := c.Do(http.MethodGet, "/tokens", "/tokens", Bearer(bob), nil).MustStatus(t, http.StatusOK).Body; strings.Contains(string(b), it.ID) {
		t.Fatalf("bob lists alice's token: %s", b)
	}
	// Another user's id, a made-up id, a non-uuid: 404, nothing revoked.
	for _, id := range []string{it.ID, uuid.NewString(), "nope"} {
		c.Do(http.MethodDelete, "/tokens/{token_id}", "/tokens/"+id, Bearer(bob), nil).MustStatus(t, http.StatusNotFound)
	}
	c.Do(http.MethodGet, "/index/{guid}", "/index/"+did, tok, nil).MustStatus(t, http.StatusOK)

	// Malformed, typo'd and unknown tokens: 401, never anonymous.
	unknown, _ := apitoken.New()
	typo := []byte(it.Token)
	typo[20] ^= 1
	for _, bad := range []string{"idx_", string(typo), unknown, it.Token + "x"} {
		c.Do(http.MethodGet, "/index", "/index", Bearer(bad), nil).MustStatus(t, http.StatusUnauthorized)
	}

	// Revocation by its user: 204, then 401 (cache evicted on this instance).
	c.Do(http.MethodDelete, "/tokens/{token_id}", "/tokens/"+it.ID, Bearer(alice), nil).MustStatus(t, http.StatusNoContent)
	c.Do(http.MethodGet, "/index/{guid}", "/index/"+did, tok, nil).MustStatus(t, http.StatusUnauthorized)
	c.Do(http.MethodDelete, "/tokens/{token_id}", "/tokens/"+it.ID, Bearer(alice), nil).MustStatus(t, http.StatusNoContent)

	// Expiry.
	short := issueToken(t, c, Bearer(alice), map[string]any{"expires_in": 1})
	c.Do(http.MethodGet, "/index/{guid}", "/index/"+did, Bearer(short.Token), nil).MustStatus(t, http.StatusOK)
	time.Sleep(1100 * time.Millisecond)
	c.Do(http.MethodGet, "/index/{guid}", "/index/"+did, Bearer(short.Token), nil).MustStatus(t, http.StatusUnauthorized)

	// A basic-auth admin issues for a named user, lists and revokes any.
	admin := e.AddAdmin("root", "correct horse battery")
	c.Do(http.MethodPost, "/tokens", "/tokens", admin, map[string]any{"expires_in": "1h"}).MustStatus(t, http.StatusBadRequest)
	forBob := issueToken(t, c, admin, map[string]any{"expires_in": "1h", "user": "bob"})
	c.Do(http.MethodGet, "/index/{guid}", "/index/"+did, Bearer(forBob.Token), nil).MustStatus(t, http.StatusOK)
	// bob, not an admin, cannot issue for alice.
	c.Do(http.MethodPost, "/tokens", "/tokens", Bearer(bob), map[string]any{"expires_in": "1h", "user": "alice"}).MustStatus(t, http.StatusForbidden)
	c.Do(http.MethodGet, "/admin/tokens", "/admin/tokens", Bearer(bob), nil).MustStatus(t, http.StatusForbidden)
	al := c.Do(http.MethodGet, "/admin/tokens", "/admin/tokens?user=BOB", admin, nil).MustStatus(t, http.StatusOK)
	if !strings.Contains(string(al.Body), forBob.ID) || strings.Contains(string(al.Body), it.ID) {
		t.Fatalf("admin list for bob: %s", al.Body)
	}
	c.Do(http.MethodDelete, "/admin/tokens/{token_id}", "/admin/tokens/"+forBob.ID, admin, nil).MustStatus(t, http.StatusNoContent)
	c.Do(http.MethodGet, "/index/{guid}", "/index/"+did, Bearer(forBob.Token), nil).MustStatus(t, http.StatusUnauthorized)
	c.Do(http.MethodDelete, "/admin/tokens/{token_id}", "/admin/tokens/"+uuid.NewString(), admin, nil).MustStatus(t, http.StatusNotFound)

	// Audit: issue, revoke, use after revoke (written asynchronously).
	deadline := time.Now().Add(5 * time.Second)
	for {
		rows, err := e.App.Store.APITokenAudit(context.Background(), it.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, r := range rows {
			actions = append(actions, r.Action)
		}
		if slices.Contains(actions, "issue") && slices.Contains(actions, "revoke") && slices.Contains(actions, "use-after-revoke") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit of %s: %v", it.ID, actions)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The plaintext never reached the log.
	for _, s := range []string{it.Token, short.Token, forBob.Token} {
		if strings.Contains(logs.String(), s) || strings.Contains(logs.String(), s[4:20]) {
			t.Fatal("a token is in the service log")
		}
	}
	if !strings.Contains(logs.String(), it.ID) {
		t.Fatal("the log does not name the issued token's id (is the log captured?)")
	}
}

// TestAPITokenRevocationOtherInstance: a token cached on a second instance
// stops working there within a second of its revocation on the first.
func TestAPITokenRevocationOtherInstance(t *testing.T) {
	t.Parallel()
	e := Start(t, WithFiltering())
	e2 := e.StartAnother(t, WithFiltering())
	alice := Tok("alice")
	e.Policy.SetUser(alice, "alice", map[string][]string{"/programs/p1": {"read"}})
	c := e.Checked(t)
	it := issueToken(t, c, Bearer(alice), map[string]any{"expires_in": "1h"})
	e2.Do(http.MethodGet, "/index", Bearer(it.Token), nil).MustStatus(t, http.StatusOK) // cached on e2
	e.Do(http.MethodDelete, "/tokens/"+it.ID, Bearer(alice), nil).MustStatus(t, http.StatusNoContent)
	start := time.Now()
	for {
		r := e2.Do(http.MethodGet, "/index", Bearer(it.Token), nil)
		if r.Status == http.StatusUnauthorized {
			break
		}
		if time.Since(start) > time.Second {
			t.Fatalf("second instance still accepts the revoked token after %v (status %d)", time.Since(start), r.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("figures: revocation seen by the second instance after %v", time.Since(start))
}

// TestAPITokenStoreDown: a token that must be looked up while the token
// store cannot answer (its table locked past the query timeout) is 503,
// never anonymous or 401; it works again once the store answers.
func TestAPITokenStoreDown(t *testing.T) {
	t.Parallel()
	e := Start(t, WithFiltering(), func(c *app.Config) { c.QueryTimeout = time.Second })
	alice := Tok("alice")
	e.Policy.SetUser(alice, "alice", map[string][]string{"/programs/p1": {"read"}})
	it := issueToken(t, e.Checked(t), Bearer(alice), map[string]any{"expires_in": "1h"})
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE api_token IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	// Issuing does not cache: this use must query the store.
	r := e.Do(http.MethodGet, "/index", Bearer(it.Token), nil)
	_ = tx.Rollback(ctx)
	if r.Status != http.StatusServiceUnavailable || strings.Contains(string(r.Body), it.Token) {
		t.Fatalf("store down: %d %s, want 503", r.Status, r.Body)
	}
	e.Do(http.MethodGet, "/index", Bearer(it.Token), nil).MustStatus(t, http.StatusOK)
}

// TestAPITokenMatrix: the effective permission of a token caller is its
// user's live grants ∩ its scope, on every read path, writes and DRS
// access.
func TestAPITokenMatrix(t *testing.T) {
	t.Parallel()
	e := Start(t, WithFiltering(), WithStorage(t, "unsigned: passthrough\n"))
	c := e.Checked(t)
	writer := e.Writer()
	recs := map[string]string{}
	for _, n := range []string{"a", "b", "c"} {
		path := map[string]string{"a": "/programs/p1/projects/a", "b": "/programs/p1/projects/b", "c": "/programs/p2/projects/c"}[n]
		did := "dg.TEST/" + uuid.NewString()
		rec := Rec(did, path)
		rec["urls"] = []string{"https://example.org/" + n}
		e.Create(writer, rec)
		recs[n] = did
	}
	alice := Tok("alice")
	e.Policy.SetUser(alice, "alice", map[string][]string{
		"/programs/p1":            {"read", "read-storage"},
		"/programs/p1/projects/a": {"create", "update"},
		"/programs/p2":            {"read"},
	})
	scope := func(entries ...any) []map[string]any {
		var out []map[string]any
		for i := 0; i < len(entries); i += 2 {
			out = append(out, map[string]any{"resource": entries[i], "methods": entries[i+1]})
		}
		return out
	}
	type want struct {
		visible  []string // of a, b, c
		create   []string // projects a, b where POST /index succeeds
		access   []string // DRS access succeeds
		issueErr bool
	}
	cases := []struct {
		name  string
		scope []map[string]any // nil: no scope (every grant)
		want  want
	}{
		{"login token (reference)", nil, want{visible: []string{"a", "b", "c"}, create: []string{"a"}, access: []string{"a", "b"}}},
		{"no scope (equal)", nil, want{visible: []string{"a", "b", "c"}, create: []string{"a"}, access: []string{"a", "b"}}},
		{"narrower", scope("/programs/p1/projects/a", []string{"read", "create"}), want{visible: []string{"a"}, create: []string{"a"}}},
		{"narrower read-only other program", scope("/programs/p2", []string{"read"}), want{visible: []string{"c"}}},
		{"wider than grants", scope("/programs", []string{"*"}, "/elsewhere", []string{"*"}), want{visible: []string{"a", "b", "c"}, create: []string{"a"}, access: []string{"a", "b"}}},
		{"scope the user never had", scope("/programs/p3", []string{"*"}, "/services/indexd/admin", []string{"admin"}), want{}},
		{"methods the user lacks there", scope("/programs/p1/projects/b", []string{"create", "update", "read"}), want{visible: []string{"b"}}},
	}
	for i, tc := range cases {
		auth := Bearer(alice)
		if i > 0 {
			body := map[string]any{"expires_in": "1h"}
			if tc.scope != nil {
				body["scope"] = tc.scope
			}
			auth = Bearer(issueToken(t, c, Bearer(alice), body).Token)
		}
		t.Run(tc.name, func(t *testing.T) {
			seen := func(name string) bool { return slices.Contains(tc.want.visible, name) }
			// List.
			var page struct {
				Records []struct{ DID string } `json:"records"`
			}
			c.Do(http.MethodGet, "/index", "/index?limit=100", auth, nil).MustStatus(t, http.StatusOK).JSON(t, &page)
			var listed []string
			for _, r := range page.Records {
				for n, d := range recs {
					if r.DID == d {
						listed = append(listed, n)
					}
				}
			}
			slices.Sort(listed)
			if !slices.Equal(listed, tc.want.visible) {
				t.Errorf("list sees %v, want %v", listed, tc.want.visible)
			}
			// Bulk.
			bulk := c.Do(http.MethodPost, "/bulk/documents", "/bulk/documents", auth, []string{recs["a"], recs["b"], recs["c"]}).MustStatus(t, http.StatusOK)
			for n, d := range recs {
				if got := strings.Contains(string(bulk.Body), d); got != seen(n) {
					t.Errorf("bulk sees %s: %v, want %v", n, got, seen(n))
				}
				// Single record, the global resolver, the DRS object.
				for _, p := range [][2]string{{"/index/{guid}", "/index/" + d}, {"/{guid}", "/" + d}, {tplObject, objPath(d)}} {
					r := c.Do(http.MethodGet, p[0], p[1], auth, nil)
					if (r.Status == http.StatusOK) != seen(n) || (r.Status != http.StatusOK && strings.Contains(string(r.Body), "example.org")) {
						t.Errorf("GET %s (%s): %d, visible %v", p[0], n, r.Status, seen(n))
					}
				}
				// DRS access.
				r := c.Do(http.MethodGet, tplAccess, objPath(d)+"/access/https", auth, nil)
				if ok := r.Status == http.StatusOK; ok != slices.Contains(tc.want.access, n) {
					t.Errorf("access %s: %d %s, want ok=%v", n, r.Status, bodySnippet(r.Body), !ok)
				}
			}
			// Writes.
			for _, p := range []string{"a", "b"} {
				r := c.Do(http.MethodPost, "/index", "/index", auth, Rec("dg.TEST/"+uuid.NewString(), "/programs/p1/projects/"+p))
				if ok := r.Status == http.StatusOK; ok != slices.Contains(tc.want.create, p) {
					t.Errorf("create under %s: %d %s", p, r.Status, bodySnippet(r.Body))
				}
			}
			// Admin: never (alice is not one).
			c.Do(http.MethodGet, "/admin/discovery", "/admin/discovery", auth, nil).MustStatus(t, http.StatusForbidden)
		})
	}

	// A grant the user loses is lost by the token within the mapping TTL
	// (the test forgets the cache instead of waiting for it).
	tok := Bearer(issueToken(t, c, Bearer(alice), map[string]any{"expires_in": "1h"}).Token)
	c.Do(http.MethodGet, "/index/{guid}", "/index/"+recs["c"], tok, nil).MustStatus(t, http.StatusOK)
	e.Policy.SetUser(alice, "alice", map[string][]string{"/programs/p1": {"read"}})
	e.App.Policy.Flush()
	if r := c.Do(http.MethodGet, "/index/{guid}", "/index/"+recs["c"], tok, nil); r.Status == http.StatusOK {
		t.Fatalf("token still reads a record of a lost grant")
	}
}
