package explain

import (
	"context"
	"strings"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/repository"
)

// Callers in a preview.
const (
	CallerAnonymous = "anonymous"
	CallerLoggedIn  = "logged-in"
	CallerUser      = "user"
)

// Count is a bucket of records: how many, and the first SampleSize dids
// in did order.
type Count struct {
	Count  int64    `json:"count"`
	Sample []string `json:"sample"`
}

// CallerPreview is what one caller sees before and after the change, what
// it loses (hidden: visible before, not after) and gains (revealed).
type CallerPreview struct {
	Caller   string `json:"caller"`
	User     string `json:"user,omitempty"`
	Before   Count  `json:"before"`
	After    Count  `json:"after"`
	Hidden   Count  `json:"hidden"`
	Revealed Count  `json:"revealed"`
}

// BeforeAfter is a bucket under the settings before and after the change.
type BeforeAfter struct {
	Before Count `json:"before"`
	After  Count `json:"after"`
}

// Preview answers PreviewChange.
type Preview struct {
	Before  discovery.Settings `json:"before"`
	After   discovery.Settings `json:"after"`
	Changed bool               `json:"changed"`
	Total   int64              `json:"total_records"`
	// Callers: the anonymous caller, any logged-in caller (the anonymous
	// and logged-in groups' grants), then each user asked about.
	Callers []CallerPreview `json:"callers"`
	// AdminsOnly are the records none of Callers sees: only admins (and
	// callers holding read on a global discovery path) do. The policy
	// service cannot list every user's grants, so "none" means none of the
	// callers of this preview: name the users that matter.
	AdminsOnly BeforeAfter `json:"admins_only"`
	// EmptyAuthz are the records with no authz path (whatever the
	// settings): with filtering on only admins and callers who discover
	// all see them.
	EmptyAuthz Count `json:"empty_authz"`
}

// CleanUsers validates and de-duplicates (case-insensitively, as the
// policy service matches names) a preview's users.
func CleanUsers(users []string) ([]string, error) {
	if len(users) > MaxUsers {
		return nil, indexd.Invalidf("users: at most %d names", MaxUsers)
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(users))
	for _, u := range users {
		if err := ValidateUser(u); err != nil {
			return nil, indexd.Invalidf("users: %s", indexd.Message(err))
		}
		if k := strings.ToLower(u); !seen[k] {
			seen[k] = true
			out = append(out, u)
		}
	}
	return out, nil
}

// PreviewChange counts what each caller sees under before and after, and
// the records nobody but admins sees. by is who asks (audited first).
func (e *Explainer) PreviewChange(ctx context.Context, by string, before, after discovery.Settings, users []string) (*Preview, error) {
	users, err := CleanUsers(users)
	if err != nil {
		return nil, err
	}
	if err := e.audit(ctx, by, repository.QueryPreview, map[string]any{
		"before": before, "after": after, "users": users,
	}); err != nil {
		return nil, err
	}
	anon, err := e.anonymous(ctx)
	if err != nil {
		return nil, err
	}
	loggedIn, err := e.user(ctx, LoggedInProbe)
	if err != nil {
		return nil, err
	}
	p := &Preview{Before: before, After: after, Changed: !sameSettings(before, after),
		Callers: []CallerPreview{{Caller: CallerAnonymous}, {Caller: CallerLoggedIn}}}
	callers := []*caller{anon, loggedIn}
	for _, u := range users {
		c, err := e.user(ctx, u)
		if err != nil {
			return nil, err
		}
		callers = append(callers, c)
		p.Callers = append(p.Callers, CallerPreview{Caller: CallerUser, User: u})
	}

	// Each caller's context before and after, built as for a read.
	var buckets []repository.Bucket
	var allBefore, allAfter []discovery.Context
	for _, c := range callers {
		b, a := discovery.FromReads(before, c.reads()), discovery.FromReads(after, c.reads())
		allBefore, allAfter = append(allBefore, b), append(allAfter, a)
		buckets = append(buckets,
			repository.Bucket{Within: []discovery.Context{b}},
			repository.Bucket{Within: []discovery.Context{a}},
			repository.Bucket{Within: []discovery.Context{b}, Outside: []discovery.Context{a}},
			repository.Bucket{Within: []discovery.Context{a}, Outside: []discovery.Context{b}},
		)
	}
	// A reader of "/" sees every record that has a path.
	everyPath := discovery.Context{AuthorizedResources: []string{"/"}}
	buckets = append(buckets,
		repository.Bucket{Outside: allBefore},
		repository.Bucket{Outside: allAfter},
		repository.Bucket{Outside: []discovery.Context{everyPath}},
	)
	res, err := e.Store.Preview(ctx, buckets, SampleSize)
	if err != nil {
		return nil, err
	}
	count := func(i int) Count {
		b := res.Buckets[i]
		if b.Sample == nil {
			b.Sample = []string{}
		}
		return Count{Count: b.Count, Sample: b.Sample}
	}
	for i := range callers {
		cp := &p.Callers[i]
		cp.Before, cp.After, cp.Hidden, cp.Revealed = count(4*i), count(4*i+1), count(4*i+2), count(4*i+3)
	}
	n := 4 * len(callers)
	p.Total = res.Total
	p.AdminsOnly = BeforeAfter{Before: count(n), After: count(n + 1)}
	p.EmptyAuthz = count(n + 2)
	return p, nil
}
