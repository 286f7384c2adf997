package testapp

import (
	"net/http"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
)

func TestBrowserKeepsCookiesAndStrangerDoesNot(t *testing.T) {
	a := NewGin(t, func(r *gin.Engine) {
		r.POST("/set/:v", func(c *gin.Context) {
			c.SetCookie("sid", c.Param("v"), 60, "/", "", false, true)
			c.String(200, "ok")
		})
		r.GET("/echo", func(c *gin.Context) { v, _ := c.Cookie("sid"); c.String(200, v) })
		r.POST("/logout", func(c *gin.Context) {
			c.SetCookie("sid", "", -1, "/", "", false, true)
			_ = c.Error(http.ErrNoCookie)
			c.String(200, "bye")
		})
	})
	resp := a.Expect("POST", "/set/one", 200, "ok")
	if c, set := SetCookie(resp, "sid"); !set || c.Value != "one" || c.MaxAge != 60 {
		t.Fatalf("SetCookie = %+v, %v", c, set)
	}
	if _, set := SetCookie(resp, "other"); set {
		t.Fatal("SetCookie found a cookie the response does not set")
	}
	a.Expect("GET", "/echo", 200, "one")
	a.Expect("GET", a.URL+"/echo", 200, "one") // a whole URL
	if v := a.Cookie("sid"); v != "one" {
		t.Fatalf("Cookie = %q", v)
	}
	s := a.Stranger()
	s.Expect("GET", "/echo", 200, "")
	s.Expect("GET", "/echo", 200, "two", WithCookie("sid", "two"))
	a.NewBrowser().Expect("GET", "/echo", 200, "")
	resp = a.Expect("POST", "/logout", 200, "bye")
	if c, set := SetCookie(resp, "sid"); !set || c.MaxAge >= 0 {
		t.Fatalf("a deleted cookie: %+v, %v", c, set)
	}
	if errs := a.Errors(); len(errs) != 1 {
		t.Fatalf("Errors = %q, want the one the handler added", errs)
	}
	if err := a.Try("GET", "/echo", 200, "one"); err == nil {
		t.Fatal("Try of a wrong answer returned no error")
	}
}

func TestWithBody(t *testing.T) {
	a := New(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		_, _ = w.Write([]byte(r.Header.Get("Content-Type") + " " + r.PostForm.Get("a")))
	}))
	a.Expect("POST", "/", 200, "application/x-www-form-urlencoded 1", WithBody("application/x-www-form-urlencoded", "a=1"))
}

// TestGateOrdersRequests parks one request, runs another meanwhile, and
// sees the parked one finish last.
func TestGateOrdersRequests(t *testing.T) {
	g := NewGate()
	var mu sync.Mutex
	var order []string
	note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	a := NewGin(t, func(r *gin.Engine) {
		r.POST("/slow", func(c *gin.Context) { g.Park(); note("slow"); c.String(200, "slow") })
		r.POST("/fast", func(c *gin.Context) { note("fast"); c.String(200, "fast") })
	})
	resp, body := a.While(g, "POST", "/slow", func() { a.Expect("POST", "/fast", 200, "fast") })
	if resp.StatusCode != 200 || body != "slow" || len(order) != 2 || order[0] != "fast" {
		t.Fatalf("held answer %d %q, order %q", resp.StatusCode, body, order)
	}
	g.Park() // released: passes at once
}

// TestGateReleasedAtTheEnd leaves a request held: the test's clean-up
// releases it before the server closes, so the test ends.
func TestGateReleasedAtTheEnd(t *testing.T) {
	g := NewGate()
	a := NewGin(t, func(r *gin.Engine) { r.POST("/slow", func(c *gin.Context) { g.Park(); c.String(200, "ok") }) })
	a.Hold(g, "POST", "/slow")
}
