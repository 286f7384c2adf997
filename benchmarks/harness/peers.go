package harness

import (
	"net/http"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/v2"
	scsmem "github.com/alexedwards/scs/v2/memstore"
	"github.com/bradfitz/gomemcache/memcache"
	gcsessions "github.com/gin-contrib/sessions"
	gccookie "github.com/gin-contrib/sessions/cookie"
	gcmemcached "github.com/gin-contrib/sessions/memcached"
	gcmemstore "github.com/gin-contrib/sessions/memstore"
	gcredis "github.com/gin-contrib/sessions/redis"
	"github.com/gin-gonic/gin"
	redigo "github.com/gomodule/redigo/redis"
	goredis "github.com/redis/go-redis/v9"
)

// Client settings shared by ours and the peers on the same server, so that
// 64 concurrent clients never wait for a pooled connection or churn them.
const poolSize = 64

// bare is the baseline: no session at all.
type bare struct{}

func (bare) middleware() gin.HandlerFunc    { return nil }
func (bare) get(*gin.Context, string) any   { return "alice" }
func (bare) set(*gin.Context, ...any) error { return nil }
func (bare) incr(*gin.Context) error        { return nil }
func newBare(*Env) (*App, error)            { return newApp(bare{}, nil), nil }

// MemcacheClient is the gomemcache client every memcached backend and the
// floor get: the same settings, connections counted by d.
func MemcacheClient(env *Env, d *Dialer) *memcache.Client {
	c := memcache.New(env.MemcachedAddr)
	c.DialContext = d.DialContext
	c.MaxIdleConns = poolSize
	c.Timeout = 2 * time.Second
	return c
}

// GoredisClient is the go-redis client of every go-redis backend and the
// floor.
func GoredisClient(env *Env, d *Dialer) *goredis.Client {
	return goredis.NewClient(&goredis.Options{Addr: env.RedisAddr, Dialer: d.DialContext, PoolSize: poolSize})
}

// gin-contrib/sessions: gorilla/sessions under a Gin API; every change
// needs an explicit Save.
type ginContrib struct{ mw gin.HandlerFunc }

func (g ginContrib) middleware() gin.HandlerFunc { return g.mw }

func (ginContrib) get(c *gin.Context, key string) any { return gcsessions.Default(c).Get(key) }

func (ginContrib) set(c *gin.Context, kv ...any) error {
	s := gcsessions.Default(c)
	for i := 0; i+1 < len(kv); i += 2 {
		s.Set(kv[i], kv[i+1])
	}
	return s.Save()
}

func (ginContrib) incr(c *gin.Context) error {
	s := gcsessions.Default(c)
	s.Set("n", toInt(s.Get("n"))+1)
	return s.Save()
}

func newGinContrib(store gcsessions.Store) *App {
	store.Options(gcsessions.Options{Path: "/", MaxAge: 86400, HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return newApp(ginContrib{mw: gcsessions.Sessions(CookieName, store)}, nil)
}

func newGinContribCookie(*Env) (*App, error) {
	return newGinContrib(gccookie.NewStore(CookieSecret)), nil
}

func newGinContribMemstore(*Env) (*App, error) {
	return newGinContrib(gcmemstore.NewStore(CookieSecret)), nil
}

func newGinContribMemcached(env *Env) (*App, error) {
	d := &Dialer{}
	a := newGinContrib(gcmemcached.NewStore(MemcacheClient(env, d), "gc:", CookieSecret))
	a.RoundTrips = &d.RoundTrips
	return a, nil
}

func newGinContribRedis(env *Env) (*App, error) {
	d := &Dialer{}
	pool := &redigo.Pool{
		MaxIdle:     poolSize,
		IdleTimeout: time.Minute,
		Dial: func() (redigo.Conn, error) {
			return redigo.Dial("tcp", env.RedisAddr, redigo.DialNetDial(d.Dial))
		},
	}
	store, err := gcredis.NewStoreWithPool(pool, CookieSecret)
	if err != nil {
		_ = pool.Close()
		return nil, err
	}
	a := newGinContrib(store)
	a.RoundTrips = &d.RoundTrips
	a.onClose(func() { _ = pool.Close() })
	return a, nil
}

// alexedwards/scs: net/http middleware around the whole engine; loads
// eagerly, saves by itself after a Put.
type scsAPI struct{ sm *scs.SessionManager }

func (scsAPI) middleware() gin.HandlerFunc { return nil }

func (s scsAPI) get(c *gin.Context, key string) any { return s.sm.Get(c.Request.Context(), key) }

func (s scsAPI) set(c *gin.Context, kv ...any) error {
	ctx := c.Request.Context()
	for i := 0; i+1 < len(kv); i += 2 {
		s.sm.Put(ctx, kv[i].(string), kv[i+1])
	}
	return nil
}

func (s scsAPI) incr(c *gin.Context) error {
	ctx := c.Request.Context()
	s.sm.Put(ctx, "n", s.sm.GetInt(ctx, "n")+1)
	return nil
}

func newSCS(store scs.Store) *App {
	sm := scs.New()
	sm.Store = store
	sm.Lifetime = 24 * time.Hour
	sm.Cookie.Name = CookieName
	return newApp(scsAPI{sm: sm}, sm.LoadAndSave)
}

// newSCSMemstore makes scs's memstore without its cleanup goroutine (which
// runs once a minute, so no benchmark sees it): scs's StopCleanup reads a
// field that the goroutine writes as it starts, a data race when a store is
// closed right after it is made, as the short tests do.
func newSCSMemstore(*Env) (*App, error) {
	return newSCS(scsmem.NewWithCleanupInterval(0)), nil
}

func newSCSRedis(env *Env) (*App, error) {
	d := &Dialer{}
	client := GoredisClient(env, d)
	a := newSCS(goredisstore.New(client))
	a.RoundTrips = &d.RoundTrips
	a.onClose(func() { _ = client.Close() })
	return a, nil
}
