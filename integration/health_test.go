package integration

// Health probes: /_health/live answers while the process is up;
// /_health/ready answers 503 with each check's outcome when the database
// or the policy service is down, never leaking the database password, and a
// flood of probes does not become a flood of policy-service calls.

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/datacommons/indexd/internal/testdb"
	"github.com/datacommons/indexd/policy/policytest"
)

type readyReport struct {
	Status string `json:"status"`
	Checks map[string]struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	} `json:"checks"`
}

// waitReuse outlasts the readiness report's reuse interval (1 s).
func waitReuse() { time.Sleep(1100 * time.Millisecond) }

func TestHealthLiveAndReady(t *testing.T) {
	t.Parallel()
	e := Start(t)
	live := e.Do("GET", "/_health/live", "", nil).MustStatus(t, 200)
	if m := live.Map(t); m["status"] != "ok" {
		t.Fatalf("live: %s", live.Body)
	}
	var rep readyReport
	e.Do("GET", "/_health/ready", "", nil).MustStatus(t, 200).JSON(t, &rep)
	if rep.Status != "ok" {
		t.Fatalf("ready: %+v", rep)
	}
	for _, name := range []string{"database", "migrations", "settings", "policy"} {
		if c, ok := rep.Checks[name]; !ok || !c.OK {
			t.Errorf("check %s: %+v (present %v)", name, c, ok)
		}
	}
	// Public: a forged credential is ignored, never evaluated.
	e.Do("GET", "/_health/ready", Bearer("forged.not.jwt"), nil).MustStatus(t, 200)
	e.Do("GET", "/_health/live", Bearer("forged.not.jwt"), nil).MustStatus(t, 200)
	if r := e.Do("GET", "/_status", "", nil).MustStatus(t, 200); string(r.Body) != "Healthy" {
		t.Errorf("/_status changed: %q", r.Body)
	}
}

func TestHealthReadyPolicyDown(t *testing.T) {
	t.Parallel()
	e := Start(t)
	e.Do("GET", "/_health/ready", "", nil).MustStatus(t, 200)
	for _, f := range []policytest.Fault{policytest.FaultDown, policytest.Fault500, policytest.FaultGarbage} {
		e.Policy.SetFault(f)
		waitReuse()
		var rep readyReport
		e.Do("GET", "/_health/ready", "", nil).MustStatus(t, 503).JSON(t, &rep)
		if rep.Status != "unavailable" || rep.Checks["policy"].OK || rep.Checks["policy"].Error == "" {
			t.Errorf("fault %v: %+v", f, rep)
		}
		if !rep.Checks["database"].OK || !rep.Checks["settings"].OK || !rep.Checks["migrations"].OK {
			t.Errorf("fault %v: database checks should pass: %+v", f, rep)
		}
		e.Do("GET", "/_health/live", "", nil).MustStatus(t, 200)
	}
	// Recovery.
	e.Policy.SetFault(policytest.FaultNone)
	waitReuse()
	e.Do("GET", "/_health/ready", "", nil).MustStatus(t, 200)
	// The double gone altogether.
	e.Policy.Close()
	waitReuse()
	var rep readyReport
	e.Do("GET", "/_health/ready", "", nil).MustStatus(t, 503).JSON(t, &rep)
	if rep.Checks["policy"].OK {
		t.Errorf("policy closed: %+v", rep)
	}
	e.Do("GET", "/_health/live", "", nil).MustStatus(t, 200)
}

// TestHealthReadyPolicySlowBounded: a policy service that never answers
// fails the check within the check timeout, not the probe's patience.
func TestHealthReadyPolicySlowBounded(t *testing.T) {
	t.Parallel()
	e := Start(t)
	e.Policy.SetDelay(time.Minute)
	e.Policy.SetFault(policytest.FaultSlow)
	start := time.Now()
	var rep readyReport
	e.Do("GET", "/_health/ready", "", nil).MustStatus(t, 503).JSON(t, &rep)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("readiness took %v with a hanging policy service", d)
	}
	if rep.Checks["policy"].OK {
		t.Errorf("slow policy: %+v", rep)
	}
	e.Policy.SetFault(policytest.FaultNone)
}

func TestHealthReadyDatabaseDown(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-health-pw"
	raw := testdb.NewDatabase(t)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	// The test server trusts local connections, so any password works:
	// it stands for a real one that must never reach an answer.
	u.User = url.UserPassword(u.User.Username(), secret)
	e := start(t, u.String(), policytest.New(t), testLogger())
	e.Do("GET", "/_health/ready", "", nil).MustStatus(t, 200)

	// Take the database away: refuse new connections, end the pool's.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, testdb.AdminURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+ident+" ALLOW_CONNECTIONS false"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, testdb.AdminURL(t)); err == nil {
			_, _ = c.Exec(ctx, "ALTER DATABASE "+ident+" ALLOW_CONNECTIONS true")
			_ = c.Close(ctx)
		}
	})
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name); err != nil {
		t.Fatal(err)
	}
	waitReuse()
	start := time.Now()
	r := e.Do("GET", "/_health/ready", "", nil).MustStatus(t, 503)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("readiness took %v with the database down", d)
	}
	var rep readyReport
	r.JSON(t, &rep)
	if rep.Status != "unavailable" || rep.Checks["database"].OK || rep.Checks["database"].Error == "" {
		t.Errorf("database down: %s", r.Body)
	}
	if rep.Checks["migrations"].OK || rep.Checks["settings"].OK {
		t.Errorf("database down but its checks pass: %s", r.Body)
	}
	if !rep.Checks["policy"].OK {
		t.Errorf("policy should pass: %s", r.Body)
	}
	if strings.Contains(string(r.Body), secret) {
		t.Errorf("readiness answer leaks the database password: %s", r.Body)
	}
	e.Do("GET", "/_health/live", "", nil).MustStatus(t, 200)

	// Back: ready again.
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+ident+" ALLOW_CONNECTIONS true"); err != nil {
		t.Fatal(err)
	}
	waitReuse()
	e.Do("GET", "/_health/ready", "", nil).MustStatus(t, 200)
}

// TestHealthReadyFlood: 200 concurrent probes cost the policy service at
// most a round of checks per second, not a call each.
func TestHealthReadyFlood(t *testing.T) {
	t.Parallel()
	e := Start(t)
	e.Do("GET", "/_health/ready", "", nil).MustStatus(t, 200)
	e.Policy.ResetCounters()
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	bad := 0
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := e.Do("GET", "/_health/ready", "", nil); r.Status != 200 {
				mu.Lock()
				bad++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	secs := int64(time.Since(start)/time.Second) + 1
	if bad != 0 {
		t.Errorf("%d probes failed", bad)
	}
	if n := e.Policy.MappingCalls(); n > secs+1 {
		t.Errorf("200 probes over %ds made %d policy calls, want at most %d", secs, n, secs+1)
	}
}
