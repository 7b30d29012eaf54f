package integration

// Request and statement timeouts (SPEC §6; docs/security.md "Server
// hardening"). A request whose policy call or database query stalls must
// end at its bound with the JSON 503 of its route family — not hang, not
// 500 — write nothing, and leave the service working once the stall ends.
//
// Stalls are real: the Arborist double sleeps (FaultSlow), and a test
// connection holds an ACCESS EXCLUSIVE lock on the record table so every
// read and write of it waits in PostgreSQL. The HTTP client's own timeout
// (well above the bounds under test, far below the stalls) turns a hang
// into a failure; nothing here measures speed.

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/datacommons/indexd/internal/app"
	"github.com/datacommons/indexd/policy/policytest"
)

// toRequests are the requests each stall is tried with: filtered and
// unfiltered reads of both API families, and writes.
type toRequest struct {
	method, path string
	body         any
	drs          bool
	write        bool
}

func toRequests(rev string) []toRequest {
	return []toRequest{
		{method: "GET", path: "/index?limit=10"},
		{method: "GET", path: "/index/to-a"},
		{method: "POST", path: "/bulk/documents", body: []string{"to-a"}},
		{method: "GET", path: "/ga4gh/drs/v1/objects/to-a", drs: true},
		{method: "POST", path: "/ga4gh/drs/v1/objects", body: map[string]any{"bulk_object_ids": []string{"to-a"}}, drs: true},
		{method: "PUT", path: "/index/to-a?rev=" + rev, body: map[string]any{"metadata": map[string]string{"stalled": "yes"}}, write: true},
		{method: "POST", path: "/index", body: Rec("to-new", "/programs/p1"), write: true},
	}
}

// toClientTimeout is far above the bound under test in each test and below
// every stall and every other bound in it: a request that is not cut off by
// the bound under test fails with a client timeout instead of passing.
const toClientTimeout = 8 * time.Second

// toStart starts a service with the given bounds and one record, to-a.
func toStart(t *testing.T, requestTimeout, queryTimeout, policyTimeout time.Duration, opts ...Option) (e *Env, writer, reader, rev string) {
	t.Helper()
	opts = append(opts, func(c *app.Config) {
		c.RequestTimeout, c.QueryTimeout, c.PolicyTimeout = requestTimeout, queryTimeout, policyTimeout
		c.PolicyCacheTTL = time.Millisecond // every request asks the double
	})
	e = Start(t, opts...)
	e.Client = &http.Client{Timeout: toClientTimeout}
	writer = e.Writer()
	readerTok := Tok("to-reader")
	e.Policy.SetUser(readerTok, "to-reader", map[string][]string{"/programs/p1": {"read"}})
	reader = Bearer(readerTok)
	// The fixture write runs under the test's short bounds: on a loaded
	// machine the store call may outlast a 300 ms query timeout (503) —
	// possibly at COMMIT, after the record was written — so it is retried,
	// and a retry that finds the record takes its rev.
	var r azResp
	for try := 0; try < 5; try++ {
		if r = azMust(t, e, "POST", "/index", writer, Rec("to-a", "/programs/p1")); r.Status != http.StatusServiceUnavailable {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if r.Status == http.StatusConflict {
		return e, writer, reader, toRev(t, e, writer, "to-a")
	}
	var ref struct{ Rev string }
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &ref) != nil {
		t.Fatalf("create to-a: %d %s", r.Status, r.Body)
	}
	return e, writer, reader, ref.Rev
}

// toExpect503 sends every request and checks each ends with the route's
// JSON 503.
func toExpect503(t *testing.T, e *Env, label string, reqs []toRequest, auth func(toRequest) string) {
	t.Helper()
	for _, q := range reqs {
		r := azMust(t, e, q.method, q.path, auth(q), q.body)
		if want := azErrBody(q.drs, http.StatusServiceUnavailable); r.Status != http.StatusServiceUnavailable || !azSameBody(r.Body, want) {
			t.Errorf("%s: %s %s: %d %s, want 503 %s", label, q.method, q.path, r.Status, azTrunc(r.Body), want)
		}
	}
}

// toCheckNothingWritten checks to-a still has rev and to-new does not exist.
func toCheckNothingWritten(t *testing.T, e *Env, writer, rev string) {
	t.Helper()
	r := azMust(t, e, "GET", "/index/to-a", writer, nil)
	var got struct {
		Rev      string
		Metadata map[string]string
	}
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &got) != nil || got.Rev != rev || got.Metadata["stalled"] != "" {
		t.Errorf("to-a after the stall: %d %s, want rev %s unchanged", r.Status, azTrunc(r.Body), rev)
	}
	if r := azMust(t, e, "GET", "/index/to-new", writer, nil); r.Status != http.StatusNotFound {
		t.Errorf("a create that timed out left to-new behind: %d %s", r.Status, azTrunc(r.Body))
	}
}

// toCheckRecovered sends every request again, now expecting success.
func toCheckRecovered(t *testing.T, e *Env, label string, reqs []toRequest, auth func(toRequest) string) {
	t.Helper()
	for _, q := range reqs {
		r := azMust(t, e, q.method, q.path, auth(q), q.body)
		if r.Status != http.StatusOK {
			t.Errorf("%s: %s %s: %d %s, want 200", label, q.method, q.path, r.Status, azTrunc(r.Body))
		}
	}
}

// lockRecords holds an ACCESS EXCLUSIVE lock on the record table until the
// returned function is called: every query of the table waits.
func lockRecords(t *testing.T, dbURL string) (release func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	if _, err := tx.Exec(ctx, "LOCK TABLE record IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatalf("lock: %v", err)
	}
	done := false
	release = func() {
		if done {
			return
		}
		done = true
		_ = tx.Rollback(ctx)
		_ = conn.Close(ctx)
	}
	t.Cleanup(release)
	return release
}

// TestRequestTimeoutPolicyStall: INDEXD_REQUEST_TIMEOUT bounds a request
// whose policy call stalls, even though the policy client's own timeout
// (a minute) would let it run past the client's patience. A mapping call is
// shared by every request of its caller and runs until the policy service
// answers or the policy timeout (policy.Cached), so once the double
// answers again the service does too.
func TestRequestTimeoutPolicyStall(t *testing.T) {
	t.Parallel()
	const stall = toClientTimeout + 2*time.Second
	e, writer, reader, rev := toStart(t, 500*time.Millisecond, 10*time.Second, time.Minute, WithFiltering())
	reqs := toRequests(rev)
	auth := func(q toRequest) string {
		if q.write {
			return writer
		}
		return reader
	}
	e.Policy.SetDelay(stall)
	e.Policy.SetFault(policytest.FaultSlow)
	before := e.Policy.MappingCalls() + e.Policy.RequestCalls()
	toExpect503(t, e, "policy stalled", reqs, auth)
	if e.Policy.MappingCalls()+e.Policy.RequestCalls() == before {
		t.Fatalf("no policy call was made: the stall was not exercised")
	}
	e.Policy.SetFault(policytest.FaultNone)
	deadline := time.Now().Add(stall + 10*time.Second)
	for _, who := range []string{reader, writer} {
		for ; ; time.Sleep(100 * time.Millisecond) {
			r := azMust(t, e, "GET", "/index/to-a", who, nil)
			if r.Status == http.StatusOK {
				break
			}
			if r.Status != http.StatusServiceUnavailable || time.Now().After(deadline) {
				t.Fatalf("policy answering again, still %d %s", r.Status, azTrunc(r.Body))
			}
		}
	}
	toCheckNothingWritten(t, e, writer, rev)
	rev = toRev(t, e, writer, "to-a")
	toCheckRecovered(t, e, "policy back", toRequests(rev), auth)
}

// TestRequestTimeoutDatabaseStall: INDEXD_REQUEST_TIMEOUT bounds a request
// whose query waits on a lock, even when the statement timeout is longer.
func TestRequestTimeoutDatabaseStall(t *testing.T) {
	t.Parallel()
	e, writer, _, rev := toStart(t, 500*time.Millisecond, time.Minute, time.Minute)
	auth := func(q toRequest) string { return map[bool]string{true: writer, false: ""}[q.write] }
	release := lockRecords(t, e.DBURL)
	toExpect503(t, e, "record table locked", toRequests(rev), auth)
	release()
	toCheckNothingWritten(t, e, writer, rev)
	rev = toRev(t, e, writer, "to-a")
	toCheckRecovered(t, e, "lock released", toRequests(rev), auth)
}

// TestStatementTimeout: INDEXD_QUERY_TIMEOUT is set as statement_timeout
// on every pooled connection (PostgreSQL cancels a statement that runs
// longer, whatever the caller's context), and a request whose query
// outlasts it ends with the JSON 503 and writes nothing.
func TestStatementTimeout(t *testing.T) {
	t.Parallel()
	e, writer, reader, rev := toStart(t, 30*time.Second, 300*time.Millisecond, 10*time.Second, WithFiltering())
	ctx := context.Background()
	pool := e.App.Store.Pool()
	var setting string
	if err := pool.QueryRow(ctx, "SHOW statement_timeout").Scan(&setting); err != nil || setting != "300ms" {
		t.Fatalf("statement_timeout on a pooled connection: %q, %v; want 300ms", setting, err)
	}
	// No deadline on the context: only the server-side bound can end it.
	_, err := pool.Exec(ctx, "SELECT pg_sleep(30)")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" {
		t.Fatalf("pg_sleep(30) on a pooled connection: %v, want 57014 (statement timeout)", err)
	}

	auth := func(q toRequest) string {
		if q.write {
			return writer
		}
		return reader
	}
	release := lockRecords(t, e.DBURL)
	toExpect503(t, e, "record table locked", toRequests(rev), auth)
	release()
	toCheckNothingWritten(t, e, writer, rev)
	rev = toRev(t, e, writer, "to-a")
	toCheckRecovered(t, e, "lock released", toRequests(rev), auth)
}

// toRev reads a record's current rev (the recovered PUT needs it; the
// stalled one must not have changed it, which toCheckNothingWritten checks).
func toRev(t *testing.T, e *Env, auth, did string) string {
	t.Helper()
	r := azMust(t, e, "GET", "/index/"+did, auth, nil)
	var v struct{ Rev string }
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &v) != nil {
		t.Fatalf("read %s: %d %s", did, r.Status, r.Body)
	}
	return v.Rev
}
