// Package health answers the readiness question: can this instance serve
// requests now? It runs named checks (database reachable, migrations
// current, settings loaded, policy service reachable) concurrently, each
// bounded by a short timeout, and reports each outcome with its error text
// redacted. Results are reused for a short interval so a flood of probes
// costs the database and the policy service at most one round of checks
// per interval.
package health

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/datacommons/indexd/redact"
)

// DefaultTimeout bounds each check.
const DefaultTimeout = 2 * time.Second

// DefaultReuse is how long a report is reused before checks run again.
const DefaultReuse = time.Second

// Check is one named readiness check; Run returns nil when ready.
type Check struct {
	Name string
	Run  func(ctx context.Context) error
}

// Result is the outcome of one check.
type Result struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Report is the readiness answer: Status "ok" when every check passed,
// "unavailable" otherwise.
type Report struct {
	Status string            `json:"status"`
	Checks map[string]Result `json:"checks"`
}

// Ready reports whether every check passed.
func (r Report) Ready() bool { return r.Status == StatusOK }

// Statuses.
const (
	StatusOK          = "ok"
	StatusUnavailable = "unavailable"
)

// Checker runs the checks. Build it with New; safe for concurrent use.
type Checker struct {
	checks  []Check
	timeout time.Duration
	reuse   time.Duration
	now     func() time.Time

	mu   sync.Mutex // serializes rounds: concurrent probes share one
	last Report
	at   time.Time
}

// New returns a checker running checks, each bounded by timeout
// (DefaultTimeout when <= 0), reusing a report for reuse (DefaultReuse when
// 0; never when negative).
func New(timeout, reuse time.Duration, checks ...Check) *Checker {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if reuse == 0 {
		reuse = DefaultReuse
	}
	return &Checker{checks: checks, timeout: timeout, reuse: reuse, now: time.Now}
}

// Ready runs the checks (or reuses a report younger than the reuse
// interval) and reports the outcome.
func (c *Checker) Ready(ctx context.Context) Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reuse > 0 && !c.at.IsZero() && c.now().Sub(c.at) < c.reuse {
		return c.last
	}
	rep := c.run(ctx)
	c.last, c.at = rep, c.now()
	return rep
}

func (c *Checker) run(ctx context.Context) Report {
	// The probe's own cancellation does not cut the checks short: they are
	// bounded by the timeout, and a cancelled query would cost a pooled
	// connection.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
	defer cancel()
	results := make([]Result, len(c.checks))
	var wg sync.WaitGroup
	for i, ch := range c.checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runOne(ctx, ch)
		}()
	}
	wg.Wait()
	rep := Report{Status: StatusOK, Checks: make(map[string]Result, len(c.checks))}
	for i, ch := range c.checks {
		rep.Checks[ch.Name] = results[i]
		if !results[i].OK {
			rep.Status = StatusUnavailable
		}
	}
	return rep
}

// runOne runs one check; a panic or an overrun fails it.
func runOne(ctx context.Context, ch Check) Result {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("check panicked: %v", p)
			}
		}()
		done <- ch.Run(ctx)
	}()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = fmt.Errorf("no answer within the check timeout: %w", ctx.Err())
	}
	if err != nil {
		return Result{Error: redact.Text(err.Error())}
	}
	return Result{OK: true}
}
