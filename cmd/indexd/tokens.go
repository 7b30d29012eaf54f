package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/datacommons/indexd/policy"
	"github.com/datacommons/indexd/tokens"
)

const tokensUsage = `usage: indexd tokens list [--user U] [--json]
       indexd tokens issue --user U --expires DURATION [--scope RESOURCE:METHOD,METHOD]... [--description TEXT] [--as WHO]
       indexd tokens revoke ID [--as WHO]

API tokens (issue 14), from the command line of an operator with database access: the same checks
as POST /tokens (lifetime ≤ INDEXD_API_TOKEN_MAX_TTL, scope resources and methods). issue prints the
token once, on stdout; it is stored only as a hash. Without --scope the token carries every grant the
user has. revoke takes effect on every instance within a second (NOTIFY) and is audited as cli:WHO.`

// cmdTokens is `indexd tokens`: the admin routes /admin/tokens on the command line.
func cmdTokens(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	args, as, err := takeAs(args)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return fmt.Errorf("%s", tokensUsage)
	}
	verb, flags := args[0], args[1:]
	var user, expires, description, id string
	var scope policy.Scope
	var asJSON bool
	for i := 0; i < len(flags); i++ {
		f := flags[i]
		value := func() (string, error) {
			if i+1 >= len(flags) {
				return "", fmt.Errorf("%s needs a value\n%s", f, tokensUsage)
			}
			i++
			return flags[i], nil
		}
		var v string
		switch f {
		case "--user":
			v, err = value()
			user = v
		case "--expires":
			v, err = value()
			expires = v
		case "--description":
			v, err = value()
			description = v
		case "--scope":
			if v, err = value(); err == nil {
				var e policy.ScopeEntry
				e, err = parseScopeFlag(v)
				scope = append(scope, e)
			}
		case "--json":
			asJSON = true
		default:
			if strings.HasPrefix(f, "-") || id != "" || verb != "revoke" {
				return fmt.Errorf("unexpected argument %q\n%s", f, tokensUsage)
			}
			id = f
		}
		if err != nil {
			return err
		}
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer store.Close()
	svc := tokens.Service{Store: store, MaxTTL: cfg.APITokenMaxTTL}
	by := actor(as, getenv)
	switch verb {
	case "list":
		list, err := svc.List(ctx, user)
		if err != nil {
			return err
		}
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(list)
		}
		fmt.Fprintln(stdout, "ID\tUSER\tEXPIRES\tLAST USED\tREVOKED\tSCOPE\tDESCRIPTION")
		for _, t := range list {
			fmt.Fprintf(stdout, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.User, t.ExpiresAt.Format(time.RFC3339),
				timeOrDash(t.LastUsedAt), timeOrDash(t.RevokedAt), scopeString(t.Scope), t.Description)
		}
		return nil
	case "issue":
		if user == "" || expires == "" {
			return fmt.Errorf("issue needs --user and --expires\n%s", tokensUsage)
		}
		exp, _ := json.Marshal(expires)
		req := tokens.Request{Description: description, ExpiresIn: exp}
		if scope != nil {
			req.Scope = &scope
		}
		issued, err := svc.Issue(ctx, by, user, req)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "id:      %s\nuser:    %s\nexpires: %s\nscope:   %s\ntoken:   %s\n(the token is shown once; it is stored only as a hash)\n",
			issued.ID, issued.User, issued.ExpiresAt.Format(time.RFC3339), scopeString(issued.Scope), issued.Token)
		return nil
	case "revoke":
		if id == "" {
			return fmt.Errorf("revoke needs a token id\n%s", tokensUsage)
		}
		if _, err := svc.Revoke(ctx, by, "", id); err != nil {
			return fmt.Errorf("revoke %s: %w", id, err)
		}
		fmt.Fprintln(stdout, "token", id, "revoked")
		return nil
	}
	return fmt.Errorf("unknown tokens command %q\n%s", verb, tokensUsage)
}

// parseScopeFlag reads RESOURCE:METHOD,METHOD (the resource may contain
// colons; the methods follow the last one).
func parseScopeFlag(s string) (policy.ScopeEntry, error) {
	i := strings.LastIndex(s, ":")
	if i <= 0 || i == len(s)-1 {
		return policy.ScopeEntry{}, fmt.Errorf("--scope %q: want RESOURCE:METHOD[,METHOD...], e.g. /programs/p1:read,create", s)
	}
	return policy.ScopeEntry{Resource: s[:i], Methods: strings.Split(s[i+1:], ",")}, nil
}

func scopeString(sc policy.Scope) string {
	parts := make([]string, 0, len(sc))
	for _, e := range sc {
		parts = append(parts, e.Resource+":"+strings.Join(e.Methods, ","))
	}
	return strings.Join(parts, " ")
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}
