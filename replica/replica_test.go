package replica

import (
	"testing"
	"time"
)

func TestLSNAndToken(t *testing.T) {
	for _, tc := range []struct {
		lsn string
		pos Position
		tok string
	}{
		{"0/3000000", 0x3000000, "0000000003000000"},
		{"16/B374D848", 0x16B374D848, "00000016b374d848"},
		{"FFFFFFFF/FFFFFFFF", 0xFFFFFFFFFFFFFFFF, "ffffffffffffffff"},
	} {
		p, err := ParseLSN(tc.lsn)
		if err != nil || p != tc.pos {
			t.Fatalf("ParseLSN(%q) = %x, %v", tc.lsn, p, err)
		}
		if p.LSN() != tc.lsn || p.Token() != tc.tok {
			t.Errorf("%x: LSN %q token %q", p, p.LSN(), p.Token())
		}
		if q, err := ParseToken(tc.tok); err != nil || q != p {
			t.Errorf("ParseToken(%q) = %x, %v", tc.tok, q, err)
		}
	}
	for _, bad := range []string{"", "/", "1/", "/1", "1/2/3", "x/1", "123456789/0", "1 /2"} {
		if _, err := ParseLSN(bad); err == nil {
			t.Errorf("ParseLSN(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "0000000000000000", "00000016B374D848", "00000016b374d84", "00000016b374d8480", "0/16B374D8", "00000016b374d84g"} {
		if _, err := ParseToken(bad); err == nil {
			t.Errorf("ParseToken(%q) accepted", bad)
		}
	}
}

// FuzzParseToken: the token comes from clients (header or cookie): it is
// parsed without panicking, and whatever parses is the token of exactly
// the position it parses to.
func FuzzParseToken(f *testing.F) {
	for _, s := range []string{"00000016b374d848", "", "ffffffffffffffff", "0000000000000000", "0/3000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseToken(s)
		if err != nil {
			return
		}
		if p == 0 || p.Token() != s {
			t.Fatalf("ParseToken(%q) = %x, whose token is %q", s, p, p.Token())
		}
	})
}

// A set with a fake clock and no probes: the lag rule and the choice.
func fakeSet(maxLag time.Duration, n int) (*Set, *time.Time) {
	now := time.Unix(1000, 0)
	s := New(nil, nil, Options{MaxLag: maxLag, Interval: 100 * time.Millisecond})
	s.now = func() time.Time { return now }
	for i := 0; i < n; i++ {
		s.members = append(s.members, &Member{name: "r"})
	}
	return s, &now
}

// observe records what a probe would: the primary at pos now, and each
// replica's replayed position.
func observe(s *Set, now time.Time, primary Position, replays ...Position) {
	s.addSample(sample{at: now.UnixNano(), pos: primary})
	for i, r := range replays {
		m := s.members[i]
		m.healthy.Store(true)
		m.replay.Store(uint64(r))
		if f := s.freshAsOf(r); f > m.fresh.Load() {
			m.fresh.Store(f)
		}
	}
}

func TestLagRule(t *testing.T) {
	s, now := fakeSet(time.Second, 2)
	observe(s, *now, 100, 100, 100)
	if s.Pick(0) == nil {
		t.Fatal("caught-up replicas not picked")
	}
	// The primary moves on; replica 0 stops replaying, replica 1 follows.
	for i := 1; i <= 30; i++ {
		*now = now.Add(100 * time.Millisecond)
		observe(s, *now, Position(100+i), 100, Position(100+i))
	}
	st := s.Status()
	if st[0].Usable || st[0].Lag < 2900*time.Millisecond || !st[1].Usable || st[1].Lag != 0 {
		t.Fatalf("status %+v", st)
	}
	for i := 0; i < 10; i++ {
		if m := s.Pick(0); m != s.members[1] {
			t.Fatalf("picked %v, want the replica within the bound", m)
		}
	}
	// A commit position past every replica: the primary.
	if m := s.Pick(131); m != nil {
		t.Fatalf("picked a replica for a position no replica has replayed")
	}
	if m := s.Pick(130); m != s.members[1] {
		t.Fatalf("a replica at the position is not picked")
	}
	// An idle primary: a caught-up replica stays fresh however long it lasts.
	for i := 0; i < 50; i++ {
		*now = now.Add(100 * time.Millisecond)
		observe(s, *now, 130, 100, 130)
	}
	if st := s.Status(); st[1].Lag != 0 || !st[1].Usable || st[0].Usable {
		t.Fatalf("idle primary: %+v", st)
	}
	// Without probes the lag keeps growing: a replica is skipped MaxLag
	// after its last confirmation whether or not probes run.
	*now = now.Add(1500 * time.Millisecond)
	if m := s.Pick(0); m != nil {
		t.Fatalf("picked a replica not confirmed for 1.5 s")
	}
	// Marked down: out until a probe confirms it again.
	observe(s, *now, 130, 100, 130)
	s.MarkDown(s.members[1], nil)
	if m := s.Pick(0); m != nil {
		t.Fatal("picked a replica marked down")
	}
	observe(s, *now, 130, 100, 130)
	if m := s.Pick(0); m != s.members[1] {
		t.Fatal("a replica confirmed again is not picked")
	}
}

func TestSamplesBounded(t *testing.T) {
	s, now := fakeSet(time.Second, 0)
	for i := 0; i < 10000; i++ {
		*now = now.Add(100 * time.Millisecond)
		s.addSample(sample{at: now.UnixNano(), pos: Position(i)})
	}
	if n := len(s.samples); n > int(s.window()/(100*time.Millisecond))+2 {
		t.Fatalf("%d samples kept for a %s window", n, s.window())
	}
	if f := s.freshAsOf(5); f != 0 {
		t.Fatalf("a position older than the window is fresh as of %d", f)
	}
}
