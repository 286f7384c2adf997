package memory

import (
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// list is a doubly linked ring of entries around a sentinel, oldest
// first. Every operation is constant time.
type list struct {
	root entry
	len  int
}

func (l *list) init() { l.root.prev, l.root.next = &l.root, &l.root }

// front returns the oldest entry of l, or nil.
func (l *list) front() *entry {
	if l.len == 0 {
		return nil
	}
	return l.root.next
}

// pushBack appends e, which no list holds, to l.
func (l *list) pushBack(e *entry) {
	e.list, e.prev, e.next = l, l.root.prev, &l.root
	e.prev.next = e
	l.root.prev = e
	l.len++
}

// unlink takes e out of the list that holds it.
func (e *entry) unlink() {
	e.prev.next, e.next.prev = e.next, e.prev
	e.list.len--
	e.list, e.prev, e.next = nil, nil, nil
}

// instant is one reading of the store's clock: the wall time, for
// expiry, and the time since the store was made, monotonic with
// time.Now, for the in-use window.
type instant struct {
	wall int64 // Unix nanoseconds
	mono time.Duration
}

// setBounds divides the store's bound n (0: none) over the shards, and
// sets each shard's share for protected entries: all of its bound but a
// tenth (one entry at least), which stays for probation.
func (s *Store) setBounds(n int, inUse time.Duration) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.probation.init()
		sh.protected.init()
		sh.inUse = inUse
		sh.bound, sh.protectedMax = 0, math.MaxInt
		if n > 0 {
			sh.bound = n / shardCount
			if i < n%shardCount {
				sh.bound++
			}
			sh.bound = max(sh.bound, 1)
			sh.protectedMax = sh.bound - max(1, sh.bound/10)
		}
	}
}

// used records a Load of e: e becomes the most recently loaded protected
// entry (a probationary one is promoted), so the protected list stays in
// the order of the entries' last Load.
func (sh *shard) used(e *entry, now instant) {
	e.unlink()
	e.loaded = now.mono
	sh.protected.pushBack(e)
	sh.rebalance(now)
}

// rebalance sends the least recently loaded protected entry back to
// probation when the protected ones are more than their share, unless it
// is in use. Since the list is in the order of the last Load, when its
// first entry is in use, every protected entry is.
func (sh *shard) rebalance(now instant) {
	if sh.protected.len <= sh.protectedMax {
		return
	}
	if e := sh.protected.front(); !sh.isInUse(e, now) {
		e.unlink()
		sh.probation.pushBack(e)
	}
}

// isInUse reports whether e was loaded within the in-use window, and has
// not expired since.
func (sh *shard) isInUse(e *entry, now instant) bool {
	return now.mono-e.loaded < sh.inUse && e.expires > now.wall
}

// makeRoom removes one entry of the full shard: the probationary entry
// that has waited longest. No probationary entry is in use: a Load
// promotes it, and rebalance sends back only entries not in use. It
// returns ok false, and removes nothing, when there is none, which
// means every entry of the shard is in use; evicted is false when the
// entry removed had expired anyway.
func (sh *shard) makeRoom(now instant) (evicted, ok bool) {
	sh.rebalance(now)
	e := sh.probation.front()
	if e == nil {
		return false, false
	}
	sh.remove(e)
	return e.expires > now.wall, true
}

// remove takes e out of the shard.
func (sh *shard) remove(e *entry) {
	e.unlink()
	delete(sh.entries, e.key)
}

// reportEvery is the least time between two warnings of the store.
const reportEvery = time.Minute

// reporter writes the store's warnings about evictions.
type reporter struct {
	next   atomic.Int64 // the in-use clock's time from which the next warning may be written
	mu     sync.Mutex
	logged struct{ evictions, refused uint64 } // the counts as the last warning gave them
}

// report warns that the store evicts or refuses sessions, unless it did
// less than reportEvery ago.
func (s *Store) report(now instant) {
	if now.mono < time.Duration(s.reporter.next.Load()) {
		return
	}
	l := s.logger
	if !s.loggerSet {
		l = slog.Default()
	}
	r := &s.reporter
	if l == nil || !r.mu.TryLock() {
		return
	}
	defer r.mu.Unlock()
	if now.mono < time.Duration(r.next.Load()) { // another report came first
		return
	}
	r.next.Store(int64(now.mono + reportEvery))
	evictions, refused := s.evictions.Load(), s.refused.Load()
	l.Warn("memory session store full: sessions evicted or refused since the last warning",
		slog.Uint64("evicted", evictions-r.logged.evictions),
		slog.Uint64("refused", refused-r.logged.refused),
		slog.Int("max_entries", s.maxEntries))
	r.logged.evictions, r.logged.refused = evictions, refused
}
