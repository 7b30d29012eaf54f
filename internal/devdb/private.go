package devdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
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
		return nil, fmt.Errorf("devdb: private cluster needs the PostgreSQL server binaries (%v): %w", err, ErrNoBinaries)
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

// ErrNoBinaries is returned (wrapped) when the PostgreSQL server binaries a
// private cluster needs are not installed.
var ErrNoBinaries = errors.New("PostgreSQL server binaries not installed")

// Port is the port the server listens on (127.0.0.1).
func (p *Private) Port() int { return p.c.port }

// StartStandby makes a streaming replica of p (which must be running) in a
// directory of its own and starts it on port: pg_basebackup of p with
// -R (standby.signal and a primary_conninfo pointing at p), then pg_ctl
// start. Its URL names the same database, read-only.
func (p *Private) StartStandby(ctx context.Context, dir string, port int, log *slog.Logger) (*Private, error) {
	if log == nil {
		log = slog.Default()
	}
	basebackup := filepath.Join(p.c.binDir, "pg_basebackup")
	if !isExecutable(basebackup) {
		return nil, fmt.Errorf("devdb: a standby needs %s: %w", basebackup, ErrNoBinaries)
	}
	c := &cluster{binDir: p.c.binDir, baseDir: dir, port: port, log: log}
	if err := c.prepareDir(ctx); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(c.dataDir(), "PG_VERSION")); err != nil {
		if err := os.RemoveAll(c.dataDir()); err != nil {
			return nil, err
		}
		cmd := c.command(ctx, basebackup, "-D", c.dataDir(), "-h", "127.0.0.1", "-p", strconv.Itoa(p.c.port),
			"-U", "postgres", "-X", "stream", "-R", "-c", "fast", "--no-sync")
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("pg_basebackup from port %d: %w\n%s", p.c.port, err, bytes.TrimSpace(out))
		}
	}
	if err := c.pgCtlStart(ctx); err != nil {
		return nil, err
	}
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", port, DatabaseName)
	return &Private{c: c, url: url}, nil
}
