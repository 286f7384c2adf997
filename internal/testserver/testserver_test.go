package testserver

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

func TestServersAnswer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		start     func(testing.TB, ...string) *Server
		cmd, want string
	}{
		{"memcached", Memcached, "version\r\n", "VERSION "},
		{"redis", Redis, "PING\r\n", "+PONG"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.start(t)
			if got := ask(t, s.Addr, tc.cmd); !strings.HasPrefix(got, tc.want) {
				t.Fatalf("%s answered %q, want %q…", tc.name, got, tc.want)
			}
			s.Stop()
			if c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond); err == nil {
				c.Close()
				t.Fatal("the server still listens after Stop")
			}
			s.Start()
			if got := ask(t, s.Addr, tc.cmd); !strings.HasPrefix(got, tc.want) {
				t.Fatalf("after a restart %s answered %q", tc.name, got)
			}
		})
	}
}

func ask(t *testing.T, addr, cmd string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprint(c, cmd)
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return line
}

func TestFreezeAndThaw(t *testing.T) {
	s := Memcached(t)
	s.Freeze()
	// Frozen: the kernel accepts the connection, nobody answers.
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		t.Fatalf("a frozen server refuses connections: %v", err)
	}
	defer c.Close()
	fmt.Fprint(c, "version\r\n")
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if line, err := bufio.NewReader(c).ReadString('\n'); err == nil {
		t.Fatalf("a frozen server answered %q", line)
	}
	s.Thaw()
	if got := ask(t, s.Addr, "version\r\n"); !strings.HasPrefix(got, "VERSION ") {
		t.Fatalf("after Thaw memcached answered %q", got)
	}
	s.Freeze()
	s.Stop() // a frozen process is killed all the same
	s.Start()
	if got := ask(t, s.Addr, "version\r\n"); !strings.HasPrefix(got, "VERSION ") {
		t.Fatalf("after a frozen server was restarted it answered %q", got)
	}
}
