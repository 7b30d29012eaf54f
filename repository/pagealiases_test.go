package repository_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/internal/testdb"
	"github.com/datacommons/indexd/repository"
)

// aliasReads counts the statements that read aliases by did.
type aliasReads struct{ n atomic.Int64 }

func (a *aliasReads) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(d.SQL, "FROM alias WHERE did = ANY") {
		a.n.Add(1)
	}
	return ctx
}

func (a *aliasReads) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestPageAliases: a list or bulk read that wants aliases (the DRS list
// and bulk) gets each record's aliases, sorted, read for the whole page in
// one query — and in none while no alias exists at all.
func TestPageAliases(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(testdb.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	tr := &aliasReads{}
	cfg.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := repository.New(pool, repository.Options{})
	size := int64(1)
	var dids []string
	for i := 0; i < 5; i++ {
		ref, err := st.Create(ctx, indexd.NewRecord{DID: "dg.AL/00000000-0000-4000-8000-00000000000" + string(rune('1'+i)),
			Size: &size, Hashes: map[string]string{"md5": "0123456789abcdef0123456789abcdef"},
			URLs: []string{"s3://b/k"}, Authz: []string{"/programs/p"}})
		if err != nil {
			t.Fatal(err)
		}
		dids = append(dids, ref.DID)
	}
	check := func(want map[string][]string, reads int64) {
		t.Helper()
		tr.n.Store(0)
		page, err := st.ListRecords(ctx, discovery.Open, indexd.ListFilter{Limit: 100, OnlyObjects: true}, repository.ListOptions{WithAliases: true})
		if err != nil {
			t.Fatal(err)
		}
		bulk, err := st.GetRecords(ctx, discovery.Open, dids, repository.ListOptions{WithAliases: true})
		if err != nil {
			t.Fatal(err)
		}
		for name, recs := range map[string][]indexd.Record{"list": page.Records, "bulk": bulk} {
			if len(recs) != len(dids) {
				t.Fatalf("%s: %d records", name, len(recs))
			}
			for _, r := range recs {
				if w := want[r.DID]; !slices.Equal(r.Aliases, w) && !(len(w) == 0 && r.Aliases != nil && len(r.Aliases) == 0) {
					t.Errorf("%s: %s has aliases %q, want %q", name, r.DID, r.Aliases, w)
				}
			}
		}
		if got := tr.n.Load(); got != reads {
			t.Errorf("%d alias reads for a list and a bulk read, want %d", got, reads)
		}
	}
	check(nil, 0)
	rec, err := st.GetRecord(ctx, discovery.Open, []string{dids[2]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddAliases(ctx, dids[2], rec.Rev, []string{"zeta", "alpha"}, false); err != nil {
		t.Fatal(err)
	}
	rec, _ = st.GetRecord(ctx, discovery.Open, []string{dids[4]})
	if _, err := st.AddAliases(ctx, dids[4], rec.Rev, []string{"mid"}, false); err != nil {
		t.Fatal(err)
	}
	check(map[string][]string{dids[2]: {"alpha", "zeta"}, dids[4]: {"mid"}}, 2)
	// The single read keeps its aliases too.
	if rec, _ = st.GetRecord(ctx, discovery.Open, []string{dids[2]}); !slices.Equal(rec.Aliases, []string{"alpha", "zeta"}) {
		t.Errorf("single read: aliases %q", rec.Aliases)
	}
}
