package memcached

import (
	"log/slog"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// Defaults of Open's client.
const (
	// DefaultTimeout bounds each connect, read and write of a command
	// (gomemcache's socket timeout).
	DefaultTimeout = 500 * time.Millisecond

	// DefaultMaxIdleConns is how many idle connections Open's client keeps
	// per server: enough that 64 concurrent requests reuse connections
	// instead of dialling. With gomemcache's own default, 2, a connection
	// released while two others are idle is closed, so under 64
	// concurrent requests about every other request dials anew
	// (BenchmarkParallelIdleConns).
	DefaultMaxIdleConns = 64

	// DefaultPrefix is put before every key.
	DefaultPrefix = "session:"

	// DefaultMaxRecordSize is the largest session, in bytes, that a store
	// keeps unless WithMaxRecordSize says otherwise: 1 MiB, memcached's
	// default item size limit (-I 1m), so that the store refuses nothing
	// that a server with default settings would keep.
	DefaultMaxRecordSize = 1 << 20

	// DefaultEjectAfter is how many transport failures in a row (a
	// connect refused or timed out, a name that does not resolve, a read
	// that timed out, a connection that broke) eject a server of Open's
	// store from rotation: a single failure among successes is no outage,
	// and under load three come within milliseconds of a crash.
	DefaultEjectAfter = 3

	// DefaultRetryInterval is how often Open's store probes an ejected
	// server (a "version" command on a connection of its own, within the
	// timeout): a server that is back returns within about this long.
	DefaultRetryInterval = time.Second

	// DefaultFallbackTTL caps the time to live of a record written to a
	// fallback server, the one that holds an ejected server's sessions,
	// and is given again at each load from there: five minutes, so that a
	// session in use while its server is out lives on, and a copy left
	// behind (by a process that stopped before its server came back) soon
	// goes.
	DefaultFallbackTTL = 5 * time.Minute
)

// Option configures New and Open.
type Option func(*options)

type options struct {
	prefix       string
	timeout      time.Duration
	maxIdleConns int
	maxRecord    int
	ejectAfter   int
	ejectSet     bool
	retry        time.Duration
	fallbackTTL  time.Duration
	logger       *slog.Logger
	loggerSet    bool
}

func defaultOptions() options {
	return options{
		prefix:       DefaultPrefix,
		timeout:      DefaultTimeout,
		maxIdleConns: DefaultMaxIdleConns,
		maxRecord:    DefaultMaxRecordSize,
	}
}

// WithPrefix sets the string put before every key, so that sessions share a
// memcached with other data safely. Default "session:". Together with the
// middleware's 43-character keys it must keep keys within memcached's 250
// bytes, be non-empty and contain no spaces or control characters; New
// panics otherwise (Open returns an error).
func WithPrefix(p string) Option { return func(o *options) { o.prefix = p } }

// WithTimeout sets the timeout of Open's client: each connect, read and
// write of a command must finish within d. Default DefaultTimeout (500 ms);
// d <= 0 means the default. A command to a server that does not answer
// fails after about d (a read; a connect, then a read, is 2d at most),
// or at its context's deadline if that comes first (see [Store]): keep
// 2d under the request's budget (2 s in the middleware), or commands near
// the deadline go from goroutines of their own. New ignores it: configure
// the client you pass (memcache.Client.Timeout).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithEjectAfter sets how many transport failures in a row eject a server
// of Open's store from rotation (see docs/memcached.md, "A server down"):
// the sessions it wins go to their next server in rendezvous order until
// it answers a probe again. Default DefaultEjectAfter (3); n <= 0 never
// ejects, so that the requests of its sessions fail (503) until it is
// back. A store of one server never ejects it: there is nowhere to send
// its sessions. New ignores it: only Open's client routes through the
// store.
func WithEjectAfter(n int) Option { return func(o *options) { o.ejectAfter, o.ejectSet = n, true } }

// WithRetryInterval sets how often Open's store probes an ejected server.
// Default DefaultRetryInterval (1 s); d <= 0 means the default.
func WithRetryInterval(d time.Duration) Option { return func(o *options) { o.retry = d } }

// WithFallbackTTL caps the time to live of the records that Open's store
// writes to a fallback server while the server that wins them is ejected;
// a load from the fallback gives the record this TTL again. Default
// DefaultFallbackTTL (5 minutes); d <= 0 means the default.
func WithFallbackTTL(d time.Duration) Option { return func(o *options) { o.fallbackTTL = d } }

// WithLogger sets where Open's store reports that it ejects a server and
// that the server is back: a warning and an info record, one per change.
// Default [slog.Default] (as it is when the store logs); nil: no log.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger, o.loggerSet = l, true }
}

// WithMaxIdleConns sets how many idle connections Open's client keeps per
// server. Default DefaultMaxIdleConns (64); n <= 0 means the default.
// Set it to at least the number of requests you expect at once per app
// process. New ignores it: configure the client you pass
// (memcache.Client.MaxIdleConns).
func WithMaxIdleConns(n int) Option { return func(o *options) { o.maxIdleConns = n } }

// WithMaxRecordSize sets the largest session, in bytes of encoded data,
// that the store keeps. Default DefaultMaxRecordSize (1 MiB); n <= 0 means
// the default. Save refuses a larger session with ErrTooLarge without
// sending it, and Load reports a larger stored one as corrupt
// ([sessions.ErrCorrupt]), so the middleware starts a new session instead.
// The touch stamps stored after the data do not count. To keep larger
// sessions, start memcached with a larger item size limit (-I) too: a
// server refuses an item over its limit itself, also with ErrTooLarge.
func WithMaxRecordSize(n int) Option { return func(o *options) { o.maxRecord = n } }

// maxRecordSize returns the maximum record size the options set.
func (o *options) maxRecordSize() int {
	if o.maxRecord <= 0 {
		return DefaultMaxRecordSize
	}
	return o.maxRecord
}

func (o *options) ejectAfterOrDefault() int {
	switch {
	case !o.ejectSet:
		return DefaultEjectAfter
	case o.ejectAfter < 0:
		return 0
	}
	return o.ejectAfter
}

func (o *options) retryOrDefault() time.Duration {
	if o.retry <= 0 {
		return DefaultRetryInterval
	}
	return o.retry
}

func (o *options) fallbackTTLOrDefault() time.Duration {
	if o.fallbackTTL <= 0 {
		return DefaultFallbackTTL
	}
	return o.fallbackTTL
}

func (o *options) apply(client *memcache.Client) {
	client.Timeout, client.MaxIdleConns = DefaultTimeout, DefaultMaxIdleConns
	if o.timeout > 0 {
		client.Timeout = o.timeout
	}
	if o.maxIdleConns > 0 {
		client.MaxIdleConns = o.maxIdleConns
	}
}
