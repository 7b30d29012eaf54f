package bench

import (
	"context"
	"crypto/md5"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/datacommons/indexd/repository"
)

// capture records the statements the repository sends, so the harness can
// replay exactly the service's SQL through pgbench ("service SQL"): the
// difference between that and the HTTP figures is the service's own cost
// (HTTP, authentication, policy cache, row decoding, JSON).
type capture struct {
	mu    sync.Mutex
	on    bool
	stmts []capturedStmt
	// Params are the session settings repository.Open puts on every
	// connection (statement_timeout, plan_cache_mode, …); pgbench gets
	// them too, through PGOPTIONS.
	Params map[string]string
	store  *repository.Store
}

type capturedStmt struct {
	SQL  string
	Args []any
}

func (c *capture) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.on {
		c.stmts = append(c.stmts, capturedStmt{SQL: d.SQL, Args: statementArgs(d.Args)})
	}
	return ctx
}

// statementArgs drops pgx's query options (such as a QueryExecMode the
// repository passes as the first argument): they steer pgx and are not
// statement parameters.
func statementArgs(args []any) []any {
	out := make([]any, 0, len(args))
	for _, a := range args {
		if _, ok := a.(pgx.QueryExecMode); ok {
			continue
		}
		out = append(out, a)
	}
	return out
}

func (c *capture) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// newCapture opens a repository.Store whose pool traces its queries, with
// the same session settings repository.Open would use.
func newCapture(ctx context.Context, dbURL string) (*capture, error) {
	ref, err := repository.Open(ctx, dbURL, repository.Options{})
	if err != nil {
		return nil, err
	}
	params := map[string]string{}
	for k, v := range ref.Pool().Config().ConnConfig.RuntimeParams {
		params[k] = v
	}
	ref.Close()
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	for k, v := range params {
		cfg.ConnConfig.RuntimeParams[k] = v
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = harnessApp
	c := &capture{Params: params}
	cfg.ConnConfig.Tracer = c
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	c.store = repository.New(pool, repository.Options{})
	return c, nil
}

func (c *capture) Close() { c.store.Close() }

// record runs fn with tracing on and returns the statements it sent.
func (c *capture) record(fn func(*repository.Store) error) ([]capturedStmt, error) {
	c.mu.Lock()
	c.on, c.stmts = true, nil
	c.mu.Unlock()
	err := fn(c.store)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.on = false
	return c.stmts, err
}

// pgOptions renders the session settings for PGOPTIONS.
func (c *capture) pgOptions() string {
	keys := make([]string, 0, len(c.Params))
	for k := range c.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, "-c "+k+"="+strings.ReplaceAll(c.Params[k], " ", `\ `))
	}
	return strings.Join(parts, " ")
}

// maxDefine is the longest value passed with -D: one argv string may not
// exceed 128 KiB on Linux. Longer ones (5,000-path grant lists) are stored
// in the aux table and read per transaction with \gset (see externalize),
// so they still reach the statement as a bound parameter, as from the
// service: inlining them as literals would change how often PostgreSQL
// plans the statement.
const maxDefine = 64 << 10

// auxSchema holds harness-only tables, outside the service's schema.
const auxSchema = "indexd_bench_aux"

// externalize moves raw's over-long -D values into auxSchema.param and
// adds the \gset reads that bring them back as variables.
func externalize(ctx context.Context, pool *pgxpool.Pool, raw *rawSQL) error {
	if raw == nil {
		return nil
	}
	var keys []string
	for k, v := range raw.Defines {
		if len(v) > maxDefine {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	sort.Strings(keys)
	if _, err := pool.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+auxSchema+
		"; CREATE TABLE IF NOT EXISTS "+auxSchema+".param (name text PRIMARY KEY, value text NOT NULL)"); err != nil {
		return fmt.Errorf("bench: create aux table: %w", err)
	}
	for _, k := range keys {
		v := raw.Defines[k]
		name := fmt.Sprintf("%x", md5.Sum([]byte(v)))
		if _, err := pool.Exec(ctx, "INSERT INTO "+auxSchema+".param (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value", name, v); err != nil {
			return fmt.Errorf("bench: store aux value: %w", err)
		}
		raw.Pre += "SELECT value AS " + k + " FROM " + auxSchema + ".param WHERE name = '" + name + "' \\gset\n"
		delete(raw.Defines, k)
		if raw.Example == nil {
			raw.Example = map[string]string{}
		}
		raw.Example[k] = v
	}
	return nil
}

// replay turns captured statements into a pgbench script: each $n becomes
// a pgbench variable (-D) or, when vary names a SQL expression for that
// argument's value, the expression (for values drawn per transaction).
func replay(stmts []capturedStmt, pre string, vary map[string]string) (*rawSQL, error) {
	raw := &rawSQL{Pre: pre, Defines: map[string]string{}}
	for si, st := range stmts {
		lits := make([]string, len(st.Args))
		for i, a := range st.Args {
			lit, err := pgLiteral(a)
			if err != nil {
				return nil, err
			}
			lits[i] = lit
		}
		sql := replaceParams(st.SQL, func(n int) string {
			if n < 1 || n > len(lits) {
				return "$" + strconv.Itoa(n)
			}
			lit := lits[n-1]
			if expr, ok := vary[lit]; ok {
				return "(" + expr + ")"
			}
			if lit == "" {
				return "''" // pgbench takes no empty -D value
			}
			name := fmt.Sprintf("s%dp%d", si+1, n)
			raw.Defines[name] = lit
			return ":" + name
		})
		raw.Stmts = append(raw.Stmts, sql)
	}
	return raw, nil
}

// replaceParams replaces $n placeholders outside quoted literals.
func replaceParams(sql string, f func(n int) string) string {
	var b strings.Builder
	inQuote := false
	for i := 0; i < len(sql); i++ {
		ch := sql[i]
		if ch == '\'' {
			inQuote = !inQuote
		}
		if ch == '$' && !inQuote {
			j := i + 1
			for j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
				j++
			}
			if j > i+1 {
				n, _ := strconv.Atoi(sql[i+1 : j])
				b.WriteString(f(n))
				i = j - 1
				continue
			}
		}
		b.WriteByte(ch)
	}
	return b.String()
}
