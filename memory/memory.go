package memory

import (
	"context"
	"errors"
	"hash/maphash"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionware/sessions"
)

// shardCount spreads the entries over independently locked maps.
const shardCount = 64

// ErrFull is returned by Save of a new session when its shard of the store
// is full and every session in it is in use (loaded within the in-use
// window, see [WithInUse]). The middleware answers 503.
var ErrFull = errors.New("memory: store full of sessions in use")

// Store is an in-memory [sessions.Store] and [sessions.Toucher]. It is safe
// for concurrent use. Versions come from one counter for the whole store,
// starting at 1, so a version is never 0 and never given twice; Touch
// keeps the version. Call Close when done with it, to stop its cleanup
// goroutine.
type Store struct {
	shards     [shardCount]shard
	seed       maphash.Seed
	version    atomic.Uint64
	now        func() time.Time
	epoch      time.Time // the in-use window counts from here (see instant)
	maxEntries int       // as configured; 0: no bound

	evictions, refused atomic.Uint64
	logger             *slog.Logger
	loggerSet          bool
	reporter           reporter

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// shard holds a share of the entries. Each entry is in one of its two
// lists: probation (saved and not loaded since, in the order they came
// there) or protected (loaded since saved, least recently loaded first).
type shard struct {
	mu           sync.Mutex
	entries      map[string]*entry
	probation    list
	protected    list
	bound        int // the most entries; 0: no bound
	protectedMax int // the most protected entries before rebalance sends one back
	inUse        time.Duration
}

// entry is one stored session. Its data is never changed once stored: a
// Save stores a new copy.
type entry struct {
	key        string
	data       []byte
	version    uint64
	expires    int64         // Unix nanoseconds
	touched    int64         // Unix nanoseconds; 0: never touched
	loaded     time.Duration // the last Load, on the in-use clock (instant.mono)
	list       *list         // the list that holds it
	prev, next *entry
}

var (
	_ sessions.Store   = (*Store)(nil)
	_ sessions.Toucher = (*Store)(nil)
)

// New returns an empty store. With no options it holds at most
// [DefaultMaxEntries] sessions and reclaims expired ones every minute.
func New(opts ...Option) *Store {
	o := options{maxEntries: DefaultMaxEntries, inUse: DefaultInUse, cleanupInterval: time.Minute, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Store{seed: maphash.MakeSeed(), now: o.now, maxEntries: o.maxEntries, logger: o.logger, loggerSet: o.loggerSet}
	s.epoch = s.now()
	s.setBounds(o.maxEntries, o.inUse)
	for i := range s.shards {
		s.shards[i].entries = make(map[string]*entry)
	}
	if o.cleanupInterval > 0 {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.janitor(o.cleanupInterval)
	}
	return s
}

func (s *Store) shard(key string) *shard {
	return &s.shards[maphash.String(s.seed, key)%shardCount]
}

// clock reads the store's clock.
func (s *Store) clock() instant {
	t := s.now()
	return instant{wall: t.UnixNano(), mono: t.Sub(s.epoch)}
}

// Load returns the session stored under key, or [sessions.ErrNotFound].
// The session becomes the most recently used one, and in use for the
// in-use window.
func (s *Store) Load(ctx context.Context, key string) (sessions.Record, error) {
	if err := ctx.Err(); err != nil {
		return sessions.Record{}, err
	}
	sh := s.shard(key)
	sh.mu.Lock()
	now := s.clock() // under the lock, so that the protected list stays in order
	e, ok := sh.entries[key]
	if ok && e.expires <= now.wall {
		sh.remove(e)
		ok = false
	}
	if !ok {
		sh.mu.Unlock()
		return sessions.Record{}, sessions.ErrNotFound
	}
	sh.used(e, now)
	r := sessions.Record{Data: e.data, Version: e.version}
	touched := e.touched
	sh.mu.Unlock()
	if touched != 0 {
		r.Touched = time.Unix(0, touched)
	}
	return r, nil
}

// Save stores a copy of data under key, compare-and-swap style (see
// [sessions.Store]), and returns its new version. Saving a new key into a
// full shard evicts a session first, or fails with [ErrFull] (see the
// package documentation).
func (s *Store) Save(ctx context.Context, key string, data []byte, version uint64, ttl time.Duration) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	data = append([]byte(nil), data...)
	v := s.version.Add(1)
	now, evicted, err := s.save(key, data, v, version, ttl)
	if evicted {
		s.evictions.Add(1)
	}
	if errors.Is(err, ErrFull) {
		s.refused.Add(1)
	}
	if evicted || errors.Is(err, ErrFull) {
		s.report(now)
	}
	if err != nil {
		return 0, err
	}
	return v, nil
}

// save is Save under the shard's lock: it stores data with version v, and
// reports whether it evicted a live session to make room.
func (s *Store) save(key string, data []byte, v, version uint64, ttl time.Duration) (now instant, evicted bool, err error) {
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now = s.clock()
	e, exists := sh.entries[key]
	if exists && e.expires <= now.wall {
		sh.remove(e)
		exists = false
	}
	switch {
	case version == 0 && exists:
		return now, false, sessions.ErrConflict
	case version != 0 && (!exists || e.version != version):
		return now, false, sessions.ErrConflict
	}
	expires := deadline(now.wall, ttl)
	if exists { // in place: the entry keeps its list and its place there
		e.data, e.version, e.expires, e.touched = data, v, expires, 0
		return now, false, nil
	}
	if sh.bound > 0 && len(sh.entries) >= sh.bound {
		var ok bool
		if evicted, ok = sh.makeRoom(now); !ok {
			return now, false, ErrFull
		}
	}
	e = &entry{key: key, data: data, version: v, expires: expires}
	sh.entries[key] = e
	sh.probation.pushBack(e)
	return now, evicted, nil
}

// deadline is now+ttl in Unix nanoseconds, saturating instead of wrapping
// for a ttl of centuries.
func deadline(now int64, ttl time.Duration) int64 {
	if int64(ttl) > math.MaxInt64-now {
		return math.MaxInt64
	}
	return now + int64(ttl)
}

// Touch sets the time to live of the session under key to ttl, from the
// store's clock, and records at as its Touched time. It does not count as
// a use: the Load before it did.
func (s *Store) Touch(ctx context.Context, key string, ttl time.Duration, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	now := s.clock().wall
	e, ok := sh.entries[key]
	if !ok || e.expires <= now {
		return sessions.ErrNotFound
	}
	e.expires, e.touched = deadline(now, ttl), at.UnixNano()
	return nil
}

// Delete removes the session under key. A missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := s.shard(key)
	sh.mu.Lock()
	if e, ok := sh.entries[key]; ok {
		sh.remove(e)
	}
	sh.mu.Unlock()
	return nil
}

// Len returns the number of stored sessions, expired ones not yet
// reclaimed included.
func (s *Store) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += len(sh.entries)
		sh.mu.Unlock()
	}
	return n
}

// Evictions returns how many live sessions the store has evicted to make
// room for new ones since New. Expired sessions removed to make room do
// not count.
func (s *Store) Evictions() uint64 { return s.evictions.Load() }

// Refused returns how many new sessions Save has refused with [ErrFull]
// since New.
func (s *Store) Refused() uint64 { return s.refused.Load() }

// Close stops the cleanup goroutine and waits for it to end. The store
// still works afterwards, without cleanup. Close may be called more than
// once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.stop != nil {
			close(s.stop)
			<-s.done
		}
	})
	return nil
}

func (s *Store) janitor(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.reclaim()
		}
	}
}

// reclaim deletes expired entries, one shard at a time.
func (s *Store) reclaim() {
	now := s.clock().wall
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for _, e := range sh.entries {
			if e.expires <= now {
				sh.remove(e)
			}
		}
		sh.mu.Unlock()
	}
}
