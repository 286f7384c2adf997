package faultproxy_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sessionware/sessions/internal/faultproxy"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// server is a line server for the proxy's tests: for each line "N" it
// answers N bytes of 'x'; for a line "wN", the same once the test closes
// answer. It records the lines it received.
type server struct {
	ln     net.Listener
	answer chan struct{}
	mu     sync.Mutex
	lines  []string
	wg     sync.WaitGroup
}

func newServer(t *testing.T) *server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{ln: ln, answer: make(chan struct{})}
	var conns sync.Map
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Store(c, true)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					line = strings.TrimSpace(line)
					s.mu.Lock()
					s.lines = append(s.lines, line)
					s.mu.Unlock()
					if rest, ok := strings.CutPrefix(line, "w"); ok {
						line = rest
						<-s.answer
					}
					n, _ := strconv.Atoi(line)
					if _, err := c.Write(bytes.Repeat([]byte("x"), n)); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		select {
		case <-s.answer:
		default:
			close(s.answer)
		}
		conns.Range(func(c, _ any) bool { c.(net.Conn).Close(); return true })
		s.wg.Wait()
	})
	return s
}

func (s *server) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ask sends "n\n" and reads n bytes within wait.
func ask(c net.Conn, n int, wait time.Duration) (int, error) {
	if _, err := fmt.Fprintf(c, "%d\n", n); err != nil {
		return 0, err
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	got, err := io.ReadFull(c, make([]byte, n))
	return got, err
}

func TestPassForwards(t *testing.T) {
	srv := newServer(t)
	p := faultproxy.New(t, srv.ln.Addr().String())
	c := dial(t, p.Addr())
	for _, n := range []int{1, 100, 200_000} {
		if got, err := ask(c, n, 5*time.Second); err != nil || got != n {
			t.Fatalf("a reply of %d bytes: %d, %v", n, got, err)
		}
	}
	if p.Accepted() != 1 || p.Conns() != 1 || p.Fault() != faultproxy.Pass {
		t.Fatalf("Accepted %d, Conns %d, Fault %v", p.Accepted(), p.Conns(), p.Fault())
	}
}

func TestDelay(t *testing.T) {
	srv := newServer(t)
	p := faultproxy.New(t, srv.ln.Addr().String())
	c := dial(t, p.Addr())
	const d = 100 * time.Millisecond
	p.Set(faultproxy.Delay(d))
	start := time.Now()
	if got, err := ask(c, 10, 5*time.Second); err != nil || got != 10 {
		t.Fatalf("a delayed reply: %d, %v", got, err)
	}
	if took := time.Since(start); took < 2*d {
		t.Fatalf("a round trip through Delay(%v) took %v, want at least %v", d, took, 2*d)
	}
	// A chunk held by a long delay goes out at once when the fault clears.
	p.Set(faultproxy.Delay(time.Hour))
	done := make(chan error, 1)
	go func() { _, err := ask(c, 10, 10*time.Second); done <- err }()
	waitFor(t, func() bool { return len(srv.received()) == 1 }, "the delayed command stays held") // still the first
	p.Set(faultproxy.Pass)
	if err := <-done; err != nil {
		t.Fatalf("the held reply after the delay cleared: %v", err)
	}
}

// waitFor checks cond for 200 ms and fails the test if it ever stops
// holding.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(200 * time.Millisecond); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if !cond() {
			t.Fatalf("%s: no longer true", what)
		}
	}
}

func TestStallHoldsBothWays(t *testing.T) {
	srv := newServer(t)
	p := faultproxy.New(t, srv.ln.Addr().String())
	c := dial(t, p.Addr())
	if _, err := ask(c, 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Set(faultproxy.Stall)
	// A command on an open connection is held: it never reaches the
	// server, and the client times out.
	if _, err := ask(c, 5, 200*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a command through Stall: %v, want a timeout", err)
	}
	if got := srv.received(); len(got) != 1 {
		t.Fatalf("the server received %q through Stall", got)
	}
	// A new connection is accepted, and held too.
	c2 := dial(t, p.Addr())
	if _, err := ask(c2, 7, 200*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a command on a new connection through Stall: %v, want a timeout", err)
	}
	waitUntil(t, func() bool { return p.Held() == 2 }) // a command on each connection
	// Healed: the held commands arrive, late, and their replies too.
	p.Set(faultproxy.Pass)
	if !p.Drain(5*time.Second) || p.Held() != 0 {
		t.Fatalf("Drain after the stall cleared: %d chunks still held", p.Held())
	}
	waitUntil(t, func() bool { return len(srv.received()) == 3 }) // written on: the server reads them
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := io.ReadFull(c, make([]byte, 5)); err != nil || n != 5 {
		t.Fatalf("the held reply: %d, %v", n, err)
	}
	_ = c2.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := io.ReadFull(c2, make([]byte, 7)); err != nil || n != 7 {
		t.Fatalf("the held reply on the new connection: %d, %v", n, err)
	}

	// Replies are held too: a command that reached the server before the
	// stall gets its answer only when the stall clears.
	if _, err := fmt.Fprintf(c, "w3\n"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return len(srv.received()) == 4 })
	p.Set(faultproxy.Stall)
	close(srv.answer)
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := io.ReadFull(c, make([]byte, 3)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a reply through Stall: %v, want a timeout", err)
	}
	p.Set(faultproxy.Pass)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := io.ReadFull(c, make([]byte, 3)); err != nil || n != 3 {
		t.Fatalf("the reply held by Stall: %d, %v", n, err)
	}
}

// waitUntil waits up to 5 s for cond.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the condition did not come true within 5s")
		}
	}
}

func TestCut(t *testing.T) {
	srv := newServer(t)
	p := faultproxy.New(t, srv.ln.Addr().String())
	p.Set(faultproxy.Cut(10))
	c := dial(t, p.Addr())
	// Short replies pass whole, each counted on its own.
	for range 3 {
		if got, err := ask(c, 10, 5*time.Second); err != nil || got != 10 {
			t.Fatalf("a reply of 10 bytes through Cut(10): %d, %v", got, err)
		}
	}
	// A longer one is cut after 10 bytes, and the connection closed.
	if got, err := ask(c, 100_000, 5*time.Second); got != 10 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a reply of 100000 bytes through Cut(10): %d bytes, %v; want 10 and an unexpected EOF", got, err)
	}
	if got := srv.received(); len(got) != 4 {
		t.Fatalf("the server received %q", got)
	}

	// Cut(0): the command is done, its reply never arrives.
	p.Set(faultproxy.Cut(0))
	c = dial(t, p.Addr())
	if got, err := ask(c, 1, 5*time.Second); got != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("a reply through Cut(0): %d bytes, %v; want none and EOF", got, err)
	}
	if got := srv.received(); len(got) != 5 || got[4] != "1" {
		t.Fatalf("the server received %q: the command cut at its reply was not done", got)
	}
	p.Set(faultproxy.Pass)
	c = dial(t, p.Addr())
	if got, err := ask(c, 100_000, 5*time.Second); err != nil || got != 100_000 {
		t.Fatalf("after the cut cleared: %d, %v", got, err)
	}
}

func TestRefuse(t *testing.T) {
	srv := newServer(t)
	p := faultproxy.New(t, srv.ln.Addr().String())
	c := dial(t, p.Addr())
	if _, err := ask(c, 1, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Set(faultproxy.Refuse)
	if _, err := ask(c, 1, 5*time.Second); !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("an open connection after Refuse: %v, want a reset", err)
	}
	if _, err := net.DialTimeout("tcp", p.Addr(), time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("a connect through Refuse: %v, want ECONNREFUSED", err)
	}
	p.Set(faultproxy.Stall) // leaving Refuse listens again, on the same address
	p.Set(faultproxy.Pass)
	c = dial(t, p.Addr())
	if got, err := ask(c, 10, 5*time.Second); err != nil || got != 10 {
		t.Fatalf("after Refuse cleared: %d, %v", got, err)
	}
}

// TestServerDown: with the upstream gone, a connection through the proxy
// is accepted and reset at once.
func TestServerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := faultproxy.New(t, addr)
	c, err := net.DialTimeout("tcp", p.Addr(), time.Second)
	if err == nil { // or the reset came before the handshake ended
		defer c.Close()
		if _, err := ask(c, 1, 5*time.Second); err == nil {
			t.Fatal("a command through a proxy to nothing succeeded")
		}
	}
}

// TestCloseEndsEverything: Close ends held connections and every
// goroutine (VerifyTestMain checks), whatever the fault.
func TestCloseEndsEverything(t *testing.T) {
	srv := newServer(t)
	for _, f := range []faultproxy.Fault{faultproxy.Pass, faultproxy.Stall, faultproxy.Delay(time.Hour), faultproxy.Cut(1), faultproxy.Refuse} {
		t.Run(f.String(), func(t *testing.T) {
			p := faultproxy.New(t, srv.ln.Addr().String())
			c := dial(t, p.Addr())
			if _, err := ask(c, 1, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			p.Set(f)
			_, _ = fmt.Fprintf(c, "5\n")
			p.Close()
			p.Close()
			p.Set(faultproxy.Pass) // after Close: nothing
			if p.Conns() != 0 {
				t.Fatalf("%d connections open after Close", p.Conns())
			}
		})
	}
}
