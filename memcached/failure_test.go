package memcached_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/memcached"
)

func TestServerStoppedAndRestarted(t *testing.T) {
	srv := testserver.Memcached(t)
	const timeout = 200 * time.Millisecond
	store := open(t, srv, memcached.WithTimeout(timeout))
	web := app(t, store)
	b := web.Browser
	b.Expect("POST", "/set/user/alice", 200, "ok")
	b.Expect("GET", "/get/user", 200, "alice") // the pool now holds a connection

	srv.Stop()
	for _, req := range [][2]string{{"GET", "/get/user"}, {"POST", "/set/user/mallory"}, {"POST", "/incr"}, {"GET", "/get/user"}} {
		start := time.Now()
		b.Expect(req[0], req[1], 503, `{"error":"session store unavailable"}`)
		if d := time.Since(start); d > 2*timeout+time.Second {
			t.Fatalf("%s %s took %v with the server down (timeout %v)", req[0], req[1], d, timeout)
		}
	}
	b.Expect("GET", "/untouched", 200, "hi") // a handler without session still works

	// A fresh, empty memcached on the same port: the session is gone, the
	// app works again without a restart.
	srv.Start()
	b.Expect("GET", "/get/user", 200, "<nil>")
	b.Expect("POST", "/set/user/bob", 200, "ok")
	b.Expect("GET", "/get/user", 200, "bob")

	// Restarted with no request in between: every pooled connection is
	// stale, and still no request fails.
	b.Expect("POST", "/incr", 200, "ok")
	srv.Stop()
	srv.Start()
	b.Expect("GET", "/get/user", 200, "<nil>")
	b.Expect("POST", "/set/user/carol", 200, "ok")
	srv.Stop()
	srv.Start()
	b.Expect("POST", "/set/user/dave", 200, "ok") // a new session's first command is an add
	b.Expect("GET", "/get/user", 200, "dave")
}

func TestOutageKeepsStoredSession(t *testing.T) {
	// The app reaches memcached through a proxy that can fail while the
	// server, and the session in it, live on.
	srv := testserver.Memcached(t)
	px := newProxy(t, srv.Addr)
	const timeout = 200 * time.Millisecond
	store, err := memcached.Open([]string{px.addr}, memcached.WithTimeout(timeout))
	if err != nil {
		t.Fatal(err)
	}
	web := app(t, store)
	b := web.Browser
	b.Expect("POST", "/set/user/alice", 200, "ok")
	b.Expect("POST", "/incr", 200, "ok")

	for _, mode := range []proxyMode{refuse, blackhole} {
		px.set(mode)
		for _, req := range [][2]string{{"GET", "/get/user"}, {"POST", "/set/user/mallory"}, {"POST", "/incr"}} {
			start := time.Now()
			if resp, body := b.Do(req[0], req[1]); resp.StatusCode != 503 {
				t.Fatalf("mode %d: %s %s = %d %q, want 503", mode, req[0], req[1], resp.StatusCode, body)
			}
			// Each command is bounded by the timeout: a connect that
			// succeeds, then a read that never answers.
			if d := time.Since(start); d > 3*timeout+500*time.Millisecond {
				t.Fatalf("mode %d: %s %s took %v (timeout %v)", mode, req[0], req[1], d, timeout)
			}
		}
		px.set(forward)
		b.Expect("GET", "/get/user", 200, "alice")
		b.Expect("GET", "/get/n", 200, "1")
	}
	// And straight from the server: nothing was overwritten.
	direct := open(t, srv)
	r, err := direct.Load(context.Background(), storeKey(t, b))
	if err != nil || len(r.Data) == 0 {
		t.Fatalf("the stored session after the outage: %v", err)
	}
}

type proxyMode int

const (
	forward      proxyMode = iota
	refuse                 // accept, then close at once
	blackhole              // accept, then never answer
	cut                    // forward, but close halfway through the first value a reply carries
	misroute               // forward, but name another key in every value a reply carries
	misrouteOnce           // misroute on the next connection, then forward
)

// proxy forwards TCP connections to a backend, or fails them on demand.
type proxy struct {
	addr    string
	backend string
	ln      net.Listener
	delay   time.Duration // added to every request on its way to the backend: a network hop

	mu    sync.Mutex
	mode  proxyMode
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func newProxy(t testing.TB, backend string) *proxy { return newDelayedProxy(t, backend, 0) }

// newDelayedProxy is a proxy that holds every request for delay.
func newDelayedProxy(t testing.TB, backend string, delay time.Duration) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{addr: ln.Addr().String(), backend: backend, ln: ln, conns: map[net.Conn]bool{}, delay: delay}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.closeAll()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) set(m proxyMode) {
	p.mu.Lock()
	p.mode = m
	p.mu.Unlock()
	p.closeAll() // established connections break on any change
}

func (p *proxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *proxy) track(c net.Conn) {
	p.mu.Lock()
	p.conns[c] = true
	p.mu.Unlock()
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode := p.mode
		p.mu.Unlock()
		if mode == misrouteOnce {
			p.mu.Lock()
			mode, p.mode = misroute, forward
			p.mu.Unlock()
		}
		switch mode {
		case refuse:
			c.Close()
		case blackhole:
			p.track(c) // held open, never answered, closed on the next set
		default:
			up, err := net.Dial("tcp", p.backend)
			if err != nil {
				c.Close()
				continue
			}
			p.track(c)
			p.track(up)
			p.wg.Add(2)
			go func() { defer p.wg.Done(); p.copyDelayed(up, c); up.Close() }()
			go func() { defer p.wg.Done(); relay(c, up, mode); c.Close() }()
		}
	}
}

// relay copies memcached's replies from up to c, as mode says: forward
// copies them as they are, cut stops halfway through the first value, and
// misroute puts another key in every VALUE line.
func relay(c io.Writer, up io.Reader, mode proxyMode) {
	if mode == forward {
		_, _ = io.Copy(c, up)
		return
	}
	r := bufio.NewReader(up)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		f := strings.Fields(line) // VALUE <key> <flags> <bytes> [<cas unique>]
		if len(f) < 4 || f[0] != "VALUE" {
			if _, err := io.WriteString(c, line); err != nil {
				return
			}
			continue
		}
		size, err := strconv.Atoi(f[3])
		if err != nil {
			return
		}
		if mode == misroute {
			f[1] = "session:someone-else"
			line = strings.Join(f, " ") + "\r\n"
		}
		if _, err := io.WriteString(c, line); err != nil {
			return
		}
		if mode == cut {
			_, _ = io.CopyN(c, r, int64(size/2))
			return
		}
		if _, err := io.CopyN(c, r, int64(size)+2); err != nil {
			return
		}
	}
}

// copyDelayed copies from src to dst, holding each chunk for p.delay.
func (p *proxy) copyDelayed(dst io.Writer, src io.Reader) {
	if p.delay == 0 {
		_, _ = io.Copy(dst, src)
		return
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			time.Sleep(p.delay)
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
