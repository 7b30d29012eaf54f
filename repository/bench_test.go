package repository_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/internal/testdb"
	"github.com/datacommons/indexd/repository"
)

func benchProject(p int) string {
	return fmt.Sprintf("/programs/p%02d/projects/q%d", (p%200)/4, p%4)
}

// benchStore is a small store shaped like the bench harness's data: 200
// single-project sets (two records each), 200 two-project sets and 20
// single-record paths — 640 records, 420 authz sets — opened with
// repository.Open so the session settings are the service's.
func benchStore(b *testing.B) *repository.Store {
	b.Helper()
	ctx := context.Background()
	st, err := repository.Open(ctx, testdb.NewDatabase(b), repository.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.Close)
	size := int64(1 << 20)
	create := func(authz ...string) {
		_, err := st.Create(ctx, indexd.NewRecord{
			Size: &size, Hashes: map[string]string{"md5": "0123456789abcdef0123456789abcdef"},
			URLs: []string{"s3://bench/" + repository.NewUUID()}, Authz: authz, ACL: []string{"bench"},
			Metadata: map[string]string{"data_type": "WGS"},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	for p := 0; p < 200; p++ {
		create(benchProject(p))
		create(benchProject(p))
		create(benchProject(p), benchProject(p+10))
	}
	for k := 0; k < 20; k++ {
		create(fmt.Sprintf("/programs/rare/projects/r%04d", k))
	}
	return st
}

// benchGrants are the read grants of the harness's callers: 20 projects
// (10 %), 2 projects (1 %), 20 single-record paths, and 2 projects among
// 998 / 4,998 paths that hold no records.
func benchGrants() map[string][]string {
	g := map[string][]string{}
	for p := 0; p < 200; p += 10 {
		g["10pct"] = append(g["10pct"], benchProject(p))
	}
	g["1pct"] = []string{benchProject(3), benchProject(4)}
	for k := 0; k < 20; k++ {
		g["rare"] = append(g["rare"], fmt.Sprintf("/programs/rare/projects/r%04d", k))
	}
	for _, n := range []int{1000, 5000} {
		paths := []string{benchProject(3), benchProject(4)}
		for k := 0; len(paths) < n; k++ {
			paths = append(paths, fmt.Sprintf("/programs/ext%03d/projects/x%02d", k/50, k%50))
		}
		g[fmt.Sprintf("%dpaths", n)] = paths
	}
	return g
}

// BenchmarkVisibilitySQL is the visibility predicate builder: resolving a
// caller's grants to visible authz set ids against the database (one
// round trip) and rendering the clause.
func BenchmarkVisibilitySQL(b *testing.B) {
	st := benchStore(b)
	ctx := context.Background()
	for _, name := range []string{"1pct", "10pct", "rare", "1000paths", "5000paths"} {
		dc := discovery.Context{AuthorizedResources: benchGrants()[name]}
		b.Run("grants="+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := st.VisibilitySQL(ctx, dc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("unfiltered", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := st.VisibilitySQL(ctx, discovery.Open); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkListRecords is one list page through the repository (resolve,
// page query, row decoding) on the small store.
func BenchmarkListRecords(b *testing.B) {
	st := benchStore(b)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		dc   discovery.Context
	}{
		{"open", discovery.Open},
		{"10pct", discovery.Context{AuthorizedResources: benchGrants()["10pct"]}},
		{"rare", discovery.Context{AuthorizedResources: benchGrants()["rare"]}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := st.ListRecords(ctx, c.dc, indexd.ListFilter{Limit: 100, Page: -1}, repository.ListOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
