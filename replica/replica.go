// Package replica routes reads to PostgreSQL streaming replicas.
//
// A Set watches a primary and its read replicas. Every Interval it reads the
// primary's WAL position (pg_current_wal_lsn) and each replica's replayed
// position (pg_last_wal_replay_lsn). A replica is *fresh as of* the newest
// moment at which the primary's position was one the replica has since
// replayed; its lag is the time since then. Pick chooses, for one request, a
// healthy replica whose lag is within MaxLag and, when the request carries a
// commit position (read-your-writes), one that has replayed past it; when
// none qualifies the request goes to the primary — never to older data.
//
// The lag is measured in the primary's own positions rather than with
// pg_last_xact_replay_timestamp(), which grows on an idle primary, and it
// keeps growing between probes, so a replica whose replay stops (paused,
// stuck, cut off) is skipped MaxLag after the first write it missed however
// the probes are timed. A replica that refuses probes, is no longer in
// recovery (promoted: its data may have forked), or failed a query, is
// skipped until a probe finds it well again; one whose probes time out is
// skipped once its lag passes MaxLag.
//
// Positions handed to clients are opaque tokens (Position.Token).
package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Position is a WAL location of the primary (a pg_lsn), 0 meaning none.
type Position uint64

// ParseLSN reads PostgreSQL's text form of a pg_lsn ("16/B374D848").
func ParseLSN(s string) (Position, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok || hi == "" || lo == "" || len(hi) > 8 || len(lo) > 8 {
		return 0, fmt.Errorf("replica: %q is not a WAL location", s)
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("replica: %q is not a WAL location", s)
	}
	return Position(h<<32 | l), nil
}

// LSN is PostgreSQL's text form of p.
func (p Position) LSN() string { return fmt.Sprintf("%X/%X", uint64(p)>>32, uint64(p)&0xffffffff) }

// tokenLen is the length of a token: 16 lowercase hex digits.
const tokenLen = 16

// Token is p as the opaque value clients carry between a write and the
// reads that must see it (X-Indexd-Consistency).
func (p Position) Token() string {
	const hexd = "0123456789abcdef"
	var b [tokenLen]byte
	for i := tokenLen - 1; i >= 0; i-- {
		b[i] = hexd[p&15]
		p >>= 4
	}
	return string(b[:])
}

// ErrBadToken is returned by ParseToken for anything but a token.
var ErrBadToken = errors.New("replica: not a consistency token")

// ParseToken reads a token made by Position.Token.
func ParseToken(s string) (Position, error) {
	if len(s) != tokenLen {
		return 0, ErrBadToken
	}
	var p Position
	for i := 0; i < len(s); i++ {
		c := s[i]
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		default:
			return 0, ErrBadToken
		}
		p = p<<4 | Position(v)
	}
	if p == 0 {
		return 0, ErrBadToken
	}
	return p, nil
}

// Options tune a Set.
type Options struct {
	// MaxLag is the staleness a read without a commit position accepts
	// (default 5 s).
	MaxLag time.Duration
	// Interval is how often positions are read (default MaxLag/4, at most
	// 250 ms, at least 10 ms).
	Interval time.Duration
	// ProbeTimeout bounds each probe query (default 1 s).
	ProbeTimeout time.Duration
	// Log receives state changes of the replicas (default slog.Default()).
	Log *slog.Logger
}

// Member is one read replica.
type Member struct {
	name string
	pool *pgxpool.Pool

	healthy atomic.Bool
	replay  atomic.Uint64 // Position replayed, as of the last probe
	fresh   atomic.Int64  // unix nanoseconds the replica is fresh as of; 0: unknown
	lagging atomic.Bool   // logged state, for transitions only
}

// Name is the replica's name in logs ("replica 1"; never its URL, which may
// hold a password).
func (m *Member) Name() string { return m.name }

// Pool is the replica's connection pool.
func (m *Member) Pool() *pgxpool.Pool { return m.pool }

type sample struct {
	at  int64 // unix nanoseconds
	pos Position
}

// Set is a primary and its read replicas. Safe for concurrent use.
type Set struct {
	primary *pgxpool.Pool
	members []*Member
	opts    Options
	log     *slog.Logger

	mu      sync.Mutex
	samples []sample // the primary's positions, oldest first, within the window

	next   atomic.Uint64 // round robin
	cancel context.CancelFunc
	done   chan struct{}
	now    func() time.Time // tests
}

// New builds a Set over primary and the replicas' pools (in the order of the
// configuration; they are named "replica 1", "replica 2", …). Call Start.
func New(primary *pgxpool.Pool, replicas []*pgxpool.Pool, opts Options) *Set {
	if opts.MaxLag <= 0 {
		opts.MaxLag = 5 * time.Second
	}
	if opts.Interval <= 0 {
		opts.Interval = min(opts.MaxLag/4, 250*time.Millisecond)
	}
	opts.Interval = max(opts.Interval, 10*time.Millisecond)
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	s := &Set{primary: primary, opts: opts, log: opts.Log, now: time.Now}
	for i, p := range replicas {
		s.members = append(s.members, &Member{name: fmt.Sprintf("replica %d", i+1), pool: p})
	}
	return s
}

// Start probes once (so that reads can use the replicas at once) and then
// every Interval until Close.
func (s *Set) Start(ctx context.Context) {
	s.probe(ctx)
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel, s.done = cancel, make(chan struct{})
	go func() {
		defer close(s.done)
		t := time.NewTicker(s.opts.Interval)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
				s.probe(wctx)
			}
		}
	}()
}

// Close stops the probes (it does not close the pools).
func (s *Set) Close() {
	if s.cancel != nil {
		s.cancel()
		<-s.done
	}
}

// Members are the replicas, in configuration order.
func (s *Set) Members() []*Member { return s.members }

// MaxLag is the configured bound.
func (s *Set) MaxLag() time.Duration { return s.opts.MaxLag }

// Pick returns the replica a read should use, or nil for the primary: one
// that is healthy, whose lag is within MaxLag and, when after is not 0, that
// has replayed at least up to after. Replicas that qualify take turns.
func (s *Set) Pick(after Position) *Member {
	n := len(s.members)
	if n == 0 {
		return nil
	}
	now := s.now().UnixNano()
	start := int(s.next.Add(1) % uint64(n))
	for i := 0; i < n; i++ {
		m := s.members[(start+i)%n]
		if s.usable(m, now, after) {
			return m
		}
	}
	return nil
}

func (s *Set) usable(m *Member, now int64, after Position) bool {
	if !m.healthy.Load() {
		return false
	}
	fresh := m.fresh.Load()
	if fresh == 0 || time.Duration(now-fresh) > s.opts.MaxLag {
		return false
	}
	return after == 0 || Position(m.replay.Load()) >= after
}

// MarkDown takes m out of rotation until the next probe finds it well (a
// query on it failed at the connection level).
func (s *Set) MarkDown(m *Member, err error) {
	if m.healthy.Swap(false) {
		s.log.Warn("read replica failed a query; reads go elsewhere until it answers again", "replica", m.name, "err", err)
	}
	m.fresh.Store(0)
}

// Status is what a Set knows of one replica.
type Status struct {
	Name    string
	Healthy bool
	Replay  Position
	// Lag is the time since the replica was last known to have replayed
	// everything the primary had; negative when unknown.
	Lag time.Duration
	// Usable: a read without a commit position would use it now.
	Usable bool
}

// Status reports every replica.
func (s *Set) Status() []Status {
	now := s.now().UnixNano()
	out := make([]Status, 0, len(s.members))
	for _, m := range s.members {
		st := Status{Name: m.name, Healthy: m.healthy.Load(), Replay: Position(m.replay.Load()), Lag: -1}
		if f := m.fresh.Load(); f != 0 {
			st.Lag = time.Duration(now - f)
		}
		st.Usable = s.usable(m, now, 0)
		out = append(out, st)
	}
	return out
}

// CurrentPosition is the primary's WAL position now: after a committed
// write, a position every replica that replays past it holds that write at.
func CurrentPosition(ctx context.Context, primary *pgxpool.Pool) (Position, error) {
	var lsn string
	if err := primary.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&lsn); err != nil {
		return 0, err
	}
	return ParseLSN(lsn)
}

// probe reads the primary's position, then each replica's.
func (s *Set) probe(ctx context.Context) {
	at := s.now()
	pctx, cancel := context.WithTimeout(ctx, s.opts.ProbeTimeout)
	pos, err := CurrentPosition(pctx, s.primary)
	cancel()
	if err == nil {
		s.addSample(sample{at: at.UnixNano(), pos: pos})
	} else if ctx.Err() == nil {
		s.log.Debug("replica probe: primary position", "err", err)
	}
	var wg sync.WaitGroup
	for _, m := range s.members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.probeMember(ctx, m)
		}()
	}
	wg.Wait()
}

func (s *Set) probeMember(ctx context.Context, m *Member) {
	pctx, cancel := context.WithTimeout(ctx, s.opts.ProbeTimeout)
	defer cancel()
	var inRecovery bool
	var lsn *string
	err := m.pool.QueryRow(pctx, "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text").Scan(&inRecovery, &lsn)
	if ctx.Err() != nil {
		return
	}
	var pos Position
	switch {
	case err != nil:
	case !inRecovery || lsn == nil:
		err = errors.New("not a streaming replica (not in recovery): its data may have forked from the primary's")
	default:
		pos, err = ParseLSN(*lsn)
	}
	if err != nil && (errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err)) {
		// A slow answer says nothing of the replica's health, and nothing
		// new of its position: its lag keeps growing, so a replica that
		// stays silent is skipped once it passes MaxLag; a query that fails
		// on it takes it out at once (MarkDown).
		s.log.Debug("replica probe timed out", "replica", m.name)
		return
	}
	if err != nil {
		if m.healthy.Swap(false) || m.fresh.Load() != 0 {
			s.log.Warn("read replica unavailable; reads go elsewhere", "replica", m.name, "err", err)
		}
		m.fresh.Store(0)
		m.replay.Store(0)
		return
	}
	// Data a replica shows only ever moves forward while it stays up; after
	// a failure it is measured afresh (a restarted standby may replay from
	// an earlier restart point).
	if pos > Position(m.replay.Load()) || !m.healthy.Load() {
		m.replay.Store(uint64(pos))
	}
	if f := s.freshAsOf(pos); f > m.fresh.Load() {
		m.fresh.Store(f)
	}
	if !m.healthy.Swap(true) {
		s.log.Info("read replica available", "replica", m.name, "replayed", pos.LSN())
	}
	lag := time.Duration(s.now().UnixNano() - m.fresh.Load())
	if over := m.fresh.Load() == 0 || lag > s.opts.MaxLag; over != m.lagging.Load() {
		m.lagging.Store(over)
		if over {
			s.log.Warn("read replica lags more than the bound; reads go elsewhere", "replica", m.name, "max_lag", s.opts.MaxLag)
		} else {
			s.log.Info("read replica within the lag bound again", "replica", m.name)
		}
	}
}

// window is how long primary samples are kept: a replica that has replayed
// past none of them is older than MaxLag anyway.
func (s *Set) window() time.Duration { return s.opts.MaxLag + 4*s.opts.Interval }

func (s *Set) addSample(x sample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.samples); n > 0 && s.samples[n-1].pos > x.pos {
		x.pos = s.samples[n-1].pos // positions never go back; a reset primary is a new primary
	}
	s.samples = append(s.samples, x)
	cut := x.at - int64(s.window())
	i := 0
	for i < len(s.samples)-1 && s.samples[i].at < cut {
		i++
	}
	if i > 0 {
		s.samples = append(s.samples[:0], s.samples[i:]...)
	}
}

// freshAsOf is the time of the newest primary sample at or below pos, 0 when
// pos is below every sample kept.
func (s *Set) freshAsOf(pos Position) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.samples) - 1; i >= 0; i-- {
		if s.samples[i].pos <= pos {
			return s.samples[i].at
		}
	}
	return 0
}
