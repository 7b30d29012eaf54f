package integration

// Many instances on one database (issue 16): three service instances share
// a PostgreSQL database and an Arborist double. Settings changes reach
// every instance through the database's notification (the periodic re-read
// is set to an hour, so nothing else can deliver them); admin users are
// read from the database on every use; each instance's policy cache never
// answers from a mapping older than its TTL; and a rolling restart under
// read and write load (each instance in turn drained and replaced) loses
// no acknowledged write and answers no 5xx.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/internal/app"
	"github.com/datacommons/indexd/policy/policytest"
	"github.com/datacommons/indexd/repository"
)

// instance is a service instance the test stops itself (graceful drain:
// the listener closes, requests in flight finish, then the pool closes).
type instance struct {
	*Env
	stop func()
}

func startInstance(t *testing.T, dbURL string, pol *policytest.Server, opts ...Option) *instance {
	t.Helper()
	cfg := app.Defaults()
	cfg.DatabaseURL = dbURL
	cfg.ArboristURL = pol.URL()
	cfg.PolicyTimeout = 2 * time.Second
	cfg.RequestTimeout = 10 * time.Second
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, err := app.New(ctx, cfg, testLogger())
	if err != nil {
		t.Fatalf("start service: %v", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.Close()
		t.Fatal(err)
	}
	sctx, cancelServe := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(sctx, l) }()
	var once sync.Once
	in := &instance{Env: &Env{T: t, URL: "http://" + l.Addr().String(), App: a, Policy: pol, DBURL: dbURL, Client: azClient()}}
	in.stop = func() {
		once.Do(func() {
			cancelServe()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
			a.Close()
		})
	}
	t.Cleanup(in.stop)
	return in
}

func withPolicyTTL(d time.Duration) Option { return func(c *app.Config) { c.PolicyCacheTTL = d } }

func TestManyInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("three instances under load; not in -short")
	}
	const ttl = time.Second
	first := Start(t, withPolicyTTL(ttl), withSettingsPoll(time.Hour))
	envs := []*Env{first, first.StartAnother(t, withPolicyTTL(ttl), withSettingsPoll(time.Hour)),
		first.StartAnother(t, withPolicyTTL(ttl), withSettingsPoll(time.Hour))}
	w := first.Writer()
	did := "dg.MANY/" + repository.NewUUID()
	first.Create(w, Rec(did, "/programs/many/projects/a"))
	// do sends a request for the (sub)test t; a transport error fails t.
	do := func(t *testing.T, e *Env, method, path, auth string, body any) *Response {
		t.Helper()
		return hdrDo(t, e, method, path, auth, body, nil)
	}

	t.Run("settings changes reach every instance", func(t *testing.T) {
		for _, e := range envs {
			do(t, e, http.MethodGet, "/index/"+did, "", nil).MustStatus(t, http.StatusOK)
		}
		start := time.Now()
		do(t, envs[1], http.MethodPut, "/admin/discovery", w, map[string]any{"are_records_discoverable": false}).MustStatus(t, http.StatusOK)
		var slowest time.Duration
		for i, e := range envs {
			waitFor(t, 10*time.Second, fmt.Sprintf("instance %d applies the change (only a notification can deliver it)", i), func() bool {
				return do(t, e, http.MethodGet, "/index/"+did, "", nil).Status != http.StatusOK
			})
			slowest = max(slowest, time.Since(start))
		}
		t.Logf("figures: a settings change was applied by all 3 instances %s after the PUT answered", slowest.Round(time.Millisecond))
		do(t, envs[2], http.MethodPut, "/admin/discovery", w, map[string]any{"are_records_discoverable": true}).MustStatus(t, http.StatusOK)
		for i, e := range envs {
			waitFor(t, 10*time.Second, fmt.Sprintf("instance %d applies the change back", i), func() bool {
				return do(t, e, http.MethodGet, "/index/"+did, "", nil).Status == http.StatusOK
			})
		}
	})

	t.Run("admin users are seen by every instance at once", func(t *testing.T) {
		admin := first.AddAdmin("many-admin", "many-admin-password")
		for i, e := range envs {
			if r := do(t, e, http.MethodGet, "/admin/users", admin, nil); r.Status != http.StatusOK {
				t.Errorf("instance %d: new admin answered %d", i, r.Status)
			}
		}
		// The password changed through one instance: the old one is
		// refused by all at once (each reads the stored hash on every
		// basic-auth request; a remembered verification is keyed by the
		// hash). A deleted user takes the same path, then pays a dummy
		// bcrypt at the production cost (seconds under -race), so it is
		// left to identity's tests.
		newer := envs[2].AddAdmin("many-admin", "many-admin-password-2")
		for i, e := range envs {
			if r := do(t, e, http.MethodGet, "/admin/users", admin, nil); r.Status != http.StatusUnauthorized {
				t.Errorf("instance %d: the old password answered %d", i, r.Status)
			}
			if r := do(t, e, http.MethodGet, "/admin/users", newer, nil); r.Status != http.StatusOK {
				t.Errorf("instance %d: the new password answered %d", i, r.Status)
			}
		}
		do(t, envs[1], http.MethodDelete, "/admin/users/many-admin", w, nil).MustStatus(t, http.StatusNoContent)
	})

	t.Run("the policy cache never serves past its TTL", func(t *testing.T) {
		first.SetDiscovery(discovery.Settings{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{}})
		defer func() {
			do(t, envs[0], http.MethodPut, "/admin/discovery", w, map[string]any{"are_records_discoverable": true}).MustStatus(t, http.StatusOK)
		}()
		for i, e := range envs {
			waitFor(t, 10*time.Second, fmt.Sprintf("instance %d filters", i), func() bool {
				return do(t, e, http.MethodGet, "/index/"+did, "", nil).Status != http.StatusOK
			})
		}
		tok := Tok("many-reader")
		first.Policy.SetUser(tok, "many-reader", map[string][]string{"/programs/many": {"read"}})
		// Each instance caches the grant (requests one at a time: no
		// mapping call is in flight when the grant goes).
		for i, e := range envs {
			if r := do(t, e, http.MethodGet, "/index/"+did, Bearer(tok), nil); r.Status != http.StatusOK {
				t.Fatalf("instance %d before the revocation: %d", i, r.Status)
			}
		}
		first.Policy.SetUser(tok, "many-reader", map[string][]string{})
		revoked := time.Now()
		served := 0
		pending := map[int]bool{0: true, 1: true, 2: true}
		for deadline := time.Now().Add(30 * time.Second); len(pending) > 0; {
			if time.Now().After(deadline) {
				t.Fatalf("instances %v still serve a revoked grant after 30 s", pending)
			}
			for i := range pending {
				sent := time.Now()
				r := do(t, envs[i], http.MethodGet, "/index/"+did, Bearer(tok), nil)
				switch {
				case r.Status == http.StatusOK && sent.Sub(revoked) > ttl:
					t.Fatalf("instance %d served a revoked grant %s after the revocation (TTL %s)", i, sent.Sub(revoked).Round(time.Millisecond), ttl)
				case r.Status == http.StatusOK:
					served++
				case r.Status == http.StatusForbidden:
					delete(pending, i)
				default:
					t.Fatalf("instance %d: %d %s", i, r.Status, r.Body)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("figures: %d reads within the TTL after the revocation still used the cached grant; none after it", served)
	})
}

// rollOp is one request of the rolling-restart load.
type rollOp struct {
	inst   int // instance generation (index into the rotation history)
	status int // 0: transport error; -1: connection refused (never reached it)
	// A write without an answer: the did it created (create) or updated
	// from rev (update). It must not have been applied.
	did, rev string
	create   bool
}

// TestRollingRestartUnderLoad: each of three instances in turn is taken
// out of the rotation and stopped at once (graceful drain: requests in
// flight finish, new connections are refused), and a replacement joins,
// while writers create and update records and readers list and read
// through whichever instances are in the rotation. Nothing but 200 is
// answered, except to a request that picked an instance just before it
// left the rotation and found its port closed (refused) or its idle
// keep-alive connection closed under it (a write the instance never read:
// checked afterwards not to have been applied) — what a load balancer
// retries. Every acknowledged write is there afterwards at its
// acknowledged rev.
func TestRollingRestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts instances under load; not in -short")
	}
	seed := Start(t)
	pol := seed.Policy
	w := seed.Writer()
	readDID := seed.Create(w, Rec("dg.ROLL/"+repository.NewUUID(), "/programs/roll"))

	// The rotation: what a load balancer sends requests to.
	var mu sync.Mutex
	var all []*instance // every instance ever started; index = generation
	live := []int{}
	inflight := map[int]int{}
	add := func() {
		in := startInstance(t, seed.DBURL, pol)
		mu.Lock()
		all = append(all, in)
		live = append(live, len(all)-1)
		mu.Unlock()
	}
	for i := 0; i < 3; i++ {
		add()
	}
	var rr atomic.Uint64
	// send picks an instance from the rotation and sends one request.
	send := func(method, path string, body any) (int, azResp, error) {
		mu.Lock()
		g := live[int(rr.Add(1)%uint64(len(live)))]
		in := all[g]
		inflight[g]++
		mu.Unlock()
		r, err := azDo(in.Env, method, path, w, body)
		mu.Lock()
		inflight[g]--
		mu.Unlock()
		return g, r, err
	}

	var (
		stop    atomic.Bool
		wg      sync.WaitGroup
		opsMu   sync.Mutex
		ops     []rollOp
		ackedMu sync.Mutex
		ackedW  = map[string]string{} // did → last acknowledged rev
	)
	record := func(g int, r azResp, err error, op rollOp) bool {
		op.inst, op.status = g, r.Status
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			op.status = -1
		case err != nil:
			op.status = 0
		}
		opsMu.Lock()
		ops = append(ops, op)
		opsMu.Unlock()
		return op.status == http.StatusOK
	}
	type mineRec struct{ did, rev string }
	for k := 0; k < 4; k++ { // writers: create, then update what they created
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []mineRec
			for n := 0; !stop.Load(); n++ {
				if n%2 == 0 || len(mine) == 0 {
					did := "dg.ROLL/" + repository.NewUUID()
					g, r, err := send(http.MethodPost, "/index", Rec(did, "/programs/roll"))
					if record(g, r, err, rollOp{did: did, create: true}) {
						var ref struct{ DID, Rev string }
						_ = json.Unmarshal(r.Body, &ref)
						mine = append(mine, mineRec{ref.DID, ref.Rev})
						ackedMu.Lock()
						ackedW[ref.DID] = ref.Rev
						ackedMu.Unlock()
					}
					continue
				}
				i := n % len(mine)
				x := &mine[i]
				g, r, err := send(http.MethodPut, "/index/"+x.did+"?rev="+x.rev, map[string]any{"file_name": fmt.Sprintf("f%d.cram", n)})
				if record(g, r, err, rollOp{did: x.did, rev: x.rev}) {
					var ref struct{ Rev string }
					_ = json.Unmarshal(r.Body, &ref)
					x.rev = ref.Rev
					ackedMu.Lock()
					ackedW[x.did] = ref.Rev
					ackedMu.Unlock()
				} else if err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
					// Unanswered: checked at the end (still at x.rev); no
					// more updates of it.
					mine[i] = mine[len(mine)-1]
					mine = mine[:len(mine)-1]
				}
			}
		}()
	}
	for k := 0; k < 3; k++ { // readers
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; !stop.Load(); n++ {
				path := []string{"/index?limit=50", "/ga4gh/drs/v1/objects?limit=20", "/_stats", "/index/" + readDID}[n%4]
				g, r, err := send(http.MethodGet, path, nil)
				record(g, r, err, rollOp{})
			}
		}()
	}

	time.Sleep(time.Second)
	var drained []int
	for i := 0; i < 3; i++ {
		mu.Lock()
		for j, g := range live {
			if g == i {
				live = append(live[:j], live[j+1:]...)
				break
			}
		}
		drained = append(drained, inflight[i])
		mu.Unlock()
		all[i].stop() // at once: what was in flight must finish
		add()
		time.Sleep(time.Second)
	}
	stop.Store(true)
	wg.Wait()

	byInst := map[int]map[int]int{}
	bad := 0
	last := all[len(all)-1].Env
	unanswered := 0
	for _, o := range ops {
		if byInst[o.inst] == nil {
			byInst[o.inst] = map[int]int{}
		}
		byInst[o.inst][o.status]++
		switch {
		case o.status == http.StatusOK:
		case o.inst >= 3: // never stopped: everything must be answered
			bad++
		case o.status == -1: // refused: never reached the instance
		case o.status == 0 && o.did != "":
			// The instance closed the connection without answering: it
			// must not have applied the write (else the drain lost an
			// answer).
			unanswered++
			r := last.Do(http.MethodGet, "/index/"+o.did, w, nil)
			switch {
			case o.create && r.Status != http.StatusNotFound:
				bad++
				t.Errorf("create of %s was applied but never answered (%d)", o.did, r.Status)
			case !o.create && (r.Status != http.StatusOK || jsonField(r.Body, "rev") != o.rev):
				bad++
				t.Errorf("update of %s from rev %s was applied but never answered (%d %s)", o.did, o.rev, r.Status, azTrunc(r.Body))
			}
		default: // a read cut, or a 5xx
			bad++
		}
	}
	t.Logf("figures: rolling restart: %d requests; in flight when each instance was stopped: %v; unanswered writes (never applied): %d; by instance generation → status (-1: refused, 0: connection closed): %v", len(ops), drained, unanswered, byInst)
	if bad > 0 {
		t.Errorf("%d requests were neither answered 200 nor refused, nor unanswered writes that were never applied: %v", bad, byInst)
	}

	// Every acknowledged write is there, at its acknowledged rev.
	lost := 0
	for did, rev := range ackedW {
		r := last.Do(http.MethodGet, "/index/"+did, w, nil)
		var got struct{ Rev string }
		if r.Status == http.StatusOK {
			r.JSON(t, &got)
		}
		if r.Status != http.StatusOK || got.Rev != rev {
			lost++
			if lost <= 5 {
				t.Errorf("acknowledged write of %s (rev %s) lost: %d %s", did, rev, r.Status, r.Body)
			}
		}
	}
	if len(ackedW) < 20 {
		t.Errorf("only %d acknowledged writes: the load did not run", len(ackedW))
	}
	t.Logf("figures: %d acknowledged records checked, %d lost", len(ackedW), lost)
}
