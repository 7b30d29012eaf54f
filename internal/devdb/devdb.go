// Package devdb finds or starts a PostgreSQL database for local development,
// so that `make run` works without any configuration.
//
// [Ensure] tries, in order:
//
//  1. the URL in INDEXD_DATABASE_URL, used as is;
//  2. a server answering at 127.0.0.1:5432 as user postgres without a
//     password, in which the database indexd_dev is created if missing;
//  3. a private cluster under <projectDir>/.devdb, created with initdb and
//     started with pg_ctl on 127.0.0.1:54329 (as the postgres user when
//     running as root, because PostgreSQL refuses to run as root);
//  4. a postgres:15-alpine container started with testcontainers when a
//     Docker engine is reachable.
//
// If none of these works, the error says what to install or set.
package devdb

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/testcontainers/testcontainers-go"
	tcpostgres "github.com/testcontainers/testcontainers-go/modules/postgres"
)

const (
	// EnvURL names the environment variable that, when set, is returned by
	// [Ensure] unchanged.
	EnvURL = "INDEXD_DATABASE_URL"
	// DatabaseName is the database [Ensure] creates on servers it manages.
	DatabaseName = "indexd_dev"
	// LocalAdminURL is the server probed before anything is started.
	LocalAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	// ClusterPort is the port of the private cluster under <projectDir>/.devdb.
	ClusterPort = 54329

	containerImage = "postgres:15-alpine"
	probeTimeout   = 2 * time.Second
	pgCtlTimeout   = 60 * time.Second
	sqlstateDupDB  = "42P04"
	clusterOSUser  = "postgres"
	maxSocketPath  = 100 // sun_path is 108 bytes on Linux; keep a margin
)

// Ensure returns the URL of a usable development database, trying the
// sources listed in the package documentation in order. stop releases what
// Ensure started (it stops the private cluster or terminates the container)
// and is a no-op when nothing was started; it is never nil, even with an
// error, and is safe to call more than once. A nil log uses slog.Default().
func Ensure(ctx context.Context, projectDir string, log *slog.Logger) (dbURL string, stop func(), err error) {
	if log == nil {
		log = slog.Default()
	}
	noop := func() {}

	if u := strings.TrimSpace(os.Getenv(EnvURL)); u != "" {
		log.Info("devdb: using database from environment", "env", EnvURL)
		return u, noop, nil
	}

	var attempts []error

	probeCtx, cancel := context.WithTimeout(ctx, probeTimeout)
	dbURL, err = useServer(probeCtx, LocalAdminURL, DatabaseName)
	cancel()
	if err == nil {
		log.Info("devdb: using local PostgreSQL server", "addr", "127.0.0.1:5432", "database", DatabaseName)
		return dbURL, noop, nil
	}
	log.Info("devdb: no usable PostgreSQL at 127.0.0.1:5432", "err", err)
	attempts = append(attempts, fmt.Errorf("server at 127.0.0.1:5432: %w", err))

	binDir, err := findBinDir()
	if err == nil {
		c := &cluster{binDir: binDir, baseDir: filepath.Join(projectDir, ".devdb"), port: ClusterPort, log: log}
		dbURL, stop, err = c.start(ctx)
		if err == nil {
			return dbURL, stop, nil
		}
		log.Warn("devdb: private cluster failed", "bin", binDir, "err", err)
	}
	attempts = append(attempts, fmt.Errorf("private cluster with initdb/pg_ctl: %w", err))

	dbURL, stop, err = startContainer(ctx, log)
	if err == nil {
		return dbURL, stop, nil
	}
	attempts = append(attempts, fmt.Errorf("docker: %w", err))

	return "", noop, fmt.Errorf("devdb: no PostgreSQL database available. Do one of:\n"+
		"  - set %s to the URL of an existing database (e.g. postgres://user:pass@host:5432/indexd?sslmode=disable);\n"+
		"  - install PostgreSQL (Debian/Ubuntu: apt-get install postgresql), which provides initdb and pg_ctl;\n"+
		"  - start a Docker engine so that a %s container can be run.\n"+
		"Attempts:\n%w", EnvURL, containerImage, errors.Join(attempts...))
}

// useServer connects to adminURL, creates database name if missing and
// returns adminURL pointing at it.
func useServer(ctx context.Context, adminURL, name string) (string, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if err := ensureDatabase(ctx, conn, name); err != nil {
		return "", err
	}
	return withDatabase(adminURL, name)
}

func ensureDatabase(ctx context.Context, conn *pgx.Conn, name string) error {
	var exists bool
	err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		return fmt.Errorf("look up database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == sqlstateDupDB) {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

func withDatabase(adminURL, name string) (string, error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", fmt.Errorf("parse database URL: %w", err)
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

// findBinDir returns a directory holding initdb, pg_ctl and postgres: the one
// behind pg_ctl on PATH, else the newest /usr/lib/postgresql/<version>/bin.
func findBinDir() (string, error) {
	var candidates []string
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			candidates = append(candidates, filepath.Dir(real))
		}
		candidates = append(candidates, filepath.Dir(p))
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin") // the pattern is valid
	// Newest version first.
	slices.SortFunc(dirs, func(a, b string) int {
		return compareVersions(filepath.Base(filepath.Dir(b)), filepath.Base(filepath.Dir(a)))
	})
	candidates = append(candidates, dirs...)

	for _, dir := range candidates {
		if isExecutable(filepath.Join(dir, "initdb")) &&
			isExecutable(filepath.Join(dir, "pg_ctl")) &&
			isExecutable(filepath.Join(dir, "postgres")) {
			return dir, nil
		}
	}
	return "", errors.New("initdb, pg_ctl and postgres not found together on PATH or in /usr/lib/postgresql/*/bin")
}

// compareVersions orders dotted numeric versions ("9.6" < "15" < "16.1").
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return strings.Compare(a, b)
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// cluster is a private PostgreSQL cluster managed with initdb and pg_ctl.
type cluster struct {
	binDir  string
	baseDir string // holds data/ and log; also the socket directory when short enough
	port    int
	log     *slog.Logger

	// Set when running as root: commands run as this OS user.
	osUser   *user.User
	runAsCmd []string // prefix such as ["runuser", "-u", "postgres", "--"]; nil means use su
}

func (c *cluster) dataDir() string { return filepath.Join(c.baseDir, "data") }
func (c *cluster) logFile() string { return filepath.Join(c.baseDir, "log") }

// start initialises the cluster if needed, starts it unless it is already
// running, creates DatabaseName and returns its URL.
func (c *cluster) start(ctx context.Context) (string, func(), error) {
	noop := func() {}
	if err := c.prepareDir(ctx); err != nil {
		return "", noop, err
	}
	if err := c.initdb(ctx); err != nil {
		return "", noop, err
	}

	stop := noop
	port, running := c.runningPort()
	if running {
		c.log.Info("devdb: private cluster already running; leaving it running on exit", "data", c.dataDir(), "port", port)
	} else {
		if err := c.pgCtlStart(ctx); err != nil {
			return "", noop, err
		}
		port = c.port
		var once sync.Once
		stop = func() { once.Do(c.stop) }
		c.log.Info("devdb: started private cluster", "data", c.dataDir(), "port", port, "log", c.logFile())
	}

	admin := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	connectCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	dbURL, err := useServer(connectCtx, admin, DatabaseName)
	if err != nil {
		stop()
		return "", noop, fmt.Errorf("private cluster on port %d: %w", port, err)
	}
	return dbURL, stop, nil
}

// prepareDir creates baseDir. As root it also arranges for the postgres OS
// user to own it, moving to a directory under os.TempDir() when that user
// cannot reach baseDir (a project under /root, say).
func (c *cluster) prepareDir(ctx context.Context) error {
	if os.Geteuid() != 0 {
		if err := os.MkdirAll(c.baseDir, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", c.baseDir, err)
		}
		return nil
	}

	u, err := user.Lookup(clusterOSUser)
	if err != nil {
		return fmt.Errorf("running as root, which PostgreSQL refuses, and no %q OS user to run it as: %w", clusterOSUser, err)
	}
	c.osUser = u
	if p, err := exec.LookPath("runuser"); err == nil {
		c.runAsCmd = []string{p, "-u", clusterOSUser, "--"}
	} else if _, err := exec.LookPath("su"); err != nil {
		return errors.New("running as root, which PostgreSQL refuses, and neither runuser nor su is available")
	}

	if err := c.ownDir(); err != nil {
		return err
	}
	if err := c.command(ctx, "test", "-w", c.baseDir).Run(); err == nil {
		return nil
	}
	sum := sha256.Sum256([]byte(c.baseDir))
	fallback := filepath.Join(os.TempDir(), "indexd-devdb-"+hex.EncodeToString(sum[:6]))
	c.log.Warn("devdb: the postgres OS user cannot reach the project directory; keeping the cluster elsewhere",
		"wanted", c.baseDir, "using", fallback)
	c.baseDir = fallback
	if err := c.ownDir(); err != nil {
		return err
	}
	if err := c.command(ctx, "test", "-w", c.baseDir).Run(); err != nil {
		return fmt.Errorf("the %s OS user cannot write %s: %w", clusterOSUser, c.baseDir, err)
	}
	return nil
}

// ownDir creates baseDir and hands it to the cluster's OS user.
func (c *cluster) ownDir() error {
	if err := os.MkdirAll(c.baseDir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", c.baseDir, err)
	}
	uid, err := strconv.Atoi(c.osUser.Uid)
	if err != nil {
		return fmt.Errorf("uid of %s: %w", c.osUser.Username, err)
	}
	gid, err := strconv.Atoi(c.osUser.Gid)
	if err != nil {
		return fmt.Errorf("gid of %s: %w", c.osUser.Username, err)
	}
	if err := os.Chown(c.baseDir, uid, gid); err != nil {
		return fmt.Errorf("chown %s to %s: %w", c.baseDir, c.osUser.Username, err)
	}
	return nil
}

// initdb creates the data directory unless it already holds a cluster.
func (c *cluster) initdb(ctx context.Context) error {
	data := c.dataDir()
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err == nil {
		return nil
	}
	// A directory without PG_VERSION is a leftover of an interrupted initdb
	// (initdb refuses non-empty directories); it lives under our .devdb.
	if err := os.RemoveAll(data); err != nil {
		return fmt.Errorf("remove incomplete data directory %s: %w", data, err)
	}
	c.log.Info("devdb: initialising private cluster", "data", data, "bin", c.binDir)
	cmd := c.command(ctx, filepath.Join(c.binDir, "initdb"),
		"-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb -D %s: %w\n%s", data, err, bytes.TrimSpace(out))
	}
	return nil
}

// runningPort reports whether a postmaster runs on the data directory and,
// if so, its port as recorded in postmaster.pid.
func (c *cluster) runningPort() (int, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.command(ctx, filepath.Join(c.binDir, "pg_ctl"), "-D", c.dataDir(), "status").Run(); err != nil {
		return 0, false // exit status 3: not running
	}
	b, err := os.ReadFile(filepath.Join(c.dataDir(), "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	// Line 4 of postmaster.pid is the port.
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return 0, false
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return 0, false
	}
	return port, true
}

func (c *cluster) pgCtlStart(ctx context.Context) error {
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1", c.port)
	if len(c.baseDir)+len("/.s.PGSQL.")+5 <= maxSocketPath {
		opts += " -k " + shellQuote(c.baseDir)
	} else {
		// A socket path this long does not fit in sun_path; TCP only.
		opts += " -c unix_socket_directories=''"
	}
	cmd := c.command(ctx, filepath.Join(c.binDir, "pg_ctl"),
		"-D", c.dataDir(), "-l", c.logFile(), "-w", "-t", strconv.Itoa(int(pgCtlTimeout/time.Second)),
		"-o", opts, "start")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl start -D %s: %w\n%s\nserver log %s:\n%s",
			c.dataDir(), err, bytes.TrimSpace(out), c.logFile(), tail(c.logFile(), 20))
	}
	return nil
}

// stop shuts the cluster down, logging rather than returning failures
// because it runs at process exit.
func (c *cluster) stop() {
	if err := c.stopMode("fast"); err != nil {
		c.log.Error("devdb: stop private cluster", "data", c.dataDir(), "err", err)
	}
}

// stopMode runs pg_ctl stop in the given shutdown mode (smart, fast or
// immediate) and waits for the server to be gone.
func (c *cluster) stopMode(mode string) error {
	ctx, cancel := context.WithTimeout(context.Background(), pgCtlTimeout+10*time.Second)
	defer cancel()
	cmd := c.command(ctx, filepath.Join(c.binDir, "pg_ctl"), "-D", c.dataDir(), "-m", mode, "-w", "stop")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl stop -m %s: %w: %s", mode, err, bytes.TrimSpace(out))
	}
	c.log.Info("devdb: stopped private cluster", "data", c.dataDir(), "mode", mode)
	return nil
}

// command builds a command that runs as the cluster's OS user when needed.
// It runs in baseDir, which that user can enter.
func (c *cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	switch {
	case c.osUser == nil:
		cmd = exec.CommandContext(ctx, name, args...)
	case c.runAsCmd != nil:
		full := append(slices.Clone(c.runAsCmd[1:]), name)
		cmd = exec.CommandContext(ctx, c.runAsCmd[0], append(full, args...)...)
	default:
		line := shellQuote(name)
		for _, a := range args {
			line += " " + shellQuote(a)
		}
		cmd = exec.CommandContext(ctx, "su", "-s", "/bin/sh", c.osUser.Username, "-c", line)
	}
	cmd.Dir = c.baseDir
	// pg_ctl hands the server the log file, not our pipes; the delay only
	// guards against a child that keeps them open anyway.
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// shellQuote quotes s for /bin/sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// tail returns up to n last lines of the file at path, for error messages.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(cannot read: %v)", err)
	}
	defer func() { _ = f.Close() }()
	var lines []string
	sc := bufio.NewScanner(io.LimitReader(f, 1<<20))
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// startContainer runs a PostgreSQL container when a Docker engine answers.
// Docker discovery inside testcontainers may panic when no engine is
// configured; that is turned into an error.
func startContainer(ctx context.Context, log *slog.Logger) (dbURL string, stop func(), err error) {
	noop := func() {}
	defer func() {
		if r := recover(); r != nil {
			dbURL, stop, err = "", noop, fmt.Errorf("docker discovery: %v", r)
		}
	}()

	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	cli, err := testcontainers.NewDockerClientWithOpts(pingCtx)
	cancel()
	if err != nil {
		return "", noop, fmt.Errorf("no Docker engine: %w", err)
	}
	_ = cli.Close()

	log.Info("devdb: starting PostgreSQL container", "image", containerImage)
	ctr, err := tcpostgres.Run(ctx, containerImage,
		tcpostgres.WithDatabase(DatabaseName), tcpostgres.BasicWaitStrategies())
	terminate := func() {
		if err := testcontainers.TerminateContainer(ctr); err != nil {
			log.Error("devdb: terminate PostgreSQL container", "err", err)
		}
	}
	if err != nil {
		terminate()
		return "", noop, fmt.Errorf("start %s: %w", containerImage, err)
	}
	dbURL, err = ctr.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		terminate()
		return "", noop, fmt.Errorf("container connection string: %w", err)
	}
	log.Info("devdb: PostgreSQL container ready; its data is discarded when it stops", "id", ctr.GetContainerID())
	var once sync.Once
	return dbURL, func() { once.Do(terminate) }, nil
}
