package explain

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/policy"
	"github.com/datacommons/indexd/repository"
)

// Question is what Explain is asked.
type Question struct {
	// ID is a did (with or without the default prefix) or an alias.
	ID      string
	Subject Subject
	// Settings are the discovery settings to explain under (the current
	// ones, or what they would be: a what-if).
	Settings discovery.Settings
	// Current are the settings in effect (to say whether the what-if
	// changes the answer).
	Current discovery.Settings
}

// Record is the record explained.
type Record struct {
	DID string `json:"did"`
	// Authz as stored.
	Authz []string `json:"authz"`
	// Alias is the alias the id was resolved through, if it was one.
	Alias string `json:"alias,omitempty"`
}

// PathGrants are, for one path of the record, the grant that covers it
// for each method (null: not covered).
type PathGrants struct {
	Path        string `json:"path"`
	Read        *Grant `json:"read"`
	ReadStorage *Grant `json:"read_storage"`
	Create      *Grant `json:"create"`
	Update      *Grant `json:"update"`
	Delete      *Grant `json:"delete"`
}

// Verdict is whether an operation is allowed, and why.
type Verdict struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
}

// DiscoverAll says which grant makes the caller discover every record.
type DiscoverAll struct {
	GlobalPath string `json:"global_path"`
	Grant      Grant  `json:"grant"`
}

// Explanation answers Explain.
type Explanation struct {
	Record  Record  `json:"record"`
	Subject Subject `json:"subject"`
	// Settings are the settings explained under; WhatIf is true when they
	// are not the current ones.
	Settings discovery.Settings `json:"settings"`
	WhatIf   bool               `json:"what_if"`
	// Visible is the visibility predicate's answer; Rule says by which
	// rule (or why not) and Reason in words.
	Visible bool   `json:"visible"`
	Rule    string `json:"rule"`
	Reason  string `json:"reason"`
	// VisibleNow is the answer under the current settings, on a what-if.
	VisibleNow     *bool        `json:"visible_under_current_settings,omitempty"`
	DiscoverAllVia *DiscoverAll `json:"discover_all_via,omitempty"`
	Paths          []PathGrants `json:"paths"`
	DRSAccess      Verdict      `json:"drs_access"`
	Create         Verdict      `json:"create"`
	Update         Verdict      `json:"update"`
	Delete         Verdict      `json:"delete"`
	// WouldChange lists what would change the visibility (and DRS access).
	WouldChange []string `json:"would_change"`
}

// Explain explains whether the subject sees the record q.ID under
// q.Settings and why. by is who asks (audited first). Errors: indexd
// ErrInvalid (bad question), ErrNotFound (no such record), the policy
// service's errors (policy.ErrUnavailable → 503).
func (e *Explainer) Explain(ctx context.Context, by string, q Question) (*Explanation, error) {
	if err := q.Subject.Validate(); err != nil {
		return nil, err
	}
	if err := indexd.ValidateID(q.ID); err != nil {
		return nil, indexd.Invalidf("id: %s", indexd.Message(err))
	}
	whatIf := !sameSettings(q.Settings, q.Current)
	if err := e.audit(ctx, by, repository.QueryExplain, map[string]any{
		"id": q.ID, "subject": q.Subject, "settings": q.Settings, "what_if": whatIf,
	}); err != nil {
		return nil, err
	}
	g, err := e.groups(ctx, !q.Subject.Anonymous)
	if err != nil {
		return nil, err
	}
	c, err := e.subject(ctx, g, q.Subject)
	if err != nil {
		return nil, err
	}

	// The contexts a read would be filtered with: under the settings
	// explained, with filtering on (what would hide it), and now.
	filtering := q.Settings
	filtering.AreRecordsDiscoverable = false
	dcs := []discovery.Context{
		discovery.FromReads(q.Settings, c.reads()),
		discovery.FromReads(filtering, c.reads()),
		discovery.FromReads(q.Current, c.reads()),
	}
	methods := []string{policy.MethodRead, policy.MethodReadStorage, policy.MethodCreate, policy.MethodUpdate, policy.MethodDelete}
	var grants []string
	for _, m := range methods {
		grants = append(grants, c.resources(m)...)
	}
	cands := []string{q.ID}
	if e.Candidates != nil {
		cands = e.Candidates(q.ID)
	}
	// The id resolves as every read resolves it (a did, an alias, or the
	// prefix twin of either); it named the record through an alias when it
	// is not one of the record's did spellings.
	f, err := e.Store.ExplainRecord(ctx, cands, dcs, grants)
	if err != nil {
		return nil, err
	}
	alias := ""
	if !slices.Contains(cands, f.DID) {
		alias = q.ID
	}

	x := &Explanation{
		Record:   Record{DID: f.DID, Authz: f.Authz, Alias: alias},
		Subject:  q.Subject,
		Settings: q.Settings,
		WhatIf:   whatIf,
		Visible:  f.Visible[0],
		Paths:    make([]PathGrants, 0, len(f.Paths)),
	}
	if whatIf {
		now := f.Visible[2]
		x.VisibleNow = &now
	}
	var uncoveredRead, uncoveredStorage []string
	cover := func(p, method string) *Grant {
		if r := covering(f.Covering[p], c.resources(method)); r != "" {
			return g.grant(c, q.Subject, r, method)
		}
		return nil
	}
	for _, p := range f.Paths {
		pg := PathGrants{Path: p,
			Read: cover(p, policy.MethodRead), ReadStorage: cover(p, policy.MethodReadStorage),
			Create: cover(p, policy.MethodCreate), Update: cover(p, policy.MethodUpdate), Delete: cover(p, policy.MethodDelete)}
		if pg.Read == nil {
			uncoveredRead = append(uncoveredRead, p)
		}
		if pg.ReadStorage == nil {
			uncoveredStorage = append(uncoveredStorage, p)
		}
		x.Paths = append(x.Paths, pg)
	}

	// The rule, from the same context the predicate was given.
	dc := dcs[0]
	if gr, gp, ok := discovery.DiscoverAllVia(q.Settings.GlobalDiscoveryAuthz, c.reads()); ok {
		x.DiscoverAllVia = &DiscoverAll{GlobalPath: gp, Grant: *g.grant(c, q.Subject, gr, policy.MethodRead)}
	}
	switch {
	case dc.Discoverable:
		x.Rule, x.Reason = RuleDiscoverable, "are_records_discoverable is true: every record is visible to every caller"
	case dc.CanDiscoverAll:
		x.Rule = RuleCanDiscoverAll
		x.Reason = fmt.Sprintf("the caller holds read on %s (%s), which covers the global discovery path %s: it discovers every record",
			x.DiscoverAllVia.Grant.Resource, x.DiscoverAllVia.Grant.Source, x.DiscoverAllVia.GlobalPath)
	case len(f.Paths) == 0:
		x.Rule, x.Reason = RuleEmptyAuthz, "the record has no authz path: with filtering on, only admins and callers who discover all see it"
	case len(uncoveredRead) == 0:
		x.Rule, x.Reason = RuleEveryPathCovered, "every authz path of the record is covered by a read grant of the caller"
	default:
		x.Rule = RuleNotCovered
		x.Reason = fmt.Sprintf("not covered by any read grant of the caller: %s (every path must be covered)", strings.Join(uncoveredRead, ", "))
	}
	ruleVisible := x.Rule == RuleDiscoverable || x.Rule == RuleCanDiscoverAll || x.Rule == RuleEveryPathCovered
	if ruleVisible != x.Visible {
		// The predicate and the prefix rows it reads cannot disagree; if
		// they ever do, say so rather than explain wrongly.
		return nil, fmt.Errorf("explain: %s: the visibility predicate answers %v but the coverage reads %s", f.DID, x.Visible, x.Rule)
	}

	x.DRSAccess = access(c, q.Subject, x.Visible, f.Paths, uncoveredStorage)
	x.Create = write(c, q.Subject, policy.MethodCreate, f.Paths, x.Paths, func(p PathGrants) *Grant { return p.Create })
	x.Update = write(c, q.Subject, policy.MethodUpdate, f.Paths, x.Paths, func(p PathGrants) *Grant { return p.Update })
	x.Delete = write(c, q.Subject, policy.MethodDelete, f.Paths, x.Paths, func(p PathGrants) *Grant { return p.Delete })
	x.WouldChange = wouldChange(x, q.Settings, f.Visible[1], uncoveredRead, uncoveredStorage)
	return x, nil
}

func sameSettings(a, b discovery.Settings) bool {
	return a.AreRecordsDiscoverable == b.AreRecordsDiscoverable && slices.Equal(a.GlobalDiscoveryAuthz, b.GlobalDiscoveryAuthz)
}

// access is the DRS access verdict (SPEC §4, api.canReadStorage): the
// record must be visible; empty authz needs an admin; otherwise
// read-storage on every path — for anonymous callers too, through the
// anonymous grants (open data).
func access(c *caller, subj Subject, visible bool, paths, uncovered []string) Verdict {
	switch {
	case !visible:
		return Verdict{false, "the record is not visible to the caller (access resolves the record like any read first)"}
	case len(paths) == 0:
		if c.isAdmin() {
			return Verdict{true, "empty authz: the caller is an admin (admin on " + policy.AdminResource + ")"}
		}
		return Verdict{false, "empty authz: only an admin may access it"}
	case len(uncovered) > 0:
		return Verdict{false, "no read-storage grant covers " + strings.Join(uncovered, ", ") + " (read-storage is needed on every path)"}
	}
	return Verdict{true, "read-storage covers every authz path"}
}

// write is a write verdict (SPEC §3) on the record as it is: anonymous
// callers cannot write; empty authz needs an admin; otherwise method on
// every path (an update that changes authz also needs update on the new
// paths).
func write(c *caller, subj Subject, method string, paths []string, pgs []PathGrants, of func(PathGrants) *Grant) Verdict {
	switch {
	case subj.Anonymous:
		return Verdict{false, "anonymous callers cannot write (401)"}
	case len(paths) == 0:
		if c.isAdmin() {
			return Verdict{true, "empty authz: the caller is an admin"}
		}
		return Verdict{false, "empty authz: only an admin may " + method + " it"}
	}
	var missing []string
	for _, pg := range pgs {
		if of(pg) == nil {
			missing = append(missing, pg.Path)
		}
	}
	if len(missing) > 0 {
		return Verdict{false, "no " + method + " grant covers " + strings.Join(missing, ", ")}
	}
	return Verdict{true, method + " covers every authz path"}
}

// wouldChange lists what would change the visibility (and DRS access).
func wouldChange(x *Explanation, st discovery.Settings, visibleFiltering bool, uncoveredRead, uncoveredStorage []string) []string {
	out := []string{}
	readOn := func(paths []string) string {
		if len(paths) == 1 {
			return "a grant of read on " + paths[0]
		}
		return "grants of read on " + strings.Join(paths, " and ")
	}
	globals := "a global discovery path"
	if len(st.GlobalDiscoveryAuthz) > 0 {
		globals = "a global discovery path (" + strings.Join(st.GlobalDiscoveryAuthz, ", ") + ")"
	}
	switch x.Rule {
	case RuleDiscoverable:
		if visibleFiltering {
			out = append(out, "it stays visible with are_records_discoverable=false")
		} else {
			out = append(out, "are_records_discoverable=false would hide it from this caller")
		}
	case RuleCanDiscoverAll:
		if len(x.Paths) > 0 && len(uncoveredRead) == 0 {
			out = append(out, "without read on a global discovery path it would stay visible: every authz path is covered")
		} else {
			out = append(out, fmt.Sprintf("losing read on %s, or removing %s from global_discovery_authz, would hide it",
				x.DiscoverAllVia.Grant.Resource, x.DiscoverAllVia.GlobalPath))
		}
	case RuleEveryPathCovered:
		seen := map[string]bool{}
		for _, p := range x.Paths {
			if r := p.Read; r != nil && !seen[r.Resource] {
				seen[r.Resource] = true
				out = append(out, fmt.Sprintf("losing read on %s (%s) would hide it", r.Resource, r.Source))
			}
		}
	case RuleEmptyAuthz:
		out = append(out, "read on "+globals+" would make it visible", "are_records_discoverable=true would make it visible")
	case RuleNotCovered:
		out = append(out, readOn(uncoveredRead)+" would make it visible", "read on "+globals+" would make it visible",
			"are_records_discoverable=true would make it visible")
	}
	if x.Visible && !x.DRSAccess.Allowed && len(x.Paths) > 0 && len(uncoveredStorage) > 0 {
		verb := "a grant"
		if len(uncoveredStorage) > 1 {
			verb = "grants"
		}
		out = append(out, verb+" of read-storage on "+strings.Join(uncoveredStorage, " and ")+" would allow DRS access")
	}
	return out
}
