package harness

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionware/sessions/internal/testserver"
)

// Env is the memcached and redis-server that the backends run against,
// each started on a free loopback port.
type Env struct {
	MemcachedAddr string
	RedisAddr     string
	tb            *procTB
}

// Start starts memcached and redis-server (package testserver of the
// library) on free loopback ports. Close stops them.
func Start() (env *Env, err error) {
	tb := &procTB{}
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(fatal)
			if !ok {
				panic(r)
			}
			tb.cleanup()
			env, err = nil, f
		}
	}()
	mc := testserver.Memcached(tb)
	rd := testserver.Redis(tb)
	return &Env{MemcachedAddr: mc.Addr, RedisAddr: rd.Addr, tb: tb}, nil
}

// Close stops the servers.
func (e *Env) Close() {
	if e != nil && e.tb != nil {
		e.tb.cleanup()
	}
}

// fatal is what procTB.Fatalf panics with; Start recovers it.
type fatal string

func (f fatal) Error() string { return string(f) }

// procTB lets package testserver, written for tests, run in a benchmark's
// TestMain or a command: it implements the few testing.TB methods that
// testserver calls. The embedded nil TB is never called.
type procTB struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
}

func (t *procTB) Helper() {}

func (t *procTB) Fatalf(format string, args ...any) { panic(fatal(fmt.Sprintf(format, args...))) }

func (t *procTB) Fatal(args ...any) { panic(fatal(fmt.Sprint(args...))) }

func (t *procTB) Errorf(format string, args ...any) { panic(fatal(fmt.Sprintf(format, args...))) }

func (t *procTB) Logf(string, ...any) {}

func (t *procTB) Cleanup(f func()) {
	t.mu.Lock()
	t.cleanups = append(t.cleanups, f)
	t.mu.Unlock()
}

func (t *procTB) cleanup() {
	t.mu.Lock()
	cs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

// Dialer connects to the servers and counts round trips: every run of
// writes that follows a read (or a fresh connection) is one request sent,
// answered by the reads after it. Pipelined commands sent in one write
// count once, as they cost one round trip.
type Dialer struct {
	RoundTrips atomic.Int64
}

// DialContext dials addr and wraps the connection.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: &d.RoundTrips}, nil
}

// Dial is DialContext for clients without a context.
func (d *Dialer) Dial(network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return d.DialContext(ctx, network, addr)
}

// countingConn counts the runs of writes that follow a read. writing is
// atomic: a full-duplex client (rueidis) reads and writes a connection from
// two goroutines at once; for it the count is of write bursts between
// reads, which is what a pipelined round trip costs.
type countingConn struct {
	net.Conn
	n       *atomic.Int64
	writing atomic.Bool
}

func (c *countingConn) Write(b []byte) (int, error) {
	if c.writing.CompareAndSwap(false, true) {
		c.n.Add(1)
	}
	return c.Conn.Write(b)
}

func (c *countingConn) Read(b []byte) (int, error) {
	c.writing.Store(false)
	return c.Conn.Read(b)
}
