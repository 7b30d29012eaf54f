package integration

// Read replicas (issue 16): the service runs against a private primary and
// a real streaming standby of it (pg_basebackup + primary_conninfo, started
// from the local PostgreSQL binaries). Replay on the standby is paused
// (pg_wal_replay_pause) to make it lag deterministically: a record written
// while it is paused exists on the primary only, so the answer to a read
// says which server served it. Checked: reads go to the replica; writes,
// the reads inside writes and admin users go to the primary; a read that
// presents a write's consistency token (header or cookie) sees that write;
// a replica past the token serves it; a replica lagging beyond
// INDEXD_REPLICA_MAX_LAG is skipped; discovery settings come from the
// primary, never from a lagging replica; the standby killed and restarted
// costs no failed read and is used again once back.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datacommons/indexd/internal/app"
	"github.com/datacommons/indexd/internal/devdb"
	"github.com/datacommons/indexd/policy/policytest"
	"github.com/datacommons/indexd/replica"
	"github.com/datacommons/indexd/repository"
)

// hdrDo sends a request with extra headers and returns the exchange.
func hdrDo(t testing.TB, e *Env, method, path, auth string, body any, hdr map[string]string) *Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = strings.NewReader(string(j))
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// portOr returns want when it is free on 127.0.0.1, else any free port.
func portOr(t *testing.T, want int) int {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", want))
	if err != nil {
		return freePort(t)
	}
	l.Close()
	return want
}

// replicaPair starts a private primary and a streaming standby of it, or
// skips — loudly, by name — when the PostgreSQL server binaries are absent.
func replicaPair(t *testing.T) (primary, standby *devdb.Private) {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("indexd-replica-%d", os.Getpid()))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	primary, err := devdb.StartPrivate(ctx, filepath.Join(dir, "primary"), portOr(t, 25416), testLogger())
	if errors.Is(err, devdb.ErrNoBinaries) {
		t.Skipf("SKIPPED TestReadReplicas: a streaming standby needs the PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup; Debian: apt-get install postgresql): %v", err)
	}
	if err != nil {
		t.Fatalf("private primary: %v", err)
	}
	t.Cleanup(primary.Close)
	// Keep WAL for a standby that is down for a while.
	sqlOn(t, primary.URL(), "ALTER SYSTEM SET wal_keep_size = '256MB'")
	sqlOn(t, primary.URL(), "SELECT pg_reload_conf()")
	standby, err = primary.StartStandby(ctx, filepath.Join(dir, "standby"), portOr(t, 25516), testLogger())
	if errors.Is(err, devdb.ErrNoBinaries) {
		t.Skipf("SKIPPED TestReadReplicas: %v", err)
	}
	if err != nil {
		t.Fatalf("standby: %v", err)
	}
	t.Cleanup(standby.Close)
	return primary, standby
}

// sqlOn runs one statement on the database at url and returns the first
// column of the first row as text ("" when there is none).
func sqlOn(t testing.TB, url, q string, args ...any) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	out := ""
	if rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		if len(vals) > 0 && vals[0] != nil {
			out = fmt.Sprint(vals[0])
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// waitFor polls cond every 50 ms until it holds, failing after d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", d, what)
		}
	}
}

func replicaStatus(e *Env) replica.Status {
	st := e.App.Store.Replicas()
	if len(st) != 1 {
		return replica.Status{}
	}
	return st[0]
}

func revOf(t testing.TB, r *Response) string {
	t.Helper()
	var rec struct{ Rev string }
	r.JSON(t, &rec)
	return rec.Rev
}

func withReplicas(lag time.Duration, urls ...string) Option {
	return func(c *app.Config) { c.ReadURLs, c.ReplicaMaxLag = urls, lag }
}

func TestReadReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two database servers; not in -short")
	}
	primary, standby := replicaPair(t)
	pol := policytest.New(t)
	// a: a lag bound no test step reaches, so a paused standby still
	// serves its reads; b: a one-second bound.
	a := start(t, primary.URL(), pol, testLogger(), func(c *app.Config) { c.MigrateOnStart = true }, withReplicas(time.Hour, standby.URL()))
	b := a.StartAnother(t, withReplicas(time.Second, standby.URL()))
	w := a.Writer()
	tokenOf := func(r *Response) string {
		t.Helper()
		tok := r.Header.Get("X-Indexd-Consistency")
		if _, err := replica.ParseToken(tok); err != nil {
			t.Fatalf("write answer %d carries no consistency token (%q): %s", r.Status, tok, r.Body)
		}
		return tok
	}
	replayed := func(tok string) bool {
		p, _ := replica.ParseToken(tok)
		return sqlOn(t, standby.URL(), "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", p.LSN()) == "true"
	}
	pause := func() {
		sqlOn(t, standby.URL(), "SELECT pg_wal_replay_pause()")
		waitFor(t, 10*time.Second, "replay paused", func() bool {
			return sqlOn(t, standby.URL(), "SELECT pg_get_wal_replay_pause_state()") == "paused"
		})
	}
	resume := func(tok string) {
		sqlOn(t, standby.URL(), "SELECT pg_wal_replay_resume()")
		waitFor(t, 30*time.Second, "the standby replays the last write", func() bool { return replayed(tok) })
	}
	get := func(e *Env, path, auth string, hdr map[string]string) *Response {
		t.Helper()
		return hdrDo(t, e, http.MethodGet, path, auth, nil, hdr)
	}
	header := func(tok string) map[string]string { return map[string]string{"X-Indexd-Consistency": tok} }
	cookie := func(tok string) map[string]string { return map[string]string{"Cookie": "indexd_consistency=" + tok} }

	did0 := "dg.REPL/" + repository.NewUUID()
	r := hdrDo(t, a, http.MethodPost, "/index", w, Rec(did0, "/programs/open"), nil).MustStatus(t, http.StatusOK)
	resume(tokenOf(r))
	for _, e := range []*Env{a, b} {
		waitFor(t, 30*time.Second, "the replica becomes usable", func() bool { return replicaStatus(e).Usable })
	}

	var did1, rev1 string
	t.Run("reads go to the replica, a write's token to the primary", func(t *testing.T) {
		pause()
		did1 = "dg.REPL/" + repository.NewUUID()
		tok := tokenOf(hdrDo(t, a, http.MethodPost, "/index", w, Rec(did1, "/programs/open"), nil).MustStatus(t, http.StatusOK))
		// On the primary only: a 404 shows the replica answered.
		get(a, "/index/"+did1, "", nil).MustStatus(t, http.StatusNotFound)
		get(a, "/ga4gh/drs/v1/objects/"+did1, "", nil).MustStatus(t, http.StatusNotFound)
		if st := replicaStatus(a); !st.Healthy || !st.Usable {
			t.Fatalf("replica status %+v", st)
		}
		rev1 = revOf(t, get(a, "/index/"+did1, "", header(tok)).MustStatus(t, http.StatusOK))
		get(a, "/index/"+did1, "", cookie(tok)).MustStatus(t, http.StatusOK)
		get(a, "/ga4gh/drs/v1/objects/"+did1, "", header(tok)).MustStatus(t, http.StatusOK)
		// The other instance honours the token too (it is the primary's position).
		get(b, "/index/"+did1, "", header(tok)).MustStatus(t, http.StatusOK)
		var list struct{ Records []struct{ DID string } }
		get(a, "/index?ids="+did1, "", header(tok)).MustStatus(t, http.StatusOK).JSON(t, &list)
		if len(list.Records) != 1 {
			t.Fatalf("list with the token: %+v", list)
		}
	})

	t.Run("writes, the reads inside them and admin users use the primary", func(t *testing.T) {
		// did1 exists on the primary only: the update's own read of the
		// record (rev check, authz) must not go to the replica.
		r := hdrDo(t, a, http.MethodPut, "/index/"+did1+"?rev="+rev1, w, map[string]any{"file_name": "second.cram"}, nil).MustStatus(t, http.StatusOK)
		tok := tokenOf(r)
		rev1 = revOf(t, get(a, "/index/"+did1, "", header(tok)).MustStatus(t, http.StatusOK))
		// An admin user added now exists on the primary only.
		admin := a.AddAdmin("replica-admin", "s3cret-password")
		get(a, "/index?limit=1", admin, nil).MustStatus(t, http.StatusOK)
		get(b, "/_stats", admin, nil).MustStatus(t, http.StatusOK)
		get(a, "/admin/users", admin, nil).MustStatus(t, http.StatusOK)
		resume(tok)
	})

	t.Run("a replica past the token serves the read", func(t *testing.T) {
		if st := replicaStatus(a); !st.Usable {
			t.Fatalf("replica status %+v", st)
		}
		old := rev1
		tokOld := tokenOf(hdrDo(t, a, http.MethodPut, "/index/"+did1+"?rev="+rev1, w, map[string]any{"file_name": "third.cram"}, nil).MustStatus(t, http.StatusOK))
		resume(tokOld)
		rev1 = revOf(t, get(a, "/index/"+did1, "", header(tokOld)).MustStatus(t, http.StatusOK))
		pause()
		tokNew := tokenOf(hdrDo(t, a, http.MethodPut, "/index/"+did1+"?rev="+rev1, w, map[string]any{"file_name": "fourth.cram"}, nil).MustStatus(t, http.StatusOK))
		waitFor(t, 10*time.Second, "the replica's replay position is known", func() bool {
			p, _ := replica.ParseToken(tokOld)
			return replicaStatus(a).Replay >= p
		})
		if got := revOf(t, get(a, "/index/"+did1, "", header(tokOld)).MustStatus(t, http.StatusOK)); got != rev1 {
			t.Errorf("with the older token: rev %s, want the replica's %s", got, rev1)
		}
		if got := revOf(t, get(a, "/index/"+did1, "", nil).MustStatus(t, http.StatusOK)); got != rev1 {
			t.Errorf("without a token: rev %s, want the replica's %s", got, rev1)
		}
		newRev := revOf(t, get(a, "/index/"+did1, "", header(tokNew)).MustStatus(t, http.StatusOK))
		if newRev == rev1 || newRev == old {
			t.Errorf("with the newest token: rev %s, want the primary's (not %s)", newRev, rev1)
		}
		rev1 = newRev
	})

	t.Run("a replica lagging past the bound is skipped", func(t *testing.T) {
		// Replay is paused and the primary has moved on: b (bound 1 s)
		// turns to the primary, a (bound 1 h) keeps the stale replica.
		waitFor(t, 30*time.Second, "b skips the lagging replica", func() bool {
			return revOf(t, get(b, "/index/"+did1, "", nil).MustStatus(t, http.StatusOK)) == rev1
		})
		if st := replicaStatus(b); !st.Healthy || st.Usable || st.Lag <= time.Second {
			t.Errorf("b's replica status %+v, want healthy, lagging more than 1s, not usable", st)
		}
		if got := revOf(t, get(a, "/index/"+did1, "", nil).MustStatus(t, http.StatusOK)); got == rev1 {
			t.Errorf("a answered the primary's rev without a token: the replica is not lagging, the test proves nothing")
		}
	})

	t.Run("discovery settings come from the primary", func(t *testing.T) {
		// Replay is still paused: the replica's settings row keeps saying
		// discoverable while the primary's says not.
		hdrDo(t, a, http.MethodPut, "/admin/discovery", w, map[string]any{"are_records_discoverable": false}, nil).MustStatus(t, http.StatusOK)
		if v := sqlOn(t, standby.URL(), "SELECT are_records_discoverable FROM discovery_settings"); v != "true" {
			t.Fatalf("the replica's settings row says %q: the test proves nothing", v)
		}
		for _, e := range []*Env{a, b} {
			waitFor(t, 10*time.Second, "the instance applies the change", func() bool {
				return get(e, "/index/"+did0, "", nil).Status != http.StatusOK
			})
			if r := get(e, "/index/"+did0, "", nil); r.Status != http.StatusForbidden && r.Status != http.StatusUnauthorized {
				t.Errorf("anonymous read of a record not discoverable: %d %s", r.Status, r.Body)
			}
			var list struct{ Records []json.RawMessage }
			get(e, "/index", "", nil).MustStatus(t, http.StatusOK).JSON(t, &list)
			if len(list.Records) != 0 {
				t.Errorf("anonymous list with discovery off served from a lagging replica: %d records", len(list.Records))
			}
		}
		// A filtered caller reads a record in a brand new authz set, with
		// and without the token. The read without it resolves the caller's
		// sets on the replica (which lacks the new set) first, so a cached
		// answer would hide the record from the read with the token.
		path := "/programs/repl-" + strings.ToLower(repository.NewUUID()[:8])
		tok := Tok("replica-reader")
		pol.SetUser(tok, "replica-reader", map[string][]string{path: {"read"}})
		did2 := "dg.REPL/" + repository.NewUUID()
		tok2 := tokenOf(hdrDo(t, a, http.MethodPost, "/index", w, Rec(did2, path), nil).MustStatus(t, http.StatusOK))
		get(a, "/index/"+did2, Bearer(tok), nil).MustStatus(t, http.StatusNotFound)
		get(a, "/index/"+did2, Bearer(tok), header(tok2)).MustStatus(t, http.StatusOK)
		var list struct{ Records []struct{ DID string } }
		get(a, "/index", Bearer(tok), header(tok2)).MustStatus(t, http.StatusOK).JSON(t, &list)
		if len(list.Records) != 1 || list.Records[0].DID != did2 {
			t.Errorf("filtered list with the token: %+v, want just %s", list.Records, did2)
		}
		r := hdrDo(t, a, http.MethodPut, "/admin/discovery", w, map[string]any{"are_records_discoverable": true}, nil).MustStatus(t, http.StatusOK)
		_ = r
		resume(tok2)
	})

	t.Run("the standby killed and restarted", func(t *testing.T) {
		// No read fails: the ones in flight when it dies, and the next
		// ones until a probe notices, find the dead replica and run again
		// on the primary; then the probes keep reads off it.
		stop := make(chan struct{})
		done := make(chan map[int]int)
		go func() {
			seen := map[int]int{}
			defer func() { done <- seen }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, p := range []string{"/index/" + did1, "/index?limit=20", "/ga4gh/drs/v1/objects?limit=20"} {
					r, err := azDo(a, http.MethodGet, p, "", nil)
					if err != nil {
						seen[-1]++
						continue
					}
					seen[r.Status]++
				}
			}
		}()
		time.Sleep(200 * time.Millisecond)
		if err := standby.Crash(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		close(stop)
		if seen := <-done; len(seen) != 1 || seen[http.StatusOK] == 0 {
			t.Errorf("reads while the standby died: %v (status → count), want only 200s", seen)
		}
		for i := 0; i < 20; i++ {
			if got := revOf(t, get(a, "/index/"+did1, "", nil).MustStatus(t, http.StatusOK)); got != rev1 {
				t.Fatalf("read %d with the standby down: rev %s, want %s", i, got, rev1)
			}
			get(a, "/index?limit=5", "", nil).MustStatus(t, http.StatusOK)
			get(a, "/ga4gh/drs/v1/objects?limit=5", "", nil).MustStatus(t, http.StatusOK)
		}
		waitFor(t, 10*time.Second, "the dead replica is out of rotation", func() bool { return !replicaStatus(a).Healthy })
		// Written while it is down: the restarted standby catches up.
		tok := tokenOf(hdrDo(t, a, http.MethodPut, "/index/"+did1+"?rev="+rev1, w, map[string]any{"file_name": "fifth.cram"}, nil).MustStatus(t, http.StatusOK))
		if err := standby.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 60*time.Second, "the standby catches up", func() bool { return replayed(tok) })
		waitFor(t, 30*time.Second, "the replica is used again", func() bool { return replicaStatus(a).Usable })
		rev := revOf(t, get(a, "/index/"+did1, "", header(tok)).MustStatus(t, http.StatusOK))
		pause()
		tokNew := tokenOf(hdrDo(t, a, http.MethodPut, "/index/"+did1+"?rev="+rev, w, map[string]any{"file_name": "sixth.cram"}, nil).MustStatus(t, http.StatusOK))
		if got := revOf(t, get(a, "/index/"+did1, "", nil).MustStatus(t, http.StatusOK)); got != rev {
			t.Errorf("after the restart a read without a token answered rev %s, want the replica's %s", got, rev)
		}
		resume(tokNew)
	})
}

// TestConsistencyToken: without read replicas no token is handed out; a
// malformed token in the header is a 400, a malformed cookie is ignored.
func TestConsistencyToken(t *testing.T) {
	e := Start(t)
	w := e.Writer()
	did := "dg.TOK/" + repository.NewUUID()
	r := hdrDo(t, e, http.MethodPost, "/index", w, Rec(did, "/programs/open"), nil).MustStatus(t, http.StatusOK)
	if v := r.Header.Get("X-Indexd-Consistency"); v != "" {
		t.Errorf("a token without read replicas: %q", v)
	}
	for _, bad := range []string{"x", "0000000000000000", "00000000016B374D8", "0/16B374D8", "000000000016b374d8 "} {
		r := hdrDo(t, e, http.MethodGet, "/index/"+did, "", nil, map[string]string{"X-Indexd-Consistency": bad})
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "X-Indexd-Consistency") {
			t.Errorf("header %q: %d %s, want a 400 naming the header", bad, r.Status, r.Body)
		}
	}
	hdrDo(t, e, http.MethodGet, "/index/"+did, "", nil, map[string]string{"X-Indexd-Consistency": "00000000016b374d"}).MustStatus(t, http.StatusOK)
	hdrDo(t, e, http.MethodGet, "/index/"+did, "", nil, map[string]string{"Cookie": "indexd_consistency=garbage"}).MustStatus(t, http.StatusOK)
}
