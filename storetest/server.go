package storetest

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testapp"
)

// server is a Gin app over real HTTP, with handlers that exercise a
// session, in front of a new backend.
type server struct {
	*testapp.App
	clock  *Clock    // the middleware's: the suite's, or one of the server's own
	count  *counting // nil for a Sealer
	sealed bool

	// The /hold handler parks here once it has changed the session.
	gate *testapp.Gate
}

const cookieName = "sid"

func (s *suite) newServer(t *testing.T, opts ...sessions.Option) *server {
	backend := s.newBackend(t)
	srv := &server{clock: s.clock, sealed: s.sealed, gate: testapp.NewGate()}
	if srv.clock == nil {
		srv.clock = NewClock()
	}
	if !s.sealed {
		srv.count = &counting{Store: backend.(sessions.Store)}
		backend = srv.count
		if s.toucher {
			backend = countingToucher{srv.count}
		}
	}
	opts = append([]sessions.Option{sessions.WithClock(srv.clock.Now)}, opts...)
	srv.App = testapp.NewGin(t, func(r *gin.Engine) {
		r.Use(sessions.Sessions(cookieName, backend, opts...))
		r.GET("/untouched", func(c *gin.Context) { c.String(200, "hi") })
		r.GET("/get/:key", func(c *gin.Context) {
			v := sessions.Default(c).Get(c.Param("key"))
			c.String(200, "%v", v)
		})
		r.POST("/set/:key/:value", func(c *gin.Context) {
			sessions.Default(c).Set(c.Param("key"), c.Param("value"))
			c.String(200, "ok")
		})
		r.POST("/cart/:item", func(c *gin.Context) {
			s := sessions.Default(c)
			cart, _ := s.Get("cart").(map[string]int)
			if cart == nil {
				s.Set("cart", map[string]int{c.Param("item"): 1})
			} else {
				cart[c.Param("item")]++ // in place, no Set
			}
			c.String(200, "ok")
		})
		r.GET("/cart", func(c *gin.Context) {
			cart, _ := sessions.Get[map[string]int](sessions.Default(c), "cart")
			c.JSON(200, cart)
		})
		r.POST("/incr", func(c *gin.Context) {
			sessions.Default(c).Update("n", add(1))
			c.String(200, "ok")
		})
		r.POST("/hold", func(c *gin.Context) {
			s := sessions.Default(c)
			s.Update("n", add(10))
			s.Set("held", "yes")
			srv.gate.Park()
			c.String(200, "ok")
		})
		r.POST("/flash/:msg", func(c *gin.Context) {
			sessions.Default(c).AddFlash(c.Param("msg"))
			c.String(200, "ok")
		})
		r.GET("/flashes", func(c *gin.Context) { c.String(200, "%v", sessions.Default(c).Flashes()) })
		r.POST("/flash/:msg/:category", func(c *gin.Context) {
			sessions.Default(c).AddFlash(c.Param("msg"), c.Param("category"))
			c.String(200, "ok")
		})
		r.GET("/flashes/:category", func(c *gin.Context) {
			c.String(200, "%v", sessions.Default(c).Flashes(c.Param("category")))
		})
		r.POST("/login/:user", func(c *gin.Context) {
			s := sessions.Default(c)
			s.Renew()
			if err := s.SetOwner(c.Param("user")); err != nil {
				c.String(500, "%v", err)
				return
			}
			s.Set("user", c.Param("user"))
			c.String(200, "ok")
		})
		r.GET("/devices", func(c *gin.Context) {
			devices, err := sessions.Default(c).Devices()
			if err != nil {
				c.String(500, "%v", err)
				return
			}
			c.JSON(200, gin.H{"devices": devices})
		})
		r.POST("/revoke-others", func(c *gin.Context) {
			n, err := sessions.Default(c).RevokeOthers()
			if err != nil {
				c.String(500, "%v", err)
				return
			}
			c.String(200, "%d", n)
		})
		r.POST("/revoke/:handle", func(c *gin.Context) {
			ok, err := sessions.Default(c).RevokeDevice(c.Param("handle"))
			if err != nil {
				c.String(500, "%v", err)
				return
			}
			c.String(200, "%v", ok)
		})
		r.POST("/remember/:on", func(c *gin.Context) {
			sessions.Default(c).RememberMe(c.Param("on") == "yes")
			c.String(200, "ok")
		})
		r.POST("/lifetime/:d", func(c *gin.Context) {
			d, err := time.ParseDuration(c.Param("d"))
			if err != nil {
				c.String(400, "%v", err)
				return
			}
			sessions.Default(c).SetLifetime(d)
			c.String(200, "ok")
		})
		r.POST("/clear", func(c *gin.Context) { sessions.Default(c).Clear(); c.String(200, "ok") })
		r.POST("/renew", func(c *gin.Context) { sessions.Default(c).Renew(); c.String(200, "ok") })
		r.POST("/destroy", func(c *gin.Context) { sessions.Default(c).Destroy(); c.String(200, "ok") })
		r.GET("/id", func(c *gin.Context) { c.String(200, sessions.Default(c).ID()) })
		r.GET("/keys", func(c *gin.Context) { c.String(200, strings.Join(sessions.Default(c).Keys(), ",")) })
	})
	return srv
}

// add returns an Update function that adds n to an int.
func add(n int) func(any) any {
	return func(old any) any { v, _ := old.(int); return v + n }
}

// calls is the number of store calls so far (0 for a Sealer).
func (srv *server) calls() int64 {
	if srv.count == nil {
		return 0
	}
	return srv.count.calls()
}

// read GETs /get/key with c, which must answer want, and reports whether
// the request wrote the session: a Save or Touch for a Store, a cookie for
// a Sealer.
func (srv *server) read(t *testing.T, c *testapp.Browser, key, want string) (wrote bool) {
	t.Helper()
	var before int64
	if srv.count != nil {
		before = srv.count.writes()
	}
	resp := c.Expect("GET", "/get/"+key, 200, want)
	if srv.sealed {
		_, set := testapp.SetCookie(resp, cookieName)
		return set
	}
	return srv.count.writes() > before
}

// whileHeld sends POST /hold with c's cookies in the background. Once its
// handler has loaded and changed the session, and waits, whileHeld runs
// meanwhile; then it lets the held request commit, last, and checks its
// answer. Two requests of one session overlap for certain, with no sleep.
func (srv *server) whileHeld(t *testing.T, c *testapp.Browser, meanwhile func()) {
	t.Helper()
	if resp, body := c.While(srv.gate, "POST", "/hold", meanwhile); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("the held request = %d %q, want 200 %q", resp.StatusCode, body, "ok")
	}
}

// counting wraps a Store and counts its calls.
type counting struct {
	sessions.Store
	loads, saves, deletes, touches atomic.Int64
	lastTTL                        atomic.Int64 // of the last Save
}

func (c *counting) Load(ctx context.Context, key string) (sessions.Record, error) {
	c.loads.Add(1)
	return c.Store.Load(ctx, key)
}

func (c *counting) Save(ctx context.Context, key string, data []byte, version uint64, ttl time.Duration) (uint64, error) {
	c.saves.Add(1)
	c.lastTTL.Store(int64(ttl))
	return c.Store.Save(ctx, key, data, version, ttl)
}

func (c *counting) Delete(ctx context.Context, key string) error {
	c.deletes.Add(1)
	return c.Store.Delete(ctx, key)
}

func (c *counting) calls() int64 {
	return c.loads.Load() + c.saves.Load() + c.deletes.Load() + c.touches.Load()
}

func (c *counting) writes() int64 { return c.saves.Load() + c.touches.Load() }

// countingToucher is counting for a Store that is a Toucher.
type countingToucher struct{ *counting }

func (c countingToucher) Touch(ctx context.Context, key string, ttl time.Duration, at time.Time) error {
	c.touches.Add(1)
	return c.Store.(sessions.Toucher).Touch(ctx, key, ttl, at)
}
