package sessions

import (
	"context"
	"hash/maphash"
	"slices"
	"sync"
)

// lanes let the commits of one session within this process take turns,
// and combine them: a request that finds another committing the same
// session queues; the next request to take the turn carries the queued
// requests' changes along with its own, in one store round trip (and
// starts from what the request ahead stored, which the lane remembers,
// rather than reloading it). Compare-and-swap conflicts are then left for
// races with other processes.
type lanes struct {
	seed   maphash.Seed
	shards [64]laneShard
}

type laneShard struct {
	mu sync.Mutex
	m  map[string]*lane
}

// lane is one session key's turn-taking. It lives while some request holds
// or waits for its turn.
type lane struct {
	turn chan struct{} // a token: whoever took it commits
	refs int           // guarded by the shard's mutex

	mu    sync.Mutex // guards queue and waiter.taken
	queue []*waiter

	// Guarded by the turn: what the last commit in this process stored
	// under the key and its version (version 0: not known, as after a
	// memcached save, or a Renew or Destroy replaced it), and the
	// manager's commit count right after it (see Session.loadSeq).
	version uint64
	data    []byte
	seq     uint64
}

// waiter is a request queued for a lane's turn. Once taken, its changes
// ride on the turn holder's commit, which sends the outcome on done; until
// then the holder may read its session (the waiter's goroutine waits).
type waiter struct {
	s     *Session
	done  chan outcome
	taken bool // guarded by the lane's mutex
	told  bool // the turn holder has sent the outcome (its goroutine only)
}

// outcome is what became of a commit that rode on another's.
type outcome struct {
	err       error
	key       string // where the session lives now (a Renew may have moved it)
	destroyed bool   // a logout won: the changes were dropped
	gone      bool   // the record was gone (expired): the changes were dropped
	retry     bool   // the carrier failed for a cause of its own (it panicked): queue again
	panicked  any    // the rider's own Update function panicked with this
}

// testHookQueued, when set by a test, is called when a request queues
// for a lane's turn.
var testHookQueued func()

// maxCombined bounds how many queued commits one store round trip carries.
const maxCombined = 64

var lanePool = sync.Pool{New: func() any { return &lane{turn: make(chan struct{}, 1)} }}

func newLanes() *lanes {
	l := &lanes{seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].m = make(map[string]*lane)
	}
	return l
}

func (l *lanes) shard(key string) *laneShard {
	return &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
}

// acquire waits for s's turn to commit key. It returns the lane with the
// turn held, or, when another request carried s's changes, nil and what
// became of them. A wait that outlasts ctx ends with ctx's error, unless a
// turn holder has already taken s's changes: its commit, bounded by its own
// timeout, then decides.
func (l *lanes) acquire(ctx context.Context, key string, s *Session) (*lane, *outcome) {
	sh := l.shard(key)
	sh.mu.Lock()
	ln := sh.m[key]
	if ln == nil {
		ln = lanePool.Get().(*lane)
		sh.m[key] = ln
	}
	ln.refs++
	sh.mu.Unlock()
	select {
	case ln.turn <- struct{}{}:
		return ln, nil
	default:
	}
	w := &waiter{s: s, done: make(chan outcome, 1)}
	ln.mu.Lock()
	ln.queue = append(ln.queue, w)
	ln.mu.Unlock()
	if testHookQueued != nil {
		testHookQueued()
	}
	var out outcome
	select {
	case ln.turn <- struct{}{}:
		ln.mu.Lock()
		if !w.taken {
			ln.dequeue(w)
			ln.mu.Unlock()
			return ln, nil
		}
		ln.mu.Unlock()
		<-ln.turn // the holder that took w has finished: pass the turn on
		out = <-w.done
	case out = <-w.done:
	case <-ctx.Done():
		ln.mu.Lock()
		taken := w.taken
		if !taken {
			ln.dequeue(w)
		}
		ln.mu.Unlock()
		if taken {
			out = <-w.done
		} else {
			out = outcome{err: ctx.Err()}
		}
	}
	l.leave(key, ln)
	return nil, &out
}

func (ln *lane) dequeue(w *waiter) {
	if i := slices.Index(ln.queue, w); i >= 0 {
		ln.queue = slices.Delete(ln.queue, i, i+1)
	}
}

// take removes from the queue, and returns, up to maxCombined waiters
// whose commits can ride on the turn holder's: plain saves.
func (ln *lane) take() []*waiter {
	ln.mu.Lock()
	defer ln.mu.Unlock()
	var taken []*waiter
	ln.queue = slices.DeleteFunc(ln.queue, func(w *waiter) bool {
		if len(taken) == maxCombined || !w.s.combinable() {
			return false
		}
		w.taken = true
		taken = append(taken, w)
		return true
	})
	return taken
}

// release gives the turn to the next request and forgets the lane when no
// request waits for it.
func (l *lanes) release(key string, ln *lane) {
	<-ln.turn
	l.leave(key, ln)
}

func (l *lanes) leave(key string, ln *lane) {
	sh := l.shard(key)
	sh.mu.Lock()
	ln.refs--
	if ln.refs == 0 {
		delete(sh.m, key)
		ln.version, ln.data, ln.seq = 0, ln.data[:0], 0
		if cap(ln.data) > 64<<10 {
			ln.data = nil
		}
		lanePool.Put(ln)
	}
	sh.mu.Unlock()
}

// committed notes a commit under the lane's key: what it stored, if the
// version is known (nil data: a Renew or Destroy, which leave a
// tombstone), and seq, the manager's commit count after it.
func (ln *lane) committed(version uint64, data []byte, seq uint64) {
	ln.seq = seq
	if version == 0 || data == nil {
		ln.version, ln.data = 0, ln.data[:0]
		return
	}
	ln.version = version
	ln.data = append(ln.data[:0], data...)
}
