package sessions

import (
	"context"
	"hash/maphash"
	"sync"
)

// lanes serialize the commits of one session within this process, so that
// concurrent requests of a hot session take turns instead of racing each
// other's compare-and-swap: a request waits for the one ahead of it, then
// starts from what that one stored (the lane remembers it) instead of
// reloading it from the store. Compare-and-swap conflicts are then left
// for races with other processes.
type lanes struct {
	seed   maphash.Seed
	shards [64]laneShard
}

type laneShard struct {
	mu sync.Mutex
	m  map[string]*lane
}

// lane is one session key's turn-taking. A request holds the turn while it
// commits; the lane lives while some request holds or waits for it.
type lane struct {
	turn chan struct{} // a token: whoever took it commits
	refs int           // guarded by the shard's mutex

	// Guarded by the turn: what the last commit in this process stored
	// under the key and its version (version 0: not known, as after a
	// memcached save, or a Renew or Destroy replaced it), and the
	// manager's commit count right after it (see Session.loadSeq).
	version uint64
	data    []byte
	seq     uint64
}

var lanePool = sync.Pool{New: func() any { return &lane{turn: make(chan struct{}, 1)} }}

func newLanes() *lanes {
	l := &lanes{seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].m = make(map[string]*lane)
	}
	return l
}

// acquire waits for the turn to commit key. It returns ctx's error if the
// wait outlasts it (a request ahead is stuck on a hung store): a queued
// request is never held beyond its own commit timeout.
func (l *lanes) acquire(ctx context.Context, key string) (*lane, error) {
	sh := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
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
	case <-ctx.Done():
		l.leave(key, ln)
		return nil, ctx.Err()
	}
}

// release gives the turn to the next request and forgets the lane when no
// request waits for it.
func (l *lanes) release(key string, ln *lane) {
	<-ln.turn
	l.leave(key, ln)
}

func (l *lanes) leave(key string, ln *lane) {
	sh := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
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
