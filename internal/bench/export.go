package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// exportResult times the Gen3 SDK's manifest export (issue 10) of the
// whole index, anonymous with discovery on: every page=N&limit=1024 fetched
// by 8 workers in shuffled order, against the same records walked with
// next_cursor (one request after another, as a cursor walk must).
type exportResult struct {
	Pages           int
	Records         int
	ByPage          time.Duration
	CursorRecords   int
	ByCursor        time.Duration
	Errors          int
	FirstPageErrors string
}

// export runs both walks (discovery must be on).
func (e *env) export(ctx context.Context, workers int) (exportResult, error) {
	var res exportResult
	pages := (e.cfg.N + 1023) / 1024
	res.Pages = pages
	fetch := func(path string) (records []json.RawMessage, next string, err error) {
		req, err := e.get(ctx, "", path)
		if err != nil {
			return nil, "", err
		}
		resp, err := e.client.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, "", err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, "", fmt.Errorf("%s: %d %.200s", path, resp.StatusCode, body)
		}
		var env struct {
			Records    []json.RawMessage `json:"records"`
			NextCursor string            `json:"next_cursor"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			return nil, "", err
		}
		return env.Records, env.NextCursor, nil
	}

	order := rand.Perm(pages)
	work := make(chan int)
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				recs, _, err := fetch(fmt.Sprintf("/index?page=%d&limit=1024", p))
				mu.Lock()
				if err != nil {
					res.Errors++
					if res.FirstPageErrors == "" {
						res.FirstPageErrors = err.Error()
					}
				}
				res.Records += len(recs)
				mu.Unlock()
			}
		}()
	}
	for _, p := range order {
		if ctx.Err() != nil {
			break
		}
		work <- p
	}
	close(work)
	wg.Wait()
	res.ByPage = time.Since(start)

	start = time.Now()
	path := "/index?limit=1024"
	for path != "" && ctx.Err() == nil {
		recs, next, err := fetch(path)
		if err != nil {
			return res, err
		}
		res.CursorRecords += len(recs)
		path = ""
		if next != "" {
			path = "/index?limit=1024&cursor=" + url.QueryEscape(next)
		}
	}
	res.ByCursor = time.Since(start)
	return res, ctx.Err()
}

// print writes the export section of the report.
func (r exportResult) print(out io.Writer, concurrency int) {
	fmt.Fprintf(out, "\n## Whole export (Gen3 SDK download_manifest pattern, anonymous, discovery on)\n\n")
	fmt.Fprintln(out, "| walk | requests | records | seconds | errors |")
	fmt.Fprintln(out, "|---|--:|--:|--:|--:|")
	fmt.Fprintf(out, "| page=N&limit=1024, %d workers, shuffled | %d | %d | %.2f | %d |\n", concurrency, r.Pages, r.Records, r.ByPage.Seconds(), r.Errors)
	fmt.Fprintf(out, "| next_cursor, limit=1024, one after another | %d | %d | %.2f | 0 |\n", (r.CursorRecords+1023)/1024, r.CursorRecords, r.ByCursor.Seconds())
	ratio := 0.0
	if r.ByCursor > 0 {
		ratio = r.ByPage.Seconds() / r.ByCursor.Seconds()
	}
	fmt.Fprintf(out, "\npage= export ÷ cursor export: %.2f (target ≤ 3).\n", ratio)
	if r.FirstPageErrors != "" {
		fmt.Fprintf(out, "First page= error: %s\n", r.FirstPageErrors)
	}
}
