package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/datacommons/indexd/internal/app"
)

// service is the indexd under test: a child process running `indexd serve`
// (so its peak RSS is its own), or, with Config.InProcess, an app.App in
// this process.
type service struct {
	base    string
	pid     int
	logPath string
	stop    func() error
}

// serviceEnv is the child's configuration (INDEXD_* variables).
func serviceEnv(cfg Config, dbURL, policyURL, listen string) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "INDEXD_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"INDEXD_DATABASE_URL="+dbURL,
		"INDEXD_LISTEN="+listen,
		"INDEXD_ARBORIST_URL="+policyURL,
		"INDEXD_ARE_RECORDS_DISCOVERABLE=false",
		"INDEXD_POLICY_CACHE_TTL="+cfg.PolicyTTL.String(),
		"INDEXD_SETTINGS_POLL=1s",
		"INDEXD_LOG_LEVEL="+cfg.LogLevel,
		"INDEXD_LOG_FORMAT=json",
	)
	if cfg.DBConns > 0 {
		env = append(env, "INDEXD_DB_MAX_CONNS="+strconv.Itoa(cfg.DBConns))
	}
	if cfg.storageConfig != "" {
		env = append(env, "INDEXD_STORAGE_CONFIG="+cfg.storageConfig)
	}
	return env
}

// benchStorage writes a storage configuration naming the bench records'
// bucket (s3://indexd-bench-data, static example keys: signing needs no
// network, and no URL is ever fetched) and returns its path.
func benchStorage() (string, error) {
	dir, err := os.MkdirTemp("", "indexd-bench-storage-")
	if err != nil {
		return "", err
	}
	keys := dir + "/keys.yaml"
	if err := os.WriteFile(keys, []byte("access_key_id: AKIAIOSFODNN7EXAMPLE\nsecret_access_key: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"), 0o600); err != nil {
		return "", err
	}
	p := dir + "/storage.yaml"
	cfg := "buckets:\n- {provider: s3, bucket: indexd-bench-data, region: us-east-1, credentials: {source: file, file: " + keys + "}}\n"
	return p, os.WriteFile(p, []byte(cfg), 0o600)
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

func startService(ctx context.Context, cfg Config, dbURL, policyURL string) (*service, error) {
	if cfg.storageConfig == "" {
		p, err := benchStorage()
		if err != nil {
			return nil, fmt.Errorf("bench: storage configuration: %w", err)
		}
		cfg.storageConfig = p
	}
	if cfg.InProcess || cfg.ServiceBinary == "" {
		return startInProcess(ctx, cfg, dbURL, policyURL)
	}
	addr, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("bench: pick a port: %w", err)
	}
	logf, err := os.CreateTemp("", "indexd-bench-service-*.log")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(cfg.ServiceBinary, "serve")
	cmd.Env = serviceEnv(cfg, dbURL, policyURL, addr)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("bench: start %s serve: %w", cfg.ServiceBinary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	s := &service{base: "http://" + addr, pid: cmd.Process.Pid, logPath: logf.Name()}
	s.stop = func() error {
		defer logf.Close()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return nil // stopped by our signal
			}
			return err
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			return errors.New("bench: service did not stop within 20s; killed")
		}
	}
	if err := waitReady(ctx, s.base, exited); err != nil {
		_ = s.stop()
		return nil, fmt.Errorf("%w (service log: %s)\n%s", err, s.logPath, tail(s.logPath, 20))
	}
	return s, nil
}

func startInProcess(ctx context.Context, cfg Config, dbURL, policyURL string) (*service, error) {
	ac := app.Defaults()
	ac.DatabaseURL, ac.ArboristURL = dbURL, policyURL
	ac.InitialSettings.AreRecordsDiscoverable = false
	ac.PolicyCacheTTL = cfg.PolicyTTL
	ac.SettingsPoll = time.Second
	ac.MaxConns = int32(cfg.DBConns)
	ac.StorageConfig = cfg.storageConfig
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	a, err := app.New(ctx, ac, log)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		a.Close()
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- a.Serve(sctx, l) }()
	s := &service{base: "http://" + l.Addr().String(), pid: os.Getpid()}
	s.stop = func() error {
		cancel()
		err := <-done
		a.Close()
		return err
	}
	if err := waitReady(ctx, s.base, done); err != nil {
		_ = s.stop()
		return nil, err
	}
	return s, nil
}

func waitReady(ctx context.Context, base string, exited <-chan error) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("bench: service exited before it was ready: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := http.Get(base + "/_status")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("bench: service not ready after 60s")
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// memStatus reads VmRSS and VmHWM (peak RSS) of pid, in bytes.
func memStatus(pid int) (rss, hwm int64, err error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		fs := strings.Fields(v)
		if len(fs) == 0 {
			continue
		}
		kb, err := strconv.ParseInt(fs[0], 10, 64)
		if err != nil {
			continue
		}
		if k == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	return rss, hwm, sc.Err()
}
