package redis

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionware/sessions/internal/urlsecret"
)

// Schemes that Open accepts.
const acceptedSchemes = "redis://, rediss://, unix://, redis+cluster://, rediss+cluster://, redis+sentinel://, rediss+sentinel://"

// Open connects to the Redis named by rawURL and returns a store that owns
// the client: Close closes it.
//
// The URL forms, with go-redis's syntax and query options (dial_timeout,
// read_timeout, pool_size, max_retries, …; an unknown option is an error):
//
//	redis://[user:password@]host[:6379][/db][?options]       one server
//	rediss://…                                                 the same over TLS
//	unix://[user:password@]/path/to/redis.sock[?db=N&…]        a Unix socket
//	redis+cluster://[user:password@]host:port[?addr=host2:port&addr=…]
//	rediss+cluster://…                                         Redis Cluster (TLS)
//	redis+sentinel://[user:password@]sentinel:26379[/db]?master_name=NAME[&addr=sentinel2:26379&password=…]
//	rediss+sentinel://…                                        Sentinel (TLS)
//
// For Sentinel, the URL's user and password are the Sentinels' own; the
// master's go in the username and password query options, and master_name
// is required.
//
// The store's own query options, which every form takes (options given
// to Open apply after them):
//
//	prefix        the same as WithPrefix
//	max_record    the largest session in bytes, 1 to 536870912 (Redis's
//	              largest string), the same as WithMaxRecordSize
//	wait          the replicas every save and touch waits for, 0 to 100
//	              (default 0, no waiting), the same as WithWait
//	wait_timeout  how long they are waited for, a Go duration such as
//	              200ms (default 500ms), with wait only
//	check         false skips the start-up check (default true)
//
// Start-up check: unless check=false, Open sends a PING (for a cluster,
// to one node; for Sentinel, to the master the Sentinels name) and waits
// up to 2 seconds for the answer. A server that cannot be reached, does
// not answer in time or refuses the credentials (WRONGPASS, NOAUTH) makes
// Open fail with an error that wraps ErrCheck, names the URL without its
// password, and says what went wrong. With check=false Open does no I/O:
// the first request connects, and a server that is down gives errors (503
// responses) until it is back.
//
// Timeouts: the middleware gives every store call of a request a context
// whose deadline is the request's budget (2 s by default, shared by the
// load and the commit), and the client Open makes honours it
// (ContextTimeoutEnabled; a context_timeout_enabled other than true is
// refused): a frozen server, whose kernel still accepts connections, costs
// a request its budget at most, never go-redis's own timeouts and retries.
// Beneath that, Open sets go-redis's timeouts that the URL leaves out to
// 1 s: dial_timeout, read_timeout (write_timeout follows read_timeout when
// the URL sets only that one), pool_timeout (waiting for a free connection
// when all are busy, for instance stuck on a frozen server). They bound
// each attempt, and the calls of a program that passes a context without
// a deadline. docs/redis.md says why and what was measured.
//
// Options that send reads to replicas (read_only, replica_only,
// route_by_latency, route_randomly) are refused: a replica may not yet
// have a session that was just saved, or may still have one just
// destroyed. Give New a client made that way only if you accept that.
//
// For redis://, rediss:// and unix:// URLs Open also takes go-redis's
// dialer_retries and dialer_retry_timeout options, which go-redis parses
// only for the cluster and sentinel forms.
//
// A malformed URL, an unknown scheme or option is an error that names the
// problem, never echoing a password.
func Open(rawURL string, opts ...Option) (*Store, error) {
	p, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	client, urlOpts := p.client, p.opts
	s, err := newStore(client, true, append(urlOpts, opts...))
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	if p.check {
		if err := startupCheck(client, p.shown, rawURL); err != nil {
			_ = client.Close()
			return nil, err
		}
	}
	return s, nil
}

var errReplicaReads = errors.New("read_only, replica_only, route_by_latency and route_randomly are refused: " +
	"they send reads to replicas, which lag, so a session just saved or destroyed could be read stale")

// parsed is what a URL names: the client, the store options it sets, and
// whether Open checks the server; shown is the URL without its password.
type parsed struct {
	client goredis.UniversalClient
	opts   []Option
	check  bool
	shown  string
}

// parseURL makes the client that rawURL names, and returns it with the
// store options the URL sets.
func parseURL(rawURL string) (parsed, error) {
	if urlsecret.AmbiguousUserInfo(rawURL) {
		return parsed{}, errors.New("redis: the user info of the URL (before the last \"@\") holds an unescaped \"/\", \"?\" or \"#\": " +
			"percent-encode them (%2F, %3F, %23) (the URL is not shown, as it may contain a password)")
	}
	u, err := url.Parse(rawURL)
	if err != nil || !strings.Contains(rawURL, "://") {
		// url.Parse's error quotes the URL, password included.
		return parsed{}, errors.New("redis: malformed URL: want " + acceptedSchemes +
			" followed by [user:password@]host:port (the URL is not shown, as it may contain a password)")
	}
	shown := redactedURL(u)
	fail := func(err error) (parsed, error) {
		return parsed{}, fmt.Errorf("redis: URL %s: %s", shown, urlsecret.Scrub(strings.TrimPrefix(err.Error(), "redis: "), rawURL))
	}

	opts, check, err := storeOptions(u)
	if err != nil {
		return fail(err)
	}
	q := u.Query()
	if err := poolOptions(q); err != nil {
		return fail(err)
	}
	made := func(c goredis.UniversalClient) (parsed, error) {
		return parsed{client: c, opts: opts, check: check, shown: shown}, nil
	}

	base, kind, _ := strings.Cut(u.Scheme, "+")
	switch u.Scheme {
	case "redis", "rediss", "unix",
		"redis+cluster", "rediss+cluster",
		"redis+sentinel", "rediss+sentinel":
	default:
		return fail(fmt.Errorf("unsupported scheme %q; accepted: %s", u.Scheme, acceptedSchemes))
	}
	u.Scheme = base

	switch kind {
	case "cluster":
		o, err := goredis.ParseClusterURL(u.String())
		if err != nil {
			return fail(err)
		}
		if o.ReadOnly || o.RouteByLatency || o.RouteRandomly {
			return fail(errReplicaReads)
		}
		timeouts(q, &o.ContextTimeoutEnabled, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout)
		return made(goredis.NewClusterClient(o))
	case "sentinel":
		o, err := goredis.ParseFailoverURL(u.String())
		if err != nil {
			return fail(err)
		}
		if o.MasterName == "" {
			return fail(errors.New("a sentinel URL needs the master_name option"))
		}
		if o.ReplicaOnly || o.RouteByLatency || o.RouteRandomly {
			return fail(errReplicaReads)
		}
		timeouts(q, &o.ContextTimeoutEnabled, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout)
		return made(goredis.NewFailoverClient(o))
	default:
		// go-redis takes the dialer options from cluster and sentinel URLs
		// only; take them here too.
		retries, retryTimeout, err := dialerOptions(u)
		if err != nil {
			return fail(err)
		}
		o, err := goredis.ParseURL(u.String())
		if err != nil {
			return fail(err)
		}
		o.DialerRetries, o.DialerRetryTimeout = retries, retryTimeout
		timeouts(q, &o.ContextTimeoutEnabled, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout)
		return made(goredis.NewClient(o))
	}
}

// maxRecordLimit is the largest max_record a URL may set: Redis's largest
// string (proto-max-bulk-len, 512 MiB).
const maxRecordLimit = 512 << 20

// storeOptions removes the store's own options (prefix, max_record, wait,
// wait_timeout, check) from u, since go-redis refuses options it does not
// know, and returns them: the store options they set, and whether Open
// checks the server. It removes context_timeout_enabled too (go-redis
// takes it for Sentinel only), which may only be true: Open turns it on.
func storeOptions(u *url.URL) (opts []Option, check bool, err error) {
	q := u.Query()
	last := func(name string) (string, bool) {
		vs, ok := q[name]
		if !ok {
			return "", false
		}
		return vs[len(vs)-1], true
	}
	if p, ok := last("prefix"); ok {
		if p == "" {
			return nil, false, errEmptyPrefix
		}
		opts = append(opts, WithPrefix(p))
	}
	if v, ok := last("max_record"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxRecordLimit {
			return nil, false, fmt.Errorf("invalid max_record: %q (bytes, from 1 to %d)", v, maxRecordLimit)
		}
		opts = append(opts, WithMaxRecordSize(n))
	}
	var wait waitPolicy
	if v, ok := last("wait"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxWaitReplicas {
			return nil, false, fmt.Errorf("invalid wait: %q (the replicas each write waits for, from 0 to %d)", v, maxWaitReplicas)
		}
		wait.replicas = n
	}
	if v, ok := last("wait_timeout"); ok {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Millisecond {
			return nil, false, fmt.Errorf("invalid wait_timeout: %q (a Go duration of 1ms or more, such as 200ms)", v)
		}
		if wait.replicas == 0 {
			return nil, false, errors.New("wait_timeout is given without wait (the number of replicas to wait for)")
		}
		wait.timeout = d
	}
	if wait.replicas > 0 {
		opts = append(opts, WithWait(wait.replicas, wait.timeout))
	}
	if v, ok := last("context_timeout_enabled"); ok {
		if on, err := strconv.ParseBool(v); err != nil || !on {
			return nil, false, errContextTimeouts // Open always turns it on
		}
	}
	check = true
	if v, ok := last("check"); ok {
		if check, err = strconv.ParseBool(v); err != nil {
			return nil, false, fmt.Errorf("invalid check: %q (true or false)", v)
		}
	}
	removed := false
	for _, name := range []string{"prefix", "max_record", "wait", "wait_timeout", "check", "context_timeout_enabled"} {
		if q.Has(name) {
			q.Del(name)
			removed = true
		}
	}
	if removed { // else go-redis sees the query as written, malformed pairs included
		u.RawQuery = q.Encode()
	}
	return opts, check, nil
}

// dialerOptions removes the dialer_retries and dialer_retry_timeout
// options from u and returns their values (0 when absent: go-redis's
// defaults). A duration without a unit is seconds, as in go-redis.
func dialerOptions(u *url.URL) (retries int, timeout time.Duration, err error) {
	q := u.Query()
	if vs := q["dialer_retries"]; len(vs) > 0 {
		if retries, err = strconv.Atoi(vs[len(vs)-1]); err != nil {
			return 0, 0, fmt.Errorf("invalid dialer_retries number: %q", vs[len(vs)-1])
		}
	}
	if vs := q["dialer_retry_timeout"]; len(vs) > 0 {
		v := vs[len(vs)-1]
		if n, err := strconv.Atoi(v); err == nil {
			timeout = time.Duration(n) * time.Second
		} else if timeout, err = time.ParseDuration(v); err != nil {
			return 0, 0, fmt.Errorf("invalid dialer_retry_timeout duration: %q", v)
		}
	}
	q.Del("dialer_retries")
	q.Del("dialer_retry_timeout")
	u.RawQuery = q.Encode()
	return retries, timeout, nil
}

// redactedURL shows u's scheme, host and path, without user info or
// options.
func redactedURL(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return strings.TrimSuffix(r.String(), "/")
}

// maxPool bounds the pool sizes a URL may ask for: go-redis makes its pool
// at construction, so a huge size costs memory at Open (a negative one
// panics inside it).
const maxPool = 10000

// poolOptions checks the pool options that go-redis acts on when the
// client is made: sizes from 0 (pool_size from 1) to maxPool, and no
// min_idle_conns, which would dial at Open (Open does no I/O).
func poolOptions(q url.Values) error {
	for _, name := range []string{"pool_size", "max_idle_conns", "max_active_conns"} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		low := 0
		if name == "pool_size" {
			low = 1
		}
		if n, err := strconv.Atoi(v); err != nil || n < low || n > maxPool {
			return fmt.Errorf("%s=%q: want an integer from %d to %d", name, v, low, maxPool)
		}
	}
	if v := q.Get("min_idle_conns"); v != "" && v != "0" {
		return fmt.Errorf("min_idle_conns=%q: it would connect at Open, which does no I/O; leave it out", v)
	}
	return nil
}
