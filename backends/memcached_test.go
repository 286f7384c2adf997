package backends_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/backends"
	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/memcached"
)

func TestOpenMemcached(t *testing.T) {
	const typ = "*memcached.Store"
	runOpenCases(t, []openCase{
		{name: "One", url: "memcached://127.0.0.1:11211?check=false", wantType: typ},
		{name: "DefaultPort", url: "memcached://127.0.0.1?check=false", wantType: typ},
		{name: "Several", url: "memcached://127.0.0.1:11211,127.0.0.2:11211, 127.0.0.3?check=false", wantType: typ},
		{name: "Localhost", url: "memcached://localhost:11211/?check=false", wantType: typ},
		{name: "NameNotResolvableYet", url: "memcached://memcached.not-yet-up.invalid:11211?check=false", wantType: typ}, // resolved when dialled
		{name: "IPv6", url: "memcached://[::1]:11211,[::1]:11212?check=false", wantType: typ},
		{name: "UnixSocket", url: "memcached:///run/memcached/memcached.sock?prefix=app:&check=false", wantType: typ},
		{name: "Options", url: "memcached://127.0.0.1:11211,127.0.0.2:11211?prefix=sess:&timeout=200ms&max_idle=64&max_record=2097152&eject_after=5&retry=2s&fallback_ttl=10m&check=0", wantType: typ},

		{name: "NoServer", url: "memcached://", wantErr: []string{"no server", "memcached://host1:11211,host2:11211"}},
		{name: "EmptyServer", url: "memcached://127.0.0.1:11211,,127.0.0.2", wantErr: []string{"server 2 is empty"}},
		{name: "BadPort", url: "memcached://127.0.0.1:http", wantErr: []string{`"127.0.0.1:http" has an invalid port`}},
		{name: "PortOutOfRange", url: "memcached://127.0.0.1:70000", wantErr: []string{"invalid port"}},
		{name: "NoHost", url: "memcached://:11211", wantErr: []string{"no valid host"}},
		{name: "BareIPv6", url: "memcached://::1", wantErr: []string{"in brackets"}},
		{name: "Duplicate", url: "memcached://127.0.0.1:11211,127.0.0.1", wantErr: []string{"server 2 (127.0.0.1:11211) is the same as server 1"}},
		{name: "Password", url: "memcached://u:" + secret + "@127.0.0.1", wantErr: []string{"no user or password"}},
		{name: "PathAfterServers", url: "memcached://127.0.0.1/x", wantErr: []string{"must not have a path"}},
		{name: "UnknownOption", url: "memcached://127.0.0.1?pool=5", wantErr: []string{`unknown option "pool"`, "accepted: prefix (", "timeout (", "max_idle (", "max_record (", "eject_after (", "retry (", "fallback_ttl (", "check ("}},
		{name: "EmptyPrefix", url: "memcached://127.0.0.1?prefix=", wantErr: []string{"prefix", "non-empty"}},
		{name: "PrefixWithSpace", url: "memcached://127.0.0.1?prefix=a+b", wantErr: []string{"prefix"}},
		{name: "TimeoutWithoutUnit", url: "memcached://127.0.0.1?timeout=200", wantErr: []string{"timeout", "not a duration", "200ms"}},
		{name: "ZeroTimeout", url: "memcached://127.0.0.1?timeout=0s", wantErr: []string{"timeout", "out of range"}},
		{name: "HugeMaxIdle", url: "memcached://127.0.0.1?max_idle=1000000", wantErr: []string{"max_idle", "out of range", "1 to 10000"}},
		{name: "ZeroMaxIdle", url: "memcached://127.0.0.1?max_idle=0", wantErr: []string{"max_idle", "out of range"}},
		{name: "ZeroMaxRecord", url: "memcached://127.0.0.1?max_record=0", wantErr: []string{"max_record", "out of range", "1 to 1073741824"}},
		{name: "HugeMaxRecord", url: "memcached://127.0.0.1?max_record=1073741825", wantErr: []string{"max_record", "out of range"}},
		{name: "MaxRecordWithUnit", url: "memcached://127.0.0.1?max_record=2m", wantErr: []string{"max_record", "not an integer"}},
		{name: "NegativeEjectAfter", url: "memcached://127.0.0.1?eject_after=-1", wantErr: []string{"eject_after", "out of range", "0 for never"}},
		{name: "RetryTooShort", url: "memcached://127.0.0.1?retry=1ms", wantErr: []string{"retry", "out of range", "10ms to 1h"}},
		{name: "FallbackTTLWithoutUnit", url: "memcached://127.0.0.1?fallback_ttl=60", wantErr: []string{"fallback_ttl", "not a duration"}},
		{name: "CheckNotABool", url: "memcached://127.0.0.1?check=maybe", wantErr: []string{"check", "true or false"}},
	})
}

func TestOpenMemcachedIsUsable(t *testing.T) {
	srv := testserver.Memcached(t)
	s, err := backends.Open("memcached://" + srv.Addr + "?prefix=backends-test:&timeout=200ms&max_idle=8")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.(io.Closer).Close() })
	if _, ok := s.(sessions.Toucher); !ok {
		t.Errorf("the memcached store lost its Touch method: %T", s)
	}
	roundTrip(t, s)
	// The prefix goes before every key.
	if _, err := s.(sessions.Store).Save(t.Context(), "k", []byte("v"), 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	if it, err := memcache.New(srv.Addr).Get("backends-test:k"); err != nil || string(it.Value) != "v" {
		t.Errorf("raw backends-test:k = %v, %v; want the session saved under the prefix", it, err)
	}
}

// TestOpenMemcachedClientOptions checks that the options reach the client.
func TestOpenMemcachedClientOptions(t *testing.T) {
	for _, tc := range []struct {
		url     string
		timeout time.Duration
		idle    int
	}{
		{"memcached://127.0.0.1:1?timeout=123ms&max_idle=7&check=false", 123 * time.Millisecond, 7},
		{"memcached://127.0.0.1:1?check=false", memcached.DefaultTimeout, memcached.DefaultMaxIdleConns},
	} {
		b, err := backends.Open(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		c := b.(*memcached.Store).Client()
		if c.Timeout != tc.timeout || c.MaxIdleConns != tc.idle {
			t.Errorf("%s: client Timeout %v, MaxIdleConns %d; want %v, %d", tc.url, c.Timeout, c.MaxIdleConns, tc.timeout, tc.idle)
		}
		b.(io.Closer).Close()
	}
}

// TestOpenMemcachedMaxRecord checks that max_record reaches the store: a
// session of max_record bytes is saved, one byte more is ErrTooLarge.
func TestOpenMemcachedMaxRecord(t *testing.T) {
	srv := testserver.Memcached(t, "-I", "2m")
	saveEdge(t, "memcached://"+srv.Addr+"?max_record=10", 10)
	saveEdge(t, "memcached://"+srv.Addr, memcached.DefaultMaxRecordSize)
}

// saveEdge opens url and saves a session of limit bytes, which must be
// stored, and one of limit+1 bytes, which must be refused as too large.
func saveEdge(t *testing.T, url string, limit int) {
	t.Helper()
	b, err := backends.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.(io.Closer).Close()
	s := b.(sessions.Store)
	if _, err := s.Save(t.Context(), fmt.Sprint("at", limit), make([]byte, limit), 0, time.Minute); err != nil {
		t.Errorf("%s: a session of %d bytes: %v", url, limit, err)
	}
	if _, err := s.Save(t.Context(), "over", make([]byte, limit+1), 0, time.Minute); !errors.Is(err, sessions.ErrTooLarge) {
		t.Errorf("%s: a session of %d bytes: %v, want sessions.ErrTooLarge", url, limit+1, err)
	}
}

// logTo makes slog's default logger write to a buffer until the test
// ends, and returns what it wrote so far.
func logTo(t *testing.T) func() string {
	t.Helper()
	var mu sync.Mutex
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		return buf.String()
	}
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestOpenMemcachedCheck: Open asks every server for its version. None
// answering is an error naming each and how to start anyway; one of
// several not answering (refused, or a name that does not resolve) is
// ejected with a warning naming it, and the store works on the others.
func TestOpenMemcachedCheck(t *testing.T) {
	live := testserver.Memcached(t)
	dead := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	const unresolvable = "memcached.not-yet-up.invalid:11211"

	t.Run("NoServerAnswers", func(t *testing.T) {
		for _, tc := range []struct{ url string }{
			{"memcached://" + dead},
			{"memcached://" + unresolvable},
			{"memcached://" + dead + "," + unresolvable + "?timeout=300ms"},
		} {
			start := time.Now()
			s, err := backends.Open(tc.url)
			if s != nil {
				t.Fatalf("Open(%q) returned a store and %v", tc.url, err)
			}
			want := []string{"no server answers", "check=false"}
			for _, a := range []string{dead, unresolvable} {
				if strings.Contains(tc.url, a) {
					want = append(want, a)
				}
			}
			checkConfigErr(t, err, want...)
			if !errors.Is(err, memcached.ErrUnreachable) {
				t.Errorf("Open(%q): %v, which does not wrap memcached.ErrUnreachable", tc.url, err)
			}
			// Every server at once, each within the timeout (500 ms): a
			// connect and a read at most.
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Open(%q) took %v to fail", tc.url, d)
			}
		}
	})
	t.Run("CheckOff", func(t *testing.T) {
		s, err := backends.Open("memcached://" + dead + "?check=false")
		if err != nil {
			t.Fatal(err)
		}
		defer s.(io.Closer).Close()
		if _, err := s.(sessions.Store).Load(t.Context(), "k"); err == nil {
			t.Fatal("a Load with no server answered")
		}
	})
	t.Run("OneOfSeveralDown", func(t *testing.T) {
		logged := logTo(t)
		b, err := backends.Open("memcached://" + live.Addr + "," + dead + "," + unresolvable)
		if err != nil {
			t.Fatal(err)
		}
		s := b.(*memcached.Store)
		defer s.Close()
		if got := s.Ejected(); !slices.Equal(got, []string{dead, unresolvable}) {
			t.Errorf("ejected at start-up: %q, want %q", got, []string{dead, unresolvable})
		}
		log := logged()
		for _, want := range []string{"server ejected", "no answer at start-up", "server=" + dead, "server=" + unresolvable} {
			if !strings.Contains(log, want) {
				t.Errorf("the log does not say %q:\n%s", want, log)
			}
		}
		// Every session goes to the server that answers.
		for i := range 30 {
			k := fmt.Sprint("k", i)
			if _, err := s.Save(t.Context(), k, []byte("v"), 0, time.Minute); err != nil {
				t.Fatalf("Save %s: %v", k, err)
			}
			if r, err := s.Load(t.Context(), k); err != nil || string(r.Data) != "v" {
				t.Fatalf("Load %s = %q, %v", k, r.Data, err)
			}
		}
	})
	t.Run("EjectionOff", func(t *testing.T) {
		logged := logTo(t)
		b, err := backends.Open("memcached://" + live.Addr + "," + dead + "?eject_after=0")
		if err != nil {
			t.Fatal(err)
		}
		s := b.(*memcached.Store)
		defer s.Close()
		if got := s.Ejected(); len(got) != 0 {
			t.Errorf("ejected with eject_after=0: %q", got)
		}
		if log := logged(); !strings.Contains(log, "ejection is off") || !strings.Contains(log, "server="+dead) {
			t.Errorf("the log does not warn of %s:\n%s", dead, log)
		}
	})
}

// TestOpenMemcachedFailoverOptions checks that fallback_ttl and retry
// reach the store.
func TestOpenMemcachedFailoverOptions(t *testing.T) {
	live, down := testserver.Memcached(t), testserver.Memcached(t)
	down.Stop()
	home, err := memcached.NewRendezvousSelector(live.Addr, down.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("FallbackTTL", func(t *testing.T) {
		b, err := backends.Open("memcached://" + live.Addr + "," + down.Addr + "?fallback_ttl=7s")
		if err != nil {
			t.Fatal(err)
		}
		s := b.(*memcached.Store)
		defer s.Close()
		k := 0
		for ; ; k++ { // a key that the server down wins
			if a, _ := home.PickServer(fmt.Sprint("session:k", k)); a.String() == down.Addr {
				break
			}
		}
		if _, err := s.Save(t.Context(), fmt.Sprint("k", k), []byte("v"), 0, time.Hour); err != nil {
			t.Fatal(err)
		}
		if ttl := rawTTL(t, live.Addr, fmt.Sprint("session:k", k)); ttl < 5*time.Second || ttl > 9*time.Second {
			t.Errorf("a session of the ejected server lives %v on its fallback, want about 7s", ttl)
		}
	})
	t.Run("Retry", func(t *testing.T) {
		b, err := backends.Open("memcached://" + live.Addr + "," + down.Addr + "?retry=1h")
		if err != nil {
			t.Fatal(err)
		}
		s := b.(*memcached.Store)
		defer s.Close()
		down.Start()
		defer down.Stop()
		// Probed once an hour: still out 2 s after it answers again (the
		// default interval, 1 s, would have brought it back).
		time.Sleep(2 * time.Second)
		if got := s.Ejected(); !slices.Equal(got, []string{down.Addr}) {
			t.Errorf("ejected with retry=1h: %q, want %q", got, []string{down.Addr})
		}
	})
}

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
	var secs int
	if _, err := fmt.Sscanf(line, "HD t%d", &secs); err != nil {
		t.Fatalf("mg answered %q", line)
	}
	return time.Duration(secs) * time.Second
}
