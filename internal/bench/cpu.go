package bench

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// harnessApp is the application_name of the harness's own connections, so
// CPU accounting leaves them out.
const harnessApp = "indexd-bench-harness"

// clockTick is USER_HZ, 100 on every Linux this runs on.
const clockTick = 10 * time.Millisecond

// procCPU returns the user+system CPU time pid has used.
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+st) * clockTick, true
}

// pgMeter accounts the CPU time of the database server's backends serving
// the bench database (the service's pool, pgbench), other than the
// harness's own. It works when the server runs on this machine; backends
// are polled every 200 ms, so a backend that exits loses at most its last
// 200 ms.
type pgMeter struct {
	pool *pgxpool.Pool
	mu   sync.Mutex
	base map[int]time.Duration
	last map[int]time.Duration
	ok   bool
	stop chan struct{}
	done chan struct{}
}

func startPGMeter(ctx context.Context, pool *pgxpool.Pool) *pgMeter {
	m := &pgMeter{pool: pool, base: map[int]time.Duration{}, last: map[int]time.Duration{}, stop: make(chan struct{}), done: make(chan struct{})}
	for pid, t := range m.sample(ctx) {
		m.base[pid], m.last[pid] = t, t
	}
	go func() {
		defer close(m.done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-m.stop:
				m.update(ctx)
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				m.update(ctx)
			}
		}
	}()
	return m
}

func (m *pgMeter) sample(ctx context.Context) map[int]time.Duration {
	rows, err := m.pool.Query(ctx, `SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND backend_type = 'client backend'
		  AND coalesce(application_name, '') <> $1`, harnessApp)
	if err != nil {
		return nil
	}
	defer rows.Close()
	out := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) != nil {
			continue
		}
		if t, ok := procCPU(pid); ok {
			out[pid] = t
			m.ok = true
		}
	}
	return out
}

func (m *pgMeter) update(ctx context.Context) {
	s := m.sample(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	for pid, t := range s {
		m.last[pid] = t // new backends count from zero (base absent)
	}
}

// Stop ends the accounting and returns the CPU time used since the start
// (false when backends' CPU cannot be read: a remote server).
func (m *pgMeter) Stop() (time.Duration, bool) {
	close(m.stop)
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	var total time.Duration
	for pid, t := range m.last {
		total += t - m.base[pid]
	}
	return total, m.ok
}

// cpuMeter measures one run: the service process, the harness process
// (the load generator) and the database backends.
type cpuMeter struct {
	svcPid      int
	svc0, self0 time.Duration
	pg          *pgMeter
}

func startCPU(ctx context.Context, pool *pgxpool.Pool, svcPid int) *cpuMeter {
	c := &cpuMeter{svcPid: svcPid, pg: startPGMeter(ctx, pool)}
	if svcPid > 0 {
		c.svc0, _ = procCPU(svcPid)
	}
	c.self0, _ = procCPU(os.Getpid())
	return c
}

// cpuUse is CPU time per request (or transaction).
type cpuUse struct {
	Service, Client, DB time.Duration
	HaveDB              bool
}

func (c *cpuMeter) stop(n int) cpuUse {
	var u cpuUse
	db, ok := c.pg.Stop()
	if n <= 0 {
		return u
	}
	if c.svcPid > 0 {
		if t, ok := procCPU(c.svcPid); ok {
			u.Service = (t - c.svc0) / time.Duration(n)
		}
	}
	if t, ok := procCPU(os.Getpid()); ok {
		u.Client = (t - c.self0) / time.Duration(n)
	}
	u.DB, u.HaveDB = db/time.Duration(n), ok
	return u
}
