package bench

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// rawSQL is a scenario's hand-written SQL equivalent: a pgbench script
// (one transaction = the statements the service runs for one request) and
// its -D variables.
type rawSQL struct {
	// Pre are pgbench meta-commands (\set …) run before the statements.
	Pre string
	// Stmts are the SQL statements of one transaction, with :variables.
	Stmts   []string
	Defines map[string]string
	// Example values of the Pre variables, for EXPLAIN.
	Example map[string]string
}

// Script is the pgbench script file.
func (r *rawSQL) Script() string {
	var b strings.Builder
	b.WriteString(r.Pre)
	for _, s := range r.Stmts {
		b.WriteString(s)
		b.WriteString(";\n")
	}
	return b.String()
}

// pgbenchResult is what pgbench measured.
type pgbenchResult struct {
	TPS      float64
	Mean     time.Duration
	P50      time.Duration
	P95      time.Duration
	P99      time.Duration
	Failed   int
	Txns     int
	Duration time.Duration
	// ClientCPU is pgbench's own CPU time (user+system).
	ClientCPU time.Duration
}

// findPgbench returns the pgbench binary: on PATH, else the newest under
// /usr/lib/postgresql/*/bin.
func findPgbench() string {
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p
	}
	ms, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	sort.Strings(ms)
	if len(ms) > 0 {
		return ms[len(ms)-1]
	}
	return ""
}

// pgbenchMissing explains how to get pgbench.
const pgbenchMissing = `pgbench not found: the raw-SQL comparison is skipped.
  install it with: apt-get install postgresql-contrib   (Debian/Ubuntu; pgbench ships with the PostgreSQL client/contrib packages)
  or: brew install postgresql (macOS), dnf install postgresql-contrib (Fedora/RHEL)`

var (
	reTPS     = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)
	reLatency = regexp.MustCompile(`latency average = ([0-9.]+) ms`)
	reFailed  = regexp.MustCompile(`number of failed transactions: ([0-9]+)`)
	reTxns    = regexp.MustCompile(`number of transactions actually processed: ([0-9]+)`)
)

// runPgbench runs raw at the given concurrency for d (rounded up to whole
// seconds) in prepared mode, logging each transaction to compute
// percentiles.
func runPgbench(ctx context.Context, bin, dbURL, pgOptions string, raw *rawSQL, concurrency int, d time.Duration) (*pgbenchResult, error) {
	dir, err := os.MkdirTemp("", "indexd-bench-pgbench-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "script.sql")
	if err := os.WriteFile(script, []byte(raw.Script()), 0o644); err != nil {
		return nil, err
	}
	secs := int(math.Ceil(d.Seconds()))
	jobs := min(2, concurrency)
	args := []string{
		"-n", "-M", "prepared", "-c", strconv.Itoa(concurrency), "-j", strconv.Itoa(jobs),
		"-T", strconv.Itoa(secs), "-f", script, "-l", "--log-prefix=" + filepath.Join(dir, "txn"),
	}
	keys := make([]string, 0, len(raw.Defines))
	for k := range raw.Defines {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-D", k+"="+raw.Defines[k])
	}
	args = append(args, dbURL)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "PGAPPNAME=pgbench")
	if pgOptions != "" {
		cmd.Env = append(cmd.Env, "PGOPTIONS="+pgOptions)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("pgbench: %v\n%s", err, lastLines(string(out), 15))
	}
	res := &pgbenchResult{Duration: time.Duration(secs) * time.Second}
	if ps := cmd.ProcessState; ps != nil {
		res.ClientCPU = ps.UserTime() + ps.SystemTime()
	}
	text := string(out)
	m := reTPS.FindStringSubmatch(text)
	if m == nil {
		return nil, fmt.Errorf("pgbench: no tps in output:\n%s", lastLines(text, 15))
	}
	res.TPS, _ = strconv.ParseFloat(m[1], 64)
	if m := reLatency.FindStringSubmatch(text); m != nil {
		ms, _ := strconv.ParseFloat(m[1], 64)
		res.Mean = time.Duration(ms * float64(time.Millisecond))
	}
	if m := reFailed.FindStringSubmatch(text); m != nil {
		res.Failed, _ = strconv.Atoi(m[1])
	}
	if m := reTxns.FindStringSubmatch(text); m != nil {
		res.Txns, _ = strconv.Atoi(m[1])
	}
	lat, err := readTxnLogs(dir)
	if err != nil {
		return nil, err
	}
	res.P50, res.P95, res.P99 = percentiles(lat)
	return res, nil
}

// readTxnLogs reads pgbench's per-transaction logs: "client_id txn_no
// latency_us script_no epoch epoch_us".
func readTxnLogs(dir string) ([]time.Duration, error) {
	files, err := filepath.Glob(filepath.Join(dir, "txn.*"))
	if err != nil {
		return nil, err
	}
	var out []time.Duration
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 3 {
				continue
			}
			us, err := strconv.ParseInt(fs[2], 10, 64)
			if err != nil {
				continue // "failed"/"skipped" entries
			}
			out = append(out, time.Duration(us)*time.Microsecond)
		}
		fh.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// pgLiteral renders a query argument as the text pgbench passes as a
// parameter value.
func pgLiteral(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case int:
		return strconv.Itoa(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case bool:
		return strconv.FormatBool(x), nil
	case uint64, uint32, uint, int32, int16, int8, uint16, uint8, float64, float32:
		return fmt.Sprint(x), nil
	case []int32:
		parts := make([]string, len(x))
		for i, n := range x {
			parts[i] = strconv.FormatInt(int64(n), 10)
		}
		return "{" + strings.Join(parts, ",") + "}", nil
	case fmt.Stringer:
		return x.String(), nil
	case []int64:
		parts := make([]string, len(x))
		for i, n := range x {
			parts[i] = strconv.FormatInt(n, 10)
		}
		return "{" + strings.Join(parts, ",") + "}", nil
	case []string:
		return textArray(x), nil
	}
	return "", fmt.Errorf("bench: cannot pass %T to pgbench", v)
}

// textArray is a PostgreSQL text[] literal with every element quoted.
func textArray(xs []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, s := range xs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}
