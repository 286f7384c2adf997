package sessionsotel_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

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
// package's BenchmarkRequest.
func BenchmarkRequest(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	sdk := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	defer sdk.Shutdown(context.Background())
	for _, observer := range []struct {
		name string
		opts func(b *testing.B) []sessions.Option
	}{
		{"none", func(*testing.B) []sessions.Option { return nil }},
		{"noop", func(b *testing.B) []sessions.Option { return observe(b, noop.NewMeterProvider()) }},
		{"sdk", func(b *testing.B) []sessions.Option { return observe(b, sdk) }},
	} {
		store := memory.New()
		defer store.Close()
		r := benchEngine(store, observer.opts(b)...)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", "/new", nil))
		cookie := w.Result().Cookies()[0]
		for _, shape := range []struct {
			name, path string
			cookie     bool
		}{
			{"read", "/read", true},
			{"write", "/write", true},
			{"new", "/new", false},
		} {
			b.Run("observer="+observer.name+"/shape="+shape.name, func(b *testing.B) {
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

// discard is a ResponseWriter that keeps only the header and the status.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }
