package memcached

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// state is where one server of a pool stands. The table of transitions
// (each made under pool.mu):
//
//	up        → ejected    ejectAfter transport failures in a row (report), or no answer at Check
//	ejected   → returning  it answered a probe (bringBack)
//	returning → up         every key remembered while it was away is deleted here and on the others
//	returning → ejected    it failed again while being purged
type state int32

const (
	// up: the server holds the keys it wins.
	up state = iota
	// ejected: its keys go to the next server up in their rendezvous
	// order (their fallback), and each key sent there is remembered.
	ejected
	// returning: it answers again. The keys remembered while it was
	// ejected still go to their fallback until each is deleted from it
	// (a record there is older than what was written meanwhile, or was
	// destroyed meanwhile); every other key is home again.
	returning
)

// server is one memcached server of a pool.
type server struct {
	addr  net.Addr // boxed once: PickServer returns it on every command
	seed  uint64
	state atomic.Int32 // a state; written under pool.mu
	fails atomic.Int32 // transport failures in a row
	kick  chan struct{}

	// moved holds the keys that this server wins and that went to another
	// server while it was not up (pool.mu).
	moved map[string]struct{}
}

// pool is the memcache.ServerSelector of Open's client: rendezvous hashing
// over the servers, as RendezvousSelector, except that a server that fails
// ejectAfter times in a row is ejected: its keys go to their next server
// up, each key is remembered, and a goroutine probes it every retry
// interval. When it answers, the remembered keys are deleted from it and
// from the other servers before they go home (bringBack), so that a record
// it kept from before (a session since destroyed elsewhere, or older than
// what was written meanwhile) never comes back in this process. See
// docs/memcached.md, "A server down".
type pool struct {
	servers     []server
	notUp       atomic.Int32 // servers not up: 0 on the fast path
	ejectAfter  int32        // 0: never eject (one server, or WithEjectAfter(0))
	retry       time.Duration
	fallbackTTL time.Duration
	maxMoved    int
	logger      *slog.Logger
	loggerSet   bool
	client      *memcache.Client // the client that routes through the pool: probes dial as it does

	mu     sync.Mutex
	closed bool
	stop   chan struct{}
	wg     sync.WaitGroup
}

var _ memcache.ServerSelector = (*pool)(nil)

// defaultMaxMoved bounds the keys a pool remembers per ejected server
// (about 100 bytes each: 10 MB).
const defaultMaxMoved = 100_000

func newPool(addrs []string, o *options) (*pool, error) {
	list, seeds, err := parseServers(addrs)
	if err != nil {
		return nil, err
	}
	p := &pool{
		servers:     make([]server, len(list)),
		ejectAfter:  int32(o.ejectAfterOrDefault()),
		retry:       o.retryOrDefault(),
		fallbackTTL: o.fallbackTTLOrDefault(),
		maxMoved:    defaultMaxMoved,
		logger:      o.logger,
		loggerSet:   o.loggerSet,
		stop:        make(chan struct{}),
	}
	if len(list) == 1 {
		p.ejectAfter = 0 // nowhere to send its keys: requests fail fast by themselves
	}
	for i, a := range list {
		p.servers[i] = server{addr: a, seed: seeds[i], kick: make(chan struct{}, 1)}
	}
	return p, nil
}

// PickServer returns the server that key goes to now (see pick).
func (p *pool) PickServer(key string) (net.Addr, error) {
	_, used, err := p.pick(key)
	if err != nil {
		return nil, err
	}
	return p.servers[used].addr, nil
}

// Each calls f for every server, in the order given, until f fails.
func (p *pool) Each(f func(net.Addr) error) error {
	for i := range p.servers {
		if err := f(p.servers[i].addr); err != nil {
			return err
		}
	}
	return nil
}

// errAllEjected is what a command gets when no server is up.
var errAllEjected = errors.New("memcached: every server is ejected: commands fail until one answers a probe")

// pick returns the server that key wins (home) and the one it goes to now
// (used): home when it is up, else the next server up in the key's
// rendezvous order, after remembering key for home (or refusing, when home
// remembers as many keys as it may). While home is returning, only the keys
// it remembers go elsewhere. With every server up it takes no lock.
func (p *pool) pick(key string) (home, used int, err error) {
	if len(p.servers) == 1 {
		return 0, 0, nil
	}
	h := fnv1a(key)
	home = p.best(h, false)
	if p.notUp.Load() == 0 {
		return home, home, nil
	}
	if away, err := p.away(home, key); err != nil || !away {
		return home, home, err
	}
	if used = p.best(h, true); used < 0 {
		return home, -1, errAllEjected
	}
	return home, used, nil
}

// away reports whether key, which server i wins, must go elsewhere now; if
// i is ejected, it remembers key for i's return.
func (p *pool) away(i int, key string) (bool, error) {
	sv := &p.servers[i]
	p.mu.Lock()
	defer p.mu.Unlock()
	_, moved := sv.moved[key]
	switch state(sv.state.Load()) {
	case up:
		return false, nil
	case returning:
		return moved, nil
	}
	if !moved {
		if len(sv.moved) >= p.maxMoved {
			return true, fmt.Errorf("memcached: server %s is ejected and %d sessions have gone to other servers since, the most this store remembers for its return; other sessions of it fail until it is back", sv.addr, p.maxMoved)
		}
		if sv.moved == nil {
			sv.moved = make(map[string]struct{})
		}
		sv.moved[key] = struct{}{}
	}
	return true, nil
}

// best returns the server with the highest rendezvous score for the key
// hashed to h, among those up if upOnly, or -1. Ties go to the first, as
// in RendezvousSelector.
func (p *pool) best(h uint64, upOnly bool) int {
	best, bestScore := -1, uint64(0)
	for i := range p.servers {
		sv := &p.servers[i]
		if upOnly && state(sv.state.Load()) != up {
			continue
		}
		if score := fmix64(h ^ sv.seed); best < 0 || score > bestScore {
			best, bestScore = i, score
		}
	}
	return best
}

// report tells the pool how server i fared with a command: a transport
// failure counts towards its ejection, an answer resets the count. Other
// errors (none sent, a context's end) count for nothing.
func (p *pool) report(i int, err error) {
	if p == nil || i < 0 || p.ejectAfter == 0 {
		return
	}
	sv := &p.servers[i]
	switch {
	case err == nil || answered(err):
		if sv.fails.Load() != 0 {
			sv.fails.Store(0)
		}
	case unreachable(err):
		if sv.fails.Add(1) >= p.ejectAfter {
			p.eject(i, fmt.Sprintf("%d failures in a row", p.ejectAfter), err)
		}
	}
}

// eject takes server i out of rotation, if it is not already out, and
// starts probing it. A pool that is closed ejects nothing.
func (p *pool) eject(i int, why string, cause error) {
	sv := &p.servers[i]
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	switch state(sv.state.Load()) {
	case up:
		sv.state.Store(int32(ejected))
		p.notUp.Add(1)
		p.wg.Add(1)
		go p.watch(i)
	case returning: // its watch goroutine goes back to probing
		sv.state.Store(int32(ejected))
	default:
		p.mu.Unlock()
		return
	}
	sv.fails.Store(0)
	p.mu.Unlock()
	p.log(slog.LevelWarn, "memcached: server ejected; the sessions it holds go to the other servers until it answers again", "server", sv.addr.String(), "why", why, "error", cause.Error(), "retry", p.retry.String())
}

// ejected returns the servers that are not up.
func (p *pool) ejected() []string {
	var out []string
	for i := range p.servers {
		if state(p.servers[i].state.Load()) != up {
			out = append(out, p.servers[i].addr.String())
		}
	}
	return out
}

// close stops the probes and waits for them; servers ejected then stay
// ejected, and no server is ejected afterwards.
func (p *pool) close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.stop)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *pool) log(level slog.Level, msg string, args ...any) {
	l := p.logger
	if !p.loggerSet {
		l = slog.Default()
	}
	if l != nil {
		l.Log(context.Background(), level, msg, args...)
	}
}
