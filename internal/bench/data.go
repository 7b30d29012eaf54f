package bench

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/datacommons/indexd/discovery"
)

// The synthetic data set is a pure function of the record's sequence number
// i (0 ≤ i < N): its authz, hashes, urls and file name can be recomputed from
// i — by the harness and by pgbench scripts (md5('bench:' || i)) — without
// looking anything up. Only did, baseid, rev, sizes and dates are random
// (seeded), so dids, and hence the did order, are unrelated to i and to the
// project: a project's records are spread evenly over the did order and
// over the heap, the worst case for a filtered "ORDER BY did LIMIT n".
//
// Layout (p = i mod 200 is the project index, j = (i/200) mod 200):
//
//	i mod 10000 = 9999   rare: authz [/programs/rare/projects/rKKKK], K = i/10000 (0.01 %)
//	j = 0                empty authz (0.5 %)
//	j = 1 or 2           two paths: project p and project (p+10) mod 200 (1 %)
//	otherwise            one path: project p (≈ 98.5 %)
const (
	nPrograms        = 50
	projectsPerProg  = 4
	nProjects        = nPrograms * projectsPerProg // 200
	rareEvery        = 10000
	multiPartnerStep = 10
	// DIDPrefix starts every loaded did; WriteDIDPrefix every did the write
	// scenarios create (deleted at the start and end of each run).
	DIDPrefix      = "dg.BENCH/"
	WriteDIDPrefix = "dg.BENCHW/"
)

type kind int

const (
	kindSingle kind = iota
	kindMulti
	kindEmpty
	kindRare
)

func kindOf(i int) kind {
	if i%rareEvery == rareEvery-1 {
		return kindRare
	}
	switch (i / nProjects) % nProjects {
	case 0:
		return kindEmpty
	case 1, 2:
		return kindMulti
	}
	return kindSingle
}

// ProjectPath is the resource path of project index p (0..199).
func ProjectPath(p int) string {
	return projectPaths[((p%nProjects)+nProjects)%nProjects]
}

var projectPaths = func() (out [nProjects]string) {
	for p := range out {
		out[p] = fmt.Sprintf("/programs/p%02d/projects/q%d", p/projectsPerProg, p%projectsPerProg)
	}
	return out
}()

// RarePath is the unique path of the k-th rare record.
func RarePath(k int) string { return fmt.Sprintf("/programs/rare/projects/r%04d", k) }

// rareCount is how many rare records a data set of n records holds.
func rareCount(n int) int { return n / rareEvery }

// AuthzOf returns record i's authz list as stored (not canonical: the
// two-path records list their own project first).
func AuthzOf(i int) []string {
	p := i % nProjects
	switch kindOf(i) {
	case kindRare:
		return []string{RarePath(i / rareEvery)}
	case kindEmpty:
		return []string{}
	case kindMulti:
		return []string{ProjectPath(p), ProjectPath(p + multiPartnerStep)}
	}
	return []string{ProjectPath(p)}
}

// MD5Of is record i's md5: md5("bench:<i>"), so SQL can recompute it as
// md5('bench:' || i).
func MD5Of(i int) string {
	s := md5.Sum([]byte("bench:" + strconv.Itoa(i)))
	return hex.EncodeToString(s[:])
}

func sha256Of(i int) string {
	s := sha256.Sum256([]byte("bench:" + strconv.Itoa(i)))
	return hex.EncodeToString(s[:])
}

// URLOf is record i's primary storage url.
func URLOf(i int) string {
	return "s3://indexd-bench-data/objects/" + strconv.Itoa(i) + "/sample-" + strconv.Itoa(i) + ".cram"
}

// urlSQL is URLOf in SQL over a pgbench variable.
const urlSQL = `'s3://indexd-bench-data/objects/' || :i || '/sample-' || :i || '.cram'`

func mirrorURLOf(i int) string {
	return "gs://indexd-bench-mirror/objects/" + strconv.Itoa(i) + "/sample-" + strconv.Itoa(i) + ".cram"
}

// pickVisibleTo10 maps two random numbers to a record index whose project
// is one of user10's (p mod 10 = 0); a pgbench script draws the same way.
func pickVisibleTo10(n, a, b int) int {
	blocks := max(n/nProjects, 1)
	return (a%blocks)*nProjects + (b%20)*10
}

// authzSet is one distinct canonical authz set of the data set.
type authzSet struct {
	Paths []string // canonical (discovery.CanonicalSet)
	ID    int64
}

func setKey(paths []string) string { return strings.Join(paths, "\x00") }

// distinctSets lists every distinct canonical authz set records 0..n-1 use,
// in a deterministic order.
func distinctSets(n int) [][]string {
	var out [][]string
	seen := map[string]bool{}
	add := func(paths []string) {
		c := discovery.CanonicalSet(paths)
		if k := setKey(c); !seen[k] {
			seen[k] = true
			out = append(out, c)
		}
	}
	add(nil) // the empty set
	for p := 0; p < nProjects; p++ {
		add([]string{ProjectPath(p)})
	}
	for p := 0; p < nProjects; p++ {
		add([]string{ProjectPath(p), ProjectPath(p + multiPartnerStep)})
	}
	for k := 0; k < rareCount(n); k++ {
		add([]string{RarePath(k)})
	}
	return out
}

// User is one synthetic caller of the policy server.
type User struct {
	Name  string
	Token string
	// Grants are the paths on which the user holds read, create and update
	// (service indexd).
	Grants []string
	// Note says what the user sees.
	Note string
	// Admin: the user holds admin on /services/indexd/admin.
	Admin bool
}

// Users of the harness.
const (
	User10   = "user10pct"
	User1    = "user1pct"
	User001  = "user001pct"
	UserMany = "user1pct5k"
)

// UserAdmin is the harness's policy admin (admin on
// /services/indexd/admin), the caller of the admin scenarios.
const UserAdmin = "benchadmin"

// PreviewUsers are the users the discovery-preview scenario counts for:
// the four callers of users and six more, each holding read on a block of
// 2 to 12 projects, known to the policy server by name only.
func previewUsers() []*User {
	var out []*User
	for k := range 6 {
		u := &User{Name: fmt.Sprintf("preview%d", k), Note: "preview scenario only"}
		for p := 0; p < 2+2*k; p++ {
			u.Grants = append(u.Grants, ProjectPath(31*k+p))
		}
		out = append(out, u)
	}
	return out
}

// users builds the synthetic callers for a data set of n records.
func users(n int) []*User {
	var u10 []string
	for p := 0; p < nProjects; p += 10 {
		u10 = append(u10, ProjectPath(p))
	}
	u1 := []string{ProjectPath(3), ProjectPath(4)}
	var rare []string
	for k := 0; k < rareCount(n); k++ {
		rare = append(rare, RarePath(k))
	}
	many := append([]string{}, u1...)
	for k := 0; len(many) < 5000; k++ {
		// Paths a big Arborist mapping lists that hold no records.
		many = append(many, fmt.Sprintf("/programs/ext%03d/projects/x%02d", k/50, k%50))
	}
	return []*User{
		{Name: User10, Grants: u10, Note: "20 projects (≈10 %)"},
		{Name: User1, Grants: u1, Note: "2 projects (≈1 %)"},
		{Name: User001, Grants: rare, Note: fmt.Sprintf("%d single-record paths (0.01 %%)", len(rare))},
		{Name: UserMany, Grants: many, Note: "2 projects + 4,998 empty paths (≈1 %, 5,000-path mapping)"},
	}
}
