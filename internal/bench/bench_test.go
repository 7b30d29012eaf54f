package bench

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/datacommons/indexd/discovery"
)

// The data set's proportions are what the scenarios are named after.
func TestDataSetShape(t *testing.T) {
	const n = 1_000_000
	counts := map[kind]int{}
	sets := map[string]bool{}
	for i := 0; i < n; i++ {
		counts[kindOf(i)]++
		sets[setKey(discovery.CanonicalSet(AuthzOf(i)))] = true
	}
	if counts[kindRare] != 100 || counts[kindEmpty] < 4900 || counts[kindEmpty] > 5100 || counts[kindMulti] < 9800 || counts[kindMulti] > 10100 {
		t.Errorf("kinds = %v", counts)
	}
	if len(sets) != len(distinctSets(n)) {
		t.Errorf("records use %d sets, distinctSets lists %d", len(sets), len(distinctSets(n)))
	}

	const m = 100_000 // visibility on a tenth: 10 rare records
	us := users(m)
	visible := map[string]int{}
	for i := 0; i < m; i++ {
		a := AuthzOf(i)
		for _, u := range us[:3] {
			if discovery.Visible(discovery.Context{AuthorizedResources: u.Grants}, a) {
				visible[u.Name]++
			}
		}
		if i < 20_000 && discovery.Visible(discovery.Context{AuthorizedResources: us[3].Grants}, a) != discovery.Visible(discovery.Context{AuthorizedResources: us[1].Grants}, a) {
			t.Fatalf("record %d: %s and %s disagree", i, UserMany, User1)
		}
	}
	if v := visible[User10]; v < 9_500 || v > 10_500 {
		t.Errorf("%s sees %d of %d records", User10, v, m)
	}
	if v := visible[User1]; v < 900 || v > 1_100 {
		t.Errorf("%s sees %d of %d records", User1, v, m)
	}
	if v := visible[User001]; v != 10 {
		t.Errorf("%s sees %d records, want 10", User001, v)
	}
	if len(us[3].Grants) != 5000 {
		t.Errorf("%s holds %d paths", UserMany, len(us[3].Grants))
	}
}

func TestPickVisibleTo10(t *testing.T) {
	ctx := discovery.Context{AuthorizedResources: users(20000)[0].Grants}
	hidden := 0
	for a := 0; a < 100; a++ {
		for b := 0; b < 20; b++ {
			if !discovery.Visible(ctx, AuthzOf(pickVisibleTo10(20000, a, b))) {
				hidden++
			}
		}
	}
	if hidden > 2000/100 { // only the empty-authz block
		t.Errorf("%d of 2000 picks are not visible to %s", hidden, User10)
	}
}

func TestTokenShape(t *testing.T) {
	tok := mintToken("someone")
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || strings.ContainsAny(tok, "+/=") {
		t.Fatalf("token %q is not three base64url segments", tok)
	}
}

func TestReplay(t *testing.T) {
	hash, _ := json.Marshal(map[string]string{"md5": MD5Of(7)})
	raw, err := replay([]capturedStmt{
		{SQL: "SELECT 1 FROM t WHERE a = ANY($1::bigint[]) AND b > $2 AND c @> $3::jsonb AND d = '$9' LIMIT $4", Args: []any{[]int64{1, 2}, "", string(hash), uint64(101)}},
	}, `\set i 7`+"\n", map[string]string{string(hash): "expr(:i)"})
	if err != nil {
		t.Fatal(err)
	}
	want := "SELECT 1 FROM t WHERE a = ANY(:s1p1::bigint[]) AND b > '' AND c @> (expr(:i))::jsonb AND d = '$9' LIMIT :s1p4"
	if raw.Stmts[0] != want {
		t.Errorf("replay:\n got %s\nwant %s", raw.Stmts[0], want)
	}
	if raw.Defines["s1p1"] != "{1,2}" || raw.Defines["s1p4"] != "101" {
		t.Errorf("defines = %v", raw.Defines)
	}
	got := substitute(raw.Stmts[0], func(n string) string { return "<" + n + ">" })
	if !strings.Contains(got, "ANY(<s1p1>::bigint[])") || !strings.Contains(got, "expr(<i>)") {
		t.Errorf("substitute: %s", got)
	}
}

func TestTextArrayAndPercentiles(t *testing.T) {
	if got := textArray([]string{`/a`, `b"c`, `d\e`}); got != `{"/a","b\"c","d\\e"}` {
		t.Errorf("textArray = %s", got)
	}
	var xs []time.Duration
	for i := 1; i <= 100; i++ {
		xs = append(xs, time.Duration(i)*time.Millisecond)
	}
	p50, p95, p99 := percentiles(xs)
	if p50 != 50*time.Millisecond || p95 != 95*time.Millisecond || p99 != 99*time.Millisecond {
		t.Errorf("percentiles = %v %v %v", p50, p95, p99)
	}
}
