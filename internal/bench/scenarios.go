package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/datacommons/indexd/api"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/policy"
	"github.com/datacommons/indexd/repository"
)

// scenario is one measured request pattern.
type scenario struct {
	Name string
	// User is the caller (a User's name), "" for anonymous.
	User string
	// Discoverable is the are_records_discoverable setting it runs under.
	Discoverable bool
	// Want is the expected status; anything else counts as an error.
	Want int
	// Make builds the next request of a worker.
	Make func(ctx context.Context, w *worker) (*http.Request, error)
	// After, when set, sees each response body (e.g. to track revs).
	After func(ctx context.Context, w *worker, body []byte) error
	// Setup, when set, runs once before the scenario.
	Setup func(ctx context.Context) error
	// Raw is the hand-written SQL equivalent run through pgbench (lists).
	Raw *rawSQL
	// Capture, when set, makes the repository call the handler makes for
	// one request (with Raw's example values); the statements it sends are
	// replayed through pgbench as the "service SQL". Vary maps an argument
	// value of the captured statements to a SQL expression over Raw.Pre's
	// variables, for values drawn per request.
	Capture func(ctx context.Context, st *repository.Store) error
	Vary    map[string]string
	// Svc is the replay of the captured statements (built by Run).
	Svc *rawSQL
	// Explain is SQL only shown by -explain (not run through pgbench).
	Explain *rawSQL
	// Optional: a 404 on the probe request means the endpoint does not
	// exist yet; the row prints n/a.
	Optional bool
	// Kind groups scenarios for the target checks.
	Kind string
	// Write: the scenario changes data (not held to the growth target).
	Write bool
	// Concurrency, when positive, replaces Config.Concurrency for this
	// scenario (an admin asks one question at a time).
	Concurrency int
}

// concurrency is the number of workers that drive sc.
func (sc *scenario) concurrency(cfg Config) int {
	if sc.Concurrency > 0 {
		return sc.Concurrency
	}
	return cfg.Concurrency
}

// Scenario kinds the target checks look for.
const (
	kindPage1      = "page1"
	kindDeepCursor = "deep-cursor"
	kindDeepPage   = "deep-page"
	kindFiltered   = "filtered-list"
	kindGetVisible = "get-visible"
	kindGetHidden  = "get-invisible"
	kindPreview    = "preview"
)

// env is what scenarios need: the service, the callers, samples of the data.
type env struct {
	cfg    Config
	base   string
	client *http.Client
	pool   *pgxpool.Pool
	store  *repository.Store
	users  map[string]*User

	vis map[string]visibility // per user name

	visibleDIDs   []string // visible to User10
	invisibleDIDs []string // not visible to User10
	anyDIDs       []string // uniformly from the table
	deepPage      int      // page number reached by deepCursor (open)
	deepCursor    string
	deepPage10    int // page number reached by deepCursor10 (User10)
	deepCursor10  string
	hasRecordURL  bool
}

// visibility is a user's predicate as the repository builds it, rendered
// for pgbench.
type visibility struct {
	Where   string            // SQL over alias r with :vN variables ("" = TRUE)
	Defines map[string]string // vN → value
	SetIDs  []int64           // the resolved visible authz sets, when the predicate lists them
	Grants  []string
}

// mappingOf is the Arborist mapping the policy server answers for u.
func mappingOf(u *User) policy.Mapping {
	m := policy.Mapping{}
	for _, g := range u.Grants {
		m[g] = []policy.Action{{Service: "indexd", Method: "read"}, {Service: "indexd", Method: "create"}, {Service: "indexd", Method: "update"},
			{Service: "indexd", Method: "read-storage"}}
	}
	return m
}

// resolve renders u's visibility predicate through the repository's own
// builder (Store.VisibilitySQL), so the raw SQL follows whatever the
// repository does.
func (e *env) resolve(ctx context.Context, u *User) (visibility, error) {
	dc := api.ContextFromMapping(discovery.Settings{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{}}, mappingOf(u))
	sql, args, err := e.store.VisibilitySQL(ctx, dc)
	if err != nil {
		return visibility{}, err
	}
	v := visibility{Defines: map[string]string{}, Grants: dc.AuthorizedResources}
	var b strings.Builder
	n := 0
	for i := 0; i < len(sql); i++ {
		if sql[i] != '?' {
			b.WriteByte(sql[i])
			continue
		}
		if n >= len(args) {
			return v, fmt.Errorf("bench: predicate %q has more placeholders than arguments", sql)
		}
		name := "v" + strconv.Itoa(n+1)
		lit, err := pgLiteral(args[n])
		if err != nil {
			return v, err
		}
		if ids, ok := args[n].([]int64); ok {
			v.SetIDs = ids
		}
		v.Defines[name] = lit
		b.WriteString(":" + name)
		n++
	}
	v.Where = b.String()
	if v.Where == "TRUE" {
		v.Where = ""
	}
	return v, nil
}

// The hand-written SQL. selectCols are the columns the repository's list
// reads select (repository.recordColumns plus an empty aliases column).
const (
	selectCols = `r.did, r.baseid, r.rev, r.form, r.size, r.file_name, r.version, r.uploader, r.description, ` +
		`r.created_date, r.updated_date, r.content_created_date, r.content_updated_date, r.hashes, r.urls, ` +
		`r.urls_metadata, r.acl, r.authz, r.metadata`
	noAliasesCol   = `'{}'::text[] AS aliases`
	withAliasesCol = `ARRAY(SELECT a.name FROM alias a WHERE a.did = r.did ORDER BY a.name) AS aliases`
	// resolveSQL mirrors repository.resolveVisibleSetsSQL: the first of the
	// two statements a filtered read runs.
	resolveSQL = `SELECT p.set_id FROM authz_set_prefix p JOIN authz_set s ON s.id = p.set_id ` +
		`WHERE p.prefix = ANY(CAST(:grants AS text[])) GROUP BY p.set_id, s.n_paths HAVING count(DISTINCT p.path) = s.n_paths`
)

// drsObjectsOnly is the DRS list's extra condition: DRS objects only
// (the stored column record.drs_object).
var drsObjectsOnly = []string{"r.drs_object"}

// listRaw builds the pgbench script of a list: the set resolution (when
// filtered) and the page query with extra conditions.
func listRaw(v visibility, aliases bool, pre string, extra []string, suffix string) *rawSQL {
	raw := &rawSQL{Pre: pre, Defines: map[string]string{}}
	var b strings.Builder
	conds := append([]string{}, extra...)
	if v.Where != "" {
		raw.Stmts = append(raw.Stmts, resolveSQL)
		raw.Defines["grants"] = textArray(v.Grants)
		for k, x := range v.Defines {
			raw.Defines[k] = x
		}
		conds = append([]string{v.Where}, conds...)
	}
	cols := selectCols + ", " + noAliasesCol
	if aliases {
		cols = selectCols + ", " + withAliasesCol
	}
	b.WriteString("SELECT " + cols + " FROM record r")
	if len(conds) > 0 {
		b.WriteString(" WHERE " + strings.Join(conds, " AND "))
	}
	b.WriteString(" ORDER BY r.did LIMIT 101" + suffix)
	raw.Stmts = append(raw.Stmts, b.String())
	return raw
}

func (e *env) get(ctx context.Context, user, path string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.base+path, nil)
	if err != nil {
		return nil, err
	}
	e.auth(req, user)
	return req, nil
}

func (e *env) send(ctx context.Context, method, user, path string, body any) (*http.Request, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, e.base+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	e.auth(req, user)
	return req, nil
}

func (e *env) auth(req *http.Request, user string) {
	if u := e.users[user]; u != nil {
		req.Header.Set("Authorization", "Bearer "+u.Token)
	}
}

// prepare samples the data for the scenarios and resolves every user's
// visibility predicate.
func (e *env) prepare(ctx context.Context) error {
	e.vis = map[string]visibility{}
	for name, u := range e.users {
		v, err := e.resolve(ctx, u)
		if err != nil {
			return fmt.Errorf("bench: resolve visibility of %s: %w", name, err)
		}
		e.vis[name] = v
	}
	if err := e.pool.QueryRow(ctx, "SELECT to_regclass('public.record_url') IS NOT NULL").Scan(&e.hasRecordURL); err != nil {
		return err
	}
	ids10 := e.vis[User10].SetIDs
	if len(ids10) == 0 {
		return fmt.Errorf("bench: %s sees no authz set: is the data loaded?", User10)
	}
	q := func(sql string, args ...any) ([]string, error) {
		rows, err := e.pool.Query(ctx, sql, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, rows.Err()
	}
	var err error
	if e.visibleDIDs, err = q(`SELECT did FROM record WHERE authz_set_id = ANY($1) AND did < $2 ORDER BY random() LIMIT 5000`, ids10, WriteDIDPrefix); err != nil {
		return fmt.Errorf("bench: sample visible dids: %w", err)
	}
	if e.invisibleDIDs, err = q(`SELECT did FROM record WHERE NOT authz_set_id = ANY($1) AND did < $2 ORDER BY random() LIMIT 5000`, ids10, WriteDIDPrefix); err != nil {
		return fmt.Errorf("bench: sample invisible dids: %w", err)
	}
	if e.anyDIDs, err = q(`SELECT did FROM record WHERE did < $1 ORDER BY random() LIMIT 20000`, WriteDIDPrefix); err != nil {
		return fmt.Errorf("bench: sample dids: %w", err)
	}
	if len(e.visibleDIDs) == 0 || len(e.invisibleDIDs) == 0 {
		return fmt.Errorf("bench: data set too small to sample visible and invisible records")
	}
	// Deep pages: the did just before page P's first record.
	e.deepPage = min(10000, e.cfg.N/100)
	if e.deepPage > 1 {
		c, err := q(`SELECT did FROM record ORDER BY did OFFSET $1 LIMIT 1`, (e.deepPage-1)*100-1)
		if err != nil || len(c) == 0 {
			return fmt.Errorf("bench: deep cursor: %v", err)
		}
		e.deepCursor = c[0]
	}
	var visible10 int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM record WHERE authz_set_id = ANY($1)`, ids10).Scan(&visible10); err != nil {
		return fmt.Errorf("bench: count visible: %w", err)
	}
	e.deepPage10 = min(1000, visible10/100)
	if e.deepPage10 > 1 {
		c, err := q(`SELECT did FROM record WHERE authz_set_id = ANY($1) ORDER BY did OFFSET $2 LIMIT 1`, ids10, (e.deepPage10-1)*100-1)
		if err != nil || len(c) == 0 {
			return fmt.Errorf("bench: deep cursor (filtered): %v", err)
		}
		e.deepCursor10 = c[0]
	}
	return nil
}

func pick[T any](w *worker, xs []T) T { return xs[w.rng.IntN(len(xs))] }

// previewNames are the ten users the preview scenario counts for.
func (e *env) previewNames() []string {
	names := []string{User10, User1, User001, UserMany}
	for _, u := range previewUsers() {
		names = append(names, u.Name)
	}
	return names
}

// urlCond is the hand-written url filter: through the record_url table
// when the schema has one (a btree on url), else the GIN-indexed array.
func (e *env) urlCond(expr string) string {
	if e.hasRecordURL {
		return "r.did IN (SELECT ru.did FROM record_url ru WHERE ru.url = " + expr + ")"
	}
	return "r.urls @> ARRAY[" + expr + "]"
}

// dcOf is the discovery context the service builds for user.
func (e *env) dcOf(user string, discoverable bool) discovery.Context {
	if discoverable {
		return discovery.Context{Discoverable: true}
	}
	u := e.users[user]
	if u == nil {
		u = &User{}
	}
	return api.ContextFromMapping(discovery.Settings{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{}}, mappingOf(u))
}

// listCapture makes the repository call GET /index (or, drs, GET
// /ga4gh/drs/v1/objects) makes for the query string path's.
func (e *env) listCapture(user string, discoverable bool, path string, drs bool) func(ctx context.Context, st *repository.Store) error {
	return func(ctx context.Context, st *repository.Store) error {
		u, err := url.Parse(path)
		if err != nil {
			return err
		}
		lq, err := api.ParseListQuery(u.Query())
		if err != nil {
			return err
		}
		_, err = st.ListRecords(ctx, e.dcOf(user, discoverable), lq.Filter, repository.ListOptions{WithAliases: drs})
		return err
	}
}

// scenarios lists every scenario, in the order they run: the open ones
// (discovery on) first, then the filtered ones and the writes.
func (e *env) scenarios() []*scenario {
	open := visibility{}
	listPath := "/index?limit=100"
	drsPath := "/ga4gh/drs/v1/objects?limit=100"
	var out []*scenario
	add := func(s *scenario) { out = append(out, s) }
	static := func(user, path string) func(ctx context.Context, w *worker) (*http.Request, error) {
		return func(ctx context.Context, w *worker) (*http.Request, error) { return e.get(ctx, user, path) }
	}

	add(&scenario{Name: "GET /index page 1 (discovery on)", Discoverable: true, Want: 200, Kind: kindPage1,
		Make: static("", listPath), Raw: listRaw(open, false, "", nil, ""),
		Capture: e.listCapture("", true, listPath, false)})
	if e.deepCursor != "" {
		deep := listPath + "&cursor=" + url.QueryEscape(api.EncodeCursor(e.deepCursor))
		add(&scenario{Name: fmt.Sprintf("GET /index page %d via cursor (discovery on)", e.deepPage), Discoverable: true, Want: 200, Kind: kindDeepCursor,
			Make: static("", deep), Raw: listRaw(open, false, "", []string{"r.did > :start"}, ""),
			Capture: e.listCapture("", true, deep, false),
		})
		out[len(out)-1].Raw.Defines["start"] = e.deepCursor
		offset := listPath + "&page=" + strconv.Itoa(e.deepPage-1)
		offsetRaw := listRaw(open, false, "", nil, " OFFSET "+strconv.Itoa((e.deepPage-1)*100))
		add(&scenario{Name: fmt.Sprintf("GET /index page %d via page= (OFFSET, discovery on)", e.deepPage), Discoverable: true, Want: 200,
			// No pgbench runs: at 1M records one execution takes longer
			// than the service's statement timeout; the EXPLAIN shows why.
			Make: static("", offset), Explain: offsetRaw,
		})
	}
	if last := (e.cfg.N+1023)/1024 - 1; last > 10 {
		// The SDK's manifest export (issue 10): page=N&limit=1024 at any
		// depth; the last page, and a page drawn from the deep half.
		deepest := fmt.Sprintf("/index?page=%d&limit=1024", last)
		add(&scenario{Name: fmt.Sprintf("GET /index?page=%d&limit=1024 (deep page=, discovery on)", last), Discoverable: true, Want: 200,
			Kind: kindDeepPage, Make: static("", deepest)})
		add(&scenario{Name: "GET /index?page=random deep&limit=1024 (discovery on)", Discoverable: true, Want: 200,
			Make: func(ctx context.Context, w *worker) (*http.Request, error) {
				return e.get(ctx, "", fmt.Sprintf("/index?page=%d&limit=1024", last/2+w.rng.IntN(last-last/2+1)))
			}})
	}
	add(&scenario{Name: "DRS GET /objects page 1 (discovery on)", Discoverable: true, Want: 200, Optional: true,
		Make: static("", drsPath), Raw: listRaw(open, true, "", drsObjectsOnly, ""), Capture: e.listCapture("", true, drsPath, true)})

	for _, f := range []struct{ user, label string }{
		{User10, "10 %"}, {User1, "1 %"}, {User001, "0.01 %"}, {UserMany, "1 %, 5,000-path mapping"},
	} {
		add(&scenario{Name: "GET /index filtered " + f.label, User: f.user, Want: 200, Kind: kindFiltered,
			Make: static(f.user, listPath), Raw: listRaw(e.vis[f.user], false, "", nil, ""),
			Capture: e.listCapture(f.user, false, listPath, false)})
	}
	if e.deepCursor10 != "" {
		deep := listPath + "&cursor=" + url.QueryEscape(api.EncodeCursor(e.deepCursor10))
		s := &scenario{Name: fmt.Sprintf("GET /index filtered 10 %%, page %d via cursor", e.deepPage10), User: User10, Want: 200,
			Make: static(User10, deep), Raw: listRaw(e.vis[User10], false, "", []string{"r.did > :start"}, ""),
			Capture: e.listCapture(User10, false, deep, false),
		}
		s.Raw.Defines["start"] = e.deepCursor10
		add(s)
	}
	for _, f := range []struct{ user, label string }{{User10, "10 %"}, {User1, "1 %"}, {User001, "0.01 %"}} {
		add(&scenario{Name: "DRS GET /objects filtered " + f.label, User: f.user, Want: 200, Optional: true,
			Make: static(f.user, drsPath), Raw: listRaw(e.vis[f.user], true, "", drsObjectsOnly, ""),
			Capture: e.listCapture(f.user, false, drsPath, true)})
	}

	add(&scenario{Name: "GET /index/{id} visible", User: User10, Want: 200, Kind: kindGetVisible,
		Make: func(ctx context.Context, w *worker) (*http.Request, error) {
			return e.get(ctx, User10, "/index/"+pick(w, e.visibleDIDs))
		}})
	add(&scenario{Name: "GET /index/{id} invisible (403)", User: User10, Want: 403, Kind: kindGetHidden,
		Make: func(ctx context.Context, w *worker) (*http.Request, error) {
			return e.get(ctx, User10, "/index/"+pick(w, e.invisibleDIDs))
		}})

	// The admin's discovery preview (issue 15): what turning filtering off
	// would reveal to the anonymous caller, any logged-in caller and ten
	// users (two of them with thousands of grants).
	previewBody := map[string]any{"are_records_discoverable": true, "users": e.previewNames()}
	add(&scenario{Name: "POST /admin/discovery/preview (10 users, c=1)", User: UserAdmin, Want: 200, Kind: kindPreview, Optional: true, Concurrency: 1,
		Make: func(ctx context.Context, w *worker) (*http.Request, error) {
			return e.send(ctx, http.MethodPost, UserAdmin, "/admin/discovery/preview", previewBody)
		}})

	// The access route: visibility, read-storage (one uncached policy
	// question) and a SigV4 signature for the bench bucket (benchStorage).
	add(&scenario{Name: "DRS GET /objects/{id}/access/s3 (signed URL)", User: User10, Want: 200, Optional: true,
		Make: func(ctx context.Context, w *worker) (*http.Request, error) {
			return e.get(ctx, User10, "/ga4gh/drs/v1/objects/"+pick(w, e.visibleDIDs)+"/access/s3")
		}})

	blocks := max(e.cfg.N/nProjects, 1)
	draw := fmt.Sprintf("\\set a random(0, %d)\n\\set b random(0, 19)\n\\set i :a * %d + :b * 10\n", blocks-1, nProjects)
	exI := pickVisibleTo10(e.cfg.N, 1234, 7)
	example := map[string]string{"i": strconv.Itoa(exI)}
	exHash, _ := json.Marshal(map[string]string{"md5": MD5Of(exI)})
	castI := "CAST(:i AS text)"
	add(&scenario{Name: "GET /index?hash=md5:… (filtered 10 %)", User: User10, Want: 200,
		Make: func(ctx context.Context, w *worker) (*http.Request, error) {
			i := pickVisibleTo10(e.cfg.N, w.rng.IntN(blocks), w.rng.IntN(20))
			return e.get(ctx, User10, "/index?hash=md5:"+MD5Of(i))
		},
		Raw: listRaw(e.vis[User10], false, draw, []string{`r.hashes @> jsonb_build_object('md5', md5('bench:' || CAST(:i AS text)))`}, "")})
	out[len(out)-1].Raw.Example = example
	out[len(out)-1].Capture = e.listCapture(User10, false, "/index?hash=md5:"+MD5Of(exI), false)
	out[len(out)-1].Vary = map[string]string{string(exHash): `jsonb_build_object('md5', md5('bench:' || ` + castI + `))::text`}
	add(&scenario{Name: "GET /index?url=… (filtered 10 %)", User: User10, Want: 200,
		Make: func(ctx context.Context, w *worker) (*http.Request, error) {
			i := pickVisibleTo10(e.cfg.N, w.rng.IntN(blocks), w.rng.IntN(20))
			return e.get(ctx, User10, "/index?url="+url.QueryEscape(URLOf(i)))
		},
		Raw: listRaw(e.vis[User10], false, draw, []string{e.urlCond(strings.ReplaceAll(urlSQL, ":i", castI))}, "")})
	out[len(out)-1].Raw.Example = example
	out[len(out)-1].Capture = e.listCapture(User10, false, "/index?url="+url.QueryEscape(URLOf(exI)), false)
	out[len(out)-1].Vary = map[string]string{URLOf(exI): strings.ReplaceAll(urlSQL, ":i", castI)}

	add(&scenario{Name: "POST /bulk/documents (100 ids)", User: User10, Want: 200,
		Make: func(ctx context.Context, w *worker) (*http.Request, error) {
			ids := make([]string, 100)
			for k := range ids {
				ids[k] = pick(w, e.anyDIDs)
			}
			return e.send(ctx, http.MethodPost, User10, "/bulk/documents", ids)
		}})
	add(&scenario{Name: "POST /index (create)", User: User10, Want: 200, Write: true,
		Make: func(ctx context.Context, w *worker) (*http.Request, error) {
			p := 10 * w.rng.IntN(20)
			did := WriteDIDPrefix + repository.NewUUID()
			body := map[string]any{
				"did": did, "form": "object", "size": 1 + w.rng.Int64N(1<<34),
				"file_name": "new.cram", "hashes": map[string]string{"md5": MD5Of(-1 - w.rng.IntN(1<<30))},
				"urls":  []string{"s3://indexd-bench-data/new/" + did + ".cram"},
				"authz": []string{ProjectPath(p)}, "acl": []string{fmt.Sprintf("p%02d", p/projectsPerProg)},
				"metadata": map[string]string{"data_type": "WGS"},
			}
			return e.send(ctx, http.MethodPost, User10, "/index", body)
		}})
	up := &updatePool{}
	add(&scenario{Name: "PUT /index/{id}?rev= (update)", User: User10, Want: 200, Write: true,
		Setup: func(ctx context.Context) error { return up.fill(ctx, e) },
		Make: func(ctx context.Context, w *worker) (*http.Request, error) {
			did, rev := up.next(w)
			return e.send(ctx, http.MethodPut, User10, "/index/"+did+"?rev="+rev,
				map[string]any{"description": "bench update " + strconv.Itoa(w.rng.IntN(1<<20))})
		},
		After: func(ctx context.Context, w *worker, body []byte) error { return up.done(w, body) },
	})
	return out
}

// updatePool hands each worker its own records (so updates never race on
// a rev) and tracks their current revs.
type updatePool struct {
	dids [][]string
	revs []map[string]string
	idx  []int
	cur  []string
}

func (u *updatePool) fill(ctx context.Context, e *env) error {
	c := e.cfg.Concurrency
	u.dids, u.revs, u.idx, u.cur = make([][]string, c), make([]map[string]string, c), make([]int, c), make([]string, c)
	per := max(1, min(100, len(e.visibleDIDs)/c))
	all := e.visibleDIDs[:per*c]
	rows, err := e.pool.Query(ctx, "SELECT did, rev FROM record WHERE did = ANY($1)", all)
	if err != nil {
		return err
	}
	defer rows.Close()
	revs := map[string]string{}
	for rows.Next() {
		var d, r string
		if err := rows.Scan(&d, &r); err != nil {
			return err
		}
		revs[d] = r
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for w := 0; w < c; w++ {
		u.dids[w] = all[w*per : (w+1)*per]
		u.revs[w] = map[string]string{}
		for _, d := range u.dids[w] {
			u.revs[w][d] = revs[d]
		}
	}
	return nil
}

func (u *updatePool) next(w *worker) (string, string) {
	ds := u.dids[w.id]
	d := ds[u.idx[w.id]%len(ds)]
	u.idx[w.id]++
	u.cur[w.id] = d
	return d, u.revs[w.id][d]
}

func (u *updatePool) done(w *worker, body []byte) error {
	var ref struct {
		DID string `json:"did"`
		Rev string `json:"rev"`
	}
	if err := json.Unmarshal(body, &ref); err != nil || ref.Rev == "" {
		return fmt.Errorf("update answered %q", body)
	}
	u.revs[w.id][u.cur[w.id]] = ref.Rev
	return nil
}

// countItems counts the records in a response body: a JSON array, or an
// object's "records"/"objects"/"drs_objects" list.
func countItems(body []byte) int {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return -1
	}
	switch x := v.(type) {
	case []any:
		return len(x)
	case map[string]any:
		for _, k := range []string{"records", "objects", "drs_objects"} {
			if l, ok := x[k].([]any); ok {
				return len(l)
			}
		}
		return 1
	}
	return -1
}
