package redis

import (
	"errors"
	"time"
)

// Defaults of the store's options.
const (
	// DefaultPrefix is put before every key the store writes, unless
	// WithPrefix sets another.
	DefaultPrefix = "session:"

	// DefaultMaxRecordSize is the largest session, in bytes, that a store
	// keeps unless WithMaxRecordSize says otherwise: 1 MiB, far more than
	// a session needs (an ID and a few values; documents belong in a
	// database), and a bound on what Load hands to the decoder.
	DefaultMaxRecordSize = 1 << 20

	// DefaultWaitTimeout is how long a write waits for its replicas when
	// WithWait (or the URL option wait) gives no timeout: 500 ms, a
	// quarter of the middleware's default 2 s request budget. A replica on
	// the same network acknowledges within a millisecond or two.
	DefaultWaitTimeout = 500 * time.Millisecond
)

// Option configures New and Open.
type Option func(*options)

type options struct {
	prefix    string
	maxRecord int
	wait      waitPolicy
}

// WithPrefix sets the string put before every session key in Redis.
// Default DefaultPrefix ("session:"). Give each application sharing a Redis
// database its own prefix. An empty prefix is refused: New panics, Open
// returns an error. On Redis Cluster, a prefix holding a hash tag such as
// "{sess}:" would put every session in one slot; don't.
func WithPrefix(p string) Option { return func(o *options) { o.prefix = p } }

var errEmptyPrefix = errors.New("redis: the key prefix must not be empty")

// WithMaxRecordSize sets the largest session, in bytes of encoded data,
// that the store keeps. Default DefaultMaxRecordSize (1 MiB); n <= 0 means
// the default. Save refuses a larger session with ErrTooLarge without
// sending it, and Load reports a larger stored one as corrupt
// ([sessions.ErrCorrupt]), so the middleware starts a new session instead.
// Open's URL option max_record sets it too.
func WithMaxRecordSize(n int) Option { return func(o *options) { o.maxRecord = n } }

// maxRecordSize returns the maximum record size the options set.
func (o *options) maxRecordSize() int {
	if o.maxRecord <= 0 {
		return DefaultMaxRecordSize
	}
	return o.maxRecord
}

// WithWait makes every Save and Touch wait until replicas replicas have
// acknowledged it (Redis WAIT, sent on the connection of the write, in the
// same round trip), for at most timeout, or the time left before the
// context's deadline if that is sooner. Fewer acknowledgements is an error
// wrapping ErrNotReplicated, which the middleware answers with 503; the
// write may have landed on the master all the same. Default: no waiting
// (replicas 0). timeout 0 means DefaultWaitTimeout; it must be shorter
// than the client's read timeout, or the reply would not be waited for.
// The URL options wait and wait_timeout set it too. It needs a
// *goredis.Client (one server, or a failover client of Sentinel) or a
// *goredis.ClusterClient. Delete does not wait: the middleware deletes
// only records that no cookie names. docs/redis.md says what it does and
// does not guarantee.
func WithWait(replicas int, timeout time.Duration) Option {
	return func(o *options) { o.wait = waitPolicy{replicas: replicas, timeout: timeout} }
}
