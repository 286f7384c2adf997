package testserver

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Freeze stops the process with SIGSTOP and waits until every thread of it
// has stopped: it keeps its data and its listening socket, so the kernel
// still accepts connections (until the backlog fills) and takes the
// commands sent on them, but nothing answers until Thaw. This is a hung
// server, as a network partition or a stalled machine looks to a client.
// Freezing a stopped server does nothing.
func (s *Server) Freeze() {
	s.tb.Helper()
	s.signal(syscall.SIGSTOP, true)
}

// Thaw resumes a frozen process with SIGCONT and waits until no thread of
// it is stopped; it then answers the commands it took while frozen, in
// order. Thawing a stopped server does nothing.
func (s *Server) Thaw() {
	s.tb.Helper()
	s.signal(syscall.SIGCONT, false)
}

// signal sends sig and waits until every thread of the process is
// stopped, or none is.
func (s *Server) signal(sig syscall.Signal, stopped bool) {
	s.tb.Helper()
	if s.cmd == nil {
		return
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.tb.Fatalf("signal %v to %s: %v", sig, s, err)
	}
	tasks := filepath.Join("/proc", strconv.Itoa(s.cmd.Process.Pid), "task")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if threadsStopped(tasks) == stopped {
			return
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("%s: its threads did not settle within 5s of %v", s, sig)
		}
	}
}

// threadsStopped reports whether every thread under /proc/PID/task is
// stopped (state T) when at least one is; false when none is.
func threadsStopped(tasks string) bool {
	entries, err := os.ReadDir(tasks)
	if err != nil || len(entries) == 0 {
		return false
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(tasks, e.Name(), "stat"))
		if err != nil {
			return false
		}
		// pid (comm) state ...: comm may hold spaces, state follows the last ")".
		st := string(b)
		i := strings.LastIndexByte(st, ')')
		if i < 0 || i+2 >= len(st) || st[i+2] != 'T' {
			return false
		}
	}
	return true
}
