package devdb

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
)

// Private is a private PostgreSQL cluster in a directory of its own, for
// tests that must stop and restart a server (fault tests) without touching a
// shared one.
type Private struct {
	c    *cluster
	url  string
	once sync.Once
}

// StartPrivate initialises (if needed) and starts a cluster under dir on
// port, and creates the development database in it. It fails when the
// PostgreSQL server binaries are not installed.
func StartPrivate(ctx context.Context, dir string, port int, log *slog.Logger) (*Private, error) {
	if log == nil {
		log = slog.Default()
	}
	binDir, err := findBinDir()
	if err != nil {
		return nil, fmt.Errorf("devdb: private cluster needs the PostgreSQL server binaries: %w", err)
	}
	c := &cluster{binDir: binDir, baseDir: dir, port: port, log: log}
	url, _, err := c.start(ctx)
	if err != nil {
		return nil, err
	}
	return &Private{c: c, url: url}, nil
}

// URL is the database URL inside the cluster.
func (p *Private) URL() string { return p.url }

// Stop shuts the server down (fast mode: open connections are cut, a
// checkpoint is written).
func (p *Private) Stop() { p.c.stop() }

// Crash stops the server the way a crash does (immediate mode: every server
// process quits at once, no checkpoint; the next start replays the WAL).
func (p *Private) Crash() error { return p.c.stopMode("immediate") }

// Start starts a stopped server again.
func (p *Private) Start(ctx context.Context) error { return p.c.pgCtlStart(ctx) }

// Close stops the server once; safe to call more than once.
func (p *Private) Close() { p.once.Do(p.c.stop) }
