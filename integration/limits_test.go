package integration

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLimits: oversized bodies, limit and bulk caps answer clear 4xx JSON.
func TestLimits(t *testing.T) {
	e := Start(t)
	w := e.Writer()
	big := `{"form":"object","size":1,"hashes":{"md5":"0123456789abcdef0123456789abcdef"},"urls":[],"file_name":"` + strings.Repeat("x", 2<<20) + `"}`
	cases := []struct {
		name, method, path string
		body               any
		want               int
	}{
		{"body over 1M", http.MethodPost, "/index", big, http.StatusRequestEntityTooLarge},
		{"limit above 1024", http.MethodGet, "/index?limit=1025", nil, http.StatusBadRequest},
		{"negative limit", http.MethodGet, "/index?limit=-1", nil, http.StatusBadRequest},
		{"limit not a number", http.MethodGet, "/index?limit=ten", nil, http.StatusBadRequest},
		{"page past a million", http.MethodGet, "/index?page=1000001", nil, http.StatusBadRequest},
		{"bulk over 1024 ids", http.MethodPost, "/bulk/documents", manyIDs(1025), http.StatusBadRequest},
		{"empty bulk", http.MethodPost, "/bulk/documents", []string{}, http.StatusBadRequest},
		{"guid mint over cap", http.MethodGet, "/guid/mint?count=10001", nil, http.StatusBadRequest},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.Do(c.method, c.path, w, c.body)
			if r.Status != c.want {
				t.Fatalf("status %d, want %d: %.200s", r.Status, c.want, r.Body)
			}
			if msg, _ := r.Map(t)["error"].(string); msg == "" {
				t.Fatalf("no error message: %s", r.Body)
			}
		})
	}
	// page=N has no depth cap (issue 10): past the end is an empty page.
	for _, q := range []string{"limit=1024", "page=1001", "page=100&limit=1024", "page=1000000&limit=1024"} {
		r := e.Do(http.MethodGet, "/index?"+q, "", nil)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %.200s", q, r.Status, r.Body)
		}
		if recs, _ := r.Map(t)["records"].([]any); q != "limit=1024" && len(recs) != 0 {
			t.Fatalf("%s: %d records past the end", q, len(recs))
		}
	}
}

func manyIDs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "id-" + strings.Repeat("0", 3) + string(rune('a'+i%26)) + "-" + itoa(i)
	}
	return out
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// TestSlowClientGuard: a client that never finishes its headers is cut off
// by the server's header timeout (slowloris guard) instead of holding a
// connection forever.
func TestSlowClientGuard(t *testing.T) {
	e := Start(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /index HTTP/1.1\r\nHost: x\r\nX-Slow: ")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	// Keep trickling a byte a second; the server must still close.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 15; i++ {
			time.Sleep(time.Second)
			if _, err := conn.Write([]byte("a")); err != nil {
				return
			}
		}
	}()
	_, err = io.ReadAll(bufio.NewReader(conn))
	elapsed := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("server kept a slow client for %v", elapsed)
	}
	if elapsed > 12*time.Second {
		t.Fatalf("server closed the slow client only after %v", elapsed)
	}
	<-done
}

// TestStatsHugeSizes: sizes are caller-given and may each be up to 2^63-1,
// so their sum can pass what a bigint holds. /_stats and DRS service-info
// then report the total as 2^63-1 instead of answering 500 to every caller
// (found by FuzzHTTPHandlers: one record of size 2^63-1 beside any other).
func TestStatsHugeSizes(t *testing.T) {
	t.Parallel()
	e := Start(t)
	w := e.Writer()
	const maxInt64 = int64(^uint64(0) >> 1)
	for _, did := range []string{"huge-1", "huge-2"} {
		rec := Rec(did, "/programs/p1")
		rec["size"] = maxInt64
		e.Create(w, rec)
	}
	e.Create(w, Rec("small", "/programs/p1"))
	var st struct{ FileCount, TotalFileSize int64 }
	e.Do(http.MethodGet, "/_stats", "", nil).MustStatus(t, http.StatusOK).JSON(t, &st)
	if st.FileCount != 3 || st.TotalFileSize != maxInt64 {
		t.Fatalf("/_stats %+v, want 3 files and the total saturated at %d", st, maxInt64)
	}
	var si struct {
		DRS struct {
			ObjectCount, TotalObjectSize int64
		}
	}
	e.Do(http.MethodGet, "/ga4gh/drs/v1/service-info", "", nil).MustStatus(t, http.StatusOK).JSON(t, &si)
	if si.DRS.ObjectCount != 3 || si.DRS.TotalObjectSize != maxInt64 {
		t.Fatalf("service-info drs %+v, want 3 objects and the total saturated", si.DRS)
	}
}
