package integration

// A flapping policy service (SPEC §2 "fails closed", §6): while the Arborist
// double switches between healthy and each fault (down, slow beyond the
// timeout, 500, garbage, wrong shape) every few dozen milliseconds, readers
// and a writer keep sending requests. Every answer is either exactly the
// healthy answer (lists hold exactly the visible records, single reads 200
// or the exact 403) or exactly the JSON 503 — never a leak, never a 500 —
// and a create answered 503 was not written. Mappings are cached for a
// millisecond only, so nearly every request asks the double.
//
//	INDEXD_SOAK=1   30 seconds of flapping instead of 2

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/policy/policytest"
)

func TestAuthzFaultsFlapping(t *testing.T) {
	t.Parallel()
	duration := 2 * time.Second
	if os.Getenv("INDEXD_SOAK") == "1" {
		duration = 30 * time.Second
	}
	const policyTimeout = 200 * time.Millisecond
	e := Start(t, WithFiltering(), withPolicy(policyTimeout, time.Millisecond), withSettingsPoll(time.Hour))
	e.Client = azClient()
	w := e.Writer()

	const pA, pB = "/programs/p1/projects/a", "/programs/p2"
	authzOf := map[string][]string{}
	var fixture []string
	for i := range 12 {
		did := fmt.Sprintf("fl-%02d", i)
		authz := [][]string{{pA}, {pB}, {}, {pA, pB}, {"/programs/p1"}, {"/programs/p10"}}[i%6]
		e.Create(w, Rec(did, authz...))
		authzOf[did] = authz
		fixture = append(fixture, did)
	}
	readerTok := Tok("fl-reader")
	e.Policy.SetUser(readerTok, "fl-reader", map[string][]string{"/programs/p1": {"read"}})
	writerTok := Tok("fl-writer")
	e.Policy.SetUser(writerTok, "fl-writer", map[string][]string{"/programs": {"read", "create"}})
	reader, writer := Bearer(readerTok), Bearer(writerTok)
	vis := discovery.Context{AuthorizedResources: []string{"/programs/p1"}}
	visible := func(did string) bool {
		if a, ok := authzOf[did]; ok {
			return discovery.Visible(vis, a)
		}
		return strings.HasPrefix(did, "fl-w-vis-")
	}

	var (
		stop                 atomic.Bool
		healthy, unavailable atomic.Int64
		wg                   sync.WaitGroup
		failMu               sync.Mutex
		failures             int
	)
	fail := func(format string, args ...any) {
		failMu.Lock()
		defer failMu.Unlock()
		if failures++; failures <= 20 {
			t.Errorf(format, args...)
		}
	}
	// judge accepts the exact 503 of the route family, or lets check judge
	// a healthy answer.
	judge := func(method, path, auth string, body any, drs bool, check func(azResp) error) (azResp, bool) {
		r, err := azDo(e, method, path, auth, body)
		if err != nil {
			fail("%s %s: %v", method, path, err)
			return r, false
		}
		if r.Status == http.StatusServiceUnavailable {
			if !azSameBody(r.Body, azErrBody(drs, http.StatusServiceUnavailable)) {
				fail("%s %s: 503 body %s", method, path, azTrunc(r.Body))
			}
			unavailable.Add(1)
			return r, false
		}
		if err := check(r); err != nil {
			fail("%s %s by %.12q while flapping: %v: %d %s", method, path, auth, err, r.Status, azTrunc(r.Body))
			return r, false
		}
		healthy.Add(1)
		return r, true
	}
	listIs := func(parse func([]byte) ([]string, error), want func(string) bool) func(azResp) error {
		return func(r azResp) error {
			if r.Status != http.StatusOK {
				return fmt.Errorf("status %d", r.Status)
			}
			got, err := parse(r.Body)
			if err != nil {
				return err
			}
			for _, d := range got {
				if !want(d) {
					return fmt.Errorf("LEAK: %s", d)
				}
			}
			for _, d := range fixture {
				if want(d) && !slices.Contains(got, d) {
					return fmt.Errorf("visible %s missing", d)
				}
			}
			return nil
		}
	}
	single := func(did string, drs bool) func(azResp) error {
		return func(r azResp) error {
			switch {
			case visible(did) && r.Status == http.StatusOK:
				var v struct{ DID, ID string }
				if json.Unmarshal(r.Body, &v) != nil || v.DID+v.ID != did {
					return fmt.Errorf("names another record")
				}
				return nil
			case !visible(did) && r.Status == http.StatusForbidden && azSameBody(r.Body, azErrBody(drs, http.StatusForbidden)):
				return nil
			}
			return fmt.Errorf("want %v", visible(did))
		}
	}
	noneOf := func(string) bool { return false }

	// The double flaps: healthy, then a fault, then healthy again.
	faults := []policytest.Fault{policytest.FaultDown, policytest.FaultSlow, policytest.Fault500, policytest.FaultGarbage, policytest.FaultWrongShape}
	e.Policy.SetDelay(3 * policyTimeout)
	flips := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		rng := rand.New(rand.NewSource(time.Now().UnixNano()))
		for !stop.Load() {
			if flips%2 == 0 {
				e.Policy.SetFault(faults[rng.Intn(len(faults))])
			} else {
				e.Policy.SetFault(policytest.FaultNone)
			}
			flips++
			time.Sleep(time.Duration(20+rng.Intn(80)) * time.Millisecond)
		}
		e.Policy.SetFault(policytest.FaultNone)
	}()

	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(g)))
			for !stop.Load() {
				did := fixture[rng.Intn(len(fixture))]
				switch rng.Intn(7) {
				case 0:
					judge("GET", "/index?limit=1024", reader, nil, false, listIs(azParseIndexList, visible))
				case 1:
					judge("POST", "/bulk/documents", reader, fixture, false, listIs(azParseRecordArray, visible))
				case 2:
					judge("GET", "/index/"+did, reader, nil, false, single(did, false))
				case 3:
					judge("GET", "/ga4gh/drs/v1/objects/"+did, reader, nil, true, single(did, true))
				case 4:
					judge("GET", "/ga4gh/drs/v1/objects?limit=1024", reader, nil, true, listIs(azDRSListIDs, visible))
				case 5:
					judge("GET", "/index?limit=1024&authz="+pB, reader, nil, false, listIs(azParseIndexList, func(d string) bool {
						return visible(d) && slices.Contains(authzOf[d], pB) // an explicit filter never widens
					}))
				default:
					judge("GET", "/index?limit=1024", "", nil, false, listIs(azParseIndexList, noneOf))
				}
			}
		}()
	}
	var writeMu sync.Mutex
	acked, refused := []string{}, []string{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			did, authz := fmt.Sprintf("fl-w-vis-%d", i), "/programs/p1/w"
			if i%2 == 1 {
				did, authz = fmt.Sprintf("fl-w-inv-%d", i), "/programs/p2/w"
			}
			_, ok := judge("POST", "/index", writer, Rec(did, authz), false, func(r azResp) error {
				if r.Status != http.StatusOK {
					return fmt.Errorf("status %d", r.Status)
				}
				return nil
			})
			writeMu.Lock()
			if ok {
				acked = append(acked, did)
			} else {
				refused = append(refused, did)
			}
			writeMu.Unlock()
		}
	}()
	time.Sleep(duration)
	stop.Store(true)
	wg.Wait()

	e.Policy.SetFault(policytest.FaultNone)
	for _, did := range acked {
		if r := azMust(t, e, "GET", "/index/"+did, w, nil); r.Status != http.StatusOK {
			t.Errorf("acknowledged create %s: %d", did, r.Status)
		}
	}
	for _, did := range refused {
		if r := azMust(t, e, "GET", "/index/"+did, w, nil); r.Status != http.StatusNotFound {
			t.Errorf("create %s answered 503 but is there: %d", did, r.Status)
		}
	}
	t.Logf("figures: policy service flapped %d times in %s: %d healthy answers checked, %d exact 503s; creates %d acknowledged (all present), %d refused (all absent)",
		flips, duration, healthy.Load(), unavailable.Load(), len(acked), len(refused))
	if healthy.Load() == 0 || unavailable.Load() == 0 {
		t.Errorf("the flapping was not exercised: %d healthy, %d unavailable", healthy.Load(), unavailable.Load())
	}
}
