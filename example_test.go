package sessions_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/memory"
)

// The middleware gives every request a session; changes are saved by
// themselves, with no Save call and no Modified flag.
func ExampleSessions() {
	store := memory.New()
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Sessions("session", store, sessions.WithIdleTimeout(30*time.Minute)))
	r.POST("/login", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Renew() // a new ID at login, against session fixation
		s.Set("user", "alice")
		c.String(http.StatusOK, "welcome")
	})
	r.POST("/cart/:item", func(c *gin.Context) {
		// Update re-runs on the fresh value if another tab saved first:
		// no lost cart items.
		sessions.Default(c).Update("cart", func(old any) any {
			cart, _ := old.(map[string]int)
			if cart == nil {
				cart = map[string]int{}
			}
			cart[c.Param("item")]++
			return cart
		})
		c.Status(http.StatusNoContent)
	})
	r.GET("/", func(c *gin.Context) {
		s := sessions.Default(c)
		user, _ := sessions.Get[string](s, "user")
		cart, _ := sessions.Get[map[string]int](s, "cart")
		c.String(http.StatusOK, "%s has %v", user, cart)
	})

	// A browser: log in, add to the cart twice, look.
	var cookie *http.Cookie
	send := func(method, path string) string {
		req := httptest.NewRequest(method, path, nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		for _, c := range w.Result().Cookies() {
			cookie = c
		}
		return w.Body.String()
	}
	send("POST", "/login")
	send("POST", "/cart/apple")
	send("POST", "/cart/apple")
	fmt.Println(send("GET", "/"))
	// Output: alice has map[apple:2]
}

// A handler that must not fail when the store is down calls Load first and
// decides itself; otherwise the error handler answers 503.
func ExampleSession_Load() {
	r := gin.New()
	r.Use(sessions.Sessions("session", memory.New()))
	r.GET("/", func(c *gin.Context) {
		s := sessions.Default(c)
		if err := s.Load(); err != nil {
			c.String(http.StatusOK, "hello, guest (sessions are unavailable)")
			return
		}
		name, ok := sessions.Get[string](s, "user")
		if !ok {
			name = "guest"
		}
		c.String(http.StatusOK, "hello, %s", name)
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	fmt.Println(w.Body.String())
	// Output: hello, guest
}

// Flashes are shown once.
func ExampleSession_AddFlash() {
	r := gin.New()
	r.Use(sessions.Sessions("session", memory.New()))
	r.POST("/", func(c *gin.Context) { sessions.Default(c).AddFlash("saved"); c.Status(http.StatusSeeOther) })
	r.GET("/", func(c *gin.Context) { c.String(http.StatusOK, "%v", sessions.Default(c).Flashes()) })

	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	cookie := w.Result().Cookies()[0]
	for range 2 {
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(cookie)
		w = httptest.NewRecorder()
		r.ServeHTTP(w, req)
		fmt.Println(w.Body.String())
	}
	// Output:
	// [saved]
	// []
}
