package identity

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

type mapAdmins map[string]string

func (m mapAdmins) AdminPasswordHash(_ context.Context, u string) (string, bool, error) {
	h, ok := m[u]
	return h, ok, nil
}

func basicOf(user, pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}

func newBasic(t *testing.T, cfg Config) *Authenticator {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte("right-password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, mapAdmins{"root": string(h)})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Finding 4 of issue 12: any basic-auth header cost a bcrypt comparison,
// without bound. At most BcryptConcurrency comparisons run at once; the
// rest wait BcryptWait and are then ErrBusy with a retry time.
func TestBasicBcryptConcurrencyBounded(t *testing.T) {
	a := newBasic(t, Config{BcryptConcurrency: 2, BcryptWait: 50 * time.Millisecond, FailureBudget: 1000})
	release := make(chan struct{})
	var running, most, calls atomic.Int32
	a.compare = func(hash, pw []byte) error {
		calls.Add(1)
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		<-release
		running.Add(-1)
		return bcrypt.CompareHashAndPassword(hash, pw)
	}
	const n = 12
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := a.Authenticate(context.Background(), basicOf("root", fmt.Sprintf("wrong-%d", i)))
			errs <- err
		}()
	}
	// The ten that found no slot give up after BcryptWait; then the two
	// running comparisons finish.
	deadline := time.Now().Add(10 * time.Second)
	for len(errs) < n-2 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d checks answered while two held the slots", len(errs), n-2)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	busy, wrong := 0, 0
	for err := range errs {
		switch {
		case errors.Is(err, ErrBusy):
			busy++
			if d, ok := RetryAfter(err); !ok || d < time.Second {
				t.Errorf("busy without a retry time: %v %v", d, ok)
			}
		case errors.Is(err, ErrUnauthenticated):
			wrong++
		default:
			t.Errorf("unexpected %v", err)
		}
	}
	if most.Load() > 2 || calls.Load() != 2 || busy != n-2 || wrong != 2 {
		t.Fatalf("at most %d at once, %d comparisons, %d busy, %d wrong; want ≤ 2, 2, %d, 2", most.Load(), calls.Load(), busy, wrong, n-2)
	}
	// Identical concurrent credentials share one comparison.
	calls.Store(0)
	a.compare = func(hash, pw []byte) error {
		calls.Add(1)
		time.Sleep(20 * time.Millisecond)
		return bcrypt.CompareHashAndPassword(hash, pw)
	}
	var same sync.WaitGroup
	for range 6 {
		same.Add(1)
		go func() {
			defer same.Done()
			if c, err := a.Authenticate(context.Background(), basicOf("root", "right-password")); err != nil || !c.BasicAdmin {
				t.Errorf("right password: %+v %v", c, err)
			}
		}()
	}
	same.Wait()
	if c := calls.Load(); c > 2 {
		t.Errorf("six identical concurrent credentials cost %d comparisons", c)
	}
}

// Each client may fail FailureBudget times per window; then its attempts
// are ErrBusy without a comparison until the window ends. Other clients
// are not affected, and a success clears the count.
func TestBasicFailureBudget(t *testing.T) {
	a := newBasic(t, Config{FailureBudget: 3, FailureWindow: 300 * time.Millisecond})
	var calls atomic.Int32
	a.compare = func(hash, pw []byte) error { calls.Add(1); return bcrypt.CompareHashAndPassword(hash, pw) }
	mallory := WithClient(context.Background(), "192.0.2.1")
	alice := WithClient(context.Background(), "192.0.2.2")
	for i := range 3 {
		if _, err := a.Authenticate(mallory, basicOf("root", fmt.Sprint("guess-", i))); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	for _, pw := range []string{"guess-3", "right-password"} {
		_, err := a.Authenticate(mallory, basicOf("root", pw))
		if d, ok := RetryAfter(err); !errors.Is(err, ErrBusy) || !ok || d <= 0 {
			t.Fatalf("past the budget (%s): %v", pw, err)
		}
	}
	if calls.Load() != 3 {
		t.Fatalf("%d comparisons, want 3 (none past the budget)", calls.Load())
	}
	if c, err := a.Authenticate(alice, basicOf("root", "right-password")); err != nil || !c.BasicAdmin {
		t.Fatalf("another client: %+v %v", c, err)
	}
	time.Sleep(350 * time.Millisecond) // past the window
	if _, err := a.Authenticate(mallory, basicOf("root", "guess-4")); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("after the window: %v", err)
	}
	if _, err := a.Authenticate(mallory, basicOf("root", "right-password")); err != nil {
		t.Fatalf("right password after the window: %v", err)
	}
	for i := range 3 { // the success cleared the count
		if _, err := a.Authenticate(mallory, basicOf("root", fmt.Sprint("again-", i))); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("after a success, guess %d: %v", i, err)
		}
	}
}

// Basic authentication off (no admin store): every basic header is 401.
func TestBasicDisabled(t *testing.T) {
	a, err := New(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(context.Background(), basicOf("root", "right-password")); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("basic with auth off: %v", err)
	}
}

// The dummy hash an unknown user is checked against has the configured
// cost of stored passwords (so a miss costs what a wrong password does);
// BcryptCost unless a test lowers it.
func TestBasicDummyHashCost(t *testing.T) {
	for _, cost := range []int{0, bcrypt.MinCost} {
		a := newBasic(t, Config{PasswordCost: cost})
		var got int
		a.compare = func(hash, pw []byte) error {
			got, _ = bcrypt.Cost(hash)
			return bcrypt.CompareHashAndPassword(hash, pw)
		}
		if _, err := a.Authenticate(context.Background(), basicOf("nobody", "some-password")); !errors.Is(err, ErrUnauthenticated) {
			t.Fatalf("unknown user: %v", err)
		}
		want := cost
		if cost == 0 {
			want = BcryptCost
		}
		if got != want {
			t.Errorf("PasswordCost %d: dummy hash of cost %d, want %d", cost, got, want)
		}
	}
}
