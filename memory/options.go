package memory

import (
	"log/slog"
	"time"
)

// DefaultMaxEntries is the bound of a store made without [WithMaxEntries]:
// 100,000 sessions, 23 MB with sessions of two small values
// (measured in docs/memory.md).
const DefaultMaxEntries = 100_000

// DefaultInUse is how long a loaded session counts as in use by a request
// unless [WithInUse] says otherwise.
const DefaultInUse = time.Minute

// Option configures New.
type Option func(*options)

type options struct {
	maxEntries      int
	inUse           time.Duration
	cleanupInterval time.Duration
	now             func() time.Time
	logger          *slog.Logger
	loggerSet       bool
}

// WithMaxEntries sets how many sessions the store holds at most: n, or 64
// if n is smaller (the bound is kept per shard, and each of the 64 shards
// holds one at least). Since sessions spread over the shards unevenly,
// evictions begin a little before the store holds n. Tombstones, the
// records that Renew and Destroy leave for a few minutes, count as
// sessions. Default [DefaultMaxEntries]; 0 or less: no bound.
func WithMaxEntries(n int) Option { return func(o *options) { o.maxEntries = max(n, 0) } }

// WithInUse sets how long after a Load a session counts as in use by the
// request that loaded it: a bounded store does not evict it during that
// time. Set it above the longest request of the application. Default
// [DefaultInUse]; 0 or less: sessions never count as in use.
func WithInUse(d time.Duration) Option { return func(o *options) { o.inUse = max(d, 0) } }

// WithCleanupInterval sets how often expired sessions are reclaimed.
// Expired sessions are invisible at once whatever this is. Default one
// minute; 0 or less: no cleanup goroutine (expired entries are then
// reclaimed only when loaded, overwritten or evicted).
func WithCleanupInterval(d time.Duration) Option { return func(o *options) { o.cleanupInterval = d } }

// WithClock sets the function that tells the time, for tests. Default
// time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLogger sets where the store reports that it evicts or refuses
// sessions: one warning when it first does, then at most one a minute
// while it goes on, each with the counts since the previous one. Default
// [slog.Default] (as it is when the store logs); nil: no log.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger, o.loggerSet = l, true }
}
