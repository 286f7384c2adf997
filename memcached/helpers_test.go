package memcached_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawTTL asks memcached (meta protocol) how long the item under key has
// left to live.
func rawTTL(t *testing.T, addr, key string) time.Duration {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintf(c, "mg %s t\r\n", key)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(line)[1:] {
		if strings.HasPrefix(f, "t") {
			n, err := strconv.Atoi(f[1:])
			if err != nil {
				t.Fatalf("mg answered %q", line)
			}
			return time.Duration(n) * time.Second
		}
	}
	t.Fatalf("mg answered %q", line)
	return 0
}

// recorder counts the memcached commands sent through the connections of
// a client whose DialContext it is.
type recorder struct {
	mu    sync.Mutex
	verbs []string
	// before, if set, runs before a command is sent, in the goroutine that
	// sends it, with the recorder unlocked: a test makes another client's
	// command land at that point.
	before func(verb string)
}

func (r *recorder) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c, r: r}, nil
}

// count returns how many times verb was sent since the last take.
func (r *recorder) count(verb string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, v := range r.verbs {
		if v == verb {
			n++
		}
	}
	return n
}

// take returns the commands sent since the last call.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := r.verbs
	r.verbs = nil
	return v
}

type recordingConn struct {
	net.Conn
	r *recorder
}

// Write records the verb of each command. gomemcache flushes every
// command (line and small value) with one Write.
func (c *recordingConn) Write(b []byte) (int, error) {
	if i := bytes.IndexAny(b, " \r"); i > 0 {
		verb := string(b[:i])
		switch verb {
		case "get", "gets", "gat", "gats", "set", "add", "cas", "replace", "append", "prepend", "touch", "delete", "incr", "decr", "flush_all", "mg", "ms", "md", "ma", "version":
			c.r.mu.Lock()
			c.r.verbs = append(c.r.verbs, verb)
			before := c.r.before
			c.r.mu.Unlock()
			if before != nil {
				before(verb)
			}
		}
	}
	return c.Conn.Write(b)
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
