// Package storetest is the conformance suite for sessions backends. A
// backend's own tests call Run with a function that makes a fresh, empty
// backend:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) sessions.Backend {
//			s := mystore.New(client, mystore.WithPrefix(uniquePrefix()))
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Run checks two things. For a [sessions.Store] (subtests "Store"), the
// contract that sessions.Store documents, call by call: round trip, not found,
// compare-and-swap with version 0 and stale versions, versions that never
// repeat, delete, expiry (a record is gone ttl later, never earlier),
// [sessions.Toucher] (Touch moves the expiry and Load reports the time it
// was given as Touched), copies of the data, large values, concurrent
// compare-and-swap and cancelled contexts. For every backend, Stores and
// [sessions.Sealer]s alike (subtests "HTTP"), the middleware's behaviour
// through the backend over real HTTP: cookies, reads that write nothing,
// flashes, Renew, Destroy, idle timeout, absolute lifetime, the refresh of
// the idle deadline once a quarter of it has passed, and, for Stores,
// concurrent requests of one session that lose no update.
//
// What it needs: newBackend must return a new backend on every call (or at
// least one whose keys no other call sees: a prefix of its own on a shared
// server), and register its clean-up with t.Cleanup. A server backend
// should run against a real server (this module's backends start theirs
// with internal/testserver, on a free loopback port).
//
// Time. The middleware's clock in the HTTP tests is always a [Clock] that
// the suite advances, so idle timeouts and lifetimes take no real time. A
// store's own expiry takes the time the store's clock takes: the suite
// saves with TTLs of a few hundred milliseconds and waits, once, until the
// store drops them (at most 3 s after the TTL: a store that counts in whole
// seconds passes). A store that can read a fake clock (memory.WithClock)
// should be given one, with [WithClock]: then the store and the middleware
// share it and nothing waits.
package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
)

// Run runs the suite on the backends that newBackend makes: the Store
// contract if they are a sessions.Store, and the HTTP behaviour for every
// backend. It fails t at once if newBackend's backend is neither a
// sessions.Store nor a sessions.Sealer.
func Run(t *testing.T, newBackend func(t *testing.T) sessions.Backend, opts ...Option) {
	t.Helper()
	gin.SetMode(gin.TestMode)
	s := &suite{newBackend: newBackend}
	for _, o := range opts {
		o(s)
	}
	probe := newBackend(t)
	_, isStore := probe.(sessions.Store)
	_, s.sealed = probe.(sessions.Sealer)
	_, s.toucher = probe.(sessions.Toucher)
	if !isStore && !s.sealed {
		t.Fatalf("%T is neither a sessions.Store nor a sessions.Sealer", probe)
	}
	if isStore {
		t.Run("Store", s.runStore)
	}
	t.Run("HTTP", s.runHTTP)
	if isStore && !s.sealed {
		t.Run("Races", s.runRaces)
	}
}

// Option configures Run.
type Option func(*suite)

// WithClock tells Run that the backends newBackend makes tell the time
// with clock.Now (for the memory store: memory.WithClock(clock.Now)). The
// suite then gives the same clock to the middleware and advances it
// instead of waiting for expiry, so the whole run takes no real time for
// it. Such a store must expire a record exactly ttl after its Save or
// Touch, by clock:
//
//	clock := storetest.NewClock()
//	storetest.Run(t, func(t *testing.T) sessions.Backend {
//		s := memory.New(memory.WithClock(clock.Now))
//		t.Cleanup(func() { s.Close() })
//		return s
//	}, storetest.WithClock(clock))
func WithClock(clock *Clock) Option { return func(s *suite) { s.clock = clock } }

// Clock is a fake clock: it stands still until Advance moves it. It is safe
// for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock that reads the current time rounded down to a
// whole second.
func NewClock() *Clock { return &Clock{now: time.Now().Truncate(time.Second)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// suite is one Run: how to make backends and what they are.
type suite struct {
	newBackend func(t *testing.T) sessions.Backend
	clock      *Clock // the clock the backends read, or nil: they read the real time
	sealed     bool   // the backends are sessions.Sealers: the middleware uses them as such
	toucher    bool   // the backends are sessions.Touchers
}

// store returns a new backend as a sessions.Store.
func (s *suite) store(t *testing.T) sessions.Store { return s.newBackend(t).(sessions.Store) }

// now returns the time of the stores' clock.
func (s *suite) now() time.Time {
	if s.clock != nil {
		return s.clock.Now()
	}
	return time.Now()
}
