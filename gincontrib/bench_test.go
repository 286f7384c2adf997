package gincontrib_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/gincontrib"
	"github.com/sessionware/sessions/memory"
)

// BenchmarkRequest times one request that reads two values and sets one,
// in process (no HTTP), on the memory store: through the native API, and
// through the drop-in with a native value (a map) and with a value kept
// gob-encoded (a struct). It asserts nothing about time.
func BenchmarkRequest(b *testing.B) {
	for _, tc := range []struct {
		name  string
		mw    func(m *memory.Store) gin.HandlerFunc
		touch func(c *gin.Context)
	}{
		{"native", func(m *memory.Store) gin.HandlerFunc { return sessions.Sessions("mysession", m) }, func(c *gin.Context) {
			s := sessions.Default(c)
			_ = s.Get("user")
			cart, _ := s.Get("cart").(map[string]int)
			s.Set("cart", map[string]int{"apple": cart["apple"] + 1})
		}},
		{"dropin-map", dropin, func(c *gin.Context) {
			s := gincontrib.Default(c)
			_ = s.Get("user")
			cart, _ := s.Get("cart").(map[string]int)
			s.Set("cart", map[string]int{"apple": cart["apple"] + 1})
		}},
		{"dropin-struct", dropin, func(c *gin.Context) {
			s := gincontrib.Default(c)
			_ = s.Get("user")
			p, _ := s.Get("profile").(Profile)
			p.Tags = map[string]int{"visits": p.Tags["visits"] + 1}
			s.Set("profile", p)
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			m := memory.New()
			defer m.Close()
			r := gin.New()
			r.Use(tc.mw(m))
			r.GET("/", func(c *gin.Context) { tc.touch(c); c.Status(http.StatusNoContent) })
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			cookie := w.Result().Cookies()[0]
			req := httptest.NewRequest("GET", "/", nil)
			req.AddCookie(cookie)
			b.ReportAllocs()
			for b.Loop() {
				r.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}

func dropin(m *memory.Store) gin.HandlerFunc {
	return gincontrib.Sessions("mysession", gincontrib.NewStore(gincontrib.Backend{Open: func() sessions.Backend { return m }}))
}
