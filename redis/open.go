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
// the client: Close closes it. It does no I/O; the first request connects,
// and a server that is down gives errors (503 responses) until it is back.
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
// is required. All forms also take the query options prefix, the same as
// WithPrefix, and max_record, the maximum record size in bytes (1 to
// 536870912, Redis's largest string), the same as WithMaxRecordSize;
// options given to Open apply after them.
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
// With go-redis's defaults, a request made while Redis is down waits about
// 2 seconds before it fails with 503 (max_retries=3 retries, each dialing
// up to 5 times 100 ms apart). For a quick 503, set for instance
// max_retries=1&dialer_retries=1&dial_timeout=500ms&read_timeout=500ms.
// Nothing needs restarting when Redis is back.
//
// A malformed URL, an unknown scheme or option is an error that names the
// problem, never echoing a password.
func Open(rawURL string, opts ...Option) (*Store, error) {
	client, urlOpts, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	s, err := newStore(client, true, append(urlOpts, opts...))
	if err != nil {
		_ = client.Close()
		return nil, err
	}
	return s, nil
}

var errReplicaReads = errors.New("read_only, replica_only, route_by_latency and route_randomly are refused: " +
	"they send reads to replicas, which lag, so a session just saved or destroyed could be read stale")

// parseURL makes the client that rawURL names, and returns the store
// options the URL sets (prefix, max_record).
func parseURL(rawURL string) (goredis.UniversalClient, []Option, error) {
	if urlsecret.AmbiguousUserInfo(rawURL) {
		return nil, nil, errors.New("redis: the user info of the URL (before the last \"@\") holds an unescaped \"/\", \"?\" or \"#\": " +
			"percent-encode them (%2F, %3F, %23) (the URL is not shown, as it may contain a password)")
	}
	u, err := url.Parse(rawURL)
	if err != nil || !strings.Contains(rawURL, "://") {
		// url.Parse's error quotes the URL, password included.
		return nil, nil, errors.New("redis: malformed URL: want " + acceptedSchemes +
			" followed by [user:password@]host:port (the URL is not shown, as it may contain a password)")
	}
	shown := redactedURL(u)
	fail := func(err error) (goredis.UniversalClient, []Option, error) {
		return nil, nil, fmt.Errorf("redis: URL %s: %s", shown, urlsecret.Scrub(strings.TrimPrefix(err.Error(), "redis: "), rawURL))
	}

	opts, err := storeOptions(u)
	if err != nil {
		return fail(err)
	}
	if err := poolOptions(u.Query()); err != nil {
		return fail(err)
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
		return goredis.NewClusterClient(o), opts, nil
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
		return goredis.NewFailoverClient(o), opts, nil
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
		return goredis.NewClient(o), opts, nil
	}
}

// maxRecordLimit is the largest max_record a URL may set: Redis's largest
// string (proto-max-bulk-len, 512 MiB).
const maxRecordLimit = 512 << 20

// storeOptions removes the store's own options, prefix and max_record,
// from u (go-redis refuses options it does not know) and returns them.
func storeOptions(u *url.URL) ([]Option, error) {
	q := u.Query()
	var opts []Option
	if vs, ok := q["prefix"]; ok {
		p := vs[len(vs)-1]
		if p == "" {
			return nil, errEmptyPrefix
		}
		opts = append(opts, WithPrefix(p))
	}
	if vs, ok := q["max_record"]; ok {
		v := vs[len(vs)-1]
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxRecordLimit {
			return nil, fmt.Errorf("invalid max_record: %q (bytes, from 1 to %d)", v, maxRecordLimit)
		}
		opts = append(opts, WithMaxRecordSize(n))
	}
	if len(opts) > 0 {
		q.Del("prefix")
		q.Del("max_record")
		u.RawQuery = q.Encode()
	}
	return opts, nil
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
