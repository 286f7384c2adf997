package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sessionware/sessions/benchmarks/harness"
)

// The load process: a minimal HTTP/1.1 client over keep-alive connections,
// one goroutine per connection, each sending a prebuilt request and reading
// the response with a bufio.Reader (status line, headers, a body of
// Content-Length bytes or chunks). It allocates nothing per request but the
// latency sample, so that it takes as little of the cores it shares with
// the server as wrk does.

// httpShape is a request shape over HTTP.
type httpShape struct {
	name   string
	method string
	path   string
	// sessions is how many sessions the shape's requests carry: 0 none
	// (each request creates one), 1 the same for all, otherwise that many
	// in rotation (the -sessions flag).
	sessions int
	what     string // for the report
}

// httpShapes are the shapes of the HTTP harness, in report order.
var httpShapes = []httpShape{
	{name: "read", method: http.MethodGet, path: "/read", sessions: -1,
		what: "GET /read: reads one value of a two-key session; the requests rotate over the pre-created sessions"},
	{name: "write-many", method: http.MethodPost, path: "/write", sessions: -1,
		what: "POST /write: sets one value (a load and a save); the requests rotate over the pre-created sessions"},
	{name: "hot", method: http.MethodPost, path: "/incr", sessions: 1,
		what: "POST /incr: every connection adds one to the counter of one session (ours with Update; the peers get, add and set)"},
	{name: "new", method: http.MethodPost, path: "/new",
		what: "POST /new without a cookie: each request creates a session"},
}

func shapeByName(name string) (httpShape, bool) {
	for _, s := range httpShapes {
		if s.name == name {
			return s, true
		}
	}
	return httpShape{}, false
}

// loadMain is `httpbench load`: it seeds the sessions a shape needs
// through the server, drives it for -d after -warmup, and prints the cell
// as JSON on stdout.
func loadMain(args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	var (
		addr      = fs.String("addr", "", "the server, host:port (loopback)")
		shapeName = fs.String("shape", "read", "read, write-many, hot or new")
		conns     = fs.Int("conns", 64, "keep-alive connections, one goroutine each")
		sessions  = fs.Int("sessions", 256, "sessions the read and write-many shapes rotate over")
		d         = fs.Duration("d", 3*time.Second, "measured time")
		warmup    = fs.Duration("warmup", 500*time.Millisecond, "unmeasured time before it")
		serverPID = fs.Int("server-pid", 0, "the server's process, for its CPU time (0: not measured)")
		countable = fs.Bool("count", false, "hot: read the counter back and report lost updates")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	sh, ok := shapeByName(*shapeName)
	if !ok {
		return fmt.Errorf("unknown shape %q", *shapeName)
	}
	if err := loopbackOnly(*addr); err != nil {
		return err
	}
	if *conns < 1 || *conns > 1024 || *sessions < 1 || *sessions > 100_000 {
		return errors.New("-conns must be 1 to 1024, -sessions 1 to 100000")
	}
	n := sh.sessions
	if n < 0 {
		n = *sessions
	}
	cookies, err := seedHTTP(*addr, n)
	if err != nil {
		return err
	}
	cell, err := drive(loadRun{addr: *addr, shape: sh, cookies: cookies, conns: *conns, d: *d, warmup: *warmup, serverPID: *serverPID})
	if err != nil {
		return err
	}
	if sh.name == "hot" {
		cell.Lost = -1
		if *countable && len(cookies) == 1 {
			got, err := readCounter(*addr, cookies[0])
			if err != nil {
				return err
			}
			cell.Counter, cell.Lost = got, cell.Incremented-got
		}
	}
	return json.NewEncoder(os.Stdout).Encode(cell)
}

// loopbackOnly refuses an address that is not on the loopback interface:
// load goes to this machine only.
func loopbackOnly(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("-addr %q: only a loopback IP address is accepted", addr)
	}
	return nil
}

// seedHTTP creates n sessions through POST /seed and returns their Cookie
// headers. The bare server sets no cookie: its cookies are empty.
func seedHTTP(addr string, n int) ([]string, error) {
	if n == 0 {
		return nil, nil
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	defer client.CloseIdleConnections()
	cookies := make([]string, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	next := atomic.Int64{}
	for range min(n, 16) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				resp, err := client.Post("http://"+addr+"/seed", "", nil)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("POST /seed: status %d", resp.StatusCode)
					}
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				cookies[i] = harness.CookieFrom(resp.Cookies())
			}
		})
	}
	wg.Wait()
	return cookies, firstErr
}

// readCounter reads the hot session's counter (GET /count).
func readCounter(addr, cookie string) (int64, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/count", nil)
	if err != nil {
		return 0, err
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /count: status %d", resp.StatusCode)
	}
	return strconv.ParseInt(strings.TrimSpace(string(body)), 10, 64)
}

// loadRun is one measured run.
type loadRun struct {
	addr      string
	shape     httpShape
	cookies   []string // none: no cookie; several: in rotation
	conns     int
	d, warmup time.Duration
	serverPID int
}

// buildRequests returns the raw requests, one per cookie (one without a
// cookie when there is none).
func (r loadRun) buildRequests() [][]byte {
	build := func(cookie string) []byte {
		var b bytes.Buffer
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", r.shape.method, r.shape.path, r.addr)
		if cookie != "" {
			fmt.Fprintf(&b, "Cookie: %s\r\n", cookie)
		}
		if r.shape.method == http.MethodPost {
			b.WriteString("Content-Length: 0\r\n")
		}
		b.WriteString("\r\n")
		return b.Bytes()
	}
	var reqs [][]byte
	for _, c := range r.cookies {
		reqs = append(reqs, build(c))
	}
	if len(reqs) == 0 {
		reqs = append(reqs, build(""))
	}
	return reqs
}

// worker is one connection's tally.
type worker struct {
	lat               []time.Duration // of 2xx responses within the window
	non2xx, transport int64           // within the window
	incremented       int64           // 2xx over the whole run
	firstErr          string
	conn              net.Conn
	br                *bufio.Reader
	dialer            net.Dialer
	addr              string
	hardStop          time.Time
	measureAt, stopAt time.Time
	reqs              [][]byte
	rotation          *atomic.Uint64
	rotating          bool
}

func (w *worker) dial() error {
	c, err := w.dialer.Dial("tcp", w.addr)
	if err != nil {
		return err
	}
	_ = c.SetDeadline(w.hardStop)
	w.conn = c
	if w.br == nil {
		w.br = bufio.NewReaderSize(c, 16<<10)
	} else {
		w.br.Reset(c)
	}
	return nil
}

func (w *worker) fail(err error, t time.Time) {
	if w.firstErr == "" {
		w.firstErr = err.Error()
	}
	if t.IsZero() || (!t.Before(w.measureAt) && t.Before(w.stopAt)) {
		w.transport++ // a failed first dial counts too
	}
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
}

func (w *worker) run(dialed *sync.WaitGroup, start <-chan struct{}, times *atomic.Pointer[[2]time.Time]) {
	if err := w.dial(); err != nil {
		w.fail(err, time.Time{})
	}
	dialed.Done()
	<-start
	t := times.Load()
	w.measureAt, w.stopAt, w.hardStop = t[0], t[1], t[1].Add(10*time.Second)
	if w.conn != nil {
		_ = w.conn.SetDeadline(w.hardStop)
	}
	i := uint64(0)
	for {
		t0 := time.Now()
		if !t0.Before(w.stopAt) {
			break
		}
		if w.conn == nil {
			if err := w.dial(); err != nil {
				w.fail(err, t0)
				time.Sleep(time.Millisecond)
				continue
			}
		}
		req := w.reqs[0]
		if w.rotating {
			i = w.rotation.Add(1)
			req = w.reqs[i%uint64(len(w.reqs))]
		}
		if _, err := w.conn.Write(req); err != nil {
			w.fail(err, t0)
			continue
		}
		status, keep, err := readResponse(w.br)
		t1 := time.Now()
		if err != nil {
			w.fail(err, t1)
			continue
		}
		ok := status >= 200 && status < 300
		if ok {
			w.incremented++
		}
		if !t1.Before(w.measureAt) && t1.Before(w.stopAt) {
			if ok {
				w.lat = append(w.lat, t1.Sub(t0))
			} else {
				w.non2xx++
				if w.firstErr == "" {
					w.firstErr = "status " + strconv.Itoa(status)
				}
			}
		}
		if !keep {
			w.conn.Close()
			w.conn = nil
		}
	}
	if w.conn != nil {
		w.conn.Close()
	}
}

// drive runs the load and returns the cell (its backend fields unset).
func drive(r loadRun) (harness.HTTPCell, error) {
	reqs := r.buildRequests()
	var rotation atomic.Uint64
	ws := make([]*worker, r.conns)
	start := make(chan struct{})
	var times atomic.Pointer[[2]time.Time] // measureAt, stopAt: set when every connection is up
	var wg, dialed sync.WaitGroup
	for i := range ws {
		w := &worker{
			addr: r.addr, reqs: reqs, rotation: &rotation, rotating: len(reqs) > 1,
			hardStop: time.Now().Add(r.warmup + r.d + 20*time.Second), // for the dial
			lat:      make([]time.Duration, 0, 1<<14),
			dialer:   net.Dialer{Timeout: 5 * time.Second},
		}
		ws[i] = w
		dialed.Add(1)
		wg.Go(func() { w.run(&dialed, start, &times) })
	}
	dialed.Wait()
	measureAt := time.Now().Add(r.warmup)
	stopAt := measureAt.Add(r.d)
	times.Store(&[2]time.Time{measureAt, stopAt})
	close(start)
	time.Sleep(time.Until(measureAt))
	srv0, self0 := procCPU(r.serverPID), selfCPU()
	time.Sleep(time.Until(stopAt))
	srv1, self1 := procCPU(r.serverPID), selfCPU()
	wg.Wait()

	var all []time.Duration
	cell := harness.HTTPCell{Shape: r.shape.name, Conns: r.conns, Seconds: r.d.Seconds()}
	for _, w := range ws {
		all = append(all, w.lat...)
		cell.Non2xx += w.non2xx
		cell.Transport += w.transport
		cell.Incremented += w.incremented
		if cell.FirstErr == "" {
			cell.FirstErr = w.firstErr
		}
	}
	if r.shape.name != "hot" {
		cell.Incremented = 0
	}
	cell.Requests = int64(len(all))
	cell.RPS = float64(len(all)) / r.d.Seconds()
	if len(all) == 0 {
		// Nothing answered within the window: the errors say why, or the
		// machine was too busy for this cell's time. Reported, not fatal.
		if cell.FirstErr == "" {
			cell.FirstErr = "no response within the measured time"
		}
		return cell, nil
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[int(p*float64(len(all)-1))]) / float64(time.Microsecond)
	}
	cell.P50us, cell.P90us, cell.P99us = pct(0.50), pct(0.90), pct(0.99)
	cell.MaxUs = float64(all[len(all)-1]) / float64(time.Microsecond)
	if srv0 >= 0 && srv1 >= 0 {
		cell.ServerCPUus = float64(srv1-srv0) / float64(time.Microsecond) / float64(len(all))
	}
	cell.LoadCPUus = float64(self1-self0) / float64(time.Microsecond) / float64(len(all))
	return cell, nil
}

// readResponse reads one response and discards its body. keep is false
// when the server closes the connection after it.
func readResponse(br *bufio.Reader) (status int, keep bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("malformed status line %.40q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("malformed status line %.40q", line)
	}
	keep = line[7] == '1'
	length, chunked := -1, false
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, false, fmt.Errorf("malformed header %.40q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, false, fmt.Errorf("malformed Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				keep = false
			} else if bytes.EqualFold(value, []byte("keep-alive")) {
				keep = true
			}
		}
	}
	switch {
	case chunked:
		return status, keep, discardChunked(br)
	case length >= 0:
		_, err = br.Discard(length)
		return status, keep, err
	case status == http.StatusNoContent || status == http.StatusNotModified || status/100 == 1:
		return status, keep, nil
	}
	return 0, false, errors.New("a response without a length")
}

func discardChunked(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		sz, _, _ := bytes.Cut(bytes.TrimSpace(line), []byte(";"))
		n, err := strconv.ParseInt(string(sz), 16, 32)
		if err != nil || n < 0 {
			return fmt.Errorf("malformed chunk size %.20q", line)
		}
		if n == 0 {
			for { // trailers, up to the blank line
				line, err := br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(line) <= 2 {
					return nil
				}
			}
		}
		if _, err := br.Discard(int(n) + 2); err != nil {
			return err
		}
	}
}

// selfCPU is this process's CPU time (user and system).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is process pid's CPU time (user and system, all threads) from
// /proc/pid/stat, in clock ticks of 10 ms; -1 when unknown.
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return -1
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after its closing parenthesis (utime and stime are fields 14 and 15,
	// 12 and 13 after it).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	fs := strings.Fields(string(b[i+1:]))
	if len(fs) < 13 {
		return -1
	}
	ut, err1 := strconv.ParseInt(fs[11], 10, 64)
	st, err2 := strconv.ParseInt(fs[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	return time.Duration(ut+st) * tick
}
