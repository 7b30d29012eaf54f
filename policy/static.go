package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/datacommons/indexd/discovery"
)

// Static is a Service backed by a policy file, for deployments without
// Arborist. The file (YAML, or JSON by extension) looks like:
//
//	anonymous:            # grants for everyone, including logged-in users
//	  /programs/open: [read]
//	logged_in:            # optional: grants for every verified user
//	  /programs/public: [read]
//	users:
//	  alice:
//	    /programs/p1: [read, read-storage, create, update, delete]
//	  admin:
//	    /services/indexd/admin: [admin]
//	    /: ["*"]
//
// All methods are for service indexd; "*" grants every method. A grant
// covers its path and every path below it. User names are matched
// case-insensitively.
//
// Static trusts Caller.Username: the identity layer must have verified the
// token (e.g. one minted by identity.Mint). A caller with a Token but no
// Username gets ErrBadToken. Like Arborist, a basic-auth admin without a
// Username is anonymous here; basic-auth admins are decided above the
// Service. Static is immutable and safe for concurrent use.
type Static struct {
	anonymous Mapping
	loggedIn  Mapping
	users     map[string]Mapping
}

var (
	_ Service    = (*Static)(nil)
	_ UserMapper = (*Static)(nil)
)

// staticFile is the on-disk format.
type staticFile struct {
	Anonymous map[string][]string            `yaml:"anonymous"`
	LoggedIn  map[string][]string            `yaml:"logged_in"`
	Users     map[string]map[string][]string `yaml:"users"`
}

// knownMethods are the methods a policy file may grant.
var knownMethods = map[string]bool{
	MethodRead: true, MethodCreate: true, MethodUpdate: true, MethodDelete: true,
	MethodAdmin: true, MethodReadStorage: true, "*": true,
}

// LoadStatic reads and validates a policy file. ".yaml" and ".yml" files are
// read as YAML, ".json" files as JSON; any other extension is an error.
// Unknown keys, paths not starting with "/", empty path segments, unknown
// methods and duplicate user names (case-insensitively) are rejected with
// an error naming the offending entry.
func LoadStatic(path string) (*Static, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml", ".json":
	default:
		return nil, fmt.Errorf("policy file %s: unsupported extension (want .yaml, .yml or .json)", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy file: %w", err)
	}
	// YAML's parser accepts JSON's mistakes (a trailing comma): a .json
	// file must be JSON.
	if strings.EqualFold(filepath.Ext(path), ".json") && !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		return nil, fmt.Errorf("policy file %s: not valid JSON: %v", path, err)
	}
	s, err := ParseStatic(data)
	if err != nil {
		return nil, fmt.Errorf("policy file %s: %w", path, err)
	}
	return s, nil
}

// ParseStatic parses and validates a policy document (YAML or JSON) in the
// format described on Static.
func ParseStatic(data []byte) (*Static, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty policy document")
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f staticFile
	if err := dec.Decode(&f); err != nil {
		msg := strings.Join(strings.Fields(err.Error()), " ")
		msg = strings.ReplaceAll(msg, "not found in type policy.staticFile",
			"is not a known key (want anonymous, logged_in, users)")
		return nil, fmt.Errorf("parse: %s", msg)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse: more than one document")
	}

	s := &Static{users: make(map[string]Mapping, len(f.Users))}
	var err error
	if s.anonymous, err = buildGrants("anonymous", f.Anonymous); err != nil {
		return nil, err
	}
	if s.loggedIn, err = buildGrants("logged_in", f.LoggedIn); err != nil {
		return nil, err
	}
	for name, grants := range f.Users {
		key := strings.ToLower(strings.TrimSpace(name))
		if key == "" {
			return nil, errors.New("users: empty user name")
		}
		if _, dup := s.users[key]; dup {
			return nil, fmt.Errorf("users: %q is listed twice (user names are case-insensitive)", name)
		}
		m, err := buildGrants("users."+name, grants)
		if err != nil {
			return nil, err
		}
		s.users[key] = m
	}
	return s, nil
}

func buildGrants(section string, in map[string][]string) (Mapping, error) {
	m := make(Mapping, len(in))
	for path, methods := range in {
		p, ok := cleanPath(path)
		if !ok {
			return nil, fmt.Errorf("%s: path %q: must start with \"/\" and have no empty segment", section, path)
		}
		if len(methods) == 0 {
			return nil, fmt.Errorf("%s: path %q: no methods", section, path)
		}
		for _, meth := range methods {
			if !knownMethods[meth] {
				return nil, fmt.Errorf("%s: path %q: unknown method %q (want one of read, read-storage, create, update, delete, admin, *)", section, path, meth)
			}
			m[p] = addAction(m[p], Action{Service: ServiceName, Method: meth})
		}
	}
	return m, nil
}

func addAction(list []Action, a Action) []Action {
	for _, x := range list {
		if x == a {
			return list
		}
	}
	return append(list, a)
}

// Mapping returns anonymous grants for a caller without Username, and
// anonymous ∪ logged_in ∪ users[lowercase(Username)] for one with a
// Username (an unknown user gets anonymous ∪ logged_in, like Arborist). A
// caller with a Token but no Username gets ErrBadToken. The result is a
// fresh map the caller may modify.
func (s *Static) Mapping(_ context.Context, c Caller) (Mapping, error) {
	if c.TokenID != "" {
		return nil, errTokenCaller
	}
	return s.mapping(c)
}

func (s *Static) mapping(c Caller) (Mapping, error) {
	if c.Username == "" {
		if c.Token != "" {
			return nil, fmt.Errorf("policy: static: token without a verified user name: %w", ErrBadToken)
		}
		return merge(s.anonymous), nil
	}
	return merge(s.anonymous, s.loggedIn, s.users[strings.ToLower(c.Username)]), nil
}

// UserMapping returns what a caller verified as username gets from Mapping:
// anonymous ∪ logged_in ∪ users[lowercase(username)] (an unknown user gets
// anonymous ∪ logged_in). An empty or blank username names nobody:
// ErrBadToken. The result is a fresh map the caller may modify.
func (s *Static) UserMapping(_ context.Context, username string) (Mapping, error) {
	if strings.TrimSpace(username) == "" {
		return nil, fmt.Errorf("policy: static: user mapping: empty user name: %w", ErrBadToken)
	}
	return s.mapping(Caller{Username: username})
}

func merge(ms ...Mapping) Mapping {
	out := make(Mapping)
	for _, m := range ms {
		for p, actions := range m {
			for _, a := range actions {
				out[p] = addAction(out[p], a)
			}
		}
	}
	for p := range out {
		sort.Slice(out[p], func(i, j int) bool { return out[p][i].Method < out[p][j].Method })
	}
	return out
}

// Authorize reports whether every request's resource is covered
// (discovery.Covers) by a path whose grants allow the request's method (or
// "*"). Same caller rules as Mapping. Like Arborist.Authorize it fails closed
// on an empty reqs, an empty method, or a malformed resource path.
func (s *Static) Authorize(_ context.Context, c Caller, reqs []Request) (bool, error) {
	if c.TokenID != "" {
		return false, errTokenCaller
	}
	m, err := s.mapping(c)
	if err != nil {
		return false, err
	}
	norm, ok := normalizeRequests(reqs)
	if !ok {
		return false, nil
	}
	for _, r := range norm {
		if !m.grants(r.Resource, r.Method) {
			return false, nil
		}
	}
	return true, nil
}

// grants reports whether m grants method on resource or on a path above it.
func (m Mapping) grants(resource, method string) bool {
	for path, actions := range m {
		if !discovery.Covers(path, resource) {
			continue
		}
		for _, a := range actions {
			if a.Allows(method) {
				return true
			}
		}
	}
	return false
}
