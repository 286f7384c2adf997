package gincontrib_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/gincontrib"
	"github.com/sessionware/sessions/internal/testapp"
	"github.com/sessionware/sessions/memory"
)

// clock is a settable clock for the middleware and the memory store.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// clocked returns a memory store and middleware that tell time by clk.
func clocked(t *testing.T, clk *clock, o *gincontrib.Options) gincontrib.Store {
	m := memory.New(memory.WithClock(clk.Now))
	t.Cleanup(func() { m.Close() })
	st := gincontrib.NewStore(gincontrib.Backend{
		Open:       func() sessions.Backend { return m },
		Middleware: []sessions.Option{sessions.WithClock(clk.Now)},
	})
	if o != nil {
		st.Options(*o)
	}
	return st
}

// lifetimeApp has routes that change, read and extend a session.
func lifetimeApp(t *testing.T, st gincontrib.Store) *testapp.App {
	return app(t, st, func(r *gin.Engine) {
		r.POST("/set/:v", func(c *gin.Context) { gincontrib.Default(c).Set("v", c.Param("v")); c.String(200, "ok") })
		r.POST("/remember", func(c *gin.Context) {
			s := gincontrib.Default(c)
			s.Set("v", "remembered")
			s.Options(gincontrib.Options{MaxAge: 30 * 86400})
			c.String(200, "ok")
		})
		r.GET("/get", func(c *gin.Context) { c.String(200, "%v", gincontrib.Default(c).Get("v")) })
	})
}

// TestAChangeRestartsTheLifetime: with MaxAge 3600, a session lives an
// hour after its last change (as gin-contrib's Save restarted it), and a
// read does not restart it.
func TestAChangeRestartsTheLifetime(t *testing.T) {
	clk := &clock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	a := lifetimeApp(t, clocked(t, clk, &gincontrib.Options{MaxAge: 3600}))
	cookieAge := func(resp *http.Response) int {
		c, _ := testapp.SetCookie(resp, "mysession")
		return c.MaxAge
	}
	if got := cookieAge(a.Expect("POST", "/set/1", 200, "ok")); got != 3600 {
		t.Errorf("Max-Age %d, want 3600", got)
	}
	clk.Add(50 * time.Minute)
	if resp := a.Expect("GET", "/get", 200, "1"); len(setCookies(resp, "mysession")) != 0 {
		t.Error("a read sent a cookie")
	}
	if got := cookieAge(a.Expect("POST", "/set/2", 200, "ok")); got != 3600 {
		t.Errorf("after a change 50 minutes in: Max-Age %d, want 3600 again", got)
	}
	clk.Add(59 * time.Minute) // 109 minutes from the start, 59 from the change
	a.Expect("GET", "/get", 200, "2")
	clk.Add(2 * time.Minute) // 61 minutes after the change; the read at 109 did not restart it
	a.Expect("GET", "/get", 200, "<nil>")
}

// TestASessionsMaxAgeHoldsOnLaterChanges: Options(MaxAge) on a session
// (remember me) sets its lifetime, and later changes restart it at that
// MaxAge, not the store's (gin-contrib went back to the store's at the
// next save).
func TestASessionsMaxAgeHoldsOnLaterChanges(t *testing.T) {
	clk := &clock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	a := lifetimeApp(t, clocked(t, clk, &gincontrib.Options{MaxAge: 3600}))
	c, _ := testapp.SetCookie(a.Expect("POST", "/remember", 200, "ok"), "mysession")
	if c.MaxAge != 30*86400 {
		t.Errorf("Max-Age %d, want 30 days", c.MaxAge)
	}
	clk.Add(2 * time.Hour)
	a.Expect("GET", "/get", 200, "remembered")
	c, _ = testapp.SetCookie(a.Expect("POST", "/set/later", 200, "ok"), "mysession")
	if c.MaxAge != 30*86400 {
		t.Errorf("a later change: Max-Age %d, want 30 days again", c.MaxAge)
	}
	clk.Add(29 * 24 * time.Hour)
	a.Expect("GET", "/get", 200, "later")
	clk.Add(25 * time.Hour)
	a.Expect("GET", "/get", 200, "<nil>")
}

// TestMaxAgeZeroIsABrowserSession: MaxAge 0 gives a cookie without
// Max-Age, and the session ends on the server BrowserSessionLifetime
// after its last change.
func TestMaxAgeZeroIsABrowserSession(t *testing.T) {
	clk := &clock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	a := lifetimeApp(t, clocked(t, clk, &gincontrib.Options{MaxAge: 0}))
	resp := a.Expect("POST", "/set/1", 200, "ok")
	if lines := setCookies(resp, "mysession"); len(lines) != 1 || !cookieLine("Path=/; HttpOnly; SameSite=Lax").MatchString(lines[0]) {
		t.Errorf("Set-Cookie %q, want no Max-Age", lines)
	}
	clk.Add(gincontrib.BrowserSessionLifetime - time.Minute)
	a.Expect("GET", "/get", 200, "1")
	clk.Add(2 * time.Minute)
	a.Expect("GET", "/get", 200, "<nil>")
}

// TestStoreOptionsLaterApply: a store's Options set after Sessions was
// installed apply from the next request, as gin-contrib read them at each
// request.
func TestStoreOptionsLaterApply(t *testing.T) {
	clk := &clock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	st := clocked(t, clk, nil)
	a := lifetimeApp(t, st)
	c, _ := testapp.SetCookie(a.Expect("POST", "/set/1", 200, "ok"), "mysession")
	if c.MaxAge != gincontrib.DefaultMaxAge || c.Path != "/" {
		t.Errorf("default cookie %v", c)
	}
	st.Options(gincontrib.Options{Path: "/app", MaxAge: 60})
	resp := a.NewBrowser().Expect("POST", "/set/2", 200, "ok")
	if lines := setCookies(resp, "mysession"); len(lines) != 1 || !cookieLine("Path=/app; Max-Age=60; HttpOnly; SameSite=Lax").MatchString(lines[0]) {
		t.Errorf("after Options: Set-Cookie %q", lines)
	}
}

// TestInvalidOptionsPanic: a store's Options with a negative MaxAge, or a
// Path or Domain that would add attributes to the cookie, panic when set;
// so do an invalid cookie name, a nil store and no names.
func TestInvalidOptionsPanic(t *testing.T) {
	st := clocked(t, &clock{}, nil)
	for _, tc := range []struct {
		name, want string
		f          func()
	}{
		{"negative MaxAge", "MaxAge -1 would delete every session", func() { st.Options(gincontrib.Options{MaxAge: -1}) }},
		{"path with an attribute", "WithPath", func() { st.Options(gincontrib.Options{Path: "/; Domain=evil.test"}) }},
		{"domain with an attribute", "WithDomain", func() { st.Options(gincontrib.Options{Domain: "a.test; Secure"}) }},
		{"invalid name", "not a valid cookie name", func() { gincontrib.Sessions("my session", st) }},
		{"nil store", "nil Store", func() { gincontrib.Sessions("s", nil) }},
		{"no names", "at least one name", func() { gincontrib.SessionsMany(nil, st) }},
		{"a name twice", "given twice", func() { gincontrib.SessionsMany([]string{"a", "a"}, st) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if msg := fmt.Sprint(recover()); !strings.Contains(msg, tc.want) {
					t.Errorf("panicked with %q, want %q in it", msg, tc.want)
				}
			}()
			tc.f()
		})
	}
}

// TestClearRestartsTheLifetime: Clear is a change, and it drops the
// lifetime that an earlier change of the request restarted: the values set
// after it live MaxAge from then, like any change's.
func TestClearRestartsTheLifetime(t *testing.T) {
	clk := &clock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	a := app(t, clocked(t, clk, &gincontrib.Options{MaxAge: 3600}), func(r *gin.Engine) {
		r.POST("/set", func(c *gin.Context) { gincontrib.Default(c).Set("v", "first"); c.String(200, "ok") })
		r.POST("/reset", func(c *gin.Context) {
			s := gincontrib.Default(c)
			s.Set("x", "a change before the Clear")
			s.Clear()
			s.Set("v", "second")
			c.String(200, "ok")
		})
		r.GET("/get", func(c *gin.Context) { c.String(200, "%v", gincontrib.Default(c).Get("v")) })
	})
	a.Expect("POST", "/set", 200, "ok")
	clk.Add(50 * time.Minute)
	a.Expect("POST", "/reset", 200, "ok")
	clk.Add(30 * time.Minute) // 80 minutes from the start, 30 from the Clear
	a.Expect("GET", "/get", 200, "second")
}
