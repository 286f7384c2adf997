package memcached

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/sessionware/sessions"
)

// Store is a [sessions.Store] and [sessions.Toucher] on memcached. It is
// safe for concurrent use. A record's version is memcached's CAS unique,
// which the server changes on every write (a Touch included) and never
// sets to 0. The design note docs/memcached.md says how records are
// stored.
//
// Every method honours its context: one that has ended sends nothing, and
// a deadline ends the call with an error wrapping
// context.DeadlineExceeded even when it comes before the client's
// timeout (the command then finishes on a goroutine of its own).
// Cancellation without a deadline is seen between commands.
type Store struct {
	client    *memcache.Client
	pool      *pool // Open's selector, which ejects failing servers; nil with New
	prefix    string
	maxRecord int // bytes of session data (WithMaxRecordSize)
}

var (
	_ sessions.Store   = (*Store)(nil)
	_ sessions.Toucher = (*Store)(nil)
)

// stampLen is the size of one touch stamp appended after the session data.
const stampLen = 8

// New returns a store that keeps sessions through client, every key
// prefixed (WithPrefix; default "session:"), each session at most
// WithMaxRecordSize bytes (default 1 MiB). The client's own settings
// (servers, Timeout, MaxIdleConns) are used as they are: Open builds a
// client with better defaults for session traffic than memcache.New. It
// panics if the prefix cannot be part of a memcached key, or client is nil.
func New(client *memcache.Client, opts ...Option) *Store {
	if client == nil {
		panic("memcached: nil client")
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := checkPrefix(o.prefix); err != nil {
		panic(err.Error())
	}
	return &Store{client: client, prefix: o.prefix, maxRecord: o.maxRecordSize()}
}

// maxPrefixLen leaves room for the middleware's 43-character keys within
// memcached's 250-byte key limit.
const maxPrefixLen = 250 - 64

func checkPrefix(p string) error {
	if p == "" {
		return errors.New("memcached: empty prefix: every key needs one, so that sessions never mix with other data (default \"session:\")")
	}
	if len(p) > maxPrefixLen {
		return fmt.Errorf("memcached: prefix of %d bytes is too long (at most %d)", len(p), maxPrefixLen)
	}
	for i := 0; i < len(p); i++ {
		if p[i] <= ' ' || p[i] == 0x7f {
			return fmt.Errorf("memcached: prefix %q contains a space or control character", p)
		}
	}
	return nil
}

// Client returns the memcached client the store uses.
func (s *Store) Client() *memcache.Client { return s.client }

// Close stops the probes of ejected servers and closes the client's idle
// connections. The store stays usable (a later command dials again), but
// no longer ejects a server, and one ejected before stays ejected.
func (s *Store) Close() error {
	if s.pool != nil {
		s.pool.close()
	}
	return s.client.Close()
}

// Check asks every server for its version, at once, each within the
// client's timeout, and returns an error naming each server with its
// cause if none answers (or ctx ends first). With several servers, one
// that does not answer while another does is ejected at once, with a
// warning naming it (or only the warning, with ejection off): it is
// probed, and its sessions go to the other servers until it answers.
// backends.Open calls it unless the URL says check=false. A store made
// with New asks the client's Ping, which fails when any server does not
// answer.
func (s *Store) Check(ctx context.Context) error {
	if s.pool == nil {
		if err := s.client.Ping(); err != nil {
			return fmt.Errorf("%w (the client's ping): %w", ErrUnreachable, err)
		}
		return nil
	}
	return s.pool.check(ctx)
}

// Ejected returns the servers of Open's store that are out of rotation
// now (ejected, or answering again while the sessions that moved off them
// are deleted from them), for a health check or a metric. It is empty for
// a store made with New.
func (s *Store) Ejected() []string {
	if s.pool == nil {
		return nil
	}
	return s.pool.ejected()
}

// Load returns the record under key with one "gets": the session data, its
// CAS unique as the version, and the time of the last Touch. An item that
// is not a session record (its flags do not frame the value, or its data
// is over the maximum record size) is an error wrapping
// [sessions.ErrCorrupt]. A reply cut off in transit, or one for another
// key, is a transport error (retried once on a fresh connection), never
// ErrCorrupt.
func (s *Store) Load(ctx context.Context, key string) (sessions.Record, error) {
	c := command{verb: verbGets, key: s.prefix + key}
	err := s.exec(ctx, &c)
	it := c.item
	if err == nil && c.fallback {
		s.renew(ctx, c.key)
	}
	if err != nil {
		if errors.Is(err, memcache.ErrCacheMiss) {
			return sessions.Record{}, sessions.ErrNotFound
		}
		return sessions.Record{}, err
	}
	return decode(it, s.maxRecord)
}

// renew gives a record read from a fallback server the fallback TTL again
// ("touch", which keeps its CAS unique and its data), so that a session
// that is only read while its server is out lives on; the middleware
// still enforces its lifetime and idle timeout itself. A failure is no
// failure of the load.
func (s *Store) renew(ctx context.Context, k string) {
	c := command{verb: verbTouch, key: k, ttl: s.pool.fallbackTTL}
	_ = s.exec(ctx, &c)
}

// errOtherKey is what sameKey wraps.
var errOtherKey = errors.New("memcached: the server answered for another key")

// sameKey returns an error unless it is the item asked for under key k.
//
// A reply for another key is a transport error, not [sessions.ErrCorrupt]:
// it tells nothing about the record under k, which may well be intact, but
// that a server, a proxy or the connection is confused (or rogue). Using
// its data would hand this session another's; calling it corrupt would
// throw an intact session away (a new session under a new ID, the user
// logged out), and on every request while the fault lasts, silently. So
// the data is never used: the client's idle connections are dropped, as
// the stream may be out of step, the command is retried once on a fresh
// connection (see retryable), and then the request fails (503).
func sameKey(it *memcache.Item, k string) error {
	if it.Key != k {
		return fmt.Errorf("%w: asked for %q, got %q", errOtherKey, k, it.Key)
	}
	return nil
}

// maxStamps bounds the touch stamps a read-only session gathers (512
// bytes): a Touch that finds this many rewrites the item with one stamp.
const maxStamps = 64

// dataLen returns the length of the session data in a stored value (the
// item's flags), and checks that the rest is whole stamps. An item that
// does not frame that way wraps [sessions.ErrCorrupt].
func dataLen(it *memcache.Item) (int, error) {
	n := uint64(it.Flags)
	if n > uint64(len(it.Value)) || (uint64(len(it.Value))-n)%stampLen != 0 {
		return 0, fmt.Errorf("memcached: item %q is not a session record (flags %d, %d bytes): %w", it.Key, it.Flags, len(it.Value), sessions.ErrCorrupt)
	}
	return int(n), nil
}

// decode splits a stored value into the session data, at most maxRecord
// bytes, and its touch stamps.
func decode(it *memcache.Item, maxRecord int) (sessions.Record, error) {
	n, err := dataLen(it)
	if err != nil {
		return sessions.Record{}, err
	}
	if n > maxRecord {
		return sessions.Record{}, fmt.Errorf("memcached: item %q holds %d bytes of session data, over the store's maximum record size of %d (WithMaxRecordSize): %w", it.Key, n, maxRecord, sessions.ErrCorrupt)
	}
	if it.CasID == 0 {
		return sessions.Record{}, ErrNoCAS
	}
	v := it.Value
	r := sessions.Record{Data: v[:n:n], Version: it.CasID}
	if len(v) > n {
		ms := binary.BigEndian.Uint64(v[len(v)-stampLen:])
		r.Touched = time.UnixMilli(int64(ms))
	}
	return r, nil
}

// Save stores data under key for ttl: "add" when version is 0, "cas" with
// version as the CAS unique otherwise. A lost race is [sessions.ErrConflict];
// data over the store's maximum record size (refused without sending it) or
// the server's item size limit is ErrTooLarge. It returns 0: the text
// protocol does not tell the new CAS unique.
func (s *Store) Save(ctx context.Context, key string, data []byte, version uint64, ttl time.Duration) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(data) > s.maxRecord {
		return 0, fmt.Errorf("%w: %d bytes, over the store's maximum record size of %d (WithMaxRecordSize)", ErrTooLarge, len(data), s.maxRecord)
	}
	if uint64(len(data)) > math.MaxUint32 {
		return 0, fmt.Errorf("%w: %d bytes, more than the item's flags can frame", ErrTooLarge, len(data))
	}
	it := &memcache.Item{Key: s.prefix + key, Value: data, Flags: uint32(len(data)), CasID: version}
	c := command{verb: verbCAS, key: it.Key, item: it, ttl: ttl}
	if version == 0 {
		// Retrying an add is safe: if the first one was stored after
		// all, the retry reports a conflict, never a double update.
		c.verb = verbAdd
	}
	err := s.exec(ctx, &c)
	switch {
	case err == nil:
		return 0, nil
	case errors.Is(err, memcache.ErrNotStored), errors.Is(err, memcache.ErrCASConflict), errors.Is(err, memcache.ErrCacheMiss):
		return 0, sessions.ErrConflict
	case tooLarge(err):
		return 0, fmt.Errorf("%w: %d bytes, over the server's item size limit (memcached -I)", ErrTooLarge, len(data))
	}
	return 0, err
}

// Touch sets the expiry of the record under key to ttl and records at as
// its Touched time, in two commands: "gat" (get and touch) moves the expiry
// and tells how many stamps the item holds, then "append" adds an 8-byte
// stamp of at. It never sends the session data, except to compact: when the
// item already holds maxStamps (64) stamps, or memcached refuses the append
// for the item's size, Touch rewrites the item with the data and one stamp
// ("gets" and "cas"). A missing record is [sessions.ErrNotFound].
func (s *Store) Touch(ctx context.Context, key string, ttl time.Duration, at time.Time) error {
	k := s.prefix + key
	c := command{verb: verbGAT, key: k, ttl: ttl}
	err := s.exec(ctx, &c)
	if err != nil {
		if errors.Is(err, memcache.ErrCacheMiss) {
			return sessions.ErrNotFound
		}
		return err
	}
	n, err := dataLen(c.item)
	if err != nil {
		return err
	}
	stamps := (len(c.item.Value) - n) / stampLen
	var stamp [stampLen]byte
	binary.BigEndian.PutUint64(stamp[:], uint64(at.UnixMilli()))
	if stamps >= maxStamps {
		return s.compact(ctx, k, ttl, stamp)
	}
	// A repeated stamp is harmless, so a failed append may be retried.
	app := command{verb: verbAppend, key: k, item: &memcache.Item{Key: k, Value: stamp[:]}}
	err = s.exec(ctx, &app)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, memcache.ErrNotStored), tooLarge(err), outOfMemory(err):
		// memcached refuses an append that would pass its item size limit
		// with NOT_STORED (or the record was deleted since the gat, which
		// is just as harmless): the expiry moved. If the item holds stamps,
		// dropping them makes room for this one.
		if stamps == 0 {
			return nil
		}
		return s.compact(ctx, k, ttl, stamp)
	}
	return err
}

// compact rewrites the item under k as its session data and stamp alone,
// with "gets" and "cas". A conflict means that the record was saved or
// deleted since (which dropped the stamps) or touched by another request:
// either way there is nothing left to do.
func (s *Store) compact(ctx context.Context, k string, ttl time.Duration, stamp [stampLen]byte) error {
	c := command{verb: verbGets, key: k}
	err := s.exec(ctx, &c)
	if err != nil {
		if errors.Is(err, memcache.ErrCacheMiss) {
			return nil // deleted since the gat
		}
		return err
	}
	it := c.item
	n, err := dataLen(it)
	if err != nil {
		return err
	}
	it.Value = append(it.Value[:n], stamp[:]...)
	// Not retried: a lost reply is harmless, the next Touch compacts.
	c = command{verb: verbCAS, key: k, item: it, ttl: ttl}
	err = s.exec(ctx, &c)
	switch {
	case err == nil, errors.Is(err, memcache.ErrCASConflict), errors.Is(err, memcache.ErrNotStored), errors.Is(err, memcache.ErrCacheMiss):
		return nil
	case tooLarge(err), outOfMemory(err):
		return nil // the data alone fills the item: the expiry moved
	}
	return err
}

// Delete removes the record under key. A missing record is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	c := command{verb: verbDelete, key: s.prefix + key}
	err := s.exec(ctx, &c)
	if err == nil || errors.Is(err, memcache.ErrCacheMiss) {
		return nil
	}
	return err
}

// maxRelative is the largest expiration memcached reads as seconds from
// now; anything larger is an absolute Unix time.
const maxRelative = 30 * 24 * 60 * 60

// expiration converts a TTL into memcached's expiration field: whole
// seconds rounded up, plus one for memcached's one-second clock, relative
// up to 30 days and absolute beyond. It is never 0 (which means "never
// expires").
func expiration(ttl time.Duration, now time.Time) int32 {
	ttl = max(ttl, 0)
	secs := int64(ttl / time.Second) // rounded up below, without overflowing
	if ttl%time.Second != 0 {
		secs++
	}
	secs++
	if secs <= maxRelative {
		return int32(secs)
	}
	abs := now.Unix() + secs
	if abs > math.MaxInt32 {
		abs = math.MaxInt32
	}
	return int32(abs)
}

// tooLarge reports whether memcached refused a value for its size.
func tooLarge(err error) bool {
	return err != nil && strings.Contains(err.Error(), "SERVER_ERROR object too large")
}

// outOfMemory reports whether memcached found no memory for a value, as it
// answers an append past its item size limit.
func outOfMemory(err error) bool {
	return err != nil && strings.Contains(err.Error(), "SERVER_ERROR out of memory")
}
