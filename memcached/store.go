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

// Store is a sessions.Store and sessions.Toucher on memcached. It is safe
// for concurrent use. See the package documentation for how records are
// stored.
type Store struct {
	client *memcache.Client
	prefix string
	now    func() time.Time
}

var (
	_ sessions.Store   = (*Store)(nil)
	_ sessions.Toucher = (*Store)(nil)
)

// stampLen is the size of one touch stamp appended after the session data.
const stampLen = 8

// New returns a store that keeps sessions through client, every key
// prefixed (WithPrefix; default "session:"). The client's own settings
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
	return &Store{client: client, prefix: o.prefix, now: o.now}
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

// Close closes the client's idle connections. The store stays usable: a
// later command dials again.
func (s *Store) Close() error { return s.client.Close() }

// Load returns the record under key with one "gets": the session data, its
// CAS unique as the version, and the time of the last Touch.
func (s *Store) Load(ctx context.Context, key string) (sessions.Record, error) {
	if err := ctx.Err(); err != nil {
		return sessions.Record{}, err
	}
	k := s.prefix + key
	it, err := s.client.Get(k)
	if err != nil && s.retryable(err) {
		if err = ctx.Err(); err == nil {
			it, err = s.client.Get(k)
		}
	}
	if err != nil {
		if errors.Is(err, memcache.ErrCacheMiss) {
			return sessions.Record{}, sessions.ErrNotFound
		}
		return sessions.Record{}, err
	}
	return decode(it)
}

// maxStamps bounds the touch stamps a read-only session gathers (512
// bytes): past it the middleware refreshes with one save, which drops them.
const maxStamps = 64

// decode splits a stored value into the session data and its touch stamps.
func decode(it *memcache.Item) (sessions.Record, error) {
	n := uint64(it.Flags)
	v := it.Value
	if n > uint64(len(v)) || (uint64(len(v))-n)%stampLen != 0 {
		return sessions.Record{}, fmt.Errorf("memcached: item %q is not a session record (flags %d, %d bytes)", it.Key, it.Flags, len(v))
	}
	if it.CasID == 0 {
		return sessions.Record{}, ErrNoCAS
	}
	r := sessions.Record{Data: v[:n:n], Version: it.CasID}
	// Past maxStamps touch stamps, ask for a rewrite at the next refresh.
	r.Compact = (uint64(len(v))-n)/stampLen >= maxStamps
	if len(v) > int(n) {
		ms := binary.BigEndian.Uint64(v[len(v)-stampLen:])
		r.Touched = time.UnixMilli(int64(ms))
	}
	return r, nil
}

// Save stores data under key for ttl: "add" when version is 0, "cas" with
// version as the CAS unique otherwise. A lost race is sessions.ErrConflict;
// data over the server's item size limit is ErrTooLarge. It returns 0: the
// text protocol does not tell the new CAS unique.
func (s *Store) Save(ctx context.Context, key string, data []byte, version uint64, ttl time.Duration) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if uint64(len(data)) > math.MaxUint32 {
		return 0, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(data))
	}
	it := &memcache.Item{
		Key:        s.prefix + key,
		Value:      data,
		Flags:      uint32(len(data)),
		Expiration: expiration(ttl, time.Now()),
		CasID:      version,
	}
	var err error
	if version == 0 {
		err = s.client.Add(it)
		// Retrying an add is safe: if the first one was stored after
		// all, the retry reports a conflict, never a double update.
		if err != nil && s.retryable(err) {
			if err = ctx.Err(); err == nil {
				err = s.client.Add(it)
			}
		}
	} else {
		err = s.client.CompareAndSwap(it)
		s.retryable(err) // never retried: see the package documentation
	}
	switch {
	case err == nil:
		return 0, nil
	case errors.Is(err, memcache.ErrNotStored), errors.Is(err, memcache.ErrCASConflict), errors.Is(err, memcache.ErrCacheMiss):
		return 0, sessions.ErrConflict
	case tooLarge(err):
		return 0, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(data))
	}
	return 0, err
}

// Touch sets the expiry of the record under key to ttl with "touch", then
// appends a stamp of the current time for Load to report as Touched. It
// never resends the session data. A missing record is sessions.ErrNotFound.
func (s *Store) Touch(ctx context.Context, key string, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := s.prefix + key
	exp := expiration(ttl, time.Now())
	err := s.client.Touch(k, exp)
	if err != nil && s.retryable(err) {
		if err = ctx.Err(); err == nil {
			err = s.client.Touch(k, exp)
		}
	}
	if err != nil {
		if errors.Is(err, memcache.ErrCacheMiss) {
			return sessions.ErrNotFound
		}
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var stamp [stampLen]byte
	binary.BigEndian.PutUint64(stamp[:], uint64(s.now().UnixMilli()))
	it := &memcache.Item{Key: k, Value: stamp[:]}
	// A repeated stamp is harmless, so a failed append may be retried.
	err = s.client.Append(it)
	if err != nil && s.retryable(err) {
		if err = ctx.Err(); err == nil {
			err = s.client.Append(it)
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, memcache.ErrNotStored), tooLarge(err), strings.Contains(err.Error(), "SERVER_ERROR out of memory"):
		// memcached refuses an append that would pass its item size
		// limit with NOT_STORED (or deleted the record since the touch,
		// which is just as harmless): the expiry moved, and Touched
		// stays at the last stamp that fitted.
		return nil
	}
	return err
}

// Delete removes the record under key. A missing record is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := s.prefix + key
	err := s.client.Delete(k)
	if err != nil && s.retryable(err) {
		if err = ctx.Err(); err == nil {
			err = s.client.Delete(k)
		}
	}
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
	if err == nil {
		return false
	}
	return strings.Contains(err.Error(), "SERVER_ERROR object too large")
}
