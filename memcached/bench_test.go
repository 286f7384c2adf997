package memcached_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/memcached"
)

// The benchmarks run against a real local memcached, in-process through
// httptest (no HTTP sockets), with one session of two keys. The Raw*
// benchmarks are the floor, measured in the same run: one gomemcache
// round trip per command, on a value the size of the benchmark session.

// benchEngine is the app of the benchmarks.
func benchEngine(store sessions.Store) *gin.Engine {
	r := gin.New()
	if store != nil {
		r.Use(sessions.Sessions("sid", store))
	}
	r.GET("/bare", func(c *gin.Context) { c.String(200, "hi") })
	r.GET("/untouched", func(c *gin.Context) { c.String(200, "hi") })
	r.GET("/read", func(c *gin.Context) {
		s := sessions.Default(c)
		c.String(200, "%v", s.Get("user"))
	})
	r.POST("/write", func(c *gin.Context) {
		sessions.Default(c).Update("n", func(old any) any { n, _ := old.(int); return n + 1 })
		c.String(200, "ok")
	})
	r.POST("/new", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("user", "alice")
		s.Set("n", 1)
		c.String(200, "ok")
	})
	return r
}

// serve runs one request and fails b unless it is answered 200.
func serve(b *testing.B, h http.Handler, method, path, cookie string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 {
		b.Fatalf("%s %s = %d %s", method, path, w.Code, w.Body)
	}
	return w
}

// newSession creates a session of two keys and returns its cookie.
func newSession(b *testing.B, h http.Handler) string {
	w := serve(b, h, "POST", "/new", "")
	c, _, _ := strings.Cut(w.Header().Get("Set-Cookie"), ";")
	if !strings.HasPrefix(c, "sid=") {
		b.Fatalf("no session cookie: %q", w.Header().Values("Set-Cookie"))
	}
	return c
}

type benchEnv struct {
	srv    *testserver.Server
	raw    *memcache.Client // gomemcache as it comes, for the floor
	store  *memcached.Store
	engine *gin.Engine
	value  []byte // a stored session's size
}

func setup(b *testing.B, opts ...memcached.Option) *benchEnv {
	b.Helper()
	gin.SetMode(gin.ReleaseMode)
	srv := testserver.Memcached(b)
	store, err := memcached.Open([]string{srv.Addr}, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = store.Client().Close() })
	raw := memcache.New(srv.Addr)
	raw.MaxIdleConns = memcached.DefaultMaxIdleConns
	b.Cleanup(func() { _ = raw.Close() })
	return &benchEnv{
		srv: srv, raw: raw, store: store, engine: benchEngine(store),
		value: []byte(strings.Repeat("x", 60)), // about the size of the benchmark session
	}
}

func BenchmarkRawGet(b *testing.B) {
	env := setup(b)
	if err := env.raw.Set(&memcache.Item{Key: "raw", Value: env.value, Expiration: 600}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := env.raw.Get("raw"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawSet(b *testing.B) {
	env := setup(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := env.raw.Set(&memcache.Item{Key: "raw", Value: env.value, Expiration: 600}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawGetCAS is the floor of a write request: load, then cas.
func BenchmarkRawGetCAS(b *testing.B) {
	env := setup(b)
	if err := env.raw.Set(&memcache.Item{Key: "raw", Value: env.value, Expiration: 600}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		it, err := env.raw.Get("raw")
		if err != nil {
			b.Fatal(err)
		}
		if err := env.raw.CompareAndSwap(it); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareGin is a Gin handler without sessions.
func BenchmarkBareGin(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	h := benchEngine(nil)
	b.ReportAllocs()
	for b.Loop() {
		serve(b, h, "GET", "/bare", "")
	}
}

// BenchmarkRead is a request that reads its session: one gets.
func BenchmarkRead(b *testing.B) {
	env := setup(b)
	cookie := newSession(b, env.engine)
	b.ReportAllocs()
	for b.Loop() {
		serve(b, env.engine, "GET", "/read", cookie)
	}
}

// BenchmarkWrite is a request that updates its session: gets, then cas.
func BenchmarkWrite(b *testing.B) {
	env := setup(b)
	cookie := newSession(b, env.engine)
	b.ReportAllocs()
	for b.Loop() {
		serve(b, env.engine, "POST", "/write", cookie)
	}
}

// BenchmarkNew is a request that starts a session of two keys: one add.
func BenchmarkNew(b *testing.B) {
	env := setup(b)
	b.ReportAllocs()
	for b.Loop() {
		serve(b, env.engine, "POST", "/new", "")
	}
}

// BenchmarkUntouched carries a session cookie to a handler that does not
// use the session: no round trip at all.
func BenchmarkUntouched(b *testing.B) {
	env := setup(b)
	cookie := newSession(b, env.engine)
	b.ReportAllocs()
	for b.Loop() {
		serve(b, env.engine, "GET", "/untouched", cookie)
	}
}

// parallel runs 64 goroutines (on 2 cores: SetParallelism(32)), each with
// its own session, and reports requests per second.
func parallel(b *testing.B, h http.Handler, method, path string) {
	b.SetParallelism(max(1, 64/runtimeProcs()))
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		cookie := newSession(b, h)
		for pb.Next() {
			serve(b, h, method, path, cookie)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

func BenchmarkParallelRead(b *testing.B) {
	env := setup(b)
	parallel(b, env.engine, "GET", "/read")
}

func BenchmarkParallelWrite(b *testing.B) {
	env := setup(b)
	parallel(b, env.engine, "POST", "/write")
}

// BenchmarkParallelIdleConns compares gomemcache's default of 2 idle
// connections per server with this package's default under 64 concurrent
// read requests over real HTTP (keep-alive, loopback), as a load generator
// would send them. Between two requests a server goroutine holds no
// memcached connection, so more than 2 are idle at once: with 2, every
// connection beyond the second is closed after use and dialled again
// (dials/op), each close leaving a socket in TIME_WAIT.
func BenchmarkParallelIdleConns(b *testing.B) {
	for _, n := range []int{memcache.DefaultMaxIdleConns, memcached.DefaultMaxIdleConns} {
		b.Run(fmt.Sprintf("idle=%d", n), func(b *testing.B) {
			gin.SetMode(gin.ReleaseMode)
			srv := testserver.Memcached(b)
			store, err := memcached.Open([]string{srv.Addr}, memcached.WithMaxIdleConns(n))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = store.Close() })
			engine := benchEngine(store)
			web := httptest.NewServer(engine)
			b.Cleanup(web.Close)
			tr := &http.Transport{MaxIdleConnsPerHost: 64}
			b.Cleanup(tr.CloseIdleConnections)
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			cookie := newSession(b, engine)
			dials := countDials(store.Client())
			b.SetParallelism(max(1, 64/runtimeProcs()))
			b.ReportAllocs()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", web.URL+"/read", nil)
					req.Header.Set("Cookie", cookie)
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("GET /read = %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
			b.ReportMetric(float64(dials.Load())/float64(b.N), "dials/op")
		})
	}
}

// countDials makes client count the connections it opens.
func countDials(client *memcache.Client) *atomic.Int64 {
	var n atomic.Int64
	client.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		n.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	return &n
}

// BenchmarkRawParallelGet is the parallel floor: 64 goroutines doing raw
// Gets with this package's idle connection default.
func BenchmarkRawParallelGet(b *testing.B) {
	env := setup(b)
	if err := env.raw.Set(&memcache.Item{Key: "raw", Value: env.value, Expiration: 600}); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(max(1, 64/runtimeProcs()))
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := env.raw.Get("raw"); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkVsFloor measures a session request and its floor alternately in
// the same loop, so that noise from other processes hits both alike (ns/op
// counts both): read
// against one raw Get plus the bare Gin handler, write against a raw Get
// plus CAS plus the bare Gin handler. It reports both, and the overhead.
func BenchmarkVsFloor(b *testing.B) {
	for _, tc := range []struct {
		name, method, path string
		floor              func(b *testing.B, env *benchEnv)
	}{
		{"read", "GET", "/read", func(b *testing.B, env *benchEnv) {
			if _, err := env.raw.Get("raw"); err != nil {
				b.Fatal(err)
			}
		}},
		{"write", "POST", "/write", func(b *testing.B, env *benchEnv) {
			it, err := env.raw.Get("raw")
			if err != nil {
				b.Fatal(err)
			}
			if err := env.raw.CompareAndSwap(it); err != nil {
				b.Fatal(err)
			}
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			env := setup(b)
			if err := env.raw.Set(&memcache.Item{Key: "raw", Value: env.value, Expiration: 600}); err != nil {
				b.Fatal(err)
			}
			bare := benchEngine(nil)
			cookie := newSession(b, env.engine)
			var floor, req time.Duration
			for i := 0; b.Loop(); i++ {
				// Alternate which goes first: the second of two round
				// trips in a row finds memcached's thread awake.
				for j := range 2 {
					t0 := time.Now()
					if (i+j)%2 == 0 {
						tc.floor(b, env)
						serve(b, bare, "GET", "/bare", "")
						floor += time.Since(t0)
					} else {
						serve(b, env.engine, tc.method, tc.path, cookie)
						req += time.Since(t0)
					}
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(floor)/n, "floor-ns/op")
			b.ReportMetric(float64(req)/n, "request-ns/op")
			b.ReportMetric(float64(req-floor)/n, "overhead-ns/op")
			b.ReportMetric(100*float64(req-floor)/float64(floor), "overhead-%")
		})
	}
}

// BenchmarkStoreVsRaw isolates this package's cost from the middleware's:
// Store.Load against a raw Get, and Store.Load plus Save against a raw Get
// plus CAS, alternated in the same loop.
func BenchmarkStoreVsRaw(b *testing.B) {
	ctx := context.Background()
	for _, tc := range []struct {
		name       string
		raw, store func(b *testing.B, env *benchEnv)
	}{
		{"read", func(b *testing.B, env *benchEnv) {
			if _, err := env.raw.Get("raw"); err != nil {
				b.Fatal(err)
			}
		}, func(b *testing.B, env *benchEnv) {
			if _, err := env.store.Load(ctx, "k"); err != nil {
				b.Fatal(err)
			}
		}},
		{"write", func(b *testing.B, env *benchEnv) {
			it, err := env.raw.Get("raw")
			if err != nil {
				b.Fatal(err)
			}
			if err := env.raw.CompareAndSwap(it); err != nil {
				b.Fatal(err)
			}
		}, func(b *testing.B, env *benchEnv) {
			r, err := env.store.Load(ctx, "k")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := env.store.Save(ctx, "k", r.Data, r.Version, time.Hour); err != nil {
				b.Fatal(err)
			}
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			env := setup(b)
			if err := env.raw.Set(&memcache.Item{Key: "raw", Value: env.value, Expiration: 600}); err != nil {
				b.Fatal(err)
			}
			if _, err := env.store.Save(ctx, "k", env.value, 0, time.Hour); err != nil {
				b.Fatal(err)
			}
			var raw, store time.Duration
			for i := 0; b.Loop(); i++ {
				for j := range 2 {
					t0 := time.Now()
					if (i+j)%2 == 0 {
						tc.raw(b, env)
						raw += time.Since(t0)
					} else {
						tc.store(b, env)
						store += time.Since(t0)
					}
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(raw)/n, "raw-ns/op")
			b.ReportMetric(float64(store)/n, "store-ns/op")
			b.ReportMetric(float64(store-raw)/n, "overhead-ns/op")
		})
	}
}

// BenchmarkLoadSave is Store.Load plus Save of one session on a store of
// one server and of three (rendezvous routing with ejection, every server
// up), with a context without a deadline and with one far enough that
// commands go from the caller's goroutine: the healthy path allocates no
// more with three servers or a deadline.
func BenchmarkLoadSave(b *testing.B) {
	far, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	for _, tc := range []struct {
		n   int
		ctx context.Context
	}{{1, context.Background()}, {3, context.Background()}, {3, far}} {
		n, ctx := tc.n, tc.ctx
		_, deadline := ctx.Deadline()
		b.Run(fmt.Sprintf("servers=%d/deadline=%v", n, deadline), func(b *testing.B) {
			var addrs []string
			for range n {
				addrs = append(addrs, testserver.Memcached(b).Addr)
			}
			store, err := memcached.Open(addrs)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = store.Close() })
			value := []byte(strings.Repeat("x", 60))
			if _, err := store.Save(ctx, "k", value, 0, time.Hour); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				r, err := store.Load(ctx, "k")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := store.Save(ctx, "k", r.Data, r.Version, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
