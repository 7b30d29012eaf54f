package discovery_test

import (
	"fmt"
	"testing"

	"github.com/datacommons/indexd/api"
	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/policy"
)

// benchMapping is an Arborist mapping of n paths, as a cached mapping
// holds it: most entries grant indexd read (and create), some only other
// services' methods.
func benchMapping(n int) policy.Mapping {
	m := make(policy.Mapping, n)
	for i := 0; i < n; i++ {
		path := fmt.Sprintf("/programs/p%03d/projects/q%04d", i/40, i)
		switch i % 10 {
		case 9:
			m[path] = []policy.Action{{Service: "fence", Method: "read-storage"}}
		case 8:
			m[path] = []policy.Action{{Service: "*", Method: "*"}}
		default:
			m[path] = []policy.Action{{Service: "indexd", Method: "read"}, {Service: "indexd", Method: "create"}}
		}
	}
	return m
}

// BenchmarkContextFromMapping is the per-request cost of turning a cached
// mapping into the discovery context (filtering on, one global discovery
// path the caller does not hold, so every grant is checked against it).
func BenchmarkContextFromMapping(b *testing.B) {
	st := discovery.Settings{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{"/programs/global"}}
	for _, n := range []int{1000, 5000} {
		m := benchMapping(n)
		b.Run(fmt.Sprintf("paths=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				dc := api.ContextFromMapping(st, m)
				if dc.CanDiscoverAll || len(dc.AuthorizedResources) == 0 {
					b.Fatal("unexpected context")
				}
			}
		})
	}
}

// BenchmarkVisible is the Go statement of the visibility rule (the test
// oracle, and the policy file backend's check) over 1,000 and 5,000 grants:
// a covered two-path record, and an uncovered one (every grant scanned).
func BenchmarkVisible(b *testing.B) {
	st := discovery.Settings{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{}}
	for _, n := range []int{1000, 5000} {
		dc := api.ContextFromMapping(st, benchMapping(n))
		covered := []string{"/programs/p000/projects/q0000", fmt.Sprintf("/programs/p%03d/projects/q%04d/sub", (n/2)/40, n/2)}
		hidden := []string{"/programs/p000/projects/q0000", "/programs/elsewhere/projects/x"}
		b.Run(fmt.Sprintf("paths=%d/covered", n), func(b *testing.B) {
			for b.Loop() {
				if !discovery.Visible(dc, covered) {
					b.Fatal("should be visible")
				}
			}
		})
		b.Run(fmt.Sprintf("paths=%d/not-covered", n), func(b *testing.B) {
			for b.Loop() {
				if discovery.Visible(dc, hidden) {
					b.Fatal("should not be visible")
				}
			}
		})
	}
}

// BenchmarkCanonicalSet and BenchmarkPrefixes are the per-write cost of
// finding a record's authz set and its prefix rows.
func BenchmarkCanonicalSet(b *testing.B) {
	paths := []string{"/programs/p07/projects/q1/", "/programs/p02/projects/q3", "/programs/p07/projects/q1"}
	b.ReportAllocs()
	for b.Loop() {
		_ = discovery.CanonicalSet(paths)
	}
}

func BenchmarkPrefixes(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = discovery.Prefixes("/programs/p07/projects/q1/studies/s3")
	}
}
