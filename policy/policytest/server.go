// Package policytest provides a real HTTP test double of Arborist, the
// policy service, for tests of packages that talk to it. It answers
// GET and POST /auth/mapping and POST /auth/request the way Arborist does
// on the wire
// (see ARBORIST.md): the same header and body handling, the same status
// codes and error bodies, and hierarchical grants (a grant on /a covers /a
// and everything below it, not /ab).
//
// Tokens and identity, as Arborist: a token is valid when it is correctly
// signed and unexpired; the identity is the JWT's context.user.name,
// matched case-insensitively; grants belong to user names, not to tokens.
// The double signs tokens with its own key (Token, SignToken); a test that
// hand-makes tokens registers them as valid with SetUser, saying which user
// they name. Anything else — a forged signature, an expired or unsigned
// token, garbage — is a bad token (400 on mapping, 401 on request). A valid
// token of a user the double has no grants for, or of no user at all (a
// client-credentials token), gets the anonymous and logged-in grants.
//
// A mapping lists every registered descendant (RegisterResources) of a
// granted path as its own key with the same actions, as Arborist lists
// registered resources; unregistered descendants are covered but not
// listed.
//
// POST /auth/mapping is Arborist's service-to-service form: without an
// Authorization header the body {"username": name} asks for that user's
// mapping (user, anonymous and logged-in grants; an unknown user gets the
// anonymous and logged-in ones), {"clientID": id} for a client's (the double
// knows no client grants: {}), exactly one of the two or 400; an empty body
// is anonymous. With a header the token decides, as for GET, except that a
// bad token is 401 with an error object.
//
// Faults (SetFault) let tests exercise a down, slow, failing or nonsensical
// policy service; HoldRequests holds decisions open; call counters let
// tests check caching.
package policytest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/datacommons/indexd/discovery"
)

// Service is the service name grants registered with SetUser, SetGrants,
// SetAnonymous and SetLoggedIn apply to.
const Service = "indexd"

// DefaultDelay is how long FaultSlow sleeps unless SetDelay says otherwise.
const DefaultDelay = 2 * time.Second

// Fault makes the double misbehave.
type Fault int

// Faults. Each applies to both endpoints.
const (
	// FaultNone: behave like Arborist.
	FaultNone Fault = iota
	// FaultDown: accept the connection, then close it without answering.
	FaultDown
	// FaultSlow: wait the delay (SetDelay, default DefaultDelay) before
	// answering normally; gives up early if the client goes away.
	FaultSlow
	// Fault500: answer 500 with an error body.
	Fault500
	// FaultGarbage: answer 200 with a body that is not JSON.
	FaultGarbage
	// FaultWrongShape: answer 200 with a JSON list instead of an object.
	FaultWrongShape
)

// String names the fault.
func (f Fault) String() string {
	switch f {
	case FaultNone:
		return "none"
	case FaultDown:
		return "down"
	case FaultSlow:
		return "slow"
	case Fault500:
		return "500"
	case FaultGarbage:
		return "garbage"
	case FaultWrongShape:
		return "wrong-shape"
	}
	return fmt.Sprintf("Fault(%d)", int(f))
}

// Action is one mapping entry, for grants on services other than indexd or
// with a "*" service (SetUserActions).
type Action struct {
	Service string `json:"service"`
	Method  string `json:"method"`
}

// Server is the Arborist double. Its methods are safe for concurrent use.
type Server struct {
	srv       *httptest.Server
	closeOnce sync.Once

	key []byte // HS256 key of the tokens the double signs

	mu        sync.RWMutex
	anonymous map[string][]Action
	loggedIn  map[string][]Action
	grants    map[string]map[string][]Action // lower-case user name → grants
	tokens    map[string]string              // registered token → user name ("" for a client)
	rejected  map[string]bool                // tokens made bad by RemoveUser
	resources []string                       // registered resource paths
	fault     Fault
	delay     time.Duration

	lastAuthz        string
	lastAuthzPresent bool
	lastBody         []byte

	lastUserBody []byte

	mappingCalls     atomic.Int64
	userMappingCalls atomic.Int64
	requestCalls     atomic.Int64

	hold chan struct{} // while not nil, /auth/request waits for it to close
}

// New starts a double on a loopback port; it is closed when tb's test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		tb.Fatalf("policytest: signing key: %v", err)
	}
	s := &Server{
		key:       key,
		anonymous: map[string][]Action{},
		loggedIn:  map[string][]Action{},
		grants:    map[string]map[string][]Action{},
		tokens:    map[string]string{},
		rejected:  map[string]bool{},
		delay:     DefaultDelay,
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	tb.Cleanup(s.Close)
	return s
}

// URL is the double's base URL (no trailing slash).
func (s *Server) URL() string { return s.srv.URL }

// Close shuts the double down. New registers it with tb.Cleanup.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
}

// SetUser registers token as a valid token (as if correctly signed) of the
// user username, and sets that user's grants (path → methods on service
// indexd), replacing the user's previous grants; every token of the user
// (any case of the name) has them. An empty username means the user the
// token's context.user.name claim names, if it is a JWT that has one;
// otherwise the token is a client's, which Arborist gives no grants of its
// own (grants must then be empty). Grants are in addition to the anonymous
// and logged-in groups'. A token made bad by RemoveUser is valid again.
func (s *Server) SetUser(token, username string, grants map[string][]string) {
	s.SetUserActions(token, username, toActions(grants))
}

// SetUserActions is SetUser with explicit {service, method} actions.
func (s *Server) SetUserActions(token, username string, grants map[string][]Action) {
	if username == "" {
		username, _ = userOf(token)
	}
	if username == "" && len(grants) > 0 {
		panic("policytest: grants for a token that names no user (Arborist gives a client token only the anonymous and logged-in grants)")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = username
	delete(s.rejected, token)
	if username != "" {
		s.grants[strings.ToLower(username)] = copyActions(grants)
	}
}

// SetGrants sets the grants of a user (path → indexd methods), whatever
// token names it (e.g. one made by Token).
func (s *Server) SetGrants(username string, grants map[string][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grants[strings.ToLower(username)] = toActions(grants)
}

// RevokeAll removes every grant of the user token names; the token stays
// valid and keeps the anonymous and logged-in grants.
func (s *Server) RevokeAll(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name, ok := s.identify(token); ok && name != "" {
		delete(s.grants, strings.ToLower(name))
	}
}

// RemoveUser makes token bad from now on (as if it had expired): 400 on
// mapping, 401 on request. The user's grants stay (other tokens of the
// user keep them); SetUser makes the token valid again.
func (s *Server) RemoveUser(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejected[token] = true
}

// RegisterResources registers resource paths (normalized). A mapping lists
// every registered path below a granted one as its own key with the
// granted actions, as Arborist does.
func (s *Server) RegisterResources(paths ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range paths {
		p = discovery.NormalizePath(p)
		if !slices.Contains(s.resources, p) {
			s.resources = append(s.resources, p)
		}
	}
}

// Token returns a token of user name, signed by the double and valid for
// ttl (claims sub, context.user.name, scope openid, iat, exp). An empty
// name makes a client-credentials token (no user).
func (s *Server) Token(name string, ttl time.Duration) string {
	now := time.Now()
	claims := map[string]any{"iat": now.Unix(), "exp": now.Add(ttl).Unix(), "scope": []string{"openid"}}
	if name != "" {
		claims["sub"] = name
		claims["context"] = map[string]any{"user": map[string]any{"name": name}}
	}
	return s.SignToken(claims)
}

// SignToken returns an HS256 JWT of claims signed by the double's key. The
// double accepts it only if it has a numeric exp in the future and the
// openid scope, as Arborist.
func (s *Server) SignToken(claims map[string]any) string {
	enc := base64.RawURLEncoding.EncodeToString
	payload, err := json.Marshal(claims)
	if err != nil {
		panic(fmt.Sprintf("policytest: claims: %v", err))
	}
	signing := enc([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc(payload)
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(signing))
	return signing + "." + enc(mac.Sum(nil))
}

// identify decides whether token is valid and whom it names ("" for a
// client token). Call with s.mu held.
func (s *Server) identify(token string) (string, bool) {
	if token == "" || s.rejected[token] {
		return "", false
	}
	if name, ok := s.tokens[token]; ok {
		return name, true
	}
	claims, ok := s.verify(token)
	if !ok {
		return "", false
	}
	return nameIn(claims), true
}

// verify checks the double's own signature, exp and scope.
func (s *Server) verify(token string) (map[string]any, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, false
	}
	hdr, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	sig, err2 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil {
		return nil, false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hdr, &h) != nil || h.Alg != "HS256" {
		return nil, false
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return nil, false
	}
	claims, ok := decodeClaims(parts[1])
	if !ok {
		return nil, false
	}
	exp, ok := claims["exp"].(float64)
	if !ok || time.Now().After(time.Unix(int64(exp), 0)) {
		return nil, false
	}
	scopes, _ := claims["scope"].([]any)
	if !slices.Contains(scopes, any("openid")) {
		return nil, false
	}
	return claims, true
}

// userOf reads context.user.name from a JWT without verifying it.
func userOf(token string) (string, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", false
	}
	claims, ok := decodeClaims(parts[1])
	if !ok {
		return "", false
	}
	name := nameIn(claims)
	return name, name != ""
}

func decodeClaims(seg string) (map[string]any, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return nil, false
	}
	var claims map[string]any
	if json.Unmarshal(raw, &claims) != nil {
		return nil, false
	}
	return claims, true
}

// nameIn is the claim context.user.name, Arborist's identity.
func nameIn(claims map[string]any) string {
	ctx, _ := claims["context"].(map[string]any)
	u, _ := ctx["user"].(map[string]any)
	name, _ := u["name"].(string)
	return name
}

// grantsOf is the union of the anonymous, logged-in and user grants of a
// valid token's user. Call with s.mu held.
func (s *Server) grantsOf(name string) map[string][]Action {
	return mergeGrants(s.anonymous, s.loggedIn, s.grants[strings.ToLower(name)])
}

// withDescendants lists every registered resource strictly below a granted
// path as its own key with that path's actions. Call with s.mu held.
func (s *Server) withDescendants(grants map[string][]Action) map[string][]Action {
	extra := map[string][]Action{}
	for g, actions := range grants {
		for _, r := range s.resources {
			if r != discovery.NormalizePath(g) && discovery.Covers(g, r) {
				extra[r] = append(extra[r], actions...)
			}
		}
	}
	return mergeGrants(grants, extra)
}

// SetAnonymous sets the anonymous group's grants (path → indexd methods).
func (s *Server) SetAnonymous(grants map[string][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.anonymous = toActions(grants)
}

// SetLoggedIn sets the logged-in group's grants (path → indexd methods),
// which every valid token holder has.
func (s *Server) SetLoggedIn(grants map[string][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loggedIn = toActions(grants)
}

// SetFault makes the double misbehave (FaultNone to stop).
func (s *Server) SetFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault = f
}

// SetDelay sets how long FaultSlow waits before answering.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// HoldRequests makes every /auth/request that arrives from now on wait,
// before it is judged, until the returned release function is called (or
// the client gives up). With RequestCalls a test can tell when a write is
// inside its authorization window and change the data meanwhile, to prove
// that the write is judged on the state it was authorized for. release is
// idempotent; New's cleanup does not call it.
func (s *Server) HoldRequests() (release func()) {
	gate := make(chan struct{})
	s.mu.Lock()
	s.hold = gate
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.hold == gate {
				s.hold = nil
			}
			s.mu.Unlock()
			close(gate)
		})
	}
}

// MappingCalls counts requests to /auth/mapping other than POST (the
// token form), faulty or not.
func (s *Server) MappingCalls() int64 { return s.mappingCalls.Load() }

// UserMappingCalls counts POST requests to /auth/mapping (the
// service-to-service form that names a user), faulty or not.
func (s *Server) UserMappingCalls() int64 { return s.userMappingCalls.Load() }

// LastUserMappingBody returns the body of the last POST /auth/mapping.
func (s *Server) LastUserMappingBody() []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return bytes.Clone(s.lastUserBody)
}

// RequestCalls counts requests to /auth/request, faulty or not.
func (s *Server) RequestCalls() int64 { return s.requestCalls.Load() }

// ResetCounters sets every call counter to zero.
func (s *Server) ResetCounters() {
	s.mappingCalls.Store(0)
	s.userMappingCalls.Store(0)
	s.requestCalls.Store(0)
}

// LastMappingAuthorization returns the Authorization header of the last
// /auth/mapping request and whether it had one.
func (s *Server) LastMappingAuthorization() (string, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.lastAuthz, s.lastAuthzPresent
}

// LastRequestBody returns the body of the last /auth/request request.
func (s *Server) LastRequestBody() []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return bytes.Clone(s.lastBody)
}

func toActions(grants map[string][]string) map[string][]Action {
	out := make(map[string][]Action, len(grants))
	for p, methods := range grants {
		for _, m := range methods {
			out[p] = append(out[p], Action{Service: Service, Method: m})
		}
	}
	return out
}

func copyActions(in map[string][]Action) map[string][]Action {
	out := make(map[string][]Action, len(in))
	for p, a := range in {
		out[p] = append([]Action(nil), a...)
	}
	return out
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	route := r.URL.Path
	if len(route) > 1 {
		route = strings.TrimRight(route, "/")
	}
	switch route {
	case "/auth/mapping":
		if r.Method == http.MethodPost {
			s.userMappingCalls.Add(1)
			if s.injectFault(w, r) {
				return
			}
			s.handleMappingPOST(w, r)
			return
		}
		s.mappingCalls.Add(1)
		if r.Method != http.MethodGet {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		if s.injectFault(w, r) {
			return
		}
		s.handleMapping(w, r)
	case "/auth/request":
		s.requestCalls.Add(1)
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		if s.injectFault(w, r) {
			return
		}
		s.mu.RLock()
		gate := s.hold
		s.mu.RUnlock()
		if gate != nil {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		s.handleRequest(w, r)
	default:
		writeError(w, http.StatusNotFound, "not found")
	}
}

// injectFault applies the current fault; it reports true when the response
// has been dealt with.
func (s *Server) injectFault(w http.ResponseWriter, r *http.Request) bool {
	s.mu.RLock()
	fault, delay := s.fault, s.delay
	s.mu.RUnlock()

	switch fault {
	case FaultDown:
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("policytest: response writer cannot hijack")
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return true
	case FaultSlow:
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
			return false
		case <-r.Context().Done():
			return true
		}
	case Fault500:
		writeError(w, http.StatusInternalServerError, "internal server error (injected)")
		return true
	case FaultGarbage:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
		return true
	case FaultWrongShape:
		writeJSON(w, http.StatusOK, []any{"/programs", map[string]any{"auth": true}})
		return true
	}
	return false
}

func (s *Server) handleMapping(w http.ResponseWriter, r *http.Request) {
	hdr, present := r.Header["Authorization"]
	authz := ""
	if present && len(hdr) > 0 {
		authz = hdr[0]
	}
	s.mu.Lock()
	s.lastAuthz, s.lastAuthzPresent = authz, present
	s.mu.Unlock()

	s.mu.RLock()
	defer s.mu.RUnlock()
	if authz == "" {
		writeJSON(w, http.StatusOK, s.withDescendants(mergeGrants(s.anonymous)))
		return
	}
	// Arborist trims exactly these two prefixes; anything else (including
	// "BEARER ") stays part of the token and fails to decode.
	token := strings.TrimPrefix(authz, "Bearer ")
	token = strings.TrimPrefix(token, "bearer ")
	name, ok := s.identify(token)
	if !ok {
		writeJSON(w, http.StatusBadRequest,
			"tried to get username from jwt, but jwt decode failed: error decoding token: token is not valid (policytest)")
		return
	}
	writeJSON(w, http.StatusOK, s.withDescendants(s.grantsOf(name)))
}

// handleMappingPOST is Arborist's POST /auth/mapping: the token in the
// Authorization header if there is one (401 when bad), else the body's
// username or clientID (exactly one, 400 otherwise), else anonymous.
func (s *Server) handleMappingPOST(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	s.lastUserBody = body
	s.mu.Unlock()
	if err != nil {
		writeError(w, http.StatusBadRequest, "could not parse valid JSON from request")
		return
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	if authz := r.Header.Get("Authorization"); authz != "" {
		token := strings.TrimPrefix(authz, "Bearer ")
		token = strings.TrimPrefix(token, "bearer ")
		name, ok := s.identify(token)
		if !ok {
			writeError(w, http.StatusUnauthorized,
				"tried to get username/client ID from jwt, but jwt decode failed: error decoding token: token is not valid (policytest)")
			return
		}
		if name == "" { // a client's token: the double knows no client grants
			writeJSON(w, http.StatusOK, map[string][]Action{})
			return
		}
		writeJSON(w, http.StatusOK, s.withDescendants(s.grantsOf(name)))
		return
	}
	if len(body) == 0 {
		writeJSON(w, http.StatusOK, s.withDescendants(mergeGrants(s.anonymous)))
		return
	}
	// Arborist decodes leniently (encoding/json: unknown keys ignored).
	var q struct {
		Username string `json:"username"`
		ClientID string `json:"clientID"`
	}
	if err := json.Unmarshal(body, &q); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("could not parse JSON: %v", err))
		return
	}
	if (q.Username == "") == (q.ClientID == "") {
		writeError(w, http.StatusBadRequest,
			"must provide a token or specify exactly one of `username` or `clientID` in the request body")
		return
	}
	if q.ClientID != "" {
		writeJSON(w, http.StatusOK, map[string][]Action{})
		return
	}
	writeJSON(w, http.StatusOK, s.withDescendants(s.grantsOf(q.Username)))
}

// mergeGrants unions grant sets per path, dropping duplicate actions.
func mergeGrants(sets ...map[string][]Action) map[string][]Action {
	out := map[string][]Action{}
	for _, set := range sets {
		for p, actions := range set {
			for _, a := range actions {
				dup := false
				for _, x := range out[p] {
					if x == a {
						dup = true
						break
					}
				}
				if !dup {
					out[p] = append(out[p], a)
				}
			}
		}
	}
	for p := range out {
		sort.Slice(out[p], func(i, j int) bool {
			if out[p][i].Service != out[p][j].Service {
				return out[p][i].Service < out[p][j].Service
			}
			return out[p][i].Method < out[p][j].Method
		})
	}
	return out
}

type wireRequest struct {
	Resource string
	Service  string
	Method   string
}

func (s *Server) handleRequest(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	s.lastBody = body
	s.mu.Unlock()
	if err != nil {
		writeError(w, http.StatusBadRequest, "could not read request body")
		return
	}
	token, hasUser, reqs, err := parseAuthRequest(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}

	s.mu.RLock()
	defer s.mu.RUnlock()
	grants := s.anonymous
	if hasUser {
		name, ok := s.identify(token)
		if !ok {
			writeError(w, http.StatusUnauthorized, "error decoding token: token is not valid (policytest)")
			return
		}
		grants = s.grantsOf(name)
	}
	auth := true
	for _, q := range reqs {
		if !allowed(grants, q) {
			auth = false
			break
		}
	}
	writeJSON(w, http.StatusOK, map[string]bool{"auth": auth})
}

// allowed reports whether grants allow q: some grant on q's resource or a
// path above it whose service and method match ("*" granted matches
// anything; a requested "*" matches only a granted "*").
func allowed(grants map[string][]Action, q wireRequest) bool {
	if !strings.HasPrefix(q.Resource, "/") {
		return false // a resource tag; the double knows none
	}
	for path, actions := range grants {
		if !discovery.Covers(path, q.Resource) {
			continue
		}
		for _, a := range actions {
			if (a.Service == "*" || a.Service == q.Service) && (a.Method == "*" || a.Method == q.Method) {
				return true
			}
		}
	}
	return false
}

// parseAuthRequest validates a POST /auth/request body the way Arborist
// does.
func parseAuthRequest(body []byte) (token string, hasUser bool, reqs []wireRequest, err error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return "", false, nil, errors.New("could not parse JSON: empty body")
	}
	var top struct {
		User     json.RawMessage `json:"user"`
		Request  json.RawMessage `json:"request"`
		Requests json.RawMessage `json:"requests"`
	}
	if err := json.Unmarshal(body, &top); err != nil {
		return "", false, nil, fmt.Errorf("could not parse JSON: %v", err)
	}

	if len(top.User) > 0 && !isNull(top.User) {
		var u struct {
			Token *string `json:"token"`
		}
		if err := strictUnmarshal(top.User, &u); err != nil {
			return "", false, nil, fmt.Errorf("could not parse user: %v", err)
		}
		if u.Token == nil || *u.Token == "" {
			return "", false, nil, errors.New("missing token in user")
		}
		token, hasUser = *u.Token, true
	}

	var raws []json.RawMessage
	if len(top.Request) > 0 && !isNull(top.Request) {
		raws = append(raws, top.Request)
	}
	if len(top.Requests) > 0 && !isNull(top.Requests) {
		var list []json.RawMessage
		if err := json.Unmarshal(top.Requests, &list); err != nil {
			return "", false, nil, fmt.Errorf("could not parse requests: %v", err)
		}
		raws = append(raws, list...)
	}
	if len(raws) == 0 {
		return "", false, nil, errors.New("no requests in auth request")
	}

	for i, raw := range raws {
		var q struct {
			Resource *string `json:"resource"`
			Action   *struct {
				Service *string `json:"service"`
				Method  *string `json:"method"`
			} `json:"action"`
		}
		if err := strictUnmarshal(raw, &q); err != nil {
			return "", false, nil, fmt.Errorf("could not parse request %d: %v", i, err)
		}
		if q.Resource == nil {
			return "", false, nil, fmt.Errorf("request %d: missing required field `resource`", i)
		}
		if *q.Resource == "" {
			return "", false, nil, fmt.Errorf("request %d: empty resource", i)
		}
		if q.Action == nil {
			return "", false, nil, fmt.Errorf("request %d: missing required field `action`", i)
		}
		if q.Action.Service == nil || q.Action.Method == nil {
			return "", false, nil, fmt.Errorf("request %d: action needs `service` and `method`", i)
		}
		res := *q.Resource
		if strings.HasPrefix(res, "/") && ((len(res) > 1 && strings.HasSuffix(res, "/")) || strings.Contains(res, "//")) {
			return "", false, nil, fmt.Errorf("pq: ltree syntax error at character %d", len(res))
		}
		reqs = append(reqs, wireRequest{Resource: res, Service: *q.Action.Service, Method: *q.Action.Method})
	}
	return token, hasUser, reqs, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func strictUnmarshal(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "code": status}})
}
