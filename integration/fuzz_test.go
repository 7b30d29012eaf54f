package integration

// FuzzHTTPHandlers drives the whole HTTP stack in process: Echo with every
// middleware (request id, access log, recover, body limit, request timeout,
// authentication), every handler, the repository on a real PostgreSQL
// database and the Arborist double over real HTTP. Method, route, path,
// query, credential, content type and body are fuzzed; whatever arrives,
// the answer is never a 5xx (the recover middleware turns a panic into a
// 500, so this also catches panics), and every 4xx carries a JSON error
// body of the route's family.
//
// The database, the policy double and the service are made once per
// process (the fuzzing engine runs one process per worker), so a 5-second
// run spends its time on inputs. Inputs may write (create, update, delete,
// change settings): state drifts within a run, which widens what later
// inputs reach. Seed corpus: testdata/fuzz/FuzzHTTPHandlers/.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/datacommons/indexd/internal/app"
	"github.com/datacommons/indexd/internal/testdb"
	"github.com/datacommons/indexd/policy/policytest"
)

// fzRoutes are the route prefixes the route byte selects; the fuzzed path
// is appended to the chosen one.
var fzRoutes = []string{
	"", "/index", "/index/", "/index/blank", "/index/blank/", "/bulk/documents", "/urls", "/_query/urls/q",
	"/_query/urls/metadata/q", "/ga4gh/drs/v1/objects", "/ga4gh/drs/v1/objects/", "/ga4gh/drs/v1/objects/access",
	"/ga4gh/drs/v1/service-info", "/admin/discovery", "/admin/discovery/audit", "/admin/users", "/admin/users/", "/admin/users/audit",
	"/guid/mint", "/_status", "/_version", "/_stats", "/openapi.yaml", "/index/fz-a", "/index/fz-a/", "/ga4gh/drs/v1/objects/fz-a",
}

var fzMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions, http.MethodHead, http.MethodPatch}

var fzContentTypes = []string{"application/json", "", "application/json; charset=utf-8", "text/plain", "application/problem+json", "multipart/form-data; boundary=x", ";;"}

// fzEnv is the service one fuzz process drives.
type fzEnv struct {
	handler http.Handler
	auths   []string
	errLog  *fzErrLog
}

// fzErrLog keeps the last error-level log lines (5xx and panics log at
// error), to show with a failure.
type fzErrLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *fzErrLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *fzErrLog) Handle(_ context.Context, r slog.Record) error {
	if r.Level < slog.LevelError {
		return nil
	}
	var sb strings.Builder
	sb.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&sb, " %s=%v", a.Key, a.Value)
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, sb.String())
	if len(l.lines) > 20 {
		l.lines = l.lines[1:]
	}
	return nil
}
func (l *fzErrLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *fzErrLog) WithGroup(string) slog.Handler      { return l }
func (l *fzErrLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// newFzEnv starts the service on a fresh database with filtering on, a
// basic-auth admin and a few records (a version chain, an alias, a blank
// record, an empty-authz record) for the seeds to name.
func newFzEnv(tb testing.TB) *fzEnv {
	tb.Helper()
	pol := policytest.New(tb)
	cfg := app.Defaults()
	cfg.DatabaseURL = testdb.NewDatabase(tb)
	cfg.ArboristURL = pol.URL()
	cfg.PolicyTimeout = 5 * time.Second
	cfg.SettingsPoll = time.Hour
	cfg.RequestTimeout = 20 * time.Second
	cfg.PasswordCost = bcrypt.MinCost // as the harness (harness_test.go start)
	cfg.InitialSettings.AreRecordsDiscoverable = false
	cfg.InitialSettings.GlobalDiscoveryAuthz = []string{"/global"}
	errLog := &fzErrLog{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := app.New(ctx, cfg, slog.New(errLog))
	if err != nil {
		tb.Fatalf("start service: %v", err)
	}
	tb.Cleanup(a.Close)
	env := &fzEnv{handler: a.Handler(), errLog: errLog}

	writer := Tok("fz-writer")
	pol.SetUser(writer, "fz-writer", map[string][]string{"/": {"*"}, "/services/indexd/admin": {"admin"}})
	reader := Tok("fz-reader")
	pol.SetUser(reader, "fz-reader", map[string][]string{"/programs/p1": {"read", "read-storage"}})
	pol.SetAnonymous(map[string][]string{"/programs/open": {"read"}})
	e := &Env{T: tb, App: a}
	admin := e.AddAdmin("fz-admin", "fz-admin-password")
	env.auths = []string{"", Bearer(writer), Bearer(reader), admin, Bearer(Tok("fz-unknown")), "Bearer not-a-jwt",
		Basic("fz-admin", "wrong-password"), "Basic !!!", "Negotiate x"}

	w := Bearer(writer)
	must := func(method, path string, body string, want int) []byte {
		rec := env.serve(method, path, w, "application/json", []byte(body))
		if rec == nil || rec.Code != want {
			tb.Fatalf("fixture %s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}
	rec := func(did string, authz ...string) string {
		b, _ := json.Marshal(map[string]any{"did": did, "form": "object", "size": 12, "hashes": map[string]string{"md5": "0123456789abcdef0123456789abcdef"},
			"urls": []string{"s3://fz/" + did}, "urls_metadata": map[string]any{"s3://fz/" + did: map[string]string{"k": "v"}}, "authz": authz, "acl": []string{"fz"}})
		return string(b)
	}
	must(http.MethodPost, "/index", rec("fz-a", "/programs/p1"), http.StatusOK)
	must(http.MethodPost, "/index/fz-a", rec("fz-a-v2", "/programs/p1/x"), http.StatusOK)
	must(http.MethodPost, "/index", rec("fz-b", "/programs/p2"), http.StatusOK)
	must(http.MethodPost, "/index", rec("fz-open", "/programs/open"), http.StatusOK)
	must(http.MethodPost, "/index", rec("fz-empty"), http.StatusOK)
	must(http.MethodPost, "/index", rec("dg.fz/prefixed", "/programs/p1"), http.StatusOK)
	must(http.MethodPost, "/index/fz-a/aliases", `{"aliases":[{"value":"fz-alias"}]}`, http.StatusOK)
	must(http.MethodPost, "/index/blank", `{"uploader":"fz","authz":["/programs/p1"]}`, http.StatusCreated)
	return env
}

// serve runs one request through the handler. The request is written out
// and read back with http.ReadRequest, as the HTTP server reads it; a
// request it cannot read (which a real server answers 400 before any
// handler runs) is reported as nil.
func (env *fzEnv) serve(method, target, auth, ctype string, body []byte) *httptest.ResponseRecorder {
	var raw bytes.Buffer
	fmt.Fprintf(&raw, "%s %s HTTP/1.1\r\nHost: indexd.fuzz\r\nContent-Length: %d\r\n", method, target, len(body))
	if ctype != "" {
		fmt.Fprintf(&raw, "Content-Type: %s\r\n", ctype)
	}
	if auth != "" {
		fmt.Fprintf(&raw, "Authorization: %s\r\n", auth)
	}
	raw.WriteString("\r\n")
	raw.Write(body)
	req, err := http.ReadRequest(bufio.NewReader(&raw))
	if err != nil {
		return nil
	}
	req.RemoteAddr = "192.0.2.1:1234"
	rec := httptest.NewRecorder()
	env.handler.ServeHTTP(rec, req)
	return rec
}

func FuzzHTTPHandlers(f *testing.F) {
	env := newFzEnv(f)
	type seed struct {
		route, method, who, ctype uint8
		path, query, body         string
	}
	idx := func(list []string, v string) uint8 {
		for i, s := range list {
			if s == v {
				return uint8(i)
			}
		}
		panic("no " + v)
	}
	r, m := func(s string) uint8 { return idx(fzRoutes, s) }, func(s string) uint8 { return idx(fzMethods, s) }
	for _, s := range []seed{
		{r("/index"), m("GET"), 0, 0, "", "limit=5&authz=/programs/p1", ""},
		{r("/index"), m("GET"), 2, 0, "", "negate_params=%7B%22urls%22%3A%5B%22x%22%5D%7D&urls_metadata=%7B%7D", ""},
		{r("/index"), m("POST"), 1, 0, "", "", `{"form":"object","size":1,"urls":[],"hashes":{"md5":"0123456789abcdef0123456789abcdef"},"authz":["/programs/p1"]}`},
		{r("/index"), m("POST"), 1, 0, "", "", `{"form":"object","size":1,"urls":["s3://x"],"hashes":{"md5":"0123456789abcdef0123456789abcdef"},"metadata":{"k":"a\u0000b"}}`},
		{r("/index/"), m("GET"), 2, 0, "fz-a", "", ""},
		{r("/index/"), m("GET"), 0, 0, "fz-a/versions", "", ""},
		{r("/index/"), m("GET"), 2, 0, "fz-a/latest", "has_version=true", ""},
		{r("/index/"), m("GET"), 2, 0, "fz-a/aliases", "", ""},
		{r("/index/"), m("PUT"), 1, 0, "fz-b", "rev=00000000", `{"metadata":{"x":"y"}}`},
		{r("/index/"), m("PUT"), 1, 0, "fz-a/versions", "", `{"authz":["/programs/p1"]}`},
		{r("/index/"), m("POST"), 1, 0, "fz-a/aliases", "", `{"aliases":[{"value":"fz-alias-2"}]}`},
		{r("/index/"), m("DELETE"), 1, 0, "fz-a/aliases/fz-alias", "", ""},
		{r("/index/"), m("DELETE"), 1, 0, "fz-b", "rev=x", ""},
		{r("/index/"), m("GET"), 0, 0, "a%2Fb%ZZ", "", ""},
		{r("/index/blank"), m("POST"), 1, 0, "", "", `{"uploader":"u","authz":["/programs/p1"]}`},
		{r("/index/blank/"), m("PUT"), 1, 0, "fz-a", "rev=x", `{"size":1,"hashes":{"md5":"0123456789abcdef0123456789abcdef"}}`},
		{r("/bulk/documents"), m("POST"), 2, 0, "", "", `["fz-a","fz-b","fz-missing","dg.fz/prefixed"]`},
		{r("/urls"), m("GET"), 0, 0, "", "ids=fz-a,fz-b", ""},
		{r("/_query/urls/q"), m("GET"), 2, 0, "", "include=s3&versioned=true&fields=did,rev", ""},
		{r("/_query/urls/metadata/q"), m("GET"), 2, 0, "", "key=k&value=v&url=s3", ""},
		{r("/ga4gh/drs/v1/objects"), m("GET"), 2, 0, "", "limit=2&expand=true", ""},
		{r("/ga4gh/drs/v1/objects"), m("POST"), 2, 0, "", "", `{"bulk_object_ids":["fz-a","fz-b","fz-a","bad id"]}`},
		{r("/ga4gh/drs/v1/objects"), m("OPTIONS"), 2, 0, "", "", `{"bulk_object_ids":["fz-a"]}`},
		{r("/ga4gh/drs/v1/objects/access"), m("POST"), 2, 0, "", "", `{"bulk_object_access_ids":[{"bulk_object_id":"fz-a","bulk_access_ids":["s3"]}]}`},
		{r("/ga4gh/drs/v1/objects/"), m("GET"), 2, 0, "fz-a/access/s3", "", ""},
		{r("/ga4gh/drs/v1/objects/"), m("POST"), 2, 0, "dg.fz%2Fprefixed", "", `{"passports":["p"]}`},
		{r("/ga4gh/drs/v1/objects/"), m("OPTIONS"), 0, 0, "fz-a", "", ""},
		{r("/ga4gh/drs/v1/service-info"), m("GET"), 0, 0, "", "", ""},
		{r("/admin/discovery"), m("PUT"), 3, 0, "", "", `{"global_discovery_authz":["/global","/programs/open"]}`},
		{r("/admin/discovery/audit"), m("GET"), 3, 0, "", "limit=2", ""},
		{r("/admin/users/"), m("DELETE"), 3, 0, "nobody", "", ""},
		{r("/guid/mint"), m("GET"), 0, 0, "", "count=3", ""},
		{r("/_stats"), m("GET"), 4, 0, "", "", ""},
		{r(""), m("GET"), 0, 0, "/fz-alias", "", ""},
		{r(""), m("GET"), 6, 0, "/dg.fz/prefixed", "", ""},
		{r("/index"), m("POST"), 1, 3, "", "", `{}`},
		{r("/index"), m("PATCH"), 1, 0, "", "", `{}`},
		{r("/_status"), m("HEAD"), 0, 0, "", "", ""},
	} {
		f.Add(s.route, s.method, s.who, s.ctype, s.path, s.query, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, route, method, who, ctype uint8, path, query string, body []byte) {
		target := fzRoutes[int(route)%len(fzRoutes)] + path
		if query != "" {
			target += "?" + query
		}
		if !strings.HasPrefix(target, "/") {
			target = "/" + target
		}
		if strings.ContainsAny(target, " \r\n") {
			return // would not be one request line
		}
		meth := fzMethods[int(method)%len(fzMethods)]
		auth := env.auths[int(who)%len(env.auths)]
		ct := fzContentTypes[int(ctype)%len(fzContentTypes)]
		rec := env.serve(meth, target, auth, ct, body)
		if rec == nil {
			return // the server answers 400 before any handler runs
		}
		where := fmt.Sprintf("%s %q (auth #%d, content type %q, body %q)", meth, target, int(who)%len(env.auths), ct, body)
		t.Logf("%s: %d %.200s", where, rec.Code, rec.Body)
		if rec.Code >= 500 {
			t.Fatalf("%s: status %d: %s\nerror log:\n%s", where, rec.Code, rec.Body, env.errLog)
		}
		if rec.Code < 400 || meth == http.MethodHead {
			return
		}
		var drsErr struct {
			Msg        *string `json:"msg"`
			StatusCode int     `json:"status_code"`
		}
		var ixErr struct {
			Error *string `json:"error"`
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			t.Fatalf("%s: ReadRequest read a target url.ParseRequestURI rejects: %v", where, err)
		}
		switch {
		case !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json"):
			t.Fatalf("%s: status %d with content type %q: %s", where, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		case strings.HasPrefix(u.Path, "/ga4gh/drs/v1/") || u.Path == "/ga4gh/drs/v1":
			if json.Unmarshal(rec.Body.Bytes(), &drsErr) != nil || drsErr.Msg == nil || *drsErr.Msg == "" || drsErr.StatusCode != rec.Code {
				t.Fatalf("%s: status %d, DRS error body %s", where, rec.Code, rec.Body)
			}
		default:
			if json.Unmarshal(rec.Body.Bytes(), &ixErr) != nil || ixErr.Error == nil || *ixErr.Error == "" {
				t.Fatalf("%s: status %d, error body %s", where, rec.Code, rec.Body)
			}
		}
	})
}
