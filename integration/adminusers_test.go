package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// Finding 8: an admin password over bcrypt's 72 bytes was a 500.
func TestAdminPasswordOver72Bytes(t *testing.T) {
	e := Start(t)
	r := e.Do(http.MethodPut, "/admin/users/tk8-long", e.Writer(), map[string]string{"password": strings.Repeat("p", 80)})
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "72") {
		t.Errorf("80-byte password: %d %s, want 400 naming the 72-byte limit", r.Status, r.Body)
	}
	e.Do(http.MethodPut, "/admin/users/tk8-ok", e.Writer(), map[string]string{"password": strings.Repeat("p", 72)}).MustStatus(t, http.StatusOK)
}

// Finding 7: a policy admin's basic-auth admins outlive its grant, and
// admin-user changes were not audited. Every change is now audited (who,
// when, what) and GET /admin/users says who created each user, so that an
// operator revoking a policy admin can find and delete what it created
// (docs/authorization.md, "Admin users").
func TestAdminUsersAudited(t *testing.T) {
	e := Start(t)
	tok := Tok("tk7-policy-admin")
	e.Policy.SetUser(tok, "tk7-policy-admin", map[string][]string{"/services/indexd/admin": {"admin"}})
	padmin := Bearer(tok)
	e.Do(http.MethodPut, "/admin/users/tk7-made", padmin, map[string]string{"password": "tk7-made-password"}).MustStatus(t, http.StatusOK)
	made := Basic("tk7-made", "tk7-made-password")
	e.Do(http.MethodGet, "/admin/discovery", made, nil).MustStatus(t, http.StatusOK)

	var users struct {
		Users []struct {
			Username  string `json:"username"`
			CreatedBy string `json:"created_by"`
			CreatedAt string `json:"created_at"`
		} `json:"users"`
	}
	e.Do(http.MethodGet, "/admin/users", made, nil).MustStatus(t, http.StatusOK).JSON(t, &users)
	if len(users.Users) != 1 || users.Users[0].Username != "tk7-made" || users.Users[0].CreatedBy != "tk7-policy-admin" || users.Users[0].CreatedAt == "" {
		t.Errorf("GET /admin/users: %+v, want tk7-made created by tk7-policy-admin", users)
	}

	// The grant is revoked: the policy admin is no admin any more; the user
	// it made is, until deleted (the documented relation).
	e.Policy.RevokeAll(tok)
	e.App.Policy.Flush()
	e.Do(http.MethodGet, "/admin/users", padmin, nil).MustStatus(t, http.StatusForbidden)
	e.Do(http.MethodPut, "/admin/users/tk7-made", made, map[string]string{"password": "tk7-new-password"}).MustStatus(t, http.StatusOK)
	e.Do(http.MethodDelete, "/admin/users/tk7-made", Basic("tk7-made", "tk7-new-password"), nil).MustStatus(t, http.StatusNoContent)

	var audit struct {
		Changes []struct {
			Username  string `json:"username"`
			Action    string `json:"action"`
			ChangedBy string `json:"changed_by"`
			ChangedAt string `json:"changed_at"`
		} `json:"changes"`
	}
	e.Do(http.MethodGet, "/admin/users/audit", e.Writer(), nil).MustStatus(t, http.StatusOK).JSON(t, &audit)
	want := []string{"delete tk7-made by tk7-made", "password tk7-made by tk7-made", "create tk7-made by tk7-policy-admin"}
	var got []string
	for _, c := range audit.Changes {
		got = append(got, fmt.Sprintf("%s %s by %s", c.Action, c.Username, c.ChangedBy))
		if c.ChangedAt == "" {
			t.Errorf("audit row without a time: %+v", c)
		}
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("admin-user audit (newest first): %q, want %q", got, want)
	}
}
