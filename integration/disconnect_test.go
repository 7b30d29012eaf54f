package integration

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestClientDisconnects (issue 13): 1,000 list requests whose clients go
// away mid-flight are logged as 499 at info (never a 5xx or an ERROR), and
// cost (almost) no pooled database connection: queries are bounded by the
// query timeout, not by the client's context (pgx closes the connection of
// a query whose context ends).
func TestClientDisconnects(t *testing.T) {
	var logs syncBuffer
	e := StartLogged(t, &logs)
	w := e.Writer()
	for i := range 30 {
		e.Create(w, Rec(fmt.Sprintf("dc-%d-%s", i, uuid.NewString()), "/programs/dc"))
	}
	pool := e.App.Store.Pool()
	// Warm the pool to its working size first.
	for range 20 {
		e.Do(http.MethodGet, "/index?limit=100", w, nil).MustStatus(t, http.StatusOK)
	}
	before := pool.Stat()
	const n, par = 1000, 50
	var wg sync.WaitGroup
	sem := make(chan struct{}, par)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: par}}
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rand.IntN(3000))*time.Microsecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/index?limit=100&start=%d", e.URL, i%7), nil)
			req.Header.Set("Authorization", w)
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	// Let the abandoned requests finish on the server.
	time.Sleep(time.Second)
	after := pool.Stat()
	// New connections beyond the pool's growth replaced lost ones.
	lost := (after.NewConnsCount() - before.NewConnsCount()) - int64(after.TotalConns()-before.TotalConns())
	t.Logf("figures: %d list requests cancelled by their clients; pooled connections: %d new (lost and replaced), %d total now (%d before, max %d), %d closed 499",
		n, lost, after.TotalConns(), before.TotalConns(), after.MaxConns(), strings.Count(logs.String(), `"msg":"client closed request"`))
	if lost > 2 {
		t.Errorf("%d pooled connections were lost to cancelled clients, want near zero", lost)
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"status":5`) {
			t.Fatalf("a client disconnect logged as a server error: %s", line)
		}
	}
	// The service still answers.
	e.Do(http.MethodGet, "/index?limit=5", w, nil).MustStatus(t, http.StatusOK)
}
