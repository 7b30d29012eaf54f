package pageindex

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestStep(t *testing.T) {
	for limit, want := range map[int]int{1: 1024, 10: 1030, 300: 1200, 1024: 1024, 1000: 1000 * 2, 0: 1024} {
		if got := Step(limit); got != want {
			t.Errorf("Step(%d) = %d, want %d", limit, got, want)
		}
	}
}

// TestLocate checks every page of lists of many sizes against the rows a
// walk would give.
func TestLocate(t *testing.T) {
	for _, total := range []int{0, 1, 1023, 1024, 1025, 5000} {
		rows := make([]string, total)
		for i := range rows {
			rows[i] = fmt.Sprintf("%06d", i)
		}
		for _, limit := range []int{1, 7, 300, 1024} {
			step := Step(limit)
			b := &Boundaries{Step: step}
			for r := step; r <= total; r += step {
				b.DIDs = append(b.DIDs, rows[r-1])
			}
			for page := 0; page*limit <= total+2*step; page++ {
				pos := b.Locate(page, limit)
				first := 0 // index of the row after pos.After
				if pos.After != "" {
					first, _ = strconv.Atoi(pos.After)
					first++
				}
				start := page * limit
				if pos.Empty {
					if start < total {
						t.Fatalf("total %d limit %d page %d: empty, want row %d", total, limit, page, start)
					}
					continue
				}
				if got := first + pos.Offset; got != start && start < total {
					t.Fatalf("total %d limit %d page %d: starts at row %d, want %d", total, limit, page, got, start)
				}
				if pos.Offset >= step {
					t.Fatalf("offset %d not below the step %d", pos.Offset, step)
				}
			}
		}
	}
}

func TestGetSharesOneComputation(t *testing.T) {
	x := New(Options{})
	var calls atomic.Int32
	release := make(chan struct{})
	compute := func(context.Context) (Computed, error) {
		calls.Add(1)
		<-release
		return Computed{DIDs: []string{"a"}, Settled: true}, nil
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := x.Get(context.Background(), "k", 1024, compute)
			if err != nil || len(b.DIDs) != 1 {
				t.Errorf("Get: %v %v", b, err)
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d computations, want 1", n)
	}
	if _, err := x.Get(context.Background(), "k", 1024, compute); err != nil || calls.Load() != 1 {
		t.Fatalf("cached answer not reused: %v, %d calls", err, calls.Load())
	}
}

func TestUnsettledKeptBriefly(t *testing.T) {
	x := New(Options{ShortTTL: 20 * time.Millisecond})
	var calls atomic.Int32
	compute := func(context.Context) (Computed, error) {
		calls.Add(1)
		return Computed{DIDs: []string{"a"}}, nil
	}
	x.Get(context.Background(), "k", 1, compute)
	time.Sleep(60 * time.Millisecond)
	x.Get(context.Background(), "k", 1, compute)
	if calls.Load() != 2 {
		t.Fatalf("%d computations, want 2 (unsettled answer expired)", calls.Load())
	}
}

func TestKeyNamesVersionAndArgs(t *testing.T) {
	k := Key("s", []any{[]int64{1, 2}}, 1024, 7)
	for _, other := range []string{
		Key("s", []any{[]int64{1, 3}}, 1024, 7), Key("s", []any{[]int64{1, 2}}, 1024, 8),
		Key("s", []any{[]int64{1, 2}}, 1200, 7), Key("t", []any{[]int64{1, 2}}, 1024, 7),
	} {
		if other == k {
			t.Fatal("distinct lists share a key")
		}
	}
}
