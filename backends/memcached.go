package backends

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/memcached"
)

var _ io.Closer = (*memcached.Store)(nil)

func init() {
	Register("memcached", openMemcached)
}

// memcachedForms lists the memcached URLs accepted.
const memcachedForms = "memcached://host1:11211,host2:11211?prefix=P&timeout=D&max_idle=N&max_record=BYTES&eject_after=N&retry=D&fallback_ttl=D&check=BOOL or memcached:///path/to/memcached.sock?…"

// DefaultMemcachedPort is the port of a memcached address given without one.
const DefaultMemcachedPort = "11211"

// openMemcached opens
// memcached://h1[:port],h2[:port][?prefix=P&timeout=D&max_idle=N&max_record=BYTES&eject_after=N&retry=D&fallback_ttl=D&check=BOOL]
// or memcached:///socket/path[?…], and, unless check=false, asks every
// server for its version (memcached.Store.Check): an error if none answers.
func openMemcached(c Config) (sessions.Backend, error) {
	scheme, rest := cutScheme(c.Store)
	head, query, err := splitRest(scheme, rest)
	if err != nil {
		return nil, err
	}
	hosts, path, _ := strings.Cut(head, "/")
	if strings.Contains(hosts, "@") {
		return nil, configErr("memcached://: memcached has no user or password; accepted: %s", memcachedForms)
	}
	var addrs []string
	switch {
	case hosts == "" && path != "":
		if !printableASCII(path) {
			return nil, configErr("memcached://: the socket path %q has a control character or a byte beyond ASCII; accepted: %s", printable("/"+path), memcachedForms)
		}
		addrs = []string{"/" + path} // a Unix socket
	case path != "":
		return nil, configErr("memcached://: the URL must not have a path after the servers, got %q; accepted: %s", "/"+printable(path), memcachedForms)
	default:
		if addrs, err = memcachedAddrs(hosts); err != nil {
			return nil, err
		}
	}
	var opts []memcached.Option
	check := true
	err = parseOptions(scheme, query, []option{
		{name: "prefix", accepts: "a non-empty string put before every key, such as sess:", set: func(v string) error {
			opts = append(opts, memcached.WithPrefix(v))
			if v == "" {
				return errEmpty
			}
			return nil
		}},
		{name: "timeout", accepts: "a duration from 1ms to 1m such as 200ms, the socket read/write timeout", set: func(v string) error {
			d, err := durationOption(v, time.Millisecond, time.Minute)
			opts = append(opts, memcached.WithTimeout(d))
			return err
		}},
		{name: "max_idle", accepts: "an integer from 1 to 10000, idle connections kept per server", set: func(v string) error {
			n, err := intOption(v, 1, 10000)
			opts = append(opts, memcached.WithMaxIdleConns(n))
			return err
		}},
		{name: "max_record", accepts: "an integer from 1 to 1073741824 (memcached's largest -I), the largest session in bytes; default 1048576", set: func(v string) error {
			n, err := intOption(v, 1, 1<<30)
			opts = append(opts, memcached.WithMaxRecordSize(n))
			return err
		}},
		{name: "eject_after", accepts: "an integer from 0 to 1000, the failures in a row that take a server out of rotation, 0 for never; default 3", set: func(v string) error {
			n, err := intOption(v, 0, 1000)
			opts = append(opts, memcached.WithEjectAfter(n))
			return err
		}},
		{name: "retry", accepts: "a duration from 10ms to 1h such as 5s, how often an ejected server is probed; default 1s", set: func(v string) error {
			d, err := durationOption(v, 10*time.Millisecond, time.Hour)
			opts = append(opts, memcached.WithRetryInterval(d))
			return err
		}},
		{name: "fallback_ttl", accepts: "a duration from 1s to 24h such as 10m, the longest life of a session written while its server is ejected; default 5m", set: func(v string) error {
			d, err := durationOption(v, time.Second, 24*time.Hour)
			opts = append(opts, memcached.WithFallbackTTL(d))
			return err
		}},
		{name: "check", accepts: "true or false, whether opening asks every server for its version and fails when none answers; default true", set: func(v string) error {
			b, err := strconv.ParseBool(v)
			check = b
			return err
		}},
	})
	if err != nil {
		return nil, err
	}
	s, err := memcached.Open(addrs, opts...)
	if err != nil {
		return nil, configErr("memcached://: %s", printable(err.Error()))
	}
	if check {
		// Every server at once, each within the timeout: a connect and a
		// read.
		ctx, cancel := context.WithTimeout(context.Background(), 2*s.Client().Timeout+time.Second)
		defer cancel()
		if err := s.Check(ctx); err != nil {
			_ = s.Close()
			return nil, configErr("memcached://: %w (to start without a server, add check=false to the URL)", err)
		}
	}
	return s, nil
}

// memcachedAddrs parses the comma-separated server list.
func memcachedAddrs(hosts string) ([]string, error) {
	const accepted = "accepted: memcached://host1:11211,host2:11211 (the port defaults to 11211; IPv6 as [::1]:11211) or memcached:///path/to/memcached.sock"
	if hosts == "" {
		return nil, configErr("memcached://: no server; %s", accepted)
	}
	var addrs []string
	for i, h := range strings.Split(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			return nil, configErr("memcached://: server %d is empty; %s", i+1, accepted)
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			// No port: "host", "[::1]" or a bare IPv6 address.
			host, port = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"), DefaultMemcachedPort
			if strings.Contains(host, ":") && !strings.HasPrefix(h, "[") {
				return nil, configErr("memcached://: server %q: an IPv6 address must be in brackets; %s", printable(h), accepted)
			}
		}
		if host == "" || !validHost(host) {
			return nil, configErr("memcached://: server %q has no valid host; %s", printable(h), accepted)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strings.Trim(port, "0123456789") != "" {
			return nil, configErr("memcached://: server %q has an invalid port; %s", printable(h), accepted)
		}
		addr := net.JoinHostPort(host, port)
		for j, a := range addrs {
			if a == addr {
				return nil, configErr("memcached://: server %d (%s) is the same as server %d; %s", i+1, printable(addr), j+1, accepted)
			}
		}
		addrs = append(addrs, addr)
	}
	return addrs, nil
}

// validHost reports whether h is a host name (letters, digits, '-', '.',
// '_') or an IP address.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// printableASCII reports whether s holds only printable ASCII.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
