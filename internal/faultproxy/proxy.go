// Package faultproxy is a loopback TCP proxy for tests, put between a
// client (the app's memcached or Redis client) and a real server, that
// fails on demand: it adds latency, stalls, cuts replies off mid-transfer
// or refuses connections ([Fault]), switched at run time with
// [Proxy.Set] while the server and its data live on.
//
//	p := faultproxy.New(t, srv.Addr)          // srv from internal/testserver
//	store, _ := backends.Open("memcached://" + p.Addr())
//	p.Set(faultproxy.Cut(200))                // replies cut after 200 bytes
//	...
//	p.Set(faultproxy.Pass)                    // healed
//
// It knows no protocol: it moves chunks of bytes, each way in order, and
// counts a reply as the bytes the server sends after the client's latest
// write. The proxy is closed when the test ends ([Proxy.Close] waits for
// every goroutine it started, so a leak check after it sees none).
package faultproxy

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Proxy forwards the TCP connections made to Addr to an upstream address,
// through the current fault. It is safe for concurrent use.
type Proxy struct {
	tb       testing.TB
	addr     string
	upstream string
	accepted atomic.Int64
	held     atomic.Int64 // chunks waiting in forward

	mu      sync.Mutex
	fault   Fault
	changed chan struct{} // closed, and replaced, at every Set: wakes held chunks
	ln      net.Listener  // nil while refusing
	links   map[*link]struct{}
	closed  bool
	wg      sync.WaitGroup // the accept loop and the pumps
}

// New starts a proxy on a free loopback port in front of upstream
// (host:port), passing traffic through, and closes it when the test ends.
func New(tb testing.TB, upstream string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("faultproxy: listen: %v", err)
	}
	p := &Proxy{
		tb: tb, addr: ln.Addr().String(), upstream: upstream,
		changed: make(chan struct{}), ln: ln, links: map[*link]struct{}{},
	}
	p.wg.Add(1)
	go p.accept(ln)
	tb.Cleanup(p.Close)
	return p
}

// Addr is the address clients connect to (127.0.0.1:port). It stays the
// same across faults, Refuse included.
func (p *Proxy) Addr() string { return p.addr }

// Fault returns the current fault.
func (p *Proxy) Fault() Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fault
}

// Accepted returns how many connections the proxy has accepted so far.
func (p *Proxy) Accepted() int64 { return p.accepted.Load() }

// Held returns how many chunks of bytes the proxy holds back now (a Stall,
// a Delay), counting each until it has been written on.
func (p *Proxy) Held() int { return int(p.held.Load()) }

// Drain waits until the proxy holds nothing back, for at most d, and
// reports whether it got there. After a Stall or a Delay is cleared, it
// tells the test that the held commands have reached the server (or were
// dropped with their connection), so that what the server stores no
// longer changes under the test's feet.
func (p *Proxy) Drain(d time.Duration) bool {
	for deadline := time.Now().Add(d); p.held.Load() > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// Conns returns how many connections are open through the proxy.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

// Set switches to fault f at once, for the connections already open (held
// bytes go on as f says; Refuse resets them) and for those to come. Leaving
// Refuse listens again on the same address, and fails the test if it
// cannot; so Set belongs on the test's goroutine. Set after Close does
// nothing.
func (p *Proxy) Set(f Fault) {
	p.tb.Helper()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	old := p.fault
	p.fault = f
	close(p.changed)
	p.changed = make(chan struct{})
	var reset []*link
	if f.kind == refuse && old.kind != refuse {
		_ = p.ln.Close()
		p.ln = nil
		for l := range p.links {
			reset = append(reset, l)
		}
	}
	p.mu.Unlock()
	for _, l := range reset {
		l.close(true)
	}
	if f.kind != refuse && old.kind == refuse {
		p.listenAgain()
	}
}

// listenAgain listens on the proxy's address after Refuse. Another process
// may have taken the port meanwhile: it tries for a second.
func (p *Proxy) listenAgain() {
	p.tb.Helper()
	deadline := time.Now().Add(time.Second)
	for {
		ln, err := net.Listen("tcp", p.addr)
		if err == nil {
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				_ = ln.Close()
				return
			}
			p.ln = ln
			p.wg.Add(1)
			p.mu.Unlock()
			go p.accept(ln)
			return
		}
		if time.Now().After(deadline) {
			p.tb.Fatalf("faultproxy: listen again on %s after Refuse: %v", p.addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Close stops the proxy: it closes the listener and every connection, and
// waits for all its goroutines. Closing twice does nothing.
func (p *Proxy) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.close(false)
	}
	p.wg.Wait()
}

// state returns the current fault and the channel its change closes.
func (p *Proxy) state() (Fault, <-chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fault, p.changed
}

// accept serves one listener until it is closed (by Refuse or Close).
func (p *Proxy) accept(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		s, err := net.DialTimeout("tcp", p.upstream, time.Second)
		if err != nil { // the server is down: so is the connection
			resetConn(c)
			continue
		}
		l := &link{client: c, server: s, done: make(chan struct{})}
		p.mu.Lock()
		if p.closed || p.ln != ln {
			p.mu.Unlock()
			l.close(true)
			return
		}
		p.links[l] = struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pump(l, c, s, up)
		go p.pump(l, s, c, down)
	}
}

// direction says which way a pump moves bytes.
type direction int

const (
	up   direction = iota // client to server: commands
	down                  // server to client: replies
)

// link is one proxied connection: the client's and the proxy's own to the
// server.
type link struct {
	client, server net.Conn
	done           chan struct{} // closed when the link closes
	once           sync.Once
	replied        atomic.Int64 // bytes of the current reply forwarded so far
}

// close closes both connections, the client's with a reset (RST) if
// reset, and wakes the link's held chunks.
func (l *link) close(reset bool) {
	l.once.Do(func() {
		if reset {
			resetConn(l.client)
		} else {
			_ = l.client.Close()
		}
		_ = l.server.Close()
		close(l.done)
	})
}

// resetConn closes c with an RST instead of a FIN.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// pump moves chunks from src to dst through the fault until either side
// closes, then closes the link.
func (p *Proxy) pump(l *link, src, dst net.Conn, dir direction) {
	defer p.wg.Done()
	defer func() {
		l.close(false)
		p.mu.Lock()
		delete(p.links, l)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.forward(l, dst, dir, buf[:n], time.Now()) {
			return
		}
		if err != nil {
			return
		}
	}
}

// forward writes b, which arrived at at, to dst as the current fault says,
// waiting as long as it holds b. It reports whether the link goes on.
func (p *Proxy) forward(l *link, dst net.Conn, dir direction, b []byte, at time.Time) bool {
	held := false
	hold := func() {
		if !held {
			held = true
			p.held.Add(1)
		}
	}
	defer func() {
		if held {
			p.held.Add(-1)
		}
	}()
	for {
		f, changed := p.state()
		switch f.kind {
		case stall:
			hold()
			select {
			case <-changed:
				continue
			case <-l.done:
				return false
			}
		case delay:
			if wait := time.Until(at.Add(f.delay)); wait > 0 {
				hold()
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-changed:
					t.Stop()
					continue
				case <-l.done:
					t.Stop()
					return false
				}
			}
		case refuse:
			return false
		case cut:
			if left := f.n - int(l.replied.Load()); dir == down && len(b) > left {
				if left > 0 {
					_, _ = dst.Write(b[:left])
				}
				return false
			}
		}
		if dir == up {
			l.replied.Store(0) // a command: what comes back next is a new reply
		} else {
			l.replied.Add(int64(len(b)))
		}
		_, err := dst.Write(b)
		return err == nil
	}
}
