package bench

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// newClient is the load generator's HTTP client: keep-alive connections on
// loopback, enough idle connections that every worker keeps its own.
func newClient(concurrency int) *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        4 * concurrency,
			MaxIdleConnsPerHost: 2 * concurrency,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// worker is one load-generating goroutine's state.
type worker struct {
	id  int
	rng *rand.Rand
}

// load is what a scenario's driver measured.
type loadResult struct {
	// Total counts every completed request, warm-up included (for CPU
	// accounting); Requests only the measured ones.
	Total    int
	Requests int
	Errors   int
	Elapsed  time.Duration
	RPS      float64
	P50      time.Duration
	P95      time.Duration
	P99      time.Duration
	// FirstError describes one failed request.
	FirstError string
}

// drive runs sc at fixed concurrency for d (after a warm-up of warm, not
// measured) and returns the measured latencies' summary. A request counts
// as an error when it fails or answers a status other than sc.Want.
func drive(ctx context.Context, client *http.Client, sc *scenario, concurrency int, warm, d time.Duration) loadResult {
	var (
		mu       sync.Mutex
		all      []time.Duration
		errs     int
		total    int
		firstErr string
	)
	start := time.Now()
	measureFrom := start.Add(warm)
	end := measureFrom.Add(d)
	var wg sync.WaitGroup
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			wk := &worker{id: w, rng: rand.New(rand.NewPCG(uint64(w)+1, uint64(time.Now().UnixNano())))}
			lat := make([]time.Duration, 0, 4096)
			nerr, done := 0, 0
			var ferr string
			for ctx.Err() == nil {
				now := time.Now()
				if now.After(end) {
					break
				}
				req, err := sc.Make(ctx, wk)
				if err != nil {
					nerr++
					if ferr == "" {
						ferr = err.Error()
					}
					continue
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				var body []byte
				if err == nil {
					if sc.After != nil {
						body, err = io.ReadAll(resp.Body)
					} else {
						_, err = io.Copy(io.Discard, resp.Body)
					}
					resp.Body.Close()
				}
				el := time.Since(t0)
				measured := t0.After(measureFrom)
				if err == nil && resp.StatusCode != sc.Want {
					err = fmt.Errorf("%s %s: status %d, want %d", req.Method, req.URL.Path, resp.StatusCode, sc.Want)
				}
				if err == nil && sc.After != nil {
					err = sc.After(ctx, wk, body)
				}
				done++
				if !measured {
					continue
				}
				lat = append(lat, el)
				if err != nil {
					nerr++
					if ferr == "" {
						ferr = err.Error()
					}
				}
			}
			mu.Lock()
			all = append(all, lat...)
			errs += nerr
			total += done
			if firstErr == "" {
				firstErr = ferr
			}
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	r := loadResult{Total: total, Requests: len(all), Errors: errs, Elapsed: time.Since(measureFrom), FirstError: firstErr}
	if r.Elapsed > 0 {
		r.RPS = float64(r.Requests) / r.Elapsed.Seconds()
	}
	r.P50, r.P95, r.P99 = percentiles(all)
	return r
}

func percentiles(xs []time.Duration) (p50, p95, p99 time.Duration) {
	if len(xs) == 0 {
		return 0, 0, 0
	}
	slices.Sort(xs)
	at := func(q float64) time.Duration {
		i := int(q*float64(len(xs))+0.5) - 1
		return xs[min(max(i, 0), len(xs)-1)]
	}
	return at(0.50), at(0.95), at(0.99)
}
