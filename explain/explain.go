// Package explain answers two admin questions about discovery: who can see
// a record and why (Explain), and what a change of the discovery settings
// would hide or reveal, and from whom (Preview).
//
// Neither restates the visibility rule. A caller's discovery context is
// built by discovery.FromReads from the caller's mapping, exactly as the
// HTTP layer builds it for a read; whether a record is visible is the
// answer of the repository's visibility predicate (the SQL every read
// goes through) for that context; which grant covers which path is read
// from the prefix rows the predicate resolves grants against; and preview
// counts are the predicate's visible authz sets, counted in SQL. An
// explanation can therefore not disagree with a read: the integration
// tests hold the two equal over random worlds.
//
// A named user's mapping comes from the policy service by user name
// (policy.UserMapper: Arborist's service-to-service mapping), the
// anonymous caller's from the no-token mapping. Where a grant came from is
// derived by comparing three mappings: the anonymous one, the one the
// policy service gives a user it does not know (the anonymous and
// logged-in groups' grants, asked for under LoggedInProbe), and the
// user's own (which includes both): a grant the anonymous mapping holds is
// the anonymous group's, else one the unknown user holds is the logged-in
// group's, else it is the user's own policy.
package explain

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/policy"
	"github.com/datacommons/indexd/repository"
)

// LoggedInProbe is the user name under which the policy service is asked
// for the mapping of "any logged-in caller": a name no user has, so the
// answer is the anonymous and logged-in groups' grants (what Arborist and
// the policy file give a user they do not know). Were a user of this name
// registered, only the attribution of grants to groups (and the preview's
// logged-in row) would be wrong, never a verdict about a named user.
const LoggedInProbe = "indexd-explain:any-logged-in-user"

// MaxUsers bounds the users one preview counts for.
const MaxUsers = 100

// SampleSize is how many dids a preview lists per bucket.
const SampleSize = 20

// Sources of a grant.
const (
	SourceUser      = "user"
	SourceAnonymous = "anonymous"
	SourceLoggedIn  = "logged-in"
)

// Rules by which a record is visible, or why it is not.
const (
	RuleDiscoverable     = "discoverable"
	RuleCanDiscoverAll   = "can_discover_all"
	RuleEveryPathCovered = "every_path_covered"
	RuleEmptyAuthz       = "empty_authz"
	RuleNotCovered       = "not_covered"
)

// Store is what explanations need from the repository.
type Store interface {
	ExplainRecord(ctx context.Context, candidates []string, dcs []discovery.Context, grants []string) (*repository.RecordFacts, error)
	Preview(ctx context.Context, buckets []repository.Bucket, sample int) (repository.PreviewResult, error)
	AuditQuery(ctx context.Context, by, kind string, question any) error
	// APITokenByID finds an API token, to explain for its caller.
	APITokenByID(ctx context.Context, id string) (repository.APIToken, bool, error)
}

// Explainer answers explanations and previews. Policy must also be a
// policy.UserMapper to explain a named user (else: policy.ErrUnavailable).
type Explainer struct {
	Store  Store
	Policy policy.Service
	// Candidates lists the spellings of an id (the HTTP layer's prefix
	// rule: the id, then its twin); nil: the id itself.
	Candidates func(id string) []string
}

// Subject is the caller an explanation is about: a user by name, or the
// anonymous caller.
type Subject struct {
	User      string `json:"user,omitempty"`
	Anonymous bool   `json:"anonymous,omitempty"`
	// TokenID names an API token: the subject is its caller (its user's
	// live grants ∩ its scope, as every request with it is decided).
	TokenID string `json:"token_id,omitempty"`
}

// ValidateUser checks a user name given to explain or preview.
func ValidateUser(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return indexd.Invalidf("user name must not be empty")
	case len(name) > 256:
		return indexd.Invalidf("user name is longer than 256 bytes")
	case !utf8.ValidString(name):
		return indexd.Invalidf("user name is not valid UTF-8")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return indexd.Invalidf("user name must not hold control characters")
	}
	return nil
}

// Validate checks the subject names exactly one caller.
func (s Subject) Validate() error {
	named := 0
	for _, b := range []bool{s.Anonymous, s.User != "", s.TokenID != ""} {
		if b {
			named++
		}
	}
	if named != 1 {
		return indexd.Invalidf("name exactly one caller: user=NAME, anonymous=true or token_id=ID")
	}
	if s.User != "" {
		return ValidateUser(s.User)
	}
	if len(s.TokenID) > 64 || !utf8.ValidString(s.TokenID) {
		return indexd.Invalidf("token_id is not a token id")
	}
	return nil
}

// caller is one caller's mapping and what is derived from it.
type caller struct {
	mapping policy.Mapping
	with    map[string][]string // method → ResourcesWith(method)
}

func newCaller(m policy.Mapping) *caller {
	return &caller{mapping: m, with: map[string][]string{}}
}

// resources is m.ResourcesWith(method), computed once.
func (c *caller) resources(method string) []string {
	r, ok := c.with[method]
	if !ok {
		r = c.mapping.ResourcesWith(method)
		c.with[method] = r
	}
	return r
}

// reads are the resources the discovery context is built from (as
// policy.ReadResources).
func (c *caller) reads() []string { return c.resources(policy.MethodRead) }

func (e *Explainer) anonymous(ctx context.Context) (*caller, error) {
	m, err := e.Policy.Mapping(ctx, policy.Caller{})
	if err != nil {
		return nil, fmt.Errorf("explain: anonymous mapping: %w", err)
	}
	return newCaller(m), nil
}

func (e *Explainer) user(ctx context.Context, name string) (*caller, error) {
	um, ok := e.Policy.(policy.UserMapper)
	if !ok {
		return nil, fmt.Errorf("explain: the policy service cannot map a user by name: %w", policy.ErrUnavailable)
	}
	m, err := um.UserMapping(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("explain: mapping of a user by name: %w", err)
	}
	return newCaller(m), nil
}

// token is the caller of API token id: the mapping every request with
// it is decided from (policy: the user's live mapping ∩ the token's
// scope). A token that does not exist is indexd.ErrNotFound; a revoked
// or expired one is explained as it would be decided if it were live,
// and says so in the answer's subject.
func (e *Explainer) token(ctx context.Context, id string) (*caller, error) {
	t, found, err := e.Store.APITokenByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("explain: token: %w", err)
	}
	if !found {
		return nil, indexd.Errorf(indexd.ErrNotFound, "no API token %q", id)
	}
	scope := t.Scope
	m, err := e.Policy.Mapping(ctx, policy.Caller{Username: t.User, TokenID: t.ID, Scope: &scope})
	if err != nil {
		return nil, fmt.Errorf("explain: mapping of an API token: %w", err)
	}
	return newCaller(m), nil
}

// subject is the caller the question names.
func (e *Explainer) subject(ctx context.Context, g groups, subj Subject) (*caller, error) {
	switch {
	case subj.Anonymous:
		return g.anonymous, nil
	case subj.TokenID != "":
		return e.token(ctx, subj.TokenID)
	}
	return e.user(ctx, subj.User)
}

// groups are the anonymous and the logged-in callers, for attributing
// grants to where they came from.
type groups struct{ anonymous, loggedIn *caller }

// groups asks for the anonymous mapping and, when loggedIn, the logged-in
// one (an anonymous subject's grants are all the anonymous group's).
func (e *Explainer) groups(ctx context.Context, loggedIn bool) (groups, error) {
	anon, err := e.anonymous(ctx)
	if err != nil {
		return groups{}, err
	}
	if !loggedIn {
		return groups{anonymous: anon, loggedIn: anon}, nil
	}
	in, err := e.user(ctx, LoggedInProbe)
	if err != nil {
		return groups{}, err
	}
	return groups{anonymous: anon, loggedIn: in}, nil
}

// Grant is the grant that covers a path for one method, and where it came
// from.
type Grant struct {
	Resource string `json:"resource"`
	Service  string `json:"service"`
	Method   string `json:"method"`
	Source   string `json:"source"`
}

// grant describes the grant on resource (one of c.resources(method)):
// the action that allows method, and its source.
func (g groups) grant(c *caller, subj Subject, resource, method string) *Grant {
	src, from := SourceUser, c
	switch {
	case subj.Anonymous:
		src = SourceAnonymous
	case slices.Contains(g.anonymous.resources(method), resource):
		src, from = SourceAnonymous, g.anonymous
	case slices.Contains(g.loggedIn.resources(method), resource):
		src, from = SourceLoggedIn, g.loggedIn
	}
	a, ok := actionOn(from.mapping, resource, method)
	if !ok {
		a, _ = actionOn(c.mapping, resource, method)
	}
	return &Grant{Resource: resource, Service: a.Service, Method: a.Method, Source: src}
}

// actionOn returns the action of m at resource (keys compared normalised)
// that allows method, preferring the most specific spelling.
func actionOn(m policy.Mapping, resource, method string) (policy.Action, bool) {
	var found []policy.Action
	for key, actions := range m {
		if discovery.NormalizePath(key) != resource {
			continue
		}
		for _, a := range actions {
			if a.Allows(method) {
				found = append(found, a)
			}
		}
	}
	if len(found) == 0 {
		return policy.Action{}, false
	}
	rank := func(a policy.Action) int {
		r := 0
		if a.Service == "*" {
			r += 2
		}
		if a.Method == "*" {
			r++
		}
		return r
	}
	sort.Slice(found, func(i, j int) bool {
		if ri, rj := rank(found[i]), rank(found[j]); ri != rj {
			return ri < rj
		}
		return found[i].Service+"\x00"+found[i].Method < found[j].Service+"\x00"+found[j].Method
	})
	return found[0], true
}

// isAdmin reports whether the mapping grants admin on the admin resource.
func (c *caller) isAdmin() bool {
	for _, g := range c.resources(policy.MethodAdmin) {
		if discovery.Covers(g, policy.AdminResource) {
			return true
		}
	}
	return false
}

// covering returns the grant of list among covers (the grants the
// repository found covering a path), or "".
func covering(covers, list []string) string {
	for _, g := range covers {
		if slices.Contains(list, g) {
			return g
		}
	}
	return ""
}

// audit records the question before it is answered: an audit row that
// cannot be written fails the question.
func (e *Explainer) audit(ctx context.Context, by, kind string, question any) error {
	return e.Store.AuditQuery(ctx, by, kind, question)
}
