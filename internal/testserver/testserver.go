// Package testserver starts real memcached and redis-server processes on
// free loopback ports for tests and benchmarks, and stops them when the
// test ends. It never skips: a missing binary fails the test, with a hint
// to run the README's test command, which installs it.
package testserver

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Server is a server process listening on Addr (127.0.0.1:port).
type Server struct {
	Addr string
	tb   testing.TB
	name string
	args []string
	cmd  *exec.Cmd
}

// Memcached starts a memcached on a free loopback port, with extra
// arguments appended to its command line.
func Memcached(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	return start(tb, "memcached", func(port int) []string {
		return append([]string{"-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0", "-m", "64", "-u", "nobody"}, extra...)
	})
}

// Redis starts a redis-server on a free loopback port, without
// persistence.
func Redis(tb testing.TB, extra ...string) *Server {
	tb.Helper()
	return start(tb, "redis-server", func(port int) []string {
		return append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}, extra...)
	})
}

func start(tb testing.TB, name string, args func(port int) []string) *Server {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		tb.Fatalf("%s is not installed: run the README's test command (make test), which installs it", name)
	}
	port := FreePort(tb)
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), tb: tb, name: path, args: args(port)}
	s.Start()
	tb.Cleanup(s.Stop)
	return s
}

// Start (re)starts the process on the same address and waits until it
// accepts connections.
func (s *Server) Start() {
	s.tb.Helper()
	if s.cmd != nil {
		s.tb.Fatalf("%s on %s is already running", s.name, s.Addr)
	}
	cmd := exec.Command(s.name, s.args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.tb.Fatalf("start %s: %v", s.name, err)
	}
	s.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			s.Stop()
			s.tb.Fatalf("%s did not listen on %s within 10s: %v", s.name, s.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the process and waits for it to exit. Stopping a stopped
// server does nothing.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// String returns the address.
func (s *Server) String() string { return fmt.Sprintf("%s@%s", s.name, s.Addr) }
