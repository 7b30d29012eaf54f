package health

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func ok(context.Context) error { return nil }

func TestReadyAllPass(t *testing.T) {
	c := New(time.Second, -1, Check{"database", ok}, Check{"settings", ok})
	rep := c.Ready(context.Background())
	if !rep.Ready() || rep.Status != StatusOK || len(rep.Checks) != 2 || !rep.Checks["database"].OK {
		t.Fatalf("report: %+v", rep)
	}
}

func TestReadyFailureNamedAndRedacted(t *testing.T) {
	c := New(time.Second, -1,
		Check{"database", func(context.Context) error {
			return errors.New("connect postgres://indexd:hunter2@db:5432/indexd failed")
		}},
		Check{"policy", ok})
	rep := c.Ready(context.Background())
	if rep.Ready() || rep.Status != StatusUnavailable {
		t.Fatalf("status: %+v", rep)
	}
	db := rep.Checks["database"]
	if db.OK || db.Error == "" || strings.Contains(db.Error, "hunter2") {
		t.Fatalf("database result leaks or is empty: %+v", db)
	}
	if !rep.Checks["policy"].OK {
		t.Fatalf("policy: %+v", rep.Checks["policy"])
	}
}

func TestReadyTimeoutBounds(t *testing.T) {
	c := New(50*time.Millisecond, -1, Check{"policy", func(ctx context.Context) error {
		time.Sleep(5 * time.Second) // ignores its context
		return nil
	}})
	start := time.Now()
	rep := c.Ready(context.Background())
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("check not bounded: %v", d)
	}
	if rep.Ready() || !strings.Contains(rep.Checks["policy"].Error, "timeout") {
		t.Fatalf("report: %+v", rep)
	}
}

func TestReadyPanicFails(t *testing.T) {
	c := New(time.Second, -1, Check{"settings", func(context.Context) error { panic("boom") }})
	if rep := c.Ready(context.Background()); rep.Ready() || rep.Checks["settings"].OK {
		t.Fatalf("panic passed: %+v", rep)
	}
}

// TestReadyReusesReport: a flood of probes within the reuse interval runs
// the checks once.
func TestReadyReusesReport(t *testing.T) {
	var runs atomic.Int64
	c := New(time.Second, time.Hour, Check{"database", func(context.Context) error { runs.Add(1); return nil }})
	for range 100 {
		c.Ready(context.Background())
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("checks ran %d times, want 1", n)
	}
	now := time.Now().Add(2 * time.Hour)
	c.now = func() time.Time { return now }
	c.Ready(context.Background())
	if n := runs.Load(); n != 2 {
		t.Fatalf("after the interval, checks ran %d times, want 2", n)
	}
}

// TestReadyIgnoresProbeCancel: a probe that goes away does not cancel the
// checks (a cancelled query costs a pooled connection).
func TestReadyIgnoresProbeCancel(t *testing.T) {
	c := New(time.Second, -1, Check{"database", func(ctx context.Context) error { return ctx.Err() }})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if rep := c.Ready(ctx); !rep.Ready() {
		t.Fatalf("probe cancellation reached the check: %+v", rep)
	}
}
