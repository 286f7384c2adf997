package harness

import (
	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/cookie"
	"github.com/sessionware/sessions/memcached"
	"github.com/sessionware/sessions/memory"
	"github.com/sessionware/sessions/redis"
)

// Backends is the table: every session implementation timed, ours first
// within each family, then the peers. Adding a backend is one row.
var Backends = []*Backend{
	{Name: "bare", Family: Bare, Note: "Gin with no session middleware", New: newBare},

	{Name: "memory", Family: Memory, Ours: true, Note: "memory.New()", New: newMemory},
	{Name: "gincontrib-memstore", Family: Memory, Note: "gin-contrib/sessions v1.0.4 memstore (quasoft/memstore)", New: newGinContribMemstore},
	{Name: "scs-memstore", Family: Memory, Note: "alexedwards/scs v2.9.0 memstore (without its once-a-minute cleanup goroutine)", New: newSCSMemstore},

	{Name: "cookie", Family: Cookie, Ours: true, Note: "cookie.New(key): AES-256-GCM", New: newCookie},
	{Name: "gincontrib-cookie", Family: Cookie, Note: "gin-contrib/sessions v1.0.4 cookie, one key (HMAC only, no encryption)", New: newGinContribCookie},

	{Name: "memcached", Family: Memcached, Ours: true, Note: "memcached.New(client), the same gomemcache client settings as the peer's", New: newMemcached},
	{Name: "gincontrib-memcached", Family: Memcached, Note: "gin-contrib/sessions v1.0.4 memcached (gorilla-sessions-memcache)", New: newGinContribMemcached},

	{Name: "redis", Family: Redis, Ours: true, Note: "redis.New(client), the same go-redis client settings as scs's", New: newRedis},
	{Name: "gincontrib-redis", Family: Redis, Note: "gin-contrib/sessions v1.0.4 redis (boj/redistore, redigo)", New: newGinContribRedis},
	{Name: "scs-redis", Family: Redis, Note: "alexedwards/scs v2.9.0 goredisstore (go-redis v9)", New: newSCSRedis},

	// Prototypes: our middleware on a store that is not in the library,
	// measured to decide whether it should be.
	{Name: "rueidis", Family: Redis, Prototype: true, Note: "prototype (benchmarks/rueidisstore): the redis store's records and scripts on a rueidis client (auto-pipelining), no client-side cache", New: newRueidis(false)},
	{Name: "rueidis-cache", Family: Redis, Prototype: true, Note: "prototype: the same with rueidis's server-assisted client-side cache for Load (RESP3 tracking)", New: newRueidis(true)},
}

// BackendByName returns the row called name.
func BackendByName(name string) (*Backend, bool) {
	for _, b := range Backends {
		if b.Name == name {
			return b, true
		}
	}
	return nil, false
}

// ours is sessionware's middleware over any Store.
type ours struct{ mw gin.HandlerFunc }

func (o ours) middleware() gin.HandlerFunc { return o.mw }

func (ours) get(c *gin.Context, key string) any { return sessions.Default(c).Get(key) }

func (ours) set(c *gin.Context, kv ...any) error {
	s := sessions.Default(c)
	for i := 0; i+1 < len(kv); i += 2 {
		s.Set(kv[i].(string), kv[i+1])
	}
	return nil // saved by itself before the response header
}

// incr uses Update, the library's way for values that concurrent requests
// change: on a compare-and-swap conflict the commit reloads and re-runs it.
func (ours) incr(c *gin.Context) error {
	sessions.Default(c).Update("n", func(old any) any { return toInt(old) + 1 })
	return nil
}

func newOurs(store sessions.Backend, opts ...sessions.Option) *App {
	return newApp(ours{mw: sessions.Sessions(CookieName, store, opts...)}, nil)
}

func newMemory(*Env) (*App, error) {
	store := memory.New()
	a := newOurs(store)
	a.onClose(func() { _ = store.Close() })
	return a, nil
}

func newCookie(*Env) (*App, error) {
	store, err := cookie.New(CookieSecret)
	if err != nil {
		return nil, err
	}
	return newOurs(store), nil
}

func newMemcached(env *Env) (*App, error) {
	d := &Dialer{}
	a := newOurs(memcached.New(MemcacheClient(env, d)))
	a.RoundTrips = &d.RoundTrips
	return a, nil
}

func newRedis(env *Env) (*App, error) {
	d := &Dialer{}
	client := GoredisClient(env, d)
	a := newOurs(redis.New(client))
	a.RoundTrips = &d.RoundTrips
	a.onClose(func() { _ = client.Close() })
	return a, nil
}
