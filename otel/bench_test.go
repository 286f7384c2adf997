package sessionsotel_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/memory"
	sessionsotel "github.com/sessionware/sessions/otel"
)

// BenchmarkRequest measures whole Gin requests on the memory store (the
// store whose calls are cheapest, so the observer's share is largest)
// with no observer, with the adapter on a no-op MeterProvider, and with
// the adapter on the SDK (a ManualReader, never collected during the
// run): a read (one load), a write (a load and a save) and a new session
// (a save and the created event). The shapes are those of the memory
// package's BenchmarkRequest. Besides ns/op it reports cpu-ns/op, the
// process's CPU time per request, which a busy machine disturbs less.
func BenchmarkRequest(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	sdk := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer sdk.Shutdown(context.Background())
	observers := []struct {
		name string
		opts func(b *testing.B) []sessions.Option
	}{
		{"none", func(*testing.B) []sessions.Option { return nil }},
		{"noop", func(b *testing.B) []sessions.Option { return observe(b, noop.NewMeterProvider()) }},
		{"sdk", func(b *testing.B) []sessions.Option { return observe(b, sdk) }},
	}
	for _, shape := range []struct {
		name, path string
		cookie     bool
	}{
		{"read", "/read", true},
		{"write", "/write", true},
		{"new", "/new", false},
	} {
		for _, observer := range observers {
			b.Run("shape="+shape.name+"/observer="+observer.name, func(b *testing.B) {
				// A store of its own, garbage afterwards: the sessions that
				// one run adds do not weigh on the next one's collections.
				store := memory.New()
				defer store.Close()
				r := benchEngine(store, observer.opts(b)...)
				req := httptest.NewRequest("GET", shape.path, nil)
				if shape.cookie {
					w := httptest.NewRecorder()
					r.ServeHTTP(w, httptest.NewRequest("GET", "/new", nil))
					req.AddCookie(w.Result().Cookies()[0])
				}
				w := &discard{h: http.Header{}}
				b.ReportAllocs()
				cpu := cpuTime(b)
				for b.Loop() {
					clear(w.h)
					r.ServeHTTP(w, req)
				}
				b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N), "cpu-ns/op")
				if w.code != http.StatusOK {
					b.Fatalf("status %d", w.code)
				}
			})
		}
	}
}

func observe(b *testing.B, mp metric.MeterProvider) []sessions.Option {
	obs, err := sessionsotel.New(mp)
	if err != nil {
		b.Fatal(err)
	}
	return []sessions.Option{sessions.WithObserver(obs)}
}

func benchEngine(store sessions.Store, opts ...sessions.Option) *gin.Engine {
	r := gin.New()
	g := r.Group("/", sessions.Sessions("sid", store, opts...))
	g.GET("/read", func(c *gin.Context) {
		_, _ = sessions.Default(c).Get("user").(string)
		c.String(http.StatusOK, "ok")
	})
	g.GET("/write", func(c *gin.Context) {
		sessions.Default(c).Update("n", func(old any) any { n, _ := old.(int); return n + 1 })
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

// cpuTime returns the CPU time the process has used (user and system,
// all threads): beside ns/op, which counts the time the benchmark waited
// for a core on a busy machine, cpu-ns/op counts only the work.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// discard is a ResponseWriter that keeps only the header and the status.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

// BenchmarkRecord measures one measurement of the adapter on the SDK: a
// store call (a histogram record) and an event (a counter add), the
// attribute set already seen.
func BenchmarkRecord(b *testing.B) {
	sdk := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer sdk.Shutdown(context.Background())
	obs, err := sessionsotel.New(sdk, sessionsotel.WithStore("memory"))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.Run("what=store-call", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			obs.StoreCall(ctx, "save", time.Microsecond, nil)
		}
	})
	b.Run("what=event", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			obs.Event(ctx, sessions.EventCreated)
		}
	})
	b.Run("what=clock-reads", func(b *testing.B) { // what the core adds around each store call
		b.ReportAllocs()
		for b.Loop() {
			t := time.Now()
			_ = time.Since(t)
		}
	})
}
