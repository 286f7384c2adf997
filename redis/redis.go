// Package redis keeps sessions in Redis, Redis Cluster or a Sentinel-managed
// Redis, through github.com/redis/go-redis/v9.
//
// Each session is one hash under prefix+key (default prefix "session:")
// with three fields: "d" the encoded session, "v" its version, "t" the
// middleware's time of the last Touch (Unix milliseconds; absent if
// never). The key's TTL is set in milliseconds (PEXPIRE) to the time to
// live the middleware asks for, rounded up to the millisecond, so the
// store and the cookie expire together.
//
// Every operation is one round trip: Load is an HMGET; Save and Touch are
// Lua scripts run with EVALSHA (go-redis falls back to EVAL, which caches
// the script, the first time a server sees it), followed by WAIT in the
// same pipeline with WithWait; Delete is a DEL. Each
// script touches exactly one key, so the store works unchanged on Redis
// Cluster. The store never scans or flushes: it only ever names the keys
// of the sessions it is asked about.
//
// Save is compare-and-swap. Versions are random 64-bit numbers, a new one
// for every save: a stale version can never match a record that was
// deleted and created again (no ABA), and a save that go-redis retries
// after a lost reply recognises its own write (the stored version is the
// one it wrote) instead of reporting a conflict, so the middleware never
// re-applies an update that already landed.
//
// A session is at most 1 MiB by default (WithMaxRecordSize, or the URL
// option max_record): Save refuses a larger one with ErrTooLarge. A key
// that holds no session record (a key of another type; a hash without
// data, without a valid version or with an invalid touch time; data over
// that size) is [sessions.ErrCorrupt], and the middleware starts a new
// session. Errors of the connection or the server, a reply cut off in
// transit included, are transport errors (503).
//
// Failures: every call honours the deadline of its context (the request's
// store budget, 2 s by default) when the client has ContextTimeoutEnabled,
// as Open's has; Open checks the server at start-up unless check=false;
// WithWait (the URL option wait) makes saves and touches wait for
// replicas, so that a failover does not lose what was acknowledged.
// docs/redis.md says what each does and does not guarantee, with the
// figures the tests measured.
//
// It needs Redis 4.0 or later (or a compatible server that runs Lua
// scripts, such as Valkey).
package redis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionware/sessions"
)

// Hash fields of a stored session.
const (
	fieldData    = "d"
	fieldVersion = "v"
	fieldTouched = "t"
)

// saveScript stores a record with compare-and-swap.
//
// KEYS[1]: the record's key.
// ARGV[1]: the expected version; "0" means "only if absent".
// ARGV[2]: the new version (random, never "0").
// ARGV[3]: the data.
// ARGV[4]: the time to live in milliseconds.
//
// It returns 1 when the record was stored, 0 on a conflict. When the stored
// version already is the new one, this very save ran before (a command
// retried after its reply was lost) and it reports success again, setting
// the TTL again. That write matters for WithWait: WAIT waits for the
// replication offset of its connection's last write, and Redis 7.2 and
// later (and Valkey) move it only for a command that writes, so without it
// a retry on a new connection would let WAIT answer at once for a first
// write no replica has. (Redis 7.0 moves it after every command.)
var saveScript = goredis.NewScript(`
local v = redis.call('HGET', KEYS[1], 'v')
if v == ARGV[2] then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return 1
end
if ARGV[1] == '0' then
  if v then return 0 end
elseif v ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'd', ARGV[3], 'v', ARGV[2])
redis.call('HDEL', KEYS[1], 't')
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`)

// touchScript pushes a record's expiry without rewriting it.
//
// KEYS[1]: the record's key.
// ARGV[1]: the time to live in milliseconds.
// ARGV[2]: the touch time, Unix milliseconds.
//
// It returns 1, or 0 when there is no such record (nothing is created).
var touchScript = goredis.NewScript(`
if redis.call('PEXPIRE', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 't', ARGV[2])
return 1
`)

// Store is a [sessions.Store] and [sessions.Toucher] backed by Redis. It is
// safe for concurrent use. Make one with [New] (around a client you own) or
// [Open] (from a URL).
type Store struct {
	client    goredis.UniversalClient
	prefix    string
	maxRecord int        // bytes of session data (WithMaxRecordSize)
	wait      waitPolicy // replicas each write waits for (WithWait)
	owned     bool       // Open made the client: Close closes it
}

var (
	_ sessions.Store   = (*Store)(nil)
	_ sessions.Toucher = (*Store)(nil)
)

func newStore(client goredis.UniversalClient, owned bool, opts []Option) (*Store, error) {
	o := options{prefix: DefaultPrefix}
	for _, opt := range opts {
		opt(&o)
	}
	if o.prefix == "" {
		return nil, errEmptyPrefix
	}
	if err := o.wait.check(client); err != nil {
		return nil, err
	}
	return &Store{client: client, prefix: o.prefix, maxRecord: o.maxRecordSize(), wait: o.wait, owned: owned}, nil
}

// New returns a store that keeps sessions through client, which may be a
// *goredis.Client, *goredis.ClusterClient, a failover client or any other
// UniversalClient. The caller keeps owning client: the store's Close does
// not close it. New does no I/O. The client should read from masters only:
// a replica may lag behind a save or a delete (see Open). Make it with
// ContextTimeoutEnabled: true, as Open does: otherwise go-redis ignores
// the deadline of the middleware's context (its request budget) for
// socket reads and writes, and a hung server holds a request for the
// client's own timeouts and retries. It panics if client is nil or an
// option is invalid (an empty prefix, WithWait on a client that cannot
// pin a connection, or a wait timeout not shorter than the client's read
// timeout), programming errors caught at start-up.
func New(client goredis.UniversalClient, opts ...Option) *Store {
	if client == nil {
		panic("redis: nil client")
	}
	s, err := newStore(client, false, opts)
	if err != nil {
		panic(err.Error())
	}
	return s
}

// Client returns the go-redis client the store uses, for health checks
// (Ping) or metrics.
func (s *Store) Client() goredis.UniversalClient { return s.client }

// Close closes the client if Open created it. A store made by New leaves
// its client open: whoever made the client closes it. Using the store after
// Close fails.
func (s *Store) Close() error {
	if !s.owned {
		return nil
	}
	return s.client.Close()
}

// Load returns the record under key with one HMGET, or
// [sessions.ErrNotFound]. Redis never returns a key past its TTL, so an
// expired record is never returned. A key that holds no session record (a
// key of another type; a hash without data, without a valid version or
// with an invalid touch time; data over the maximum record size) is an
// error wrapping [sessions.ErrCorrupt]. Errors of the connection or the
// server are returned as go-redis reports them.
func (s *Store) Load(ctx context.Context, key string) (sessions.Record, error) {
	if err := ctx.Err(); err != nil {
		return sessions.Record{}, err
	}
	k := s.prefix + key
	vals, err := s.client.HMGet(ctx, k, fieldData, fieldVersion, fieldTouched).Result()
	if err != nil {
		if goredis.HasErrorPrefix(err, "WRONGTYPE") {
			return sessions.Record{}, corrupt(k, "a value of another type than a hash")
		}
		return sessions.Record{}, err
	}
	if len(vals) != 3 {
		return sessions.Record{}, errors.New("redis: unexpected HMGET reply")
	}
	data, ok := vals[0].(string)
	if !ok {
		if vals[1] == nil && vals[2] == nil {
			return sessions.Record{}, sessions.ErrNotFound
		}
		return sessions.Record{}, corrupt(k, "a hash without data")
	}
	if len(data) > s.maxRecord {
		return sessions.Record{}, corrupt(k, fmt.Sprintf("%d bytes of data, over the store's maximum record size of %d (WithMaxRecordSize)", len(data), s.maxRecord))
	}
	vs, _ := vals[1].(string)
	version, err := strconv.ParseUint(vs, 10, 64)
	if err != nil || version == 0 {
		return sessions.Record{}, corrupt(k, "a hash without a valid version")
	}
	r := sessions.Record{Data: []byte(data), Version: version}
	if ts, ok := vals[2].(string); ok {
		ms, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return sessions.Record{}, corrupt(k, "a hash with an invalid touch time")
		}
		r.Touched = time.UnixMilli(ms)
	}
	return r, nil
}

// corrupt is Load's error for the key k that holds what it says, not a
// session record.
func corrupt(k, holds string) error {
	return fmt.Errorf("redis: key %q holds %s: %w", k, holds, sessions.ErrCorrupt)
}

// ErrTooLarge is returned by Save when the session is larger than the
// store's maximum record size (WithMaxRecordSize, 1 MiB by default). It
// wraps [sessions.ErrTooLarge], so the default error handler answers 500.
var ErrTooLarge = fmt.Errorf("redis: session too large: %w", sessions.ErrTooLarge)

// Save stores data under key for ttl with compare-and-swap, in one script
// call: version 0 adds only if nothing is stored, any other version
// replaces only the record with that version; otherwise it returns
// [sessions.ErrConflict] and changes nothing. The key's TTL becomes ttl,
// rounded up to whole milliseconds. It returns the new version: a fresh
// random 64-bit number, never 0 and never the version it replaces. Data
// over the maximum record size is ErrTooLarge, refused without sending it.
func (s *Store) Save(ctx context.Context, key string, data []byte, version uint64, ttl time.Duration) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(data) > s.maxRecord {
		return 0, fmt.Errorf("%w: %d bytes, over the store's maximum record size of %d (WithMaxRecordSize)", ErrTooLarge, len(data), s.maxRecord)
	}
	next := newVersion(version)
	ok, err := s.run(ctx, saveScript, s.prefix+key,
		strconv.FormatUint(version, 10), strconv.FormatUint(next, 10), data, millis(ttl))
	if err != nil {
		return 0, err
	}
	if ok != 1 {
		return 0, sessions.ErrConflict
	}
	return next, nil
}

// Touch sets the TTL of the record under key to ttl, rounded up to whole
// milliseconds, and records at (the middleware's time, to the millisecond)
// as its Touched time, without rewriting the data or changing the version,
// in one script call. It returns [sessions.ErrNotFound] when there is no
// such record and creates nothing.
func (s *Store) Touch(ctx context.Context, key string, ttl time.Duration, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ok, err := s.run(ctx, touchScript, s.prefix+key, millis(ttl), strconv.FormatInt(at.UnixMilli(), 10))
	if err != nil {
		return err
	}
	if ok != 1 {
		return sessions.ErrNotFound
	}
	return nil
}

// run runs script on key with args and returns its reply: one EVALSHA
// (go-redis sends EVAL the first time a server does not know the script),
// followed by WAIT on the same connection when the store waits for
// replicas (WithWait).
func (s *Store) run(ctx context.Context, script *goredis.Script, key string, args ...any) (int64, error) {
	if s.wait.replicas > 0 {
		return s.runWaiting(ctx, script, key, args...)
	}
	return script.Run(ctx, s.client, []string{key}, args...).Int64()
}

// Delete removes the record under key with one DEL. Deleting a missing key
// succeeds.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.client.Del(ctx, s.prefix+key).Err()
}

// newVersion returns a random version that is neither 0 nor old.
func newVersion(old uint64) uint64 {
	for {
		if v := rand.Uint64(); v != 0 && v != old {
			return v
		}
	}
}

// millis formats ttl for PEXPIRE: whole milliseconds, rounded up (a
// record never expires before its TTL), at least 1.
func millis(ttl time.Duration) string {
	ms := int64(ttl / time.Millisecond)
	if ttl%time.Millisecond > 0 {
		ms++
	}
	return strconv.FormatInt(max(ms, 1), 10)
}
