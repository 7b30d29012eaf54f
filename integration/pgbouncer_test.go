package integration

// The service behind PgBouncer in transaction mode (issue 16,
// docs/scaling.md): two instances, each with a pool of 16 connections to a
// PgBouncer that multiplexes them over 3 server connections, run
// concurrent creates, updates, alias writes, filtered lists, DRS lists,
// bulk reads and settings changes. PgBouncer before 1.21 (Debian 12 ships
// 1.18) does not track prepared statements, so the database URL asks pgx
// for default_query_exec_mode=cache_describe (unnamed statements); it
// drops startup parameters it does not know (ignore_startup_parameters);
// and it does not deliver notifications, so INDEXD_DATABASE_LISTEN_URL
// gives the settings listener a direct connection — the settings
// re-read is an hour here, so only a notification can deliver a change.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/datacommons/indexd/discovery"
	"github.com/datacommons/indexd/internal/app"
	"github.com/datacommons/indexd/internal/testdb"
	"github.com/datacommons/indexd/policy/policytest"
	"github.com/datacommons/indexd/repository"
)

// startPgBouncer runs PgBouncer in transaction mode in front of the server
// dbURL points at, and returns dbURL rewritten to go through it. It skips
// (loudly, by name) when PgBouncer is not installed.
func startPgBouncer(t *testing.T, dbURL string, serverConns int) string {
	t.Helper()
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/pgbouncer"); serr != nil {
			t.Skipf("SKIPPED %s: pgbouncer is not installed (Debian: apt-get install pgbouncer)", t.Name())
		}
		bin = "/usr/sbin/pgbouncer"
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "5432"
	}
	dir, err := os.MkdirTemp("", "indexd-pgbouncer-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	listen := freePort(t)
	dbUser := u.User.Username()
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%s
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = transaction
default_pool_size = %d
max_client_conn = 500
ignore_startup_parameters = statement_timeout, extra_float_digits
logfile = %s
server_reset_query =
`, host, port, listen, filepath.Join(dir, "users.txt"), serverConns, filepath.Join(dir, "pgbouncer.log"))
	if err := os.WriteFile(filepath.Join(dir, "pgbouncer.ini"), []byte(ini), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.txt"), []byte(fmt.Sprintf("%q \"\"\n", dbUser)), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{filepath.Join(dir, "pgbouncer.ini")}
	cmd := exec.Command(bin, args...)
	if os.Geteuid() == 0 { // PgBouncer refuses to run as root
		pu, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("SKIPPED %s: running as root and no postgres OS user to run PgBouncer as", t.Name())
		}
		uid, _ := strconv.Atoi(pu.Uid)
		gid, _ := strconv.Atoi(pu.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pgbouncer: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT) // immediate shutdown
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	b := *u
	b.Host = fmt.Sprintf("127.0.0.1:%d", listen)
	q := b.Query()
	q.Set("default_query_exec_mode", "cache_describe")
	b.RawQuery = q.Encode()
	waitFor(t, 10*time.Second, "pgbouncer accepts connections", func() bool {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			t.Fatalf("pgbouncer exited: %s", log)
		default:
		}
		return pingURL(b.String()) == nil
	})
	return b.String()
}

func pingURL(u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := repository.Open(ctx, u, repository.Options{MaxConns: 1})
	if err != nil {
		return err
	}
	st.Close()
	return nil
}

func TestPgBouncerTransactionMode(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PgBouncer; not in -short")
	}
	direct := testdb.NewDatabase(t)
	bounced := startPgBouncer(t, direct, 3)
	pol := policytest.New(t)
	opts := func(c *app.Config) {
		c.MaxConns = 16
		c.ListenURL = direct
		c.SettingsPoll = time.Hour
	}
	a := start(t, bounced, pol, testLogger(), opts)
	b := a.StartAnother(t, opts)
	w := a.Writer()
	reader := Tok("bouncer-reader")
	pol.SetUser(reader, "bouncer-reader", map[string][]string{"/programs/pb/projects/a": {"read"}})

	var wg sync.WaitGroup
	errs := make(chan string, 1000)
	for k := 0; k < 8; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := []*Env{a, b}[k%2]
			for n := 0; n < 15; n++ {
				did := "dg.PGB/" + repository.NewUUID()
				proj := []string{"a", "b"}[n%2]
				steps := []struct {
					method, path string
					body         any
				}{
					{http.MethodPost, "/index", Rec(did, "/programs/pb/projects/"+proj)},
					{http.MethodGet, "/index/" + did, nil},
					{http.MethodGet, "/index?limit=20", nil},
					{http.MethodGet, "/ga4gh/drs/v1/objects?limit=20", nil},
					{http.MethodPost, "/bulk/documents", []string{did}},
					{http.MethodGet, "/index/" + did + "/versions", nil},
					{http.MethodGet, "/_stats", nil},
				}
				var rev string
				for _, st := range steps {
					r, err := azDo(e, st.method, st.path, w, st.body)
					if err != nil || r.Status != http.StatusOK {
						errs <- fmt.Sprintf("%s %s: %v %d %s", st.method, st.path, err, r.Status, azTrunc(r.Body))
						return
					}
					if st.method == http.MethodPost && st.path == "/index" {
						rev = jsonField(r.Body, "rev")
					}
				}
				r, err := azDo(e, http.MethodPut, "/index/"+did+"?rev="+rev, w, map[string]any{"file_name": "x.cram"})
				if err != nil || r.Status != http.StatusOK {
					errs <- fmt.Sprintf("update: %v %d %s", err, r.Status, azTrunc(r.Body))
					return
				}
				rev = jsonField(r.Body, "rev")
				r, err = azDo(e, http.MethodPost, "/index/"+did+"/aliases", w, map[string]any{"aliases": []map[string]string{{"value": "pgb-" + did[7:]}}})
				if err != nil || r.Status != http.StatusOK {
					errs <- fmt.Sprintf("alias: %v %d %s", err, r.Status, azTrunc(r.Body))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if t.Failed() {
		return
	}

	// Filtered reads (visibility resolved through the proxy).
	a.SetDiscovery(discovery.Settings{AreRecordsDiscoverable: false, GlobalDiscoveryAuthz: []string{}})
	waitFor(t, 10*time.Second, "the other instance applies the change (only a notification can deliver it: the re-read is an hour)", func() bool {
		return b.Do(http.MethodGet, "/index?limit=1", "", nil).Status == http.StatusOK &&
			countOf(t, b.Do(http.MethodGet, "/index?limit=1", "", nil)) == 0
	})
	for _, e := range []*Env{a, b} {
		var list struct {
			Records []struct{ Authz []string }
		}
		e.Do(http.MethodGet, "/index?limit=1000", Bearer(reader), nil).MustStatus(t, http.StatusOK).JSON(t, &list)
		if len(list.Records) != 64 { // 8 workers × 8 even steps
			t.Errorf("filtered list through PgBouncer: %d records, want 64", len(list.Records))
		}
		for _, r := range list.Records {
			if len(r.Authz) != 1 || r.Authz[0] != "/programs/pb/projects/a" {
				t.Fatalf("filtered list shows %v", r.Authz)
			}
		}
	}
}

func jsonField(body []byte, key string) string {
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	s, _ := m[key].(string)
	return s
}

func countOf(t *testing.T, r *Response) int {
	var list struct{ Records []any }
	r.JSON(t, &list)
	return len(list.Records)
}
