package redis_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/redis"
)

// Benchmarks run requests through a Gin engine in process against a real
// redis-server on loopback. The Raw benchmarks are the floor: the go-redis
// commands a request needs (one HMGET to read; HMGET and the save script to
// write), without the middleware.

// benchWriter is a reusable http.ResponseWriter that keeps only the status
// and the session cookie.
type benchWriter struct {
	h      http.Header
	status int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *benchWriter) WriteHeader(code int)        { w.status = code }
func (w *benchWriter) reset()                      { clear(w.h); w.status = 200 }

func benchSetup(b *testing.B) (*goredis.Client, *gin.Engine) {
	b.Helper()
	srv := testserver.Redis(b)
	client := newClient(b, srv.Addr, func(o *goredis.Options) { o.PoolSize = 64 })
	return client, benchEngine(redis.New(client))
}

// benchSetupURL serves the benchmarks' routes from a store made by Open
// from the URL of a fresh redis-server and the query given, as a program
// configures it (go-redis honouring the context's deadline, Open's
// timeouts).
func benchSetupURL(b *testing.B, query string) *gin.Engine {
	b.Helper()
	srv := testserver.Redis(b)
	s, err := redis.Open("redis://" + srv.Addr + "?pool_size=64" + query)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return benchEngine(s)
}

// benchEngine serves the benchmarks' routes from store.
func benchEngine(store sessions.Store) *gin.Engine {
	r := gin.New()
	r.Use(sessions.Sessions("sid", store, sessions.WithLifetime(10*time.Minute)))
	r.GET("/untouched", func(c *gin.Context) { c.String(200, "hi") })
	r.GET("/read", func(c *gin.Context) {
		s := sessions.Default(c)
		c.String(200, "%v %v", s.Get("user"), s.Get("n"))
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

// newSession makes a session with two keys and returns its Cookie header.
func newSession(b *testing.B, r *gin.Engine) string {
	b.Helper()
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("POST", "/new", nil))
	for _, c := range w.Result().Cookies() {
		if c.Name == "sid" {
			return "sid=" + c.Value
		}
	}
	b.Fatalf("no session cookie: %d %q", w.Code, w.Body.String())
	return ""
}

// reportCPU reports the benchmark process's own CPU time per operation
// (user and system, this process only: redis-server is another), which the
// load of a shared machine disturbs far less than the wall time.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchRequests(b *testing.B, method, path string, withCookie bool) {
	_, r := benchSetup(b)
	benchServe(b, r, method, path, withCookie)
}

func benchServe(b *testing.B, r *gin.Engine, method, path string, withCookie bool) {
	req := httptest.NewRequest(method, path, nil)
	if withCookie {
		req.Header.Set("Cookie", newSession(b, r))
	}
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		w.reset()
		r.ServeHTTP(w, req)
		if w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
	}
}

func BenchmarkUntouched(b *testing.B)  { benchRequests(b, "GET", "/untouched", true) }
func BenchmarkRead(b *testing.B)       { benchRequests(b, "GET", "/read", true) }
func BenchmarkWrite(b *testing.B)      { benchRequests(b, "POST", "/write", true) }
func BenchmarkNewSession(b *testing.B) { benchRequests(b, "POST", "/new", false) }

// The URL benchmarks serve from a store made by Open (see benchSetupURL).
func BenchmarkReadURL(b *testing.B) {
	benchServe(b, benchSetupURL(b, ""), "GET", "/read", true)
}
func BenchmarkWriteURL(b *testing.B) {
	benchServe(b, benchSetupURL(b, ""), "POST", "/write", true)
}
func BenchmarkWriteParallelURL(b *testing.B) {
	benchServeParallel(b, benchSetupURL(b, ""), "POST", "/write")
}

func benchParallel(b *testing.B, method, path string) {
	_, r := benchSetup(b)
	benchServeParallel(b, r, method, path)
}

func benchServeParallel(b *testing.B, r *gin.Engine, method, path string) {
	// One session per goroutine, as with many browsers.
	cookies := make([]string, 256)
	for i := range cookies {
		cookies[i] = newSession(b, r)
	}
	var next atomic.Int64
	b.ReportAllocs()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Cookie", cookies[int(next.Add(1)-1)%len(cookies)])
		w := &benchWriter{h: http.Header{}}
		for pb.Next() {
			w.reset()
			r.ServeHTTP(w, req)
			if w.status != 200 {
				b.Errorf("status %d", w.status)
				return
			}
		}
	})
}

func BenchmarkReadParallel(b *testing.B)  { benchParallel(b, "GET", "/read") }
func BenchmarkWriteParallel(b *testing.B) { benchParallel(b, "POST", "/write") }

// BenchmarkRawHGET is one go-redis HGET of a small hash field.
func BenchmarkRawHGET(b *testing.B) {
	client, _ := benchSetup(b)
	ctx := context.Background()
	client.HSet(ctx, "raw", "d", "0123456789abcdef0123456789abcdef", "v", "1")
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if err := client.HGet(ctx, "raw", "d").Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawHMGET is the command Load sends.
func BenchmarkRawHMGET(b *testing.B) {
	client, _ := benchSetup(b)
	ctx := context.Background()
	client.HSet(ctx, "raw", "d", "0123456789abcdef0123456789abcdef", "v", "1")
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if err := client.HMGet(ctx, "raw", "d", "v", "t").Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawLoadSave is a store Load and compare-and-swap Save: the two
// round trips a write request needs.
func BenchmarkRawLoadSave(b *testing.B) {
	client, _ := benchSetup(b)
	s := redis.New(client)
	ctx := context.Background()
	data := []byte("0123456789abcdef0123456789abcdef")
	if _, err := s.Save(ctx, "raw", data, 0, time.Minute); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		r, err := s.Load(ctx, "raw")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Save(ctx, "raw", data, r.Version, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStoreTouch is one Touch.
func BenchmarkStoreTouch(b *testing.B) {
	client, _ := benchSetup(b)
	s := redis.New(client)
	ctx := context.Background()
	if _, err := s.Save(ctx, "raw", []byte("x"), 0, time.Minute); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		if err := s.Touch(ctx, "raw", time.Minute, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}
