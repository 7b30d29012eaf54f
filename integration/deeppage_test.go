package integration

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"net/http"
	"sync"
	"testing"

	"github.com/datacommons/indexd"
)

// TestDeepPages (issue 10): page=N answers, at any depth, the page an
// ordered walk gives, under a filter and for several caller classes; the
// pages, fetched concurrently in shuffled order, hold every visible record
// exactly once, and the number of pages matches /_stats for the caller. A
// write moves the pages at once (the page boundaries are recomputed).
func TestDeepPages(t *testing.T) {
	e := Start(t, WithFiltering())
	const n = 24_000
	ctx := context.Background()
	// Four authz lists; the first record of each goes through the store
	// (which creates its authz set), the rest copy it in one INSERT.
	obj := indexd.FormObject
	lists := [][]string{{"/programs/open"}, {"/programs/a"}, {"/programs/b"}, {"/programs/a", "/programs/b"}}
	var tmpls []string
	for i, authz := range lists {
		did := fmt.Sprintf("dg.DP/00000000-0000-4000-8000-%012d", i)
		ixSeed(t, e, indexd.NewRecord{DID: did, Form: &obj, Size: ixI64(1), Hashes: map[string]string{"md5": lsMD5a},
			URLs: []string{"s3://dp/" + did}, Authz: authz})
		tmpls = append(tmpls, did)
	}
	tag, err := e.App.Store.Pool().Exec(ctx, `
		INSERT INTO record (did, baseid, rev, form, size, file_name, version, uploader, description,
			created_date, updated_date, content_created_date, content_updated_date,
			hashes, urls, urls_metadata, acl, authz, metadata, authz_set_id)
		SELECT d.did, gen_random_uuid()::text, substr(md5(d.did), 1, 8),
			CASE WHEN d.g % 3 = 0 THEN 'container' ELSE 'object' END, d.g, t.file_name, t.version,
			t.uploader, t.description, now(), now(), t.content_created_date, t.content_updated_date,
			t.hashes, ARRAY['s3://dp/' || d.did], '{}', t.acl, t.authz, t.metadata, t.authz_set_id
		FROM (SELECT g, 'dg.DP/' || gen_random_uuid()::text AS did FROM generate_series(1, $1::int) AS g) d
		JOIN record t ON t.did = ($2::text[])[1 + d.g % 4]`, n, tmpls)
	if err != nil || tag.RowsAffected() != n {
		t.Fatalf("seed: %v (%d rows)", err, tag.RowsAffected())
	}

	e.Policy.SetAnonymous(map[string][]string{"/programs/open": {"read"}})
	userTok := Tok("dp-user")
	e.Policy.SetUser(userTok, "dp-user", map[string][]string{"/programs/a": {"read"}, "/programs/open": {"read"}})
	// The oracle: plain SQL over the authz arrays, not the authz sets the
	// service filters with.
	oracle := func(t *testing.T, cond string) []string {
		t.Helper()
		rows, err := e.App.Store.Pool().Query(ctx, `SELECT did FROM record r WHERE `+cond+` ORDER BY did`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var d string
			if err := rows.Scan(&d); err != nil {
				t.Fatal(err)
			}
			out = append(out, d)
		}
		return out
	}
	classes := []struct {
		name, auth, vis string
	}{
		{"anonymous", "", `r.authz <@ ARRAY['/programs/open']::text[] AND r.authz <> '{}'`},
		{"user with grants", Bearer(userTok), `r.authz <@ ARRAY['/programs/open', '/programs/a']::text[] AND r.authz <> '{}'`},
		{"admin", e.AddAdmin("dp-admin", "dp-pw"), `TRUE`},
	}
	// pages fetches pages 0 … last of query with 8 workers in shuffled
	// order and returns them by page number.
	pages := func(t *testing.T, auth, query string, last int) [][]string {
		t.Helper()
		order := rand.Perm(last + 1)
		out := make([][]string, last+1)
		var mu sync.Mutex
		var wg sync.WaitGroup
		work := make(chan int)
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for p := range work {
					r := e.Do(http.MethodGet, fmt.Sprintf("/index?%s&page=%d", query, p), auth, nil)
					if r.Status != http.StatusOK {
						t.Errorf("page %d: %d %.200s", p, r.Status, r.Body)
						continue
					}
					dids := ixDIDs(t, r.Map(t)["records"])
					mu.Lock()
					out[p] = dids
					mu.Unlock()
				}
			}()
		}
		for _, p := range order {
			work <- p
		}
		close(work)
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		return out
	}
	for _, c := range classes {
		t.Run(c.name, func(t *testing.T) {
			for _, limit := range []int{1024, 300} {
				// Filtered: form=object.
				want := oracle(t, c.vis+` AND r.form = 'object'`)
				if len(want) < 3000 {
					t.Fatalf("oracle sees %d records", len(want))
				}
				last := (len(want) + limit - 1) / limit // one past the end
				got := pages(t, c.auth, fmt.Sprintf("form=object&limit=%d", limit), last)
				seen := map[string]int{}
				for p, dids := range got {
					if p == last {
						if len(dids) != 0 {
							t.Fatalf("limit %d: page %d past the end holds %d records", limit, p, len(dids))
						}
						continue
					}
					for i, d := range dids {
						if k := p*limit + i; k >= len(want) || want[k] != d {
							t.Fatalf("limit %d: page %d row %d is %s, want the walk's record %d", limit, p, i, d, k)
						}
						seen[d]++
					}
				}
				if len(seen) != len(want) {
					t.Fatalf("limit %d: %d distinct records over the pages, want %d", limit, len(seen), len(want))
				}
				for d, k := range seen {
					if k != 1 {
						t.Fatalf("record %s on %d pages", d, k)
					}
				}
			}
			// Unfiltered: the page count matches /_stats for the caller.
			st := ixOK(t, e.Do(http.MethodGet, "/_stats", c.auth, nil))
			count := int(st["fileCount"].(float64))
			if want := len(oracle(t, c.vis)); count != want {
				t.Fatalf("/_stats fileCount %d, oracle %d", count, want)
			}
			const limit = 1024
			last := int(math.Ceil(float64(count) / limit))
			got := pages(t, c.auth, fmt.Sprintf("limit=%d", limit), last)
			total := 0
			for p, dids := range got {
				if (p < last) != (len(dids) > 0) {
					t.Fatalf("page %d holds %d records; /_stats says %d pages", p, len(dids), last)
				}
				total += len(dids)
			}
			if total != count {
				t.Fatalf("pages hold %d records, /_stats %d", total, count)
			}
		})
	}

	t.Run("a write moves the deep pages", func(t *testing.T) {
		admin := classes[2].auth
		const q = "/index?form=object&limit=1024&page=12"
		before := ixDIDs(t, ixOK(t, e.Do(http.MethodGet, q, admin, nil))["records"])
		// A record sorting before every other: each page shifts by one.
		w := e.Writer()
		rec := Rec("dg.DO/00000000-0000-4000-8000-aaaaaaaaaaaa", "/programs/b") // "dg.DO/" < "dg.DP/"
		e.Do(http.MethodPost, "/index", w, rec).MustStatus(t, http.StatusOK)
		after := ixDIDs(t, ixOK(t, e.Do(http.MethodGet, q, admin, nil))["records"])
		if len(before) != 1024 || len(after) != 1024 || after[1] != before[0] {
			t.Fatalf("page 12 did not shift by one after an insert: before[0]=%v after[1]=%v", before[:1], after[:2])
		}
	})
}
