package sessions_test

import (
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
)

// TestSessionsAroundNests: two SessionsAround functions nested in one
// middleware give the handler two sessions, each saved with its cookie
// before the response, as two Sessions middlewares would.
func TestSessionsAroundNests(t *testing.T) {
	store := newFlaky(t)
	one := sessions.SessionsAround("one", store)
	two := sessions.SessionsAround("two", store)
	r := gin.New()
	r.Use(func(c *gin.Context) { one(c, func() { two(c, c.Next) }) })
	r.POST("/", func(c *gin.Context) {
		sessions.Named(c, "one").Set("v", "first")
		sessions.Named(c, "two").Set("v", "second")
		c.String(200, "ok")
	})
	r.GET("/", func(c *gin.Context) {
		c.String(200, "%v %v", sessions.Named(c, "one").Get("v"), sessions.Named(c, "two").Get("v"))
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	cookies := w.Result().Cookies()
	if len(cookies) != 2 || cookies[0].Name == cookies[1].Name {
		t.Fatalf("want two session cookies, got %v", cookies)
	}
	req := httptest.NewRequest("GET", "/", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	w = httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if got := w.Body.String(); got != "first second" {
		t.Errorf("got %q, want both sessions' values", got)
	}
}
