package memory_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/memory"
)

// benchEngine serves the request shapes of the benchmarks: a bare handler
// (no middleware), an untouched session, a read, a write and a new session.
func benchEngine(store sessions.Store) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/bare", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	g := r.Group("/", sessions.Sessions("sid", store))
	g.GET("/untouched", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	g.GET("/read", func(c *gin.Context) {
		s := sessions.Default(c)
		_, _ = s.Get("user").(string)
		c.String(http.StatusOK, "ok")
	})
	g.GET("/write", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Update("n", func(old any) any { n, _ := old.(int); return n + 1 })
		c.String(http.StatusOK, "ok")
	})
	g.GET("/new", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("user", "alice")
		s.Set("n", 0)
		c.String(http.StatusOK, "ok")
	})
	return r
}

// BenchmarkRequest measures whole Gin requests against the memory store,
// with a session of two keys, beside a bare handler.
func BenchmarkRequest(b *testing.B) {
	store := memory.New()
	defer store.Close()
	r := benchEngine(store)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/new", nil))
	cookie := w.Result().Cookies()[0]
	for _, shape := range []struct {
		name, path string
		cookie     bool
	}{
		{"bare", "/bare", true},
		{"untouched", "/untouched", true},
		{"read", "/read", true},
		{"write", "/write", true},
		{"new", "/new", false},
	} {
		b.Run("shape="+shape.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", shape.path, nil)
			if shape.cookie {
				req.AddCookie(cookie)
			}
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				r.ServeHTTP(w, req)
			}
			if w.code != http.StatusOK {
				b.Fatalf("status %d", w.code)
			}
		})
	}
}

// BenchmarkParallel measures reads and writes of distinct sessions from all
// cores at once.
func BenchmarkParallel(b *testing.B) {
	store := memory.New()
	defer store.Close()
	r := benchEngine(store)
	for _, path := range []string{"/read", "/write"} {
		b.Run("shape="+path[1:], func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := httptest.NewRecorder()
				r.ServeHTTP(w, httptest.NewRequest("GET", "/new", nil))
				req := httptest.NewRequest("GET", path, nil)
				req.AddCookie(w.Result().Cookies()[0])
				d := &discard{h: http.Header{}}
				for pb.Next() {
					clear(d.h)
					r.ServeHTTP(d, req)
				}
			})
		})
	}
}

// BenchmarkSaveFull saves new sessions into a full store, so that each
// save evicts one: its cost must not grow with the bound.
func BenchmarkSaveFull(b *testing.B) {
	ctx := context.Background()
	data := make([]byte, 120)
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprint("entries=", n), func(b *testing.B) {
			s := memory.New(memory.WithMaxEntries(n), memory.WithCleanupInterval(0), memory.WithLogger(nil))
			for i := range n {
				if _, err := s.Save(ctx, "fill"+strconv.Itoa(i), data, 0, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				i++
				if _, err := s.Save(ctx, "new"+strconv.Itoa(i), data, 0, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
			if s.Evictions() == 0 {
				b.Fatal("no eviction: the store was not full")
			}
		})
	}
}

// BenchmarkHeapFull fills a default store through the middleware with
// new sessions of two small values (the /new shape, 100 bytes encoded)
// and reports the heap that a full store keeps, per session and in all.
func BenchmarkHeapFull(b *testing.B) {
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		store := memory.New(memory.WithCleanupInterval(0), memory.WithLogger(nil))
		r := benchEngine(store)
		req := httptest.NewRequest("GET", "/new", nil)
		w := &discard{h: http.Header{}}
		for range memory.DefaultMaxEntries {
			clear(w.h)
			r.ServeHTTP(w, req)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap := float64(after.HeapAlloc - before.HeapAlloc)
		b.ReportMetric(heap/float64(store.Len()), "B/session")
		b.ReportMetric(heap/1e6, "MB")
		runtime.KeepAlive(store)
	}
}

// discard is a ResponseWriter that keeps nothing, so that the benchmark
// measures the server side only.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }
