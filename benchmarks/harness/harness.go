// Package harness holds what the benchmarks, the latency harness and the
// lost-update count share: the table of backends (ours and the peers'), the
// request shapes, the routes every backend serves, and the memcached and
// redis-server processes they run against.
//
// Adding a backend is one row in the table of backends.go.
package harness

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/gin-gonic/gin"
)

// Family groups a backend with the peers it is compared to.
type Family string

// The families: where the session data lives.
const (
	Bare      Family = "bare" // no session middleware: the baseline
	Memory    Family = "memory"
	Cookie    Family = "cookie"
	Memcached Family = "memcached"
	Redis     Family = "redis"
)

// Families lists the families in report order.
var Families = []Family{Bare, Memory, Cookie, Memcached, Redis}

// Backend is one row of the table: a session implementation on one kind of
// store.
type Backend struct {
	// Name is the benchstat-friendly label: backend=Name.
	Name string
	// Family is where the data lives; ours is compared to the peers of its
	// family.
	Family Family
	// Ours is true for sessionware's own backends.
	Ours bool
	// Prototype is true for our middleware on a store that is not in the
	// library (a candidate): reported beside ours, never as ours nor as
	// a peer.
	Prototype bool
	// Note says how the backend is configured, for the report.
	Note string
	// New builds the backend's app against the servers in env.
	New func(env *Env) (*App, error)
}

// CookieName is the session cookie's name for every backend.
const CookieName = "session"

// CookieSecret is the 32-byte key every cookie-signing or -sealing store
// gets (random-looking bytes: cookie.New refuses a printable password).
var CookieSecret = func() []byte {
	k := sha256.Sum256([]byte("sessionware benchmarks"))
	return k[:]
}()

// Shape is one kind of request.
type Shape struct {
	Name   string
	Method string
	Path   string
	// Session is the session the request carries: "" none, "small" (two
	// keys: user, n) or "large" (the two keys and 16 strings of 128 bytes,
	// about 2 KB of values).
	Session string
	// Mode is how the benchmark sends the requests. Default Serial.
	Mode Mode
}

// Mode is how a shape's requests are sent.
type Mode int

// The modes.
const (
	// Serial sends one request at a time, on one session.
	Serial Mode = iota
	// Parallel runs under b.RunParallel, one session per goroutine, as for
	// separate browsers.
	Parallel
	// Hot has HotClients goroutines send the requests at once, all on one
	// session: the cookie of the latest response, as one browser's tabs
	// share it.
	Hot
)

// HotClients is how many goroutines share the session of a Hot shape.
const HotClients = 64

// Shapes are the request shapes every backend is timed on, in report
// order.
var Shapes = []Shape{
	{Name: "untouched", Method: http.MethodGet, Path: "/untouched", Session: "small"},
	{Name: "read", Method: http.MethodGet, Path: "/read", Session: "small"},
	{Name: "write", Method: http.MethodPost, Path: "/write", Session: "small"},
	{Name: "new", Method: http.MethodPost, Path: "/new"},
	{Name: "large-read", Method: http.MethodGet, Path: "/large-read", Session: "large"},
	{Name: "large-write", Method: http.MethodPost, Path: "/large-write", Session: "large"},
	{Name: "parallel-read", Method: http.MethodGet, Path: "/read", Session: "small", Mode: Parallel},
	{Name: "parallel-write", Method: http.MethodPost, Path: "/write", Session: "small", Mode: Parallel},
	// hot: each request adds one to the session's counter (ours with
	// Update, the peers by get-then-set), HotClients at once.
	{Name: "hot", Method: http.MethodPost, Path: "/incr", Session: "small", Mode: Hot},
}

// ShapeByName returns the shape called name.
func ShapeByName(name string) (Shape, bool) {
	for _, s := range Shapes {
		if s.Name == name {
			return s, true
		}
	}
	return Shape{}, false
}

// LargeKeys is how many 128-byte strings a large session holds.
const LargeKeys = 16

// LargeValues are the values under the large keys: 128 characters of
// base64 of pseudo-random bytes each, as tokens and IDs are, so that no
// backend gets them cheaper by compressing.
var LargeValues = func() []string {
	rng := rand.New(rand.NewPCG(1, 2))
	vs := make([]string, LargeKeys)
	for i := range vs {
		b := make([]byte, 96)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		vs[i] = base64.StdEncoding.EncodeToString(b)
	}
	return vs
}()

// LargeReadKey is the key that the large-read shape reads.
const LargeReadKey = "k07"

// api is how the shared handlers reach one implementation's session.
type api interface {
	// middleware returns the Gin middleware, or nil (scs wraps the engine
	// instead; bare has none).
	middleware() gin.HandlerFunc
	get(c *gin.Context, key string) any
	// set stores the key/value pairs (and saves, where the peer needs a
	// Save).
	set(c *gin.Context, kv ...any) error
	// incr adds one to the int under "n", the store's idiomatic way.
	incr(c *gin.Context) error
}

// App is one backend ready to serve.
type App struct {
	Backend *Backend
	// Handler serves the routes.
	Handler http.Handler
	// RoundTrips counts the request/response exchanges with memcached or
	// redis (nil for in-process stores).
	RoundTrips *atomic.Int64
	closers    []func()
	written    atomic.Int64
}

// Close releases the app's store and clients.
func (a *App) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

func (a *App) onClose(f func()) { a.closers = append(a.closers, f) }

// newApp builds the engine with the shared routes over s.
func newApp(s api, wrap func(http.Handler) http.Handler) *App {
	gin.SetMode(gin.ReleaseMode)
	a := &App{}
	r := gin.New()
	if mw := s.middleware(); mw != nil {
		r.Use(mw)
	}
	fail := func(c *gin.Context, err error) {
		c.String(http.StatusInternalServerError, err.Error())
	}
	r.POST("/seed", func(c *gin.Context) {
		kv := []any{"user", "alice", "n", 0}
		if c.Query("large") != "" {
			for i := range LargeKeys {
				kv = append(kv, fmt.Sprintf("k%02d", i), LargeValues[i])
			}
		}
		if err := s.set(c, kv...); err != nil {
			fail(c, err)
			return
		}
		c.String(http.StatusOK, "ok")
	})
	r.GET("/untouched", func(c *gin.Context) {
		c.String(http.StatusOK, "ok")
	})
	read := func(key string) gin.HandlerFunc {
		return func(c *gin.Context) {
			v, _ := s.get(c, key).(string)
			c.String(http.StatusOK, v)
		}
	}
	r.GET("/read", read("user"))
	r.GET("/large-read", read(LargeReadKey))
	write := func(c *gin.Context) {
		if err := s.set(c, "n", int(a.written.Add(1))); err != nil {
			fail(c, err)
			return
		}
		c.String(http.StatusOK, "ok")
	}
	r.POST("/write", write)
	r.POST("/large-write", write)
	r.POST("/new", func(c *gin.Context) {
		if err := s.set(c, "user", "alice"); err != nil {
			fail(c, err)
			return
		}
		c.String(http.StatusOK, "ok")
	})
	r.POST("/incr", func(c *gin.Context) {
		if err := s.incr(c); err != nil {
			fail(c, err)
			return
		}
		c.String(http.StatusOK, "ok")
	})
	r.GET("/count", func(c *gin.Context) {
		c.String(http.StatusOK, strconv.Itoa(toInt(s.get(c, "n"))))
	})
	a.Handler = r
	if wrap != nil {
		a.Handler = wrap(r)
	}
	return a
}

func toInt(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return 0
}

// Seed creates a session through h (in process) and returns the Cookie
// header that carries it. kind is "small" or "large".
func Seed(h http.Handler, kind string) (string, error) {
	target := "/seed"
	if kind == "large" {
		target += "?large=1"
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, target, nil))
	if rec.Code != http.StatusOK {
		return "", fmt.Errorf("seed: status %d: %s", rec.Code, rec.Body.String())
	}
	cookie := CookieFrom(rec.Result().Cookies())
	if cookie == "" {
		return "", errors.New("seed: no session cookie in the response")
	}
	return cookie, nil
}

// CookieFrom returns the Cookie header for the session cookie among cs, or
// "" if there is none (or it deletes the cookie).
func CookieFrom(cs []*http.Cookie) string {
	var v string
	for _, c := range cs {
		if c.Name == CookieName {
			v = ""
			if c.MaxAge >= 0 && c.Value != "" {
				v = c.Name + "=" + c.Value
			}
		}
	}
	return v
}

// Request returns a request of shape sh carrying cookie (if the shape
// carries a session). Benchmarks copy it (a shallow copy) for every
// request: gorilla/sessions stores its registry in the request.
func Request(sh Shape, cookie string) *http.Request {
	r := httptest.NewRequest(sh.Method, sh.Path, nil)
	if sh.Session != "" && cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return r
}

// TooLarge reports whether err is a peer's refusal of a session too large
// for its encoding (gorilla/securecookie's 4096-byte limit, which
// gin-contrib applies to cookies and to memcached values alike).
func TooLarge(err error) bool {
	return err != nil && strings.Contains(err.Error(), "too long")
}

// Open builds the backend's app against the servers in env.
func (b *Backend) Open(env *Env) (*App, error) {
	a, err := b.New(env)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name, err)
	}
	a.Backend = b
	return a, nil
}
