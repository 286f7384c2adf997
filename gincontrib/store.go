package gincontrib

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/gincontrib/internal/keys"
)

// Store is where sessions are kept, with the options of their cookie: one
// of the stores of the subpackages (cookie, memstore, redis, memcached),
// or [NewStore]'s for any other backend of this module.
type Store interface {
	// Options sets the cookie options of every session of the store (see
	// [Options]); the middlewares already installed take them from their
	// next request on. It panics on a negative MaxAge, which would delete
	// every session, and on a Path or Domain that a cookie cannot carry.
	Options(Options)

	state() *store
	// legacyName is the cookie in which gin-contrib kept the sessions
	// that a middleware with the cookie name reads (see MigrateFrom).
	legacyName(name string) string
}

// Backend says what a [Store] made by [NewStore] keeps sessions in.
type Backend struct {
	// Open returns the backend: a sessions.Store (memory, redis,
	// memcached, yours) or a sessions.Sealer (cookie). The Store calls it
	// once, when the first Sessions or SessionsMany middleware is made
	// with it.
	Open func() sessions.Backend
	// Legacy, if not nil, returns what reads the sessions that
	// gin-contrib's store wrote under the cookie called name, given the
	// store's options (the legacy cookie's Path and Domain), so that
	// switching logs nobody out (package migrate/gincontrib has one for
	// each store). It may return nil: nothing to migrate.
	Legacy func(name string, o Options) sessions.Migrator
	// KeyPairs, gin-contrib's key pairs, authenticate the values that the
	// drop-in keeps gob-encoded (structs, named types) in a backend that
	// others can write (redis, memcached): they are signed with an
	// HMAC-SHA-256 key derived from the first pair, and gob decodes only
	// what a pair's key verifies, since it is not written for hostile
	// input. Nil: not signed, for backends whose data nobody else writes
	// (memory; a sealed cookie, which only the server's own writes open).
	KeyPairs [][]byte
	// Middleware holds more options for the middleware (such as
	// sessions.WithErrorHandler or sessions.WithIdleTimeout), applied after
	// those the Store's Options make.
	Middleware []sessions.Option
}

// NewStore returns a Store that keeps sessions in what b opens, with
// gin-contrib's default options (Path "/", MaxAge 30 days) and this
// library's HttpOnly and SameSite=Lax. It panics if b.Open is nil or a
// pair of b.KeyPairs has no hash key.
func NewStore(b Backend) Store {
	if b.Open == nil {
		panic("gincontrib: NewStore: Backend.Open is nil")
	}
	s := &store{b: b, opts: defaultOptions}
	if len(b.KeyPairs) > 0 {
		k, err := keys.Derive("sessionware/gincontrib value MAC v1", b.KeyPairs)
		if err != nil {
			panic("gincontrib: " + err.Error())
		}
		s.keys = k
	}
	return s
}

type store struct {
	b    Backend
	keys valueKeys // from b.KeyPairs
	mu   sync.Mutex
	opts Options
	gen  atomic.Uint64 // changed by Options: the middlewares rebuild

	open    sync.Once
	backend sessions.Backend
}

func (s *store) state() *store { return s }

func (s *store) legacyName(name string) string { return name }

// MigrateFrom returns store for a middleware whose cookie has a new name:
// it reads the sessions that gin-contrib wrote in the cookie called
// legacyCookie, the old name, instead of the middleware's. Use it for a
// rolling deploy, while instances of the old program still serve (see
// docs/gincontrib.md):
//
//	r.Use(sessions.Sessions("session", sessions.MigrateFrom(store, "mysession")))
//
// The legacy cookie then stays in the browser for the old instances, until
// the session is destroyed. Options set on either Store apply to both.
func MigrateFrom(store Store, legacyCookie string) Store {
	return migratingFrom{Store: store, legacyCookie: legacyCookie}
}

type migratingFrom struct {
	Store
	legacyCookie string
}

func (m migratingFrom) legacyName(string) string { return m.legacyCookie }

func (s *store) Options(o Options) {
	if o.MaxAge < 0 {
		panic(fmt.Sprintf("gincontrib: a store's Options with MaxAge %d would delete every session when saved: give a session Options{MaxAge: -1} to end it", o.MaxAge))
	}
	// The native middleware checks the cookie attributes (and panics on
	// those a Set-Cookie header cannot carry); run the check now, at
	// start-up, rather than at the next request.
	sessions.Sessions("session", s.opened(), o.middleware()...)
	s.mu.Lock()
	s.opts = o
	s.gen.Add(1)
	s.mu.Unlock()
}

// opened returns the store's backend, opening it the first time.
func (s *store) opened() sessions.Backend {
	s.open.Do(func() { s.backend = s.b.Open() })
	return s.backend
}

// options returns the store's options and their generation.
func (s *store) options() (Options, uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts, s.gen.Load()
}

// binding is the native middleware for sessions called name in a store,
// rebuilt when the store's options change.
type binding struct {
	name   string
	legacy string // the cookie of gin-contrib's sessions to migrate
	st     *store
	around bool // SessionsMany: the middleware nests (serve), else handler
	mu     sync.Mutex
	cur    atomic.Pointer[built]
}

// built is a native middleware and the store options it was built with.
type built struct {
	gen     uint64
	opts    Options
	handler gin.HandlerFunc                   // sessions.Sessions's
	serve   func(c *gin.Context, next func()) // sessions.SessionsAround's
}

// bind makes the native middleware for sessions called name in st now,
// so that an invalid name or option panics at start-up; around: one that
// nests (SessionsMany).
func bind(name string, st Store, around bool) *binding {
	if st == nil {
		panic("gincontrib: nil Store")
	}
	b := &binding{name: name, legacy: st.legacyName(name), st: st.state(), around: around}
	b.cur.Store(b.build())
	return b
}

// get returns the middleware for the store's current options.
func (b *binding) get() *built {
	cur := b.cur.Load()
	if cur.gen == b.st.gen.Load() {
		return cur
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if cur = b.cur.Load(); cur.gen != b.st.gen.Load() {
		cur = b.build()
		b.cur.Store(cur)
	}
	return cur
}

func (b *binding) build() *built {
	o, gen := b.st.options()
	backend := b.st.opened()
	opts := o.middleware()
	if b.st.b.Legacy != nil {
		if m := b.st.b.Legacy(b.legacy, o); m != nil {
			opts = append(opts, sessions.WithMigration(legacy{m: m, keys: b.st.keys}))
		}
	}
	opts = append(opts, b.st.b.Middleware...)
	mw := &built{gen: gen, opts: o}
	if b.around {
		mw.serve = sessions.SessionsAround(b.name, backend, opts...)
	} else {
		mw.handler = sessions.Sessions(b.name, backend, opts...)
	}
	return mw
}
