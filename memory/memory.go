// Package memory keeps sessions in the process's memory: for development,
// tests and single-instance servers. Sessions do not survive a restart and
// are not shared between processes.
package memory

import (
	"context"
	"hash/maphash"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessionware/sessions"
)

// shardCount spreads the entries over independently locked maps.
const shardCount = 64

// Store is an in-memory [sessions.Store] and [sessions.Toucher]. It is safe
// for concurrent use. Versions come from one counter for the whole store,
// starting at 1, so a version is never 0 and never given twice; Touch
// keeps the version. Call Close when done with it, to stop its cleanup
// goroutine.
type Store struct {
	shards     [shardCount]shard
	seed       maphash.Seed
	version    atomic.Uint64
	maxEntries int // per shard; 0: unbounded
	now        func() time.Time

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

type shard struct {
	mu      sync.RWMutex
	entries map[string]entry
}

// entry is one stored session. Its data is never changed once stored: a
// Save stores a new copy.
type entry struct {
	data    []byte
	version uint64
	expires int64 // Unix nanoseconds
	touched int64 // Unix nanoseconds; 0: never touched
}

var (
	_ sessions.Store   = (*Store)(nil)
	_ sessions.Toucher = (*Store)(nil)
)

// Option configures New.
type Option func(*options)

type options struct {
	maxEntries      int
	cleanupInterval time.Duration
	now             func() time.Time
}

// WithMaxEntries bounds the number of stored sessions, approximately (the
// bound is kept per shard). When a shard is full, saving a new session
// evicts the one closest to expiry. Default 0: no bound.
func WithMaxEntries(n int) Option { return func(o *options) { o.maxEntries = n } }

// WithCleanupInterval sets how often expired sessions are reclaimed.
// Expired sessions are invisible at once whatever this is. Default one
// minute; 0 or less: no cleanup goroutine (expired entries are then
// reclaimed only when overwritten or evicted).
func WithCleanupInterval(d time.Duration) Option { return func(o *options) { o.cleanupInterval = d } }

// WithClock sets the function that tells the time, for tests. Default
// time.Now.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New returns an empty store. With no options it is unbounded and reclaims
// expired sessions every minute.
func New(opts ...Option) *Store {
	o := options{cleanupInterval: time.Minute, now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Store{seed: maphash.MakeSeed(), now: o.now}
	if o.maxEntries > 0 {
		s.maxEntries = max(1, (o.maxEntries+shardCount-1)/shardCount)
	}
	for i := range s.shards {
		s.shards[i].entries = make(map[string]entry)
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

// Load returns the session stored under key, or [sessions.ErrNotFound].
func (s *Store) Load(ctx context.Context, key string) (sessions.Record, error) {
	if err := ctx.Err(); err != nil {
		return sessions.Record{}, err
	}
	sh := s.shard(key)
	sh.mu.RLock()
	e, ok := sh.entries[key]
	sh.mu.RUnlock()
	if !ok || e.expires <= s.now().UnixNano() {
		return sessions.Record{}, sessions.ErrNotFound
	}
	r := sessions.Record{Data: e.data, Version: e.version}
	if e.touched != 0 {
		r.Touched = time.Unix(0, e.touched)
	}
	return r, nil
}

// Save stores a copy of data under key, compare-and-swap style (see
// [sessions.Store]), and returns its new version.
func (s *Store) Save(ctx context.Context, key string, data []byte, version uint64, ttl time.Duration) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := s.now().UnixNano()
	e := entry{data: append([]byte(nil), data...), version: s.version.Add(1), expires: deadline(now, ttl)}
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	old, exists := sh.entries[key]
	exists = exists && old.expires > now
	switch {
	case version == 0 && exists:
		return 0, sessions.ErrConflict
	case version != 0 && (!exists || old.version != version):
		return 0, sessions.ErrConflict
	}
	if !exists && s.maxEntries > 0 && len(sh.entries) >= s.maxEntries {
		sh.evict(now)
	}
	sh.entries[key] = e
	return e.version, nil
}

// deadline is now+ttl in Unix nanoseconds, saturating instead of wrapping
// for a ttl of centuries.
func deadline(now int64, ttl time.Duration) int64 {
	if int64(ttl) > math.MaxInt64-now {
		return math.MaxInt64
	}
	return now + int64(ttl)
}

// evict removes expired entries, or else the one closest to expiry.
func (sh *shard) evict(now int64) {
	var victim string
	soonest := int64(1<<63 - 1)
	for k, e := range sh.entries {
		if e.expires <= now {
			delete(sh.entries, k)
			victim = ""
			soonest = -1
			continue
		}
		if e.expires < soonest {
			victim, soonest = k, e.expires
		}
	}
	if victim != "" {
		delete(sh.entries, victim)
	}
}

// Touch sets the time to live of the session under key to ttl, from the
// store's clock, and records at as its Touched time.
func (s *Store) Touch(ctx context.Context, key string, ttl time.Duration, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now().UnixNano()
	sh := s.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.entries[key]
	if !ok || e.expires <= now {
		return sessions.ErrNotFound
	}
	e.expires, e.touched = deadline(now, ttl), at.UnixNano()
	sh.entries[key] = e
	return nil
}

// Delete removes the session under key. A missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sh := s.shard(key)
	sh.mu.Lock()
	delete(sh.entries, key)
	sh.mu.Unlock()
	return nil
}

// Len returns the number of stored sessions, expired ones not yet
// reclaimed included.
func (s *Store) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		n += len(sh.entries)
		sh.mu.RUnlock()
	}
	return n
}

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
	now := s.now().UnixNano()
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for k, e := range sh.entries {
			if e.expires <= now {
				delete(sh.entries, k)
			}
		}
		sh.mu.Unlock()
	}
}
