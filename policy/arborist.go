package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// DefaultTimeout is the per-call timeout of an Arborist client built with a
// zero timeout.
const DefaultTimeout = 5 * time.Second

// Response size limits. A mapping lists every registered descendant of every
// granted path, so it may be large; a decision is tiny.
const (
	maxMappingBody  = 32 << 20
	maxDecisionBody = 1 << 20
	maxErrorBody    = 4 << 10
)

// Arborist is a Service backed by Arborist's HTTP API (GET /auth/mapping,
// POST /auth/request). It is safe for concurrent use and reuses keep-alive
// connections.
//
// Basic-auth admins (Caller.BasicAdmin) are decided above the Service: the
// HTTP layer grants them admin without asking the policy service. Arborist
// sees only the caller's Token, so a caller without one — including a
// BasicAdmin — is judged as anonymous.
type Arborist struct {
	base    string
	timeout time.Duration
	client  *http.Client
}

var (
	_ Service    = (*Arborist)(nil)
	_ UserMapper = (*Arborist)(nil)
)

// NewArborist returns a client for the Arborist at baseURL (e.g.
// "http://arborist-service"). timeout bounds each call (DefaultTimeout when
// zero or negative). client is used for every call; when nil a dedicated
// client with a keep-alive pool sized for a busy service is used. The
// client's own Timeout, if any, also applies.
func NewArborist(baseURL string, timeout time.Duration, client *http.Client) *Arborist {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if client == nil {
		client = &http.Client{Transport: newTransport()}
	}
	return &Arborist{
		base:    strings.TrimRight(baseURL, "/"),
		timeout: timeout,
		client:  client,
	}
}

func newTransport() *http.Transport {
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		t := dt.Clone()
		t.MaxIdleConns = 256
		t.MaxIdleConnsPerHost = 128
		t.IdleConnTimeout = 90 * time.Second
		return t
	}
	return &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     90 * time.Second,
	}
}

// Mapping asks Arborist for the caller's mapping (GET /auth/mapping). The
// token, if any, is sent as "Authorization: Bearer <token>"; an anonymous
// caller sends no Authorization header and gets the anonymous mapping.
//
// 200 → the decoded mapping; 400 or 401 → ErrBadToken (ErrUnavailable for
// an anonymous caller, who has no credential to reject); anything else
// (other status, network error, timeout, a body that is not an object of
// lists of {service, method} objects) → ErrUnavailable, wrapped.
//
// The mapping's keys are the paths as Arborist lists them; decide coverage
// by whole-segment prefix (discovery.Covers), never by exact key.
func (a *Arborist) Mapping(ctx context.Context, c Caller) (Mapping, error) {
	if c.TokenID != "" {
		return nil, errTokenCaller
	}
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/auth/mapping", nil)
	if err != nil {
		return nil, fmt.Errorf("policy: arborist mapping: build request: %w: %w", ErrUnavailable, err)
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		if !headerSafe(c.Token) {
			return nil, fmt.Errorf("policy: arborist mapping: token has control characters: %w", ErrBadToken)
		}
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("policy: arborist mapping: %w: %w", ErrUnavailable, err)
	}
	defer drainClose(resp.Body)

	switch {
	case resp.StatusCode == http.StatusOK:
	case (resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnauthorized) && c.Token != "":
		return nil, fmt.Errorf("policy: arborist mapping: status %d: %s: %w",
			resp.StatusCode, errorSnippet(resp.Body), ErrBadToken)
	default: // including 400/401 without a token: nothing to reject
		return nil, fmt.Errorf("policy: arborist mapping: unexpected status %d: %s: %w",
			resp.StatusCode, errorSnippet(resp.Body), ErrUnavailable)
	}

	m, err := decodeMapping(io.LimitReader(resp.Body, maxMappingBody+1))
	if err != nil {
		return nil, fmt.Errorf("policy: arborist mapping: %w: %w", ErrUnavailable, err)
	}
	return m, nil
}

// UserMapping asks Arborist for a user's mapping by user name, without the
// user's token: POST /auth/mapping with the body {"username": name} and no
// Authorization header (Arborist reads the body only when no token is
// sent). Arborist answers what the user has logged in — their policies plus
// the anonymous and logged-in groups' — and, for a user it does not know,
// the anonymous and logged-in groups' alone (200, not an error). It matches
// the name case-insensitively.
//
// An empty (or blank) username → ErrBadToken without a call. 200 → the
// decoded mapping (decoded as strictly as Mapping's); anything else (any
// other status — this call carries no credential for Arborist to reject —,
// network error, timeout, a body that is not a mapping) → ErrUnavailable,
// wrapped.
//
// This is Arborist's service-to-service API: anyone who can reach it learns
// anyone's grants, so it is meant for the internal network only.
func (a *Arborist) UserMapping(ctx context.Context, username string) (Mapping, error) {
	if strings.TrimSpace(username) == "" {
		return nil, fmt.Errorf("policy: arborist user mapping: empty user name: %w", ErrBadToken)
	}
	buf, err := json.Marshal(struct {
		Username string `json:"username"`
	}{username})
	if err != nil {
		return nil, fmt.Errorf("policy: arborist user mapping: encode: %w: %w", ErrUnavailable, err)
	}

	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+"/auth/mapping", bytes.NewReader(buf))
	if err != nil {
		return nil, fmt.Errorf("policy: arborist user mapping: build request: %w: %w", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("policy: arborist user mapping: %w: %w", ErrUnavailable, err)
	}
	defer drainClose(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("policy: arborist user mapping: unexpected status %d: %s: %w",
			resp.StatusCode, errorSnippet(resp.Body), ErrUnavailable)
	}
	m, err := decodeMapping(io.LimitReader(resp.Body, maxMappingBody+1))
	if err != nil {
		return nil, fmt.Errorf("policy: arborist user mapping: %w: %w", ErrUnavailable, err)
	}
	return m, nil
}

// decodeMapping decodes {"<path>": [{"service": s, "method": m}, ...]}
// strictly: the top level must be an object, every value a list (not null),
// every element an object with string "service" and "method" keys, spelled
// exactly so (encoding/json would also take "SERVICE" or "Method", and let
// a later spelling override an earlier one: a mapping that needs that is
// nonsense), and nothing may follow the object. Other keys in an action are
// ignored.
func decodeMapping(r io.Reader) (Mapping, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(body) > maxMappingBody {
		return nil, errors.New("mapping body too large")
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errors.New("mapping is not a JSON object")
	}
	var raw map[string]*[]map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("decode mapping: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decode mapping: trailing data after object")
	}
	m := make(Mapping, len(raw))
	for path, list := range raw {
		if list == nil {
			return nil, fmt.Errorf("decode mapping: %q: actions are null, want a list", path)
		}
		actions := make([]Action, 0, len(*list))
		for i, obj := range *list {
			svc, ok1 := jsonString(obj["service"])
			method, ok2 := jsonString(obj["method"])
			if obj == nil || !ok1 || !ok2 {
				return nil, fmt.Errorf("decode mapping: %q[%d]: want an object with string service and method", path, i)
			}
			actions = append(actions, Action{Service: svc, Method: method})
		}
		m[path] = actions
	}
	return m, nil
}

// jsonString decodes raw when it is a JSON string (not null, not absent).
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

type authRequestBody struct {
	User     *authUser     `json:"user,omitempty"`
	Requests []authRequest `json:"requests"`
}

type authUser struct {
	Token string `json:"token"`
}

type authRequest struct {
	Resource string     `json:"resource"`
	Action   authAction `json:"action"`
}

type authAction struct {
	Service string `json:"service"`
	Method  string `json:"method"`
}

// Authorize asks Arborist whether every request is granted (POST
// /auth/request, service ServiceName). The token travels in the body
// (user.token); an anonymous caller sends no "user" and is judged as
// anonymous.
//
// Fails closed without a call: an empty reqs, an empty method, or a resource
// that is not a well-formed path (must start with "/", no empty segment)
// answers false, nil. Trailing slashes are trimmed first (they do not change
// what a path covers).
//
// 200 {"auth": b} → b; 401 → ErrBadToken (ErrUnavailable for an anonymous
// caller); anything else, including a 200
// without a boolean "auth" → ErrUnavailable, wrapped.
func (a *Arborist) Authorize(ctx context.Context, c Caller, reqs []Request) (bool, error) {
	if c.TokenID != "" {
		return false, errTokenCaller
	}
	norm, ok := normalizeRequests(reqs)
	if !ok {
		return false, nil
	}
	body := authRequestBody{Requests: make([]authRequest, 0, len(norm))}
	if c.Token != "" {
		body.User = &authUser{Token: c.Token}
	}
	for _, r := range norm {
		body.Requests = append(body.Requests, authRequest{
			Resource: r.Resource,
			Action:   authAction{Service: ServiceName, Method: r.Method},
		})
	}
	buf, err := json.Marshal(body)
	if err != nil {
		return false, fmt.Errorf("policy: arborist auth request: encode: %w: %w", ErrUnavailable, err)
	}

	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+"/auth/request", bytes.NewReader(buf))
	if err != nil {
		return false, fmt.Errorf("policy: arborist auth request: build request: %w: %w", ErrUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("policy: arborist auth request: %w: %w", ErrUnavailable, err)
	}
	defer drainClose(resp.Body)

	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusUnauthorized && c.Token != "":
		return false, fmt.Errorf("policy: arborist auth request: status 401: %s: %w",
			errorSnippet(resp.Body), ErrBadToken)
	default:
		return false, fmt.Errorf("policy: arborist auth request: unexpected status %d: %s: %w",
			resp.StatusCode, errorSnippet(resp.Body), ErrUnavailable)
	}

	granted, err := decodeDecision(io.LimitReader(resp.Body, maxDecisionBody+1))
	if err != nil {
		return false, fmt.Errorf("policy: arborist auth request: %w: %w", ErrUnavailable, err)
	}
	return granted, nil
}

// decodeDecision decodes {"auth": b} strictly: one JSON object holding a
// boolean "auth" key spelled exactly so, nothing after it. Anything else is
// nonsense, and a decision read from nonsense would not fail closed
// ({"auth": true} <html> and {"auth": false, "AUTH": true} both granted
// when this was a plain json.Decoder into a struct).
func decodeDecision(r io.Reader) (bool, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return false, fmt.Errorf("read body: %w", err)
	}
	if len(body) > maxDecisionBody {
		return false, errors.New("decision body too large")
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return false, errors.New("decision is not a JSON object")
	}
	var out map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&out); err != nil {
		return false, fmt.Errorf("decode: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return false, errors.New("decode: trailing data after object")
	}
	switch string(out["auth"]) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errors.New("answer has no boolean \"auth\"")
}

// normalizeRequests trims trailing slashes from each resource and reports
// false when any request cannot be granted by construction: no requests, an
// empty method, or a resource that is not a well-formed path.
func normalizeRequests(reqs []Request) ([]Request, bool) {
	if len(reqs) == 0 {
		return nil, false
	}
	out := make([]Request, len(reqs))
	for i, r := range reqs {
		res, ok := cleanPath(r.Resource)
		if !ok || r.Method == "" {
			return nil, false
		}
		out[i] = Request{Resource: res, Method: r.Method}
	}
	return out, true
}

// cleanPath trims trailing slashes ("/" stays "/") and reports whether the
// result is a well-formed resource path: starts with "/", no empty segment.
func cleanPath(p string) (string, bool) {
	if !strings.HasPrefix(p, "/") {
		return "", false
	}
	t := strings.TrimRight(p, "/")
	if t == "" {
		return "/", true
	}
	if strings.Contains(t, "//") {
		return "", false
	}
	return t, true
}

// headerSafe reports whether s can be sent in a header value.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// errorSnippet reads a short, single-line excerpt of an error body for
// error messages.
func errorSnippet(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, maxErrorBody))
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}

// drainClose reads what is left of a body (bounded) so the connection can
// be reused, then closes it.
func drainClose(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(rc, 64<<10))
	_ = rc.Close()
}
