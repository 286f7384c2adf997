package redis

import "errors"

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
)

// Option configures New and Open.
type Option func(*options)

type options struct {
	prefix    string
	maxRecord int
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
