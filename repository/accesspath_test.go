package repository

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/datacommons/indexd"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/internal/testdb"
)

// uniformStats: total records spread evenly over sets sets with ids 1..sets.
func uniformStats(total float64, sets int) *setStats {
	st := &setStats{total: total, rows: map[int64]float64{}}
	for id := 1; id <= sets; id++ {
		st.rows[int64(id)] = total / float64(sets)
	}
	return st
}

func setIDs(from, n int) []int64 {
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(from + i)
	}
	return ids
}

func TestChooseListPath(t *testing.T) {
	million := uniformStats(1e6, 400) // 2,500 records a set, as the bench harness's projects
	rare := uniformStats(1e6, 400)
	for id := int64(401); id <= 500; id++ {
		rare.rows[id] = 1 // single-record sets
	}
	for _, c := range []struct {
		name string
		st   *setStats
		ids  []int64
		n    int
		want listPath
	}{
		{"no statistics", nil, setIDs(1, 40), 101, pathSetWalk},
		{"never analysed", &setStats{total: -1}, setIDs(1, 40), 101, pathSetWalk},
		{"10 %: walk the primary key", million, setIDs(1, 40), 101, pathPlain},
		{"50 %", million, setIDs(1, 200), 101, pathPlain},
		{"1 %: walk the sets", million, setIDs(1, 4), 101, pathSetWalk},
		{"0.25 %", million, setIDs(1, 1), 101, pathSetWalk},
		{"0.01 % in 100 one-record sets: bitmap", rare, setIDs(401, 100), 101, pathPlain},
		{"1 % with a page of 1,024", million, setIDs(1, 4), 1025, pathSetWalk},
		{"sets unknown to the statistics count as average", &setStats{total: 1e6, rows: map[int64]float64{}, other: 2500}, setIDs(1, 4), 101, pathSetWalk},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := chooseListPath(c.st, c.ids, c.n); got != c.want {
				t.Fatalf("chooseListPath = %v, want %v", got, c.want)
			}
		})
	}
}

// TestListPathsAgree lists every page of every caller through both access
// paths and checks each against the visibility rule: the choice of path
// may change the cost, never the answer.
func TestListPathsAgree(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, testdb.NewDatabase(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	authzOf := map[string][]string{}
	size := int64(1)
	for i := range 120 {
		var authz []string
		switch {
		case i%10 == 9:
			authz = nil // empty: visible to no filtered caller
		case i%7 == 0:
			authz = []string{"/programs/p1/projects/a", "/programs/p2"}
		default:
			authz = []string{fmt.Sprintf("/programs/p%d/projects/%c", i%3, 'a'+rune(i%4))}
		}
		n := indexd.NewRecord{DID: fmt.Sprintf("rec-%03d", i), Authz: authz}
		if i%5 != 0 { // every fifth record is blank (not a DRS object)
			n.Size, n.Hashes = &size, map[string]string{"md5": "0123456789abcdef0123456789abcdef"}
			n.URLs = []string{"s3://bucket/" + n.DID}
			if i%11 == 0 { // nor is a record without a DRS-typed url
				n.URLs = []string{"az://container/" + n.DID}
			}
		}
		if _, err := st.Create(ctx, n); err != nil {
			t.Fatal(err)
		}
		authzOf[n.DID] = authz
	}
	if _, err := st.Pool().Exec(ctx, "ANALYZE record"); err != nil {
		t.Fatal(err)
	}
	stats, err := readSetStats(ctx, st.Pool())
	if err != nil || !stats.known() || stats.total != 120 {
		t.Fatalf("statistics after ANALYZE: %+v, %v", stats, err)
	}

	grants := [][]string{
		{"/programs/p1"},
		{"/programs/p1/projects/a"},
		{"/programs/p1/projects/a", "/programs/p2"},
		{"/programs/p0", "/programs/p2/projects/b"},
		{"/programs/p9"},
	}
	for _, g := range grants {
		dc := discovery.Context{AuthorizedResources: g}
		for _, objectsOnly := range []bool{false, true} {
			var want []string
			for did, authz := range authzOf {
				var n int
				fmt.Sscanf(did, "rec-%d", &n)
				if discovery.Visible(dc, authz) && (!objectsOnly || (n%5 != 0 && n%11 != 0)) {
					want = append(want, did)
				}
			}
			slices.Sort(want)
			for _, path := range []listPath{pathSetWalk, pathPlain} {
				st.forcePath = &path
				var got []string
				start := ""
				for range 200 {
					page, err := st.ListRecords(ctx, dc, indexd.ListFilter{Limit: 7, Start: start, Page: -1, OnlyObjects: objectsOnly}, ListOptions{})
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range page.Records {
						got = append(got, r.DID)
					}
					if page.Next == "" {
						break
					}
					start = page.Next
				}
				if !slices.Equal(got, want) {
					t.Errorf("grants %v, objects only %v, path %v:\n got %v\nwant %v", g, objectsOnly, path, got, want)
				}
			}
		}
	}
	st.forcePath = nil
}

func TestIsCanonical(t *testing.T) {
	for _, c := range []struct {
		paths []string
		want  bool
	}{
		{nil, true},
		{[]string{"/a", "/a/b", "/b"}, true},
		{[]string{"/b", "/a"}, false},
		{[]string{"/a", "/a"}, false},
		{[]string{"/a/"}, false},
		{[]string{"/", "/a"}, true},
	} {
		if got := isCanonical(c.paths); got != c.want {
			t.Errorf("isCanonical(%q) = %v", c.paths, got)
		}
		if got, want := isCanonical(c.paths), slices.Equal(discovery.CanonicalSet(c.paths), c.paths) || len(c.paths) == 0; got != want {
			t.Errorf("isCanonical(%q) = %v, but CanonicalSet gives %q", c.paths, got, discovery.CanonicalSet(c.paths))
		}
	}
}
