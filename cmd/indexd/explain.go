package main

// `indexd explain` and `indexd settings set … --dry-run`: the admin
// questions of GET /admin/explain and POST /admin/discovery/preview, asked
// of the database and the policy backend the configuration names (as
// `indexd settings` does), answered by the same package (explain), audited
// as cli:$USER, printed as tables (or the HTTP answer's JSON with --json).

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/api"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/explain"
	"github.com/datacommons/indexd/internal/app"
	"github.com/datacommons/indexd/repository"
)

const explainUsage = `usage: indexd explain ID (--user NAME | --anonymous) [--discoverable=true|false] [--global /a,/b] [--json]

Explains whether the caller sees the record ID (a did or an alias) and why,
under the current discovery settings or the ones --discoverable and
--global would make (a what-if). Reads INDEXD_DATABASE_URL and the policy
backend (INDEXD_ARBORIST_URL or INDEXD_POLICY_FILE); audited.`

const dryRunUsage = `usage: indexd settings set KEY=VALUE... --dry-run [--user NAME]... [--json]

Previews the change instead of making it: records visible before and after
to the anonymous caller, any logged-in caller and each --user.`

// listFlag collects a repeatable flag; commas also separate values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// parseInterleaved parses flags anywhere among the positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// explainer wires an explainer to the configured database and policy
// backend; close releases the database.
func newCLIExplainer(ctx context.Context, getenv func(string) string) (*explain.Explainer, *repository.Store, error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return nil, nil, err
	}
	pol, err := app.NewPolicy(cfg)
	if err != nil {
		return nil, nil, err
	}
	store, err := openStore(ctx, getenv)
	if err != nil {
		return nil, nil, err
	}
	return &explain.Explainer{Store: store, Policy: pol, Candidates: api.Candidates(cfg.DefaultPrefix)}, store, nil
}

func cliAsker(getenv func(string) string) string { return actor("", getenv) }

func cmdExplain(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	user := fs.String("user", "", "the user to explain for")
	anonymous := fs.Bool("anonymous", false, "explain for the anonymous caller")
	discoverable := fs.String("discoverable", "", "what-if are_records_discoverable (true or false)")
	global := fs.String("global", "\x00", "what-if global_discovery_authz (comma-separated paths; empty for none)")
	asJSON := fs.Bool("json", false, "print the JSON answer")
	pos, err := parseInterleaved(fs, args)
	if err != nil || len(pos) != 1 {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, explainUsage)
			return nil
		}
		return fmt.Errorf("%v\n%s", orMsg(err, "name exactly one record ID"), explainUsage)
	}
	ex, store, err := newCLIExplainer(ctx, getenv)
	if err != nil {
		return err
	}
	defer store.Close()
	cur, err := store.Settings(ctx)
	if err != nil {
		return err
	}
	st := cur
	st.GlobalDiscoveryAuthz = append([]string{}, cur.GlobalDiscoveryAuthz...)
	if *discoverable != "" {
		b, err := strconv.ParseBool(*discoverable)
		if err != nil {
			return fmt.Errorf("--discoverable must be true or false")
		}
		st.AreRecordsDiscoverable = b
	}
	if *global != "\x00" {
		var paths listFlag
		_ = paths.Set(*global)
		st.GlobalDiscoveryAuthz = append([]string{}, paths...)
		if err := indexd.ValidateAuthz(st.GlobalDiscoveryAuthz); err != nil {
			return fmt.Errorf("--global: %s", indexd.Message(err))
		}
	}
	x, err := ex.Explain(ctx, cliAsker(getenv), explain.Question{ID: pos[0],
		Subject: explain.Subject{User: *user, Anonymous: *anonymous}, Settings: st, Current: cur})
	if err != nil {
		return cliError(err)
	}
	if *asJSON {
		return writeJSON(stdout, x)
	}
	printExplanation(stdout, x)
	return nil
}

// settingsDryRun previews `settings set KEY=VALUE... --dry-run`.
func settingsDryRun(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("settings set", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Bool("dry-run", true, "preview the change, change nothing")
	var users listFlag
	fs.Var(&users, "user", "a user to count for (repeatable)")
	asJSON := fs.Bool("json", false, "print the JSON answer")
	kv, err := parseInterleaved(fs, args)
	if err != nil {
		return fmt.Errorf("%v\n%s", err, dryRunUsage)
	}
	if _, err := applySettingArgs(discovery.Settings{}, kv); err != nil {
		return err
	}
	ex, store, err := newCLIExplainer(ctx, getenv)
	if err != nil {
		return err
	}
	defer store.Close()
	before, err := store.Settings(ctx)
	if err != nil {
		return err
	}
	after := before
	after.GlobalDiscoveryAuthz = append([]string{}, before.GlobalDiscoveryAuthz...)
	if after, err = applySettingArgs(after, kv); err != nil {
		return err
	}
	p, err := ex.PreviewChange(ctx, cliAsker(getenv), before, after, users)
	if err != nil {
		return cliError(err)
	}
	if *asJSON {
		return writeJSON(stdout, p)
	}
	printPreview(stdout, p)
	return nil
}

// isDryRun reports whether settings set arguments ask for a dry run.
func isDryRun(args []string) bool {
	for _, a := range args {
		if a == "--dry-run" || a == "-dry-run" || strings.HasPrefix(a, "--dry-run=") || strings.HasPrefix(a, "-dry-run=") {
			return true
		}
	}
	return false
}

func orMsg(err error, msg string) string {
	if err != nil {
		return err.Error()
	}
	return msg
}

// cliError prefers an error's caller-visible message.
func cliError(err error) error {
	if m := indexd.Message(err); m != "" {
		return errors.New(m)
	}
	return err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func settingsLine(st discovery.Settings) string {
	return fmt.Sprintf("are_records_discoverable=%v global_discovery_authz=[%s]", st.AreRecordsDiscoverable, strings.Join(st.GlobalDiscoveryAuthz, ","))
}

func grantCell(g *explain.Grant) string {
	if g == nil {
		return "-"
	}
	return fmt.Sprintf("%s %s:%s (%s)", g.Resource, g.Service, g.Method, g.Source)
}

func printExplanation(w io.Writer, x *explain.Explanation) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	rec := x.Record.DID
	if x.Record.Alias != "" {
		rec += " (alias " + x.Record.Alias + ")"
	}
	caller := "anonymous"
	if x.Subject.User != "" {
		caller = "user " + x.Subject.User
	}
	settings := settingsLine(x.Settings)
	if x.WhatIf && x.VisibleNow != nil {
		settings += fmt.Sprintf(" (what-if; under the current settings: visible=%s)", yesNo(*x.VisibleNow))
	}
	fmt.Fprintf(tw, "record\t%s\n", rec)
	fmt.Fprintf(tw, "authz\t[%s]\n", strings.Join(x.Record.Authz, ", "))
	fmt.Fprintf(tw, "caller\t%s\n", caller)
	fmt.Fprintf(tw, "settings\t%s\n", settings)
	fmt.Fprintf(tw, "visible\t%s (%s): %s\n", yesNo(x.Visible), x.Rule, x.Reason)
	_ = tw.Flush()
	if len(x.Paths) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PATH\tREAD\tREAD-STORAGE\tCREATE\tUPDATE\tDELETE")
		for _, p := range x.Paths {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Path, grantCell(p.Read), grantCell(p.ReadStorage),
				grantCell(p.Create), grantCell(p.Update), grantCell(p.Delete))
		}
		_ = tw.Flush()
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, v := range []struct {
		name string
		v    explain.Verdict
	}{{"drs access", x.DRSAccess}, {"create", x.Create}, {"update", x.Update}, {"delete", x.Delete}} {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.name, yesNo(v.v.Allowed), v.v.Reason)
	}
	_ = tw.Flush()
	if len(x.WouldChange) > 0 {
		fmt.Fprintln(w, "\nwhat would change it:")
		for _, s := range x.WouldChange {
			fmt.Fprintln(w, "  -", s)
		}
	}
}

func printPreview(w io.Writer, p *explain.Preview) {
	fmt.Fprintf(w, "before: %s\nafter:  %s\n", settingsLine(p.Before), settingsLine(p.After))
	if !p.Changed {
		fmt.Fprintln(w, "(no change)")
	}
	fmt.Fprintf(w, "records: %d\n\n", p.Total)
	name := func(c explain.CallerPreview) string {
		switch c.Caller {
		case explain.CallerAnonymous:
			return "anonymous"
		case explain.CallerLoggedIn:
			return "any logged-in"
		}
		return "user " + c.User
	}
	width := len("empty authz")
	for _, c := range p.Callers {
		width = max(width, len(name(c)))
	}
	row := func(label string, cells ...string) {
		fmt.Fprintf(w, "%-*s", width, label)
		for _, c := range cells {
			fmt.Fprintf(w, "  %8s", c)
		}
		fmt.Fprintln(w)
	}
	n := func(i int64) string { return strconv.FormatInt(i, 10) }
	row("CALLER", "BEFORE", "AFTER", "HIDDEN", "REVEALED")
	for _, c := range p.Callers {
		row(name(c), n(c.Before.Count), n(c.After.Count), n(c.Hidden.Count), n(c.Revealed.Count))
	}
	row("admins only", n(p.AdminsOnly.Before.Count), n(p.AdminsOnly.After.Count))
	row("empty authz", n(p.EmptyAuthz.Count), n(p.EmptyAuthz.Count))
	var lines []string
	sample := func(label string, c explain.Count) {
		if p.Changed && len(c.Sample) > 0 {
			lines = append(lines, fmt.Sprintf("  %s (%d): %s", label, c.Count, strings.Join(c.Sample, " ")))
		}
	}
	for _, c := range p.Callers {
		sample(name(c)+" loses", c.Hidden)
		sample(name(c)+" gains", c.Revealed)
	}
	sample("admins only after", p.AdminsOnly.After)
	if len(lines) > 0 {
		fmt.Fprintf(w, "\nsamples (first %d dids of each bucket):\n%s\n", explain.SampleSize, strings.Join(lines, "\n"))
	}
}
