package memcached

import (
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
)

// Option configures New and Open.
type Option func(*options)

type options struct {
	prefix       string
	timeout      time.Duration
	maxIdleConns int
	maxRecord    int
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
// d <= 0 means the default. A request that needs a server that does not
// answer fails after about one to three times d (connect, then a read; a
// refresh sends two commands). New ignores it: configure the client you
// pass (memcache.Client.Timeout).
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

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

func (o *options) apply(client *memcache.Client) {
	client.Timeout, client.MaxIdleConns = DefaultTimeout, DefaultMaxIdleConns
	if o.timeout > 0 {
		client.Timeout = o.timeout
	}
	if o.maxIdleConns > 0 {
		client.MaxIdleConns = o.maxIdleConns
	}
}
