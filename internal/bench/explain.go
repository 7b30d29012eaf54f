package bench

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// explainAll prints EXPLAIN (ANALYZE, BUFFERS) of every statement of every
// list scenario's raw SQL: once with the values inlined (the custom plan
// PostgreSQL makes for one execution) and, for the page query, once as a
// prepared statement under plan_cache_mode = force_generic_plan (the plan a
// prepared statement falls back to after five executions when the planner
// finds the generic plan no dearer — pgx prepares every statement).
func explainAll(ctx context.Context, pool *pgxpool.Pool, scs []*scenario, params map[string]string, out io.Writer) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	fmt.Fprintf(out, "the service's session settings: %v\n", params)
	for _, sc := range scs {
		for _, v := range []struct {
			label   string
			raw     *rawSQL
			generic bool
			params  bool
		}{{"hand-written SQL (default session settings)", sc.Raw, true, false}, {"service SQL (captured from the repository, service session settings)", sc.Svc, false, true},
			{"SQL (default session settings)", sc.Explain, false, false}} {
			if v.raw == nil {
				continue
			}
			if err := sessionParams(ctx, conn, params, v.params); err != nil {
				return err
			}
			fmt.Fprintf(out, "\n### %s — %s\n", sc.Name, v.label)
			if err := explainRaw(ctx, conn, v.raw, v.generic, out); err != nil {
				return fmt.Errorf("bench: %s: %w", sc.Name, err)
			}
		}
	}
	return nil
}

// sessionParams applies the service's session settings (on) or resets
// them to the server defaults.
func sessionParams(ctx context.Context, conn *pgxpool.Conn, params map[string]string, on bool) error {
	for k, v := range params {
		if k == "statement_timeout" || k == "application_name" {
			continue
		}
		var err error
		if on {
			_, err = conn.Exec(ctx, "SELECT set_config($1, $2, false)", k, v)
		} else {
			_, err = conn.Exec(ctx, "RESET "+pgx.Identifier{k}.Sanitize())
		}
		if err != nil {
			return fmt.Errorf("bench: session setting %s: %w", k, err)
		}
	}
	return nil
}

func explainRaw(ctx context.Context, conn *pgxpool.Conn, raw *rawSQL, generic bool, out io.Writer) error {
	stmts, vars := scriptStatements(raw)
	for k, st := range stmts {
		lit := substitute(st, func(name string) string { return quoteLiteral(vars[name]) })
		fmt.Fprintf(out, "\n```\n%s\n\n", abbreviate(lit))
		if err := explain(ctx, conn, "EXPLAIN (ANALYZE, BUFFERS) "+lit, out); err != nil {
			return err
		}
		fmt.Fprintln(out, "```")
		if !generic || k != len(stmts)-1 {
			continue
		}
		// The generic plan of the page query.
		var names []string
		param := substitute(st, func(name string) string {
			for i, n := range names {
				if n == name {
					return "$" + strconv.Itoa(i+1)
				}
			}
			names = append(names, name)
			return "$" + strconv.Itoa(len(names))
		})
		if len(names) == 0 {
			continue
		}
		args := make([]string, len(names))
		for i, n := range names {
			args[i] = quoteLiteral(vars[n])
		}
		fmt.Fprintf(out, "\ngeneric plan of the same statement (prepared, plan_cache_mode = force_generic_plan):\n```\n")
		if _, err := conn.Exec(ctx, "PREPARE bench_q AS "+param); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		old := ""
		_ = conn.QueryRow(ctx, "SELECT current_setting('plan_cache_mode')").Scan(&old)
		if _, err := conn.Exec(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
			return err
		}
		err := explain(ctx, conn, "EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_q("+strings.Join(args, ", ")+")", out)
		_, _ = conn.Exec(ctx, "SELECT set_config('plan_cache_mode', $1, false)", old)
		_, _ = conn.Exec(ctx, "DEALLOCATE bench_q")
		if err != nil {
			return err
		}
		fmt.Fprintln(out, "```")
	}
	return nil
}

func explain(ctx context.Context, conn *pgxpool.Conn, sql string, out io.Writer) error {
	rows, err := conn.Query(ctx, sql, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return fmt.Errorf("bench: %s: %w", abbreviate(sql), err)
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return err
		}
		fmt.Fprintln(out, line)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("bench: %s: %w", abbreviate(sql), err)
	}
	return nil
}

// scriptStatements returns raw's statements and the variables' example
// values (-D defines and Example).
func scriptStatements(raw *rawSQL) ([]string, map[string]string) {
	vars := map[string]string{}
	for k, v := range raw.Defines {
		vars[k] = v
	}
	for k, v := range raw.Example {
		vars[k] = v
	}
	return raw.Stmts, vars
}

// substitute replaces pgbench :variables (not :: casts) using f.
func substitute(s string, f func(name string) string) string {
	ident := func(c byte) bool {
		return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			if i+1 < len(s) && s[i+1] == ':' {
				b.WriteString("::")
				i++
				continue
			}
			j := i + 1
			for j < len(s) && ident(s[j]) {
				j++
			}
			if j > i+1 {
				b.WriteString(f(s[i+1 : j]))
				i = j - 1
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// abbreviate shortens long quoted literals (5,000-path grant arrays) for
// display.
func abbreviate(sql string) string {
	parts := strings.Split(sql, "'")
	for i := 1; i < len(parts); i += 2 {
		if len(parts[i]) > 160 {
			parts[i] = parts[i][:120] + fmt.Sprintf("…(%d chars)", len(parts[i]))
		}
	}
	return strings.Join(parts, "'")
}
