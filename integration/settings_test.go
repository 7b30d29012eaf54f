package integration

// Runtime discovery settings (SPEC §2, §3): admins change them over HTTP,
// every change is audited (who, when, old, new), and every running instance
// follows a change within about a second (LISTEN/NOTIFY), with a periodic
// re-read as the safety net.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/datacommons/indexd/discovery"
)

// azAudit is GET /admin/discovery/audit.
type azAudit struct {
	Changes []struct {
		ID        int64     `json:"id"`
		ChangedBy string    `json:"changed_by"`
		ChangedAt time.Time `json:"changed_at"`
		Old       *struct {
			AreRecordsDiscoverable bool     `json:"are_records_discoverable"`
			GlobalDiscoveryAuthz   []string `json:"global_discovery_authz"`
		} `json:"old_value"`
		New struct {
			AreRecordsDiscoverable bool     `json:"are_records_discoverable"`
			GlobalDiscoveryAuthz   []string `json:"global_discovery_authz"`
		} `json:"new_value"`
	} `json:"changes"`
}

// azWaitStatus polls GET path until it answers want, for at most limit;
// it returns how long that took, or fails.
func azWaitStatus(t *testing.T, e *Env, path, auth string, want int, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		r := azMust(t, e, http.MethodGet, path, auth, nil)
		if r.Status == want {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("GET %s still %d after %s, want %d: %s", path, r.Status, limit, want, r.Body)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAuthzSettingsAdmin(t *testing.T) {
	// A's and B's periodic re-read is off (an hour): B can only learn of a
	// change made through A by NOTIFY.
	a := Start(t, WithFiltering(), withSettingsPoll(time.Hour))
	b := a.StartAnother(t, withSettingsPoll(time.Hour))
	admin := azAddAdmin(t, a, "st-admin", "st-admin-password-1")
	w := a.Writer()
	a.Create(w, Rec("st-rec", "/programs/p1/projects/a"))
	a.Create(w, Rec("st-empty"))

	readerTok := Tok("st-reader")
	a.Policy.SetUser(readerTok, "st-reader", map[string][]string{"/programs/p1": {"read", "create", "update", "delete"}})
	reader := Bearer(readerTok)
	policyAdminTok := Tok("st-policy-admin")
	a.Policy.SetUser(policyAdminTok, "st-policy-admin", map[string][]string{"/services/indexd/admin": {"admin"}})
	policyAdmin := Bearer(policyAdminTok)

	for _, e := range []*Env{a, b} {
		if r := azMust(t, e, "GET", "/index/st-rec", "", nil); r.Status != http.StatusForbidden {
			t.Fatalf("filtering on: anonymous read %d %s", r.Status, r.Body)
		}
	}

	t.Run("only admins", func(t *testing.T) {
		cases := []struct {
			method, path, auth string
			body               any
			want               int
			wantBody           string
		}{
			{"GET", "/admin/discovery", "", nil, 401, azBodyUnauthorized},
			{"PUT", "/admin/discovery", "", map[string]any{"are_records_discoverable": true}, 401, azBodyUnauthorized},
			{"GET", "/admin/discovery/audit", "", nil, 401, azBodyUnauthorized},
			{"GET", "/admin/discovery", reader, nil, 403, azBodyForbidden},
			{"PUT", "/admin/discovery", reader, map[string]any{"are_records_discoverable": true}, 403, azBodyForbidden},
			{"GET", "/admin/discovery/audit", reader, nil, 403, azBodyForbidden},
			{"PUT", "/admin/discovery", Bearer(Tok("st-unknown")), map[string]any{"are_records_discoverable": true}, 401, azBodyUnauthorized},
			{"PUT", "/admin/discovery", Basic("st-admin", "wrong-password-123"), map[string]any{"are_records_discoverable": true}, 401, azBodyUnauthorized},
		}
		for _, c := range cases {
			r := azMust(t, a, c.method, c.path, c.auth, c.body)
			if r.Status != c.want || !azSameBody(r.Body, c.wantBody) {
				t.Errorf("%s %s by %.20q: %d %s, want %d %s", c.method, c.path, c.auth, r.Status, r.Body, c.want, c.wantBody)
			}
		}
		if st := a.App.Settings.Get(); st.AreRecordsDiscoverable {
			t.Fatalf("a refused change was applied: %+v", st)
		}
		var audit azAudit
		r := azMust(t, a, "GET", "/admin/discovery/audit", admin, nil)
		if r.Status != 200 || json.Unmarshal(r.Body, &audit) != nil {
			t.Fatalf("audit: %d %s", r.Status, r.Body)
		}
		if len(audit.Changes) != 0 {
			t.Fatalf("refused changes were audited: %s", r.Body)
		}
	})

	t.Run("invalid changes are refused whole", func(t *testing.T) {
		for _, body := range []any{
			map[string]any{"are_records_discoverable": true, "global_discovery_authz": []string{"no-leading-slash"}},
			map[string]any{"are_records_discoverable": "yes"},
			map[string]any{"are_records_discoverable": true, "unknown": 1},
		} {
			r := azMust(t, a, "PUT", "/admin/discovery", admin, body)
			var v map[string]string
			if r.Status != 400 || json.Unmarshal(r.Body, &v) != nil || v["error"] == "" {
				t.Errorf("PUT %v: %d %s, want 400 with a JSON error", body, r.Status, r.Body)
			}
		}
		if st := a.App.Settings.Get(); st.AreRecordsDiscoverable {
			t.Fatalf("an invalid change was applied: %+v", st)
		}
	})

	t.Run("basic-auth admin change, audited, seen by the other instance", func(t *testing.T) {
		r := azMust(t, a, "PUT", "/admin/discovery", admin, map[string]any{"are_records_discoverable": true})
		var got struct {
			AreRecordsDiscoverable bool     `json:"are_records_discoverable"`
			GlobalDiscoveryAuthz   []string `json:"global_discovery_authz"`
		}
		if r.Status != 200 || json.Unmarshal(r.Body, &got) != nil || !got.AreRecordsDiscoverable || got.GlobalDiscoveryAuthz == nil || len(got.GlobalDiscoveryAuthz) != 0 {
			t.Fatalf("PUT: %d %s", r.Status, r.Body)
		}
		// The instance that took the change applies it at once.
		if r := azMust(t, a, "GET", "/index/st-empty", "", nil); r.Status != 200 {
			t.Fatalf("A right after the change: anonymous read %d %s", r.Status, r.Body)
		}
		took := azWaitStatus(t, b, "/index/st-empty", "", 200, 2*time.Second)
		t.Logf("instance B followed the change in %s", took)

		var audit azAudit
		ar := azMust(t, a, "GET", "/admin/discovery/audit", admin, nil)
		if ar.Status != 200 || json.Unmarshal(ar.Body, &audit) != nil || len(audit.Changes) != 1 {
			t.Fatalf("audit: %d %s", ar.Status, ar.Body)
		}
		c := audit.Changes[0]
		if c.ChangedBy != "st-admin" || c.Old == nil || c.Old.AreRecordsDiscoverable || len(c.Old.GlobalDiscoveryAuthz) != 0 ||
			!c.New.AreRecordsDiscoverable || len(c.New.GlobalDiscoveryAuthz) != 0 || time.Since(c.ChangedAt) > time.Minute || time.Until(c.ChangedAt) > time.Minute {
			t.Fatalf("audit row: %s", ar.Body)
		}
	})

	t.Run("policy admin change made on B, seen by A", func(t *testing.T) {
		body := map[string]any{"are_records_discoverable": false, "global_discovery_authz": []string{"/open"}}
		r := azMust(t, b, "PUT", "/admin/discovery", policyAdmin, body)
		if r.Status != 200 {
			t.Fatalf("PUT by policy admin: %d %s", r.Status, r.Body)
		}
		if r := azMust(t, b, "GET", "/index/st-empty", "", nil); r.Status != 403 {
			t.Fatalf("B right after the change: %d %s", r.Status, r.Body)
		}
		took := azWaitStatus(t, a, "/index/st-empty", "", 403, 2*time.Second)
		t.Logf("instance A followed the change in %s", took)
		// The new global path now lets its holder discover everything, on both.
		holderTok := Tok("st-open-holder")
		a.Policy.SetUser(holderTok, "st-open-holder", map[string][]string{"/open": {"read"}})
		for _, e := range []*Env{a, b} {
			if r := azMust(t, e, "GET", "/index/st-empty", Bearer(holderTok), nil); r.Status != 200 {
				t.Errorf("global discovery holder: %d %s", r.Status, r.Body)
			}
		}
		var audit azAudit
		ar := azMust(t, b, "GET", "/admin/discovery/audit", policyAdmin, nil)
		if ar.Status != 200 || json.Unmarshal(ar.Body, &audit) != nil || len(audit.Changes) != 2 {
			t.Fatalf("audit: %d %s", ar.Status, ar.Body)
		}
		c := audit.Changes[0] // newest first
		if c.ChangedBy == "" || strings.Contains(c.ChangedBy, policyAdminTok) || c.Old == nil || !c.Old.AreRecordsDiscoverable ||
			c.New.AreRecordsDiscoverable || strings.Join(c.New.GlobalDiscoveryAuthz, ",") != "/open" {
			t.Fatalf("audit row: %s", ar.Body)
		}
		if audit.Changes[1].ID >= c.ID {
			t.Fatalf("audit not newest first: %s", ar.Body)
		}
	})

	t.Run("periodic re-read without NOTIFY", func(t *testing.T) {
		c := a.StartAnother(t, withSettingsPoll(300*time.Millisecond))
		if r := azMust(t, c, "GET", "/index/st-empty", "", nil); r.Status != 403 {
			t.Fatalf("C before: %d %s", r.Status, r.Body)
		}
		// A change that bypasses SetSettings (no NOTIFY), as after a missed
		// notification: only the re-read can find it.
		if _, err := a.App.Store.Pool().Exec(context.Background(),
			"UPDATE discovery_settings SET are_records_discoverable = true, version = version + 1"); err != nil {
			t.Fatal(err)
		}
		took := azWaitStatus(t, c, "/index/st-empty", "", 200, 2*time.Second)
		t.Logf("instance C re-read the settings in %s", took)
	})
}

// TestSettingsConcurrentPartialChanges: two partial PUTs at once, one of
// each field, both survive. The settings table is held locked from outside
// until both requests are waiting for it, so both are in flight together
// every time: a change computed from settings read before the lock would
// lose the other's field.
func TestSettingsConcurrentPartialChanges(t *testing.T) {
	e := Start(t, withSettingsPoll(time.Hour))
	admin := azAddAdmin(t, e, "sp-admin", "sp-admin-password-1")
	ctx := context.Background()
	pool := e.App.Store.Pool()
	for round := range 3 {
		e.SetDiscovery(discovery.Settings{AreRecordsDiscoverable: true, GlobalDiscoveryAuthz: []string{}})
		global := fmt.Sprintf("/open-%d", round)

		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "LOCK TABLE discovery_settings IN EXCLUSIVE MODE"); err != nil {
			t.Fatal(err)
		}
		results := make(chan azResp, 2)
		for _, body := range []map[string]any{{"are_records_discoverable": false}, {"global_discovery_authz": []string{global}}} {
			go func() {
				r, err := azDo(e, "PUT", "/admin/discovery", admin, body)
				if err != nil {
					r.Body = []byte(err.Error())
				}
				results <- r
			}()
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			var waiting int
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
				t.Fatal(err)
			}
			if waiting >= 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the two PUTs never both waited for the settings lock (%d waiting)", waiting)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if r := <-results; r.Status != http.StatusOK {
				t.Fatalf("PUT: %d %s", r.Status, r.Body)
			}
		}
		st, err := e.App.Store.Settings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.AreRecordsDiscoverable || strings.Join(st.GlobalDiscoveryAuthz, ",") != global {
			t.Fatalf("round %d: stored %+v, want are_records_discoverable=false and global_discovery_authz=[%s]: a change was lost", round, st, global)
		}
		if got := e.App.Settings.Get(); got.Version != st.Version || got.AreRecordsDiscoverable || strings.Join(got.GlobalDiscoveryAuthz, ",") != global {
			t.Fatalf("round %d: instance holds %+v, stored %+v", round, got, st)
		}
	}
}

// TestSettingsRestoredLowerVersion: a database restored from a backup
// carries a lower settings version than the running instances hold; the
// periodic re-read follows it (it reads the current row), and so does the
// instance that takes the next change.
func TestSettingsRestoredLowerVersion(t *testing.T) {
	e := Start(t, WithFiltering(), withSettingsPoll(200*time.Millisecond))
	admin := azAddAdmin(t, e, "sr-admin", "sr-admin-password-1")
	e.Create(e.Writer(), Rec("sr-empty"))
	// Three real changes (a change that changes nothing bumps no version):
	// global paths nobody is granted.
	for i := range 3 {
		e.SetDiscovery(discovery.Settings{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{fmt.Sprintf("/sr-nobody-%d", i)}})
	}
	held := e.App.Settings.Get().Version
	if held < 3 {
		t.Fatalf("version %d after three changes", held)
	}
	azWaitStatus(t, e, "/index/sr-empty", "", 403, 2*time.Second)
	// The restore: an older row, no NOTIFY.
	if _, err := e.App.Store.Pool().Exec(context.Background(),
		"UPDATE discovery_settings SET are_records_discoverable = true, version = 1"); err != nil {
		t.Fatal(err)
	}
	took := azWaitStatus(t, e, "/index/sr-empty", "", 200, 3*time.Second)
	t.Logf("the re-read followed the restored settings in %s", took)
	if v := e.App.Settings.Get().Version; v != 1 {
		t.Fatalf("holds version %d, want the restored 1", v)
	}

	// Restored again, lower than held; this instance takes the next change
	// itself and applies the committed row at once.
	for i := range 3 {
		e.SetDiscovery(discovery.Settings{AreRecordsDiscoverable: true, GlobalDiscoveryAuthz: []string{fmt.Sprintf("/sr-again-%d", i)}})
	}
	if _, err := e.App.Store.Pool().Exec(context.Background(), "UPDATE discovery_settings SET version = 1"); err != nil {
		t.Fatal(err)
	}
	if r := azMust(t, e, "PUT", "/admin/discovery", admin, map[string]any{"are_records_discoverable": false}); r.Status != http.StatusOK {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	if r := azMust(t, e, "GET", "/index/sr-empty", "", nil); r.Status != 403 {
		t.Fatalf("right after the change on the restored database: %d %s, want 403", r.Status, r.Body)
	}
}
