package gincontrib

import (
	"encoding/gob"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	ginsessions "github.com/gin-contrib/sessions"
	gincookie "github.com/gin-contrib/sessions/cookie"
	ginmemcached "github.com/gin-contrib/sessions/memcached"
	ginredis "github.com/gin-contrib/sessions/redis"
	"github.com/gin-gonic/gin"
	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testserver"
)

// Profile is a struct value the legacy program keeps in its session,
// registered with gob as gorilla/sessions requires (and as this program
// must too).
type Profile struct {
	Name  string
	Roles []string
	Since time.Time
}

func init() {
	gob.Register(Profile{})
	gin.SetMode(gin.TestMode)
	// gin-contrib logs every session it cannot load (a record gone) with
	// slog: the tests check what matters without that noise.
	slog.SetDefault(slog.New(slog.DiscardHandler))
}

// Key pairs of the legacy program: hash (authentication) keys of 32 and 64
// bytes, block (encryption) keys of 16 and 32.
var (
	hashA  = []byte("hash-key-A-32-bytes-long-0123456")
	blockA = []byte("block-key-A-16by")
	hashB  = []byte("hash-key-B-that-is-sixty-four-bytes-long-0123456789-0123456789ab")
	blockB = []byte("block-key-B-32-bytes-long-012345")
	hashX  = []byte("hash-key-X-never-used-by-the-app")
)

const cookieName = "mysession"

var since = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// wantValues are the values that login sets under string keys, as Find
// must return them (their Go types included).
func wantValues() map[string]any {
	return map[string]any{
		"user":    "alice",
		"uid":     42,
		"ratio":   0.5,
		"tags":    []string{"a", "b"},
		"profile": Profile{Name: "Alice", Roles: []string{"admin"}, Since: since},
		"error":   []any{"bad password once"}, // a flash of the "error" category: a plain value
	}
}

// wantFlashes are the default-category flashes that login adds.
func wantFlashes() map[string][]any { return map[string][]any{"": {"welcome", 2}} }

// legacyApp is a gin program on gin-contrib/sessions with store under
// cookieName.
//
//	POST /login   sets the values of wantValues and wantFlashes, and a
//	              value under the non-string key 7
//	GET  /whoami  answers the "user" value (empty if none)
//	POST /logout  sets MaxAge -1 and saves: redistore deletes its record
func legacyApp(store ginsessions.Store) *gin.Engine {
	r := gin.New()
	r.Use(ginsessions.Sessions(cookieName, store))
	r.POST("/login", func(c *gin.Context) {
		s := ginsessions.Default(c)
		s.Set("user", "alice")
		s.Set("uid", 42)
		s.Set("ratio", 0.5)
		s.Set("tags", []string{"a", "b"})
		s.Set("profile", Profile{Name: "Alice", Roles: []string{"admin"}, Since: since})
		s.Set(7, "under an int key")
		s.AddFlash("welcome")
		s.AddFlash(2)
		s.AddFlash("bad password once", "error")
		if err := s.Save(); err != nil {
			c.String(http.StatusInternalServerError, err.Error())
			return
		}
		c.Status(http.StatusNoContent)
	})
	r.GET("/whoami", func(c *gin.Context) {
		u, _ := ginsessions.Default(c).Get("user").(string)
		c.String(http.StatusOK, u)
	})
	r.POST("/logout", func(c *gin.Context) {
		s := ginsessions.Default(c)
		s.Options(ginsessions.Options{Path: "/", MaxAge: -1})
		if err := s.Save(); err != nil {
			c.String(http.StatusInternalServerError, err.Error())
			return
		}
		c.Status(http.StatusNoContent)
	})
	return r
}

// do sends one request to h with the cookies given and returns the
// response, failing the test on a 5xx.
func do(t testing.TB, h http.Handler, method, path string, cookies ...*http.Cookie) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, "http://example.test"+path, nil)
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code >= 500 {
		t.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body.String())
	}
	return w.Result()
}

// login logs in on the legacy app and returns its session cookie.
func login(t testing.TB, app http.Handler) *http.Cookie {
	t.Helper()
	c := setCookie(t, do(t, app, "POST", "/login"), cookieName)
	if c == nil {
		t.Fatal("the legacy app set no session cookie at login")
	}
	return c
}

// whoami asks the legacy app who the cookie's session belongs to.
func whoami(t testing.TB, app http.Handler, c *http.Cookie) string {
	t.Helper()
	resp := do(t, app, "GET", "/whoami", c)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// setCookie returns the cookie name that resp sets, or nil.
func setCookie(t testing.TB, resp *http.Response, name string) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// request is a request to the new program that carries cookies.
func request(cookies ...*http.Cookie) *http.Request {
	req := httptest.NewRequest("GET", "http://example.test/", nil)
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return req
}

// servers are a real redis-server and memcached on loopback, with clients.
type servers struct {
	redis    *testserver.Server
	memcache *testserver.Server
	rdb      *goredis.Client
	mc       *memcache.Client
}

func startServers(t testing.TB, memcachedArgs ...string) *servers {
	t.Helper()
	s := &servers{redis: testserver.Redis(t), memcache: testserver.Memcached(t, memcachedArgs...)}
	s.rdb = goredis.NewClient(&goredis.Options{Addr: s.redis.Addr, MaxRetries: -1})
	t.Cleanup(func() { s.rdb.Close() })
	s.mc = memcache.New(s.memcache.Addr)
	s.mc.Timeout = 2 * time.Second
	return s
}

// kind is one of gin-contrib's stores, with the reader of this package for
// it.
type kind struct {
	name string
	// store makes the legacy program's store.
	store func(t testing.TB, keyPairs ...[]byte) ginsessions.Store
	// reader makes the reader for it.
	reader func(keyPairs [][]byte, opts ...Option) sessions.Migrator
	// record returns the key of the record that holds the session ID
	// (empty for the cookie store) and whether it exists.
	record func(t testing.TB, id string) (key string, exists bool)
}

const memcachedPrefix = "gcs:"

func kinds(s *servers) []kind {
	return []kind{
		{
			name:  "cookie",
			store: func(_ testing.TB, kp ...[]byte) ginsessions.Store { return gincookie.NewStore(kp...) },
			reader: func(kp [][]byte, opts ...Option) sessions.Migrator {
				return CookieWith(cookieName, kp, opts...)
			},
			record: func(testing.TB, string) (string, bool) { return "", false },
		},
		{
			name: "redis",
			store: func(t testing.TB, kp ...[]byte) ginsessions.Store {
				st, err := ginredis.NewStore(4, "tcp", s.redis.Addr, "", "", kp...)
				if err != nil {
					t.Fatalf("gin-contrib redis store: %v", err)
				}
				return st
			},
			reader: func(kp [][]byte, opts ...Option) sessions.Migrator {
				return RedisWith(cookieName, s.rdb, kp, opts...)
			},
			record: func(t testing.TB, id string) (string, bool) {
				key := DefaultRedisKeyPrefix + id
				n, err := s.rdb.Exists(t.Context(), key).Result()
				if err != nil {
					t.Fatalf("EXISTS %s: %v", key, err)
				}
				return key, n == 1
			},
		},
		{
			name: "memcached",
			store: func(_ testing.TB, kp ...[]byte) ginsessions.Store {
				return ginmemcached.NewStore(s.mc, memcachedPrefix, kp...)
			},
			reader: func(kp [][]byte, opts ...Option) sessions.Migrator {
				return MemcachedWith(cookieName, s.mc, memcachedPrefix, kp, opts...)
			},
			record: func(t testing.TB, id string) (string, bool) {
				key := memcachedPrefix + id
				_, err := s.mc.Get(key)
				if err == memcache.ErrCacheMiss {
					return key, false
				}
				if err != nil {
					t.Fatalf("get %s: %v", key, err)
				}
				return key, true
			},
		},
	}
}

// withClock has a reader judge ages on now instead of time.Now.
func withClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// pairs is keyPairs as a slice.
func pairs(kp ...[]byte) [][]byte { return kp }
