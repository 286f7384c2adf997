package main

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestReadResponse reads responses back to back from one stream, as on a
// keep-alive connection: each must end exactly where the next begins.
func TestReadResponse(t *testing.T) {
	stream := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nalice" +
		"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nTrailer: t\r\n\r\n" +
		"HTTP/1.1 204 No Content\r\n\r\n" +
		"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok" +
		"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx"
	want := []struct {
		status int
		keep   bool
	}{{200, true}, {503, true}, {200, true}, {204, true}, {200, false}, {200, false}}
	br := bufio.NewReader(strings.NewReader(stream))
	for i, w := range want {
		status, keep, err := readResponse(br)
		if err != nil || status != w.status || keep != w.keep {
			t.Fatalf("response %d: status %d, keep %v, err %v; want %d, %v", i, status, keep, err, w.status, w.keep)
		}
	}
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("bytes left after the last response: a body was not read to its end")
	}
}

func TestReadResponseErrors(t *testing.T) {
	for _, raw := range []string{
		"",                        // the connection closed
		"garbage\r\n\r\n",         // no status line
		"HTTP/1.1 2x0 OK\r\n\r\n", // no status code
		"HTTP/1.1 200 OK\r\n\r\n", // no length: cannot tell where it ends
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort", // cut off
		"HTTP/1.1 200 OK\r\nno colon\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	} {
		if status, _, err := readResponse(bufio.NewReader(strings.NewReader(raw))); err == nil {
			t.Errorf("%q: status %d and no error", raw, status)
		}
	}
}

// TestDriveCounts drives a real loopback server and checks the counts
// against what the server saw: every answer counted is one the server
// gave, non-2xx answers are counted as such, and a server that drops the
// connections shows as transport errors.
func TestDriveCounts(t *testing.T) {
	var served, failed atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/read":
			if r.Header.Get("Cookie") == "" {
				t.Errorf("a request without its cookie")
			}
			served.Add(1)
			_, _ = w.Write([]byte("alice"))
		case "/fail":
			failed.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/drop":
			c, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				c.Close()
			}
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	run := func(path string, cookies []string) loadRun {
		return loadRun{addr: addr, shape: httpShape{name: "read", method: http.MethodGet, path: path}, cookies: cookies,
			conns: 4, d: 300 * time.Millisecond, warmup: 50 * time.Millisecond}
	}

	cell, err := drive(run("/read", []string{"session=a", "session=b", "session=c"}))
	if err != nil {
		t.Fatal(err)
	}
	if cell.Requests == 0 || cell.Requests > served.Load() || cell.Non2xx != 0 || cell.Transport != 0 {
		t.Fatalf("/read: %d counted, %d non-2xx, %d transport errors; the server answered %d", cell.Requests, cell.Non2xx, cell.Transport, served.Load())
	}
	if cell.RPS <= 0 || cell.P50us <= 0 || cell.P99us < cell.P50us || cell.MaxUs < cell.P99us {
		t.Fatalf("/read: rps %.0f, p50 %.0f, p99 %.0f, max %.0f", cell.RPS, cell.P50us, cell.P99us, cell.MaxUs)
	}

	cell, err = drive(run("/fail", []string{"session=a"}))
	if err != nil {
		t.Fatal(err)
	}
	if cell.Requests != 0 || cell.Non2xx == 0 || cell.Non2xx > failed.Load() || !strings.Contains(cell.FirstErr, "503") {
		t.Fatalf("/fail: %d counted, %d non-2xx (the server failed %d), first error %q", cell.Requests, cell.Non2xx, failed.Load(), cell.FirstErr)
	}

	cell, err = drive(run("/drop", []string{"session=a"}))
	if err != nil {
		t.Fatal(err)
	}
	if cell.Requests != 0 || cell.Transport == 0 {
		t.Fatalf("/drop: %d counted, %d transport errors", cell.Requests, cell.Transport)
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:80", "[::1]:8080"} {
		if err := loopbackOnly(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"10.0.0.1:80", "example.com:80", "localhost:80", "127.0.0.1"} {
		if loopbackOnly(bad) == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestParseWrk(t *testing.T) {
	out := `Running 3s test @ http://127.0.0.1:40001/read
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.05ms    1.20ms  30.12ms   92.00%
    Req/Sec    24.01k     2.11k   30.00k    70.00%
  Latency Distribution
     50%  812.00us
     75%    1.20ms
     90%    2.01ms
     99%    6.50ms
  143420 requests in 3.00s, 17.10MB read
  Socket errors: connect 0, read 2, write 1, timeout 0
  Non-2xx or 3xx responses: 7
Requests/sec:  47806.12
Transfer/sec:      5.70MB
`
	w, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if w.RPS != 47806.12 || w.P50us != 812 || w.P99us != 6500 || w.Non2xx != 7 || w.Errors != 3 {
		t.Fatalf("%+v", w)
	}
	if _, err := parseWrk("unable to connect to 127.0.0.1:1 Connection refused\n"); err == nil {
		t.Fatal("no figure, no error")
	}
}

// A listener that accepts nothing would make drive hang on its dials; the
// dial timeout and hard stop bound it. (Here: a port nobody listens on,
// refused at once.)
func TestDriveRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cell, err := drive(loadRun{addr: addr, shape: httpShape{name: "read", method: http.MethodGet, path: "/"}, conns: 2,
		d: 100 * time.Millisecond, warmup: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if cell.Requests != 0 || cell.Transport == 0 || cell.FirstErr == "" {
		t.Fatalf("refused: %d counted, %d transport errors, first %q", cell.Requests, cell.Transport, cell.FirstErr)
	}
}
