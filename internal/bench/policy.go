package bench

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/datacommons/indexd/discovery"
)

// mintToken returns a JWT-shaped token (RS256 header, payload with sub and
// an exp a day ahead, random signature bytes). The service runs in
// pass-through mode: it checks the shape and exp and leaves the signature to
// the policy server, which knows tokens by their exact string.
func mintToken(sub string) string {
	enc := base64.RawURLEncoding
	hdr, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "indexd-bench"})
	now := time.Now()
	payload, _ := json.Marshal(map[string]any{
		"sub": sub, "iss": "indexd-bench", "iat": now.Unix(), "exp": now.Add(24 * time.Hour).Unix(),
		"context": map[string]any{"user": map[string]string{"name": sub}},
	})
	sig := make([]byte, 256)
	_, _ = rand.Read(sig)
	return enc.EncodeToString(hdr) + "." + enc.EncodeToString(payload) + "." + enc.EncodeToString(sig)
}

// PolicyServer is a minimal Arborist: GET /auth/mapping and POST
// /auth/request over HTTP on loopback, with hierarchical grants, counting
// calls per user so the harness can check the service's mapping cache.
type PolicyServer struct {
	srv *http.Server
	url string

	mu      sync.Mutex
	byToken map[string]*User
	byName  map[string]*User
	stats   map[string]*callStats // user name ("anonymous" for no token)
}

type callStats struct {
	mappingCalls int
	requestCalls int
	mappingTimes []time.Time
}

// CallCount is one user's policy-call record.
type CallCount struct {
	User         string
	MappingCalls int
	RequestCalls int
	// MinGap is the shortest time between two consecutive mapping calls
	// (0 with fewer than two calls).
	MinGap time.Duration
	// First and Last are the times of the first and last mapping call.
	First, Last time.Time
}

// StartPolicyServer serves users on a loopback port.
func StartPolicyServer(us []*User) (*PolicyServer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: policy server: %w", err)
	}
	p := &PolicyServer{byToken: map[string]*User{}, byName: map[string]*User{}, stats: map[string]*callStats{}, url: "http://" + l.Addr().String()}
	for _, u := range us {
		p.byToken[u.Token] = u
		p.byName[strings.ToLower(u.Name)] = u
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /auth/mapping", p.mapping)
	mux.HandleFunc("POST /auth/mapping", p.userMapping)
	mux.HandleFunc("POST /auth/request", p.request)
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = p.srv.Serve(l) }()
	return p, nil
}

// URL is the server's base URL.
func (p *PolicyServer) URL() string { return p.url }

// Close stops the server.
func (p *PolicyServer) Close() { _ = p.srv.Close() }

func (p *PolicyServer) lookup(token string) (*User, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u, ok := p.byToken[token]
	return u, ok
}

func (p *PolicyServer) count(name string, mapping bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.stats[name]
	if st == nil {
		st = &callStats{}
		p.stats[name] = st
	}
	if mapping {
		st.mappingCalls++
		st.mappingTimes = append(st.mappingTimes, time.Now())
	} else {
		st.requestCalls++
	}
}

var indexdActions = []map[string]string{
	{"service": "indexd", "method": "read"},
	{"service": "indexd", "method": "create"},
	{"service": "indexd", "method": "update"},
}

func (p *PolicyServer) mapping(w http.ResponseWriter, r *http.Request) {
	out := map[string][]map[string]string{}
	h := r.Header.Get("Authorization")
	if h == "" {
		p.count("anonymous", true)
	} else {
		u, ok := p.lookup(strings.TrimPrefix(h, "Bearer "))
		if !ok {
			http.Error(w, `{"error":"bad token"}`, http.StatusUnauthorized)
			return
		}
		p.count(u.Name, true)
		out = grantsOf(u)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// grantsOf is u's mapping.
func grantsOf(u *User) map[string][]map[string]string {
	out := map[string][]map[string]string{}
	for _, g := range u.Grants {
		out[g] = indexdActions
	}
	if u.Admin {
		out[adminResource] = []map[string]string{{"service": "indexd", "method": "admin"}}
	}
	return out
}

const adminResource = "/services/indexd/admin"

// userMapping is Arborist's service-to-service POST /auth/mapping
// {"username": name}: the user's mapping, {} for a user it does not know.
func (p *PolicyServer) userMapping(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Username string `json:"username"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Username == "" {
		http.Error(w, `{"error":"bad body"}`, http.StatusBadRequest)
		return
	}
	out := map[string][]map[string]string{}
	p.mu.Lock()
	u := p.byName[strings.ToLower(body.Username)]
	p.mu.Unlock()
	name := "by name: unknown"
	if u != nil {
		out, name = grantsOf(u), "by name: "+u.Name
	}
	p.count(name, true)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func (p *PolicyServer) request(w http.ResponseWriter, r *http.Request) {
	var body struct {
		User *struct {
			Token string `json:"token"`
		} `json:"user"`
		Requests []struct {
			Resource string `json:"resource"`
			Action   struct {
				Service string `json:"service"`
				Method  string `json:"method"`
			} `json:"action"`
		} `json:"requests"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, `{"error":"bad body"}`, http.StatusBadRequest)
		return
	}
	var grants []string
	admin := false
	if body.User == nil {
		p.count("anonymous", false)
	} else {
		u, ok := p.lookup(body.User.Token)
		if !ok {
			http.Error(w, `{"error":"bad token"}`, http.StatusUnauthorized)
			return
		}
		p.count(u.Name, false)
		grants, admin = u.Grants, u.Admin
	}
	ok := len(body.Requests) > 0
	for _, req := range body.Requests {
		m := req.Action.Method
		if admin && req.Action.Service == "indexd" && m == "admin" && discovery.Covers(adminResource, req.Resource) {
			continue
		}
		if req.Action.Service != "indexd" || (m != "read" && m != "create" && m != "update") {
			ok = false
			break
		}
		covered := false
		for _, g := range grants {
			if discovery.Covers(g, req.Resource) {
				covered = true
				break
			}
		}
		if !covered {
			ok = false
			break
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]bool{"auth": ok})
}

// Counts returns every user's call record, sorted by user name.
func (p *PolicyServer) Counts() []CallCount {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []CallCount
	for name, st := range p.stats {
		c := CallCount{User: name, MappingCalls: st.mappingCalls, RequestCalls: st.requestCalls}
		if n := len(st.mappingTimes); n > 0 {
			c.First, c.Last = st.mappingTimes[0], st.mappingTimes[n-1]
		}
		for i := 1; i < len(st.mappingTimes); i++ {
			if g := st.mappingTimes[i].Sub(st.mappingTimes[i-1]); c.MinGap == 0 || g < c.MinGap {
				c.MinGap = g
			}
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].User < out[j].User })
	return out
}
