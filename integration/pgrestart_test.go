package integration

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datacommons/indexd/internal/app"
	"github.com/datacommons/indexd/internal/devdb"
	"github.com/datacommons/indexd/policy/policytest"
)

// TestPostgresRestartUnderWriteLoad stops and restarts a private PostgreSQL
// while writers post records: during the outage writes answer 503 (never 500,
// never a hang), the service recovers without a restart, and every write it
// acknowledged is present afterwards and whole.
func TestPostgresRestartUnderWriteLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a database server; not in -short")
	}
	ctx := context.Background()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("indexd-pgrestart-%d", os.Getpid()))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	pg, err := devdb.StartPrivate(ctx, dir, 54339, testLogger())
	if err != nil {
		t.Fatalf("private PostgreSQL (install the postgresql package): %v", err)
	}
	t.Cleanup(pg.Close)
	e := start(t, pg.URL(), policytest.New(t), func(c *app.Config) {
		c.MigrateOnStart = true
		c.QueryTimeout = 3 * time.Second
	})
	w := e.Writer()

	var (
		mu      sync.Mutex
		acked   = map[string]map[string]any{}
		n       atomic.Int64
		status  = map[int]int{}
		stopAll atomic.Bool
		wg      sync.WaitGroup
	)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; !stopAll.Load(); i++ {
				did := fmt.Sprintf("restart/%d-%d", g, i)
				rec := Rec(did, "/programs/p1")
				rec["urls"] = []string{"s3://b/" + did, "gs://b/" + did}
				rec["metadata"] = map[string]string{"i": fmt.Sprint(i)}
				r := e.Do(http.MethodPost, "/index", w, rec)
				mu.Lock()
				status[r.Status]++
				if r.Status == http.StatusOK {
					acked[did] = rec
				}
				mu.Unlock()
				n.Add(1)
				if r.Status != http.StatusOK {
					time.Sleep(50 * time.Millisecond)
				}
			}
		}(g)
	}
	waitFor := func(what string, cond func() bool) {
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				stopAll.Store(true)
				wg.Wait()
				t.Fatalf("timed out waiting for %s; statuses %v", what, status)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	ackCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	waitFor("writes before the restart", func() bool { return ackCount() >= 50 })
	pg.Stop()
	before := n.Load()
	waitFor("writes to fail during the outage", func() bool { return n.Load() > before+20 })
	if err := pg.Start(ctx); err != nil {
		t.Fatalf("restart PostgreSQL: %v", err)
	}
	after := ackCount()
	waitFor("writes after the restart", func() bool { return ackCount() >= after+50 })
	stopAll.Store(true)
	wg.Wait()

	t.Logf("requests %d, statuses %v, acknowledged %d", n.Load(), status, len(acked))
	for code := range status {
		if code != http.StatusOK && code != http.StatusServiceUnavailable {
			t.Errorf("status %d answered %d times during the restart; want only 200 and 503", code, status[code])
		}
	}
	if status[http.StatusServiceUnavailable] == 0 {
		t.Errorf("no write failed while the database was down: the outage was not exercised")
	}
	for did, rec := range acked {
		r := e.Do(http.MethodGet, "/index/"+did, "", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("acknowledged %s: status %d after the restart", did, r.Status)
		}
		got := r.Map(t)
		if fmt.Sprint(got["urls"]) != fmt.Sprint(rec["urls"]) || fmt.Sprint(got["metadata"]) != fmt.Sprint(rec["metadata"]) {
			t.Fatalf("acknowledged %s came back different: %v", did, got)
		}
	}
	// Nothing half-applied: every record's url index rows match its urls.
	var broken int
	err = e.App.Store.Pool().QueryRow(ctx, `SELECT count(*) FROM record r
		WHERE cardinality(r.urls) <> (SELECT count(*) FROM record_url u WHERE u.did = r.did)`).Scan(&broken)
	if err != nil || broken != 0 {
		t.Fatalf("records whose url rows do not match: %d (%v)", broken, err)
	}
}
