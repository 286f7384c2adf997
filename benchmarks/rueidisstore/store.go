// Package rueidisstore is a prototype: a [sessions.Store] on Redis through
// github.com/redis/rueidis instead of go-redis, measured beside the
// library's redis store (package redis) by the benchmarks. It is not part
// of the library.
//
// It keeps the records exactly as package redis does (one hash under
// prefix+key: "d" the data, "v" the version, "t" the last Touch in Unix
// milliseconds; PEXPIRE in milliseconds, rounded up) and runs the same Lua
// scripts, so the two read and write each other's records. What differs is
// the client: rueidis pipelines the commands of concurrent goroutines over
// a few shared connections (one write and one read system call for many
// commands), where go-redis takes a pooled connection per command.
//
// With [WithClientCache], Load reads through rueidis's server-assisted
// client-side cache (RESP3 CLIENT TRACKING): a session read again is served
// from this process's memory until Redis tells the client that the key
// changed. Save is still a compare-and-swap on the server, so a stale read
// can never make a write lose an update: it makes the save conflict, and
// the next Load of that key, the middleware's reload, goes to the server.
// The same holds after this process's own save: the next Load of the key
// goes to the server, so a request that follows a write in this process
// reads the write even before the invalidation arrives. What the cache
// cannot give is a read of another process's write before Redis's
// invalidation reaches this client (a fraction of a millisecond on one
// host; a read-only request in that window sees the session as it was).
package rueidisstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/sessionware/sessions"
)

// Hash fields of a stored session, as package redis writes them.
const (
	fieldData    = "d"
	fieldVersion = "v"
	fieldTouched = "t"
)

// saveScript is package redis's compare-and-swap save, verbatim.
//
// KEYS[1]: the record's key. ARGV[1]: the expected version ("0": only if
// absent). ARGV[2]: the new version. ARGV[3]: the data. ARGV[4]: the time
// to live in milliseconds. It returns 1 when stored (or when this very
// save already ran: the stored version is the new one), 0 on a conflict.
var saveScript = rueidis.NewLuaScript(`
local v = redis.call('HGET', KEYS[1], 'v')
if v == ARGV[2] then
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

// touchScript is package redis's Touch, verbatim: 1, or 0 when there is no
// such record.
var touchScript = rueidis.NewLuaScript(`
if redis.call('PEXPIRE', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 't', ARGV[2])
return 1
`)

// DefaultPrefix is package redis's default key prefix.
const DefaultPrefix = "session:"

// maxRecord is package redis's default maximum record size.
const maxRecord = 1 << 20

// DefaultCacheTTL is how long a record read through the client-side cache
// is kept at most (rueidis also keeps it no longer than the key's TTL on
// the server, and drops it when Redis invalidates the key).
const DefaultCacheTTL = time.Minute

// Store is a [sessions.Store] and [sessions.Toucher] on a rueidis client.
type Store struct {
	client   rueidis.Client
	prefix   string
	cacheTTL time.Duration // 0: no client-side cache

	// uncached holds the keys whose next Load must go to the server: a
	// save of them lost (the cached version was stale) or won (the cache
	// may hold the old record until the invalidation arrives).
	uncached recent

	cacheHits, conflicts atomic.Int64
}

// CacheHits is how many Loads the client-side cache answered.
func (s *Store) CacheHits() int64 { return s.cacheHits.Load() }

// Conflicts is how many Saves lost their compare-and-swap.
func (s *Store) Conflicts() int64 { return s.conflicts.Load() }

var (
	_ sessions.Store   = (*Store)(nil)
	_ sessions.Toucher = (*Store)(nil)
)

// Option configures New.
type Option func(*Store)

// WithPrefix sets the key prefix. Default DefaultPrefix.
func WithPrefix(p string) Option { return func(s *Store) { s.prefix = p } }

// WithClientCache makes Load read through rueidis's client-side cache,
// keeping a record at most ttl (DefaultCacheTTL when ttl <= 0). The
// client must have been made without DisableCache, on a server that
// speaks RESP3 (Redis 6 or later).
func WithClientCache(ttl time.Duration) Option {
	return func(s *Store) {
		if ttl <= 0 {
			ttl = DefaultCacheTTL
		}
		s.cacheTTL = ttl
	}
}

// New returns a store on client, which the caller keeps owning. It panics
// on a nil client or an empty prefix.
func New(client rueidis.Client, opts ...Option) *Store {
	if client == nil {
		panic("rueidisstore: nil client")
	}
	s := &Store{client: client, prefix: DefaultPrefix}
	for _, o := range opts {
		o(s)
	}
	if s.prefix == "" {
		panic("rueidisstore: the key prefix must not be empty")
	}
	return s
}

// Load returns the record under key with one HMGET (from the client-side
// cache when WithClientCache is on and the key is cached and not marked
// for a server read), or [sessions.ErrNotFound].
func (s *Store) Load(ctx context.Context, key string) (sessions.Record, error) {
	if err := ctx.Err(); err != nil {
		return sessions.Record{}, err
	}
	k := s.prefix + key
	var res rueidis.RedisResult
	if s.cacheTTL > 0 && !s.mustReadServer(key) {
		res = s.client.DoCache(ctx, s.client.B().Hmget().Key(k).Field(fieldData, fieldVersion, fieldTouched).Cache(), s.cacheTTL)
	} else {
		res = s.client.Do(ctx, s.client.B().Hmget().Key(k).Field(fieldData, fieldVersion, fieldTouched).Build())
	}
	if res.IsCacheHit() {
		s.cacheHits.Add(1)
	}
	vals, err := res.ToArray()
	if err != nil {
		if re, ok := rueidis.IsRedisErr(err); ok && strings.HasPrefix(re.Error(), "WRONGTYPE") {
			return sessions.Record{}, corrupt(k, "a value of another type than a hash")
		}
		return sessions.Record{}, err
	}
	if len(vals) != 3 {
		return sessions.Record{}, errors.New("rueidisstore: unexpected HMGET reply")
	}
	if vals[0].IsNil() {
		if vals[1].IsNil() && vals[2].IsNil() {
			return sessions.Record{}, sessions.ErrNotFound
		}
		return sessions.Record{}, corrupt(k, "a hash without data")
	}
	data, err := vals[0].ToString()
	if err != nil {
		return sessions.Record{}, corrupt(k, "a hash without data")
	}
	if len(data) > maxRecord {
		return sessions.Record{}, corrupt(k, fmt.Sprintf("%d bytes of data, over the maximum record size of %d", len(data), maxRecord))
	}
	vs, _ := vals[1].ToString()
	version, err := strconv.ParseUint(vs, 10, 64)
	if err != nil || version == 0 {
		return sessions.Record{}, corrupt(k, "a hash without a valid version")
	}
	r := sessions.Record{Data: []byte(data), Version: version}
	if !vals[2].IsNil() {
		ts, _ := vals[2].ToString()
		ms, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return sessions.Record{}, corrupt(k, "a hash with an invalid touch time")
		}
		r.Touched = time.UnixMilli(ms)
	}
	return r, nil
}

// mustReadServer reports, once, that key's next Load must skip the cache.
func (s *Store) mustReadServer(key string) bool { return s.uncached.take(key) }

// readServerNext makes key's next Load go to the server.
func (s *Store) readServerNext(key string) {
	if s.cacheTTL > 0 {
		s.uncached.add(key)
	}
}

// recentWindow is how long a key stays marked for a server read at least
// (and at most twice that): far longer than Redis takes to deliver the
// invalidation of a key this process wrote, and short enough that keys
// written and never read again (new sessions) do not pile up.
const recentWindow = time.Second

// recent is a set of keys that forgets a key recentWindow to
// 2*recentWindow after it was added: two generations, the older dropped
// when the newer is recentWindow old.
type recent struct {
	mu        sync.Mutex
	cur, prev map[string]struct{}
	since     time.Time // when cur started
}

func (r *recent) rotate(now time.Time) {
	switch age := now.Sub(r.since); {
	case r.cur == nil || age >= 2*recentWindow:
		r.prev, r.cur, r.since = nil, make(map[string]struct{}), now
	case age >= recentWindow:
		r.prev, r.cur, r.since = r.cur, make(map[string]struct{}), now
	}
}

func (r *recent) add(key string) {
	r.mu.Lock()
	r.rotate(time.Now())
	r.cur[key] = struct{}{}
	r.mu.Unlock()
}

// take reports whether key is in the set, and removes it.
func (r *recent) take(key string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rotate(time.Now())
	if _, ok := r.cur[key]; ok {
		delete(r.cur, key)
		return true
	}
	if _, ok := r.prev[key]; ok {
		delete(r.prev, key)
		return true
	}
	return false
}

func corrupt(k, holds string) error {
	return fmt.Errorf("rueidisstore: key %q holds %s: %w", k, holds, sessions.ErrCorrupt)
}

// ErrTooLarge is returned by Save for data over the maximum record size.
var ErrTooLarge = fmt.Errorf("rueidisstore: session too large: %w", sessions.ErrTooLarge)

// Save stores data under key with compare-and-swap (package redis's
// script): version 0 adds only if nothing is stored, any other version
// replaces only the record with that version; otherwise
// [sessions.ErrConflict]. It returns the new, random version.
func (s *Store) Save(ctx context.Context, key string, data []byte, version uint64, ttl time.Duration) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(data) > maxRecord {
		return 0, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(data))
	}
	next := newVersion(version)
	ok, err := saveScript.Exec(ctx, s.client, []string{s.prefix + key},
		[]string{strconv.FormatUint(version, 10), strconv.FormatUint(next, 10), string(data), millis(ttl)}).AsInt64()
	// Whatever the outcome, the cached record (if any) is not the stored
	// one any more, or was not: read the server next time.
	s.readServerNext(key)
	if err != nil {
		return 0, err
	}
	if ok != 1 {
		s.conflicts.Add(1)
		return 0, sessions.ErrConflict
	}
	return next, nil
}

// Touch sets the record's TTL and Touched time (package redis's script),
// or returns [sessions.ErrNotFound].
func (s *Store) Touch(ctx context.Context, key string, ttl time.Duration, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ok, err := touchScript.Exec(ctx, s.client, []string{s.prefix + key},
		[]string{millis(ttl), strconv.FormatInt(at.UnixMilli(), 10)}).AsInt64()
	s.readServerNext(key)
	if err != nil {
		return err
	}
	if ok != 1 {
		return sessions.ErrNotFound
	}
	return nil
}

// Delete removes the record under key with one DEL.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.client.Do(ctx, s.client.B().Del().Key(s.prefix+key).Build()).Error()
	s.readServerNext(key)
	return err
}

func newVersion(old uint64) uint64 {
	for {
		if v := rand.Uint64(); v != 0 && v != old {
			return v
		}
	}
}

func millis(ttl time.Duration) string {
	ms := int64(ttl / time.Millisecond)
	if ttl%time.Millisecond > 0 {
		ms++
	}
	return strconv.FormatInt(max(ms, 1), 10)
}
