package gincontrib_test

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/gin-gonic/gin"
	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionware/sessions/gincontrib"
	"github.com/sessionware/sessions/gincontrib/cookie"
	"github.com/sessionware/sessions/gincontrib/internal/compat/after"
	"github.com/sessionware/sessions/gincontrib/internal/compat/before"
	"github.com/sessionware/sessions/gincontrib/memcached"
	"github.com/sessionware/sessions/gincontrib/redis"
	"github.com/sessionware/sessions/internal/testapp"
	"github.com/sessionware/sessions/internal/testserver"
)

// TestTheSameCode: the program of package after is the program of
// package before, written for gin-contrib, with only its package clause
// and its import paths changed.
func TestTheSameCode(t *testing.T) {
	body := func(path string) string {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, rest, ok := strings.Cut(string(src), "\n)\n") // the end of the import block
		if !ok {
			t.Fatalf("%s has no import block", path)
		}
		return rest
	}
	b, a := body("internal/compat/before/app.go"), body("internal/compat/after/app.go")
	if b != a {
		t.Error("the program's code differs beyond its imports")
	}
	if !strings.Contains(b, "sessions.Default(c)") || len(b) < 2000 {
		t.Errorf("the compared code is not the program: %q", b)
	}
}

// compatConfigs returns the old program's configuration for each store
// that gin-contrib kept sessions in across a restart, on a real
// redis-server and memcached: a signed and encrypted pair for the cookie
// and redis stores, a signed-only one for memcached.
func compatConfigs(t *testing.T) []before.Config {
	rs, ms := testserver.Redis(t), testserver.Memcached(t)
	signed := [][]byte{[]byte("the-hash-key-of-the-program-32+bytes")}
	encrypted := [][]byte{[]byte("the-hash-key-of-the-program-32+bytes"), []byte("0123456789abcdef0123456789abcdef")}
	return []before.Config{
		{Store: "cookie", KeyPairs: encrypted},
		{Store: "redis", Addr: rs.Addr, KeyPrefix: "myapp_", KeyPairs: encrypted},
		{Store: "memcached", Addr: ms.Addr, KeyPrefix: "myapp_", KeyPairs: signed},
	}
}

// serve returns a function that serves a program's handler, or fails the
// test with the program's error.
func serve(t *testing.T) func(h *gin.Engine, err error) *testapp.App {
	return func(h *gin.Engine, err error) *testapp.App {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return testapp.New(t, h)
	}
}

// TestUsersCarryOnAfterTheSwitch: a user logs in on the program built
// with gin-contrib; the program is rebuilt with the drop-in (the same
// code, the same key pairs, the same store) and the user is still logged
// in, with every value of the session as gin-contrib kept it (a struct
// included) and the flashes of both categories. A logout then ends the
// session for good: replaying the old cookie gets nothing, from the new
// program and (redis, memcached: the legacy record is deleted) from the
// old one. gin-contrib's cookie store kept nothing on the server, so
// there a copy of the old cookie works, on both, until it expires, as it
// did with gin-contrib.
func TestUsersCarryOnAfterTheSwitch(t *testing.T) {
	for _, cfg := range compatConfigs(t) {
		t.Run(cfg.Store, func(t *testing.T) {
			old := serve(t)(before.New(cfg))
			browser := old.Browser // one cookie jar for both programs (same host)
			browser.Expect("POST", "/login?user=alice&name=Alice", 200, "logged in")
			legacyCookie := browser.Cookie("mysession")

			drop := serve(t)(after.New(after.Config(cfg)))
			browser.Expect("GET", drop.URL+"/me", 200,
				"alice {Name:Alice Admin:true} visits=2 cart=map[apple:2] flashes=[welcome] info=[check your email]")
			if now := browser.Cookie("mysession"); now == legacyCookie || now == "" {
				t.Fatalf("the browser's cookie is still gin-contrib's")
			}
			browser.Expect("GET", drop.URL+"/me", 200, "alice {Name:Alice Admin:true} visits=3 cart=map[apple:2] flashes=[] info=[]")
			browser.Expect("POST", drop.URL+"/logout", 200, "logged out")
			browser.Expect("GET", drop.URL+"/me", 401, "not logged in")

			want, status := "not logged in", 401
			if cfg.Store == "cookie" {
				want, status = "alice {Name:Alice Admin:true} visits=2 cart=map[apple:2] flashes=[welcome] info=[check your email]", 200
			}
			stranger := drop.Stranger()
			stranger.Expect("GET", "/me", status, want, testapp.WithCookie("mysession", legacyCookie))
			stranger.Expect("GET", old.URL+"/me", status, want, testapp.WithCookie("mysession", legacyCookie))
		})
	}
}

// TestRollingDeploy: with MigrateFrom, the drop-in program uses a new
// cookie name and reads gin-contrib's sessions from the old one, which it
// leaves in the browser: while old and new instances serve side by side,
// the user stays logged in on both. A logout on a new instance ends the
// legacy session too (its record deleted, its cookie expired), so the old
// instances log the user out as well.
func TestRollingDeploy(t *testing.T) {
	for _, cfg := range compatConfigs(t) {
		t.Run(cfg.Store, func(t *testing.T) {
			old := serve(t)(before.New(cfg))
			var store gincontrib.Store
			switch cfg.Store {
			case "cookie":
				store = cookie.NewStore(cfg.KeyPairs...)
			case "redis":
				rdb := goredis.NewClient(&goredis.Options{Addr: cfg.Addr})
				t.Cleanup(func() { rdb.Close() })
				s, err := redis.NewStoreWithClient(rdb, cfg.KeyPairs...)
				if err != nil {
					t.Fatal(err)
				}
				if err := redis.SetKeyPrefix(s, cfg.KeyPrefix); err != nil {
					t.Fatal(err)
				}
				store = s
			case "memcached":
				store = memcached.NewStore(memcache.New(cfg.Addr), cfg.KeyPrefix, cfg.KeyPairs...)
			}
			drop := testapp.NewGin(t, func(r *gin.Engine) {
				r.Use(gincontrib.Sessions("session", gincontrib.MigrateFrom(store, "mysession")))
				r.GET("/me", func(c *gin.Context) {
					s := gincontrib.Default(c)
					user, ok := s.Get("user").(string)
					if !ok {
						c.String(http.StatusUnauthorized, "not logged in")
						return
					}
					c.String(200, "%s %+v", user, s.Get("profile"))
				})
				r.POST("/logout", func(c *gin.Context) {
					s := gincontrib.Default(c)
					s.Clear()
					s.Options(gincontrib.Options{MaxAge: -1})
					c.String(200, "logged out")
				})
			})
			browser := old.Browser
			browser.Expect("POST", "/login?user=alice&name=Alice", 200, "logged in")
			browser.Expect("GET", drop.URL+"/me", 200, "alice {Name:Alice Admin:true}")
			if browser.Cookie("mysession") == "" || browser.Cookie("session") == "" {
				t.Fatal("the browser does not hold both cookies")
			}
			browser.Expect("GET", old.URL+"/me", 200, "alice {Name:Alice Admin:true} visits=2 cart=map[apple:2] flashes=[welcome] info=[check your email]")
			browser.Expect("GET", drop.URL+"/me", 200, "alice {Name:Alice Admin:true}")
			browser.Expect("POST", drop.URL+"/logout", 200, "logged out")
			browser.Expect("GET", drop.URL+"/me", 401, "not logged in")
			browser.Expect("GET", old.URL+"/me", 401, "not logged in")
		})
	}
}
