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
)

// Option configures New and Open.
type Option func(*options)

type options struct {
	prefix       string
	timeout      time.Duration
	maxIdleConns int
}

func defaultOptions() options {
	return options{
		prefix:       DefaultPrefix,
		timeout:      DefaultTimeout,
		maxIdleConns: DefaultMaxIdleConns,
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

func (o *options) apply(client *memcache.Client) {
	client.Timeout, client.MaxIdleConns = DefaultTimeout, DefaultMaxIdleConns
	if o.timeout > 0 {
		client.Timeout = o.timeout
	}
	if o.maxIdleConns > 0 {
		client.MaxIdleConns = o.maxIdleConns
	}
}
