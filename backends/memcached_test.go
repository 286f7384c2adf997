package backends_test

import (
	"errors"
	"fmt"
	"io"
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
		{name: "One", url: "memcached://127.0.0.1:11211", wantType: typ},
		{name: "DefaultPort", url: "memcached://127.0.0.1", wantType: typ},
		{name: "Several", url: "memcached://127.0.0.1:11211,127.0.0.2:11211, 127.0.0.3", wantType: typ},
		{name: "Localhost", url: "memcached://localhost:11211/", wantType: typ},
		{name: "NameNotResolvableYet", url: "memcached://memcached.not-yet-up.invalid:11211", wantType: typ}, // resolved when dialled
		{name: "IPv6", url: "memcached://[::1]:11211,[::1]:11212", wantType: typ},
		{name: "UnixSocket", url: "memcached:///run/memcached/memcached.sock?prefix=app:", wantType: typ},
		{name: "Options", url: "memcached://127.0.0.1:11211,127.0.0.2:11211?prefix=sess:&timeout=200ms&max_idle=64&max_record=2097152", wantType: typ},

		{name: "NoServer", url: "memcached://", wantErr: []string{"no server", "memcached://host1:11211,host2:11211"}},
		{name: "EmptyServer", url: "memcached://127.0.0.1:11211,,127.0.0.2", wantErr: []string{"server 2 is empty"}},
		{name: "BadPort", url: "memcached://127.0.0.1:http", wantErr: []string{`"127.0.0.1:http" has an invalid port`}},
		{name: "PortOutOfRange", url: "memcached://127.0.0.1:70000", wantErr: []string{"invalid port"}},
		{name: "NoHost", url: "memcached://:11211", wantErr: []string{"no valid host"}},
		{name: "BareIPv6", url: "memcached://::1", wantErr: []string{"in brackets"}},
		{name: "Duplicate", url: "memcached://127.0.0.1:11211,127.0.0.1", wantErr: []string{"server 2 (127.0.0.1:11211) is the same as server 1"}},
		{name: "Password", url: "memcached://u:" + secret + "@127.0.0.1", wantErr: []string{"no user or password"}},
		{name: "PathAfterServers", url: "memcached://127.0.0.1/x", wantErr: []string{"must not have a path"}},
		{name: "UnknownOption", url: "memcached://127.0.0.1?pool=5", wantErr: []string{`unknown option "pool"`, "accepted: prefix (", "timeout (", "max_idle (", "max_record ("}},
		{name: "EmptyPrefix", url: "memcached://127.0.0.1?prefix=", wantErr: []string{"prefix", "non-empty"}},
		{name: "PrefixWithSpace", url: "memcached://127.0.0.1?prefix=a+b", wantErr: []string{"prefix"}},
		{name: "TimeoutWithoutUnit", url: "memcached://127.0.0.1?timeout=200", wantErr: []string{"timeout", "not a duration", "200ms"}},
		{name: "ZeroTimeout", url: "memcached://127.0.0.1?timeout=0s", wantErr: []string{"timeout", "out of range"}},
		{name: "HugeMaxIdle", url: "memcached://127.0.0.1?max_idle=1000000", wantErr: []string{"max_idle", "out of range", "1 to 10000"}},
		{name: "ZeroMaxIdle", url: "memcached://127.0.0.1?max_idle=0", wantErr: []string{"max_idle", "out of range"}},
		{name: "ZeroMaxRecord", url: "memcached://127.0.0.1?max_record=0", wantErr: []string{"max_record", "out of range", "1 to 1073741824"}},
		{name: "HugeMaxRecord", url: "memcached://127.0.0.1?max_record=1073741825", wantErr: []string{"max_record", "out of range"}},
		{name: "MaxRecordWithUnit", url: "memcached://127.0.0.1?max_record=2m", wantErr: []string{"max_record", "not an integer"}},
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
		{"memcached://127.0.0.1:1?timeout=123ms&max_idle=7", 123 * time.Millisecond, 7},
		{"memcached://127.0.0.1:1", memcached.DefaultTimeout, memcached.DefaultMaxIdleConns},
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
