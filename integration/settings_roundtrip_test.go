package integration

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestSettingsRoundTrip (issue 13): PUT accepts what GET answers; version
// (body) and If-Match are preconditions answered 409 when stale; a PUT
// that changes nothing writes no audit row and bumps nothing; every change
// logs one line with who, old and new.
func TestSettingsRoundTrip(t *testing.T) {
	var logs bytes.Buffer
	e := StartLogged(t, &logs)
	admin := e.Writer()
	audit := func() int {
		var rows struct{ Changes []map[string]any }
		e.Do(http.MethodGet, "/admin/discovery/audit", admin, nil).MustStatus(t, http.StatusOK).JSON(t, &rows)
		return len(rows.Changes)
	}
	get := e.Do(http.MethodGet, "/admin/discovery", admin, nil).MustStatus(t, http.StatusOK)
	var st map[string]any
	get.JSON(t, &st)
	v0 := st["version"].(float64)
	if get.Header.Get("ETag") == "" {
		t.Fatal("GET /admin/discovery has no ETag")
	}
	before := audit()

	// The GET body as is: accepted, a no-op.
	r := e.Do(http.MethodPut, "/admin/discovery", admin, get.Body).MustStatus(t, http.StatusOK)
	r.JSON(t, &st)
	if st["version"].(float64) != v0 || audit() != before {
		t.Fatalf("a PUT of the GET body changed version %v→%v or audited (%d→%d rows)", v0, st["version"], before, audit())
	}
	// PUT {}: nothing changes either.
	e.Do(http.MethodPut, "/admin/discovery", admin, map[string]any{}).MustStatus(t, http.StatusOK).JSON(t, &st)
	if st["version"].(float64) != v0 || audit() != before {
		t.Fatalf("PUT {} bumped or audited: %v", st)
	}

	// A change from the current version: accepted, audited, logged.
	e.Do(http.MethodPut, "/admin/discovery", admin, map[string]any{"are_records_discoverable": false, "version": v0}).MustStatus(t, http.StatusOK).JSON(t, &st)
	v1 := st["version"].(float64)
	if v1 != v0+1 || audit() != before+1 {
		t.Fatalf("change: %v, %d audit rows", st, audit())
	}
	// The other admin's stale version: 409, nothing changes.
	r = e.Do(http.MethodPut, "/admin/discovery", admin, map[string]any{"are_records_discoverable": true, "version": v0})
	r.MustStatus(t, http.StatusConflict)
	if !strings.Contains(string(r.Body), `"error"`) || !strings.Contains(string(r.Body), "version") {
		t.Fatalf("409 body: %s", r.Body)
	}
	// If-Match, stale and current.
	stale := hdrDo(t, e, http.MethodPut, "/admin/discovery", admin, map[string]any{"are_records_discoverable": true}, map[string]string{"If-Match": `"` + ftoa(v0) + `"`})
	stale.MustStatus(t, http.StatusConflict)
	hdrDo(t, e, http.MethodPut, "/admin/discovery", admin, map[string]any{"are_records_discoverable": true}, map[string]string{"If-Match": `"` + ftoa(v1) + `"`}).MustStatus(t, http.StatusOK)
	hdrDo(t, e, http.MethodPut, "/admin/discovery", admin, map[string]any{}, map[string]string{"If-Match": "yesterday"}).MustStatus(t, http.StatusBadRequest)
	if audit() != before+2 {
		t.Fatalf("%d audit rows, want %d", audit(), before+2)
	}
	// dry_run (issue 15) still answers a preview.
	e.Do(http.MethodPut, "/admin/discovery", admin, map[string]any{"are_records_discoverable": false, "dry_run": true}).MustStatus(t, http.StatusOK)

	var changes []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"msg":"discovery settings changed"`) && strings.Contains(line, `"by":`) {
			changes = append(changes, line)
		}
	}
	if len(changes) != 2 || !strings.Contains(changes[0], `"by":"token:`) ||
		!strings.Contains(changes[0], `"old_are_records_discoverable":true`) || !strings.Contains(changes[0], `"new_are_records_discoverable":false`) {
		t.Fatalf("change log lines: %q", changes)
	}
}

func ftoa(f float64) string { return strconv.FormatInt(int64(f), 10) }
