package storetest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
)

// server is a Gin app over real HTTP, with handlers that exercise a
// session, in front of a new backend.
type server struct {
	*httptest.Server
	clock  *Clock    // the middleware's: the suite's, or one of the server's own
	count  *counting // nil for a Sealer
	sealed bool

	// The /hold handler signals inside once it has changed the session,
	// then waits until release is closed (once per server).
	inside, release chan struct{}
}

const cookieName = "sid"

func (s *suite) newServer(t *testing.T, opts ...sessions.Option) *server {
	backend := s.newBackend(t)
	srv := &server{clock: s.clock, sealed: s.sealed, inside: make(chan struct{}), release: make(chan struct{})}
	if srv.clock == nil {
		srv.clock = NewClock()
	}
	if !s.sealed {
		srv.count = &counting{Store: backend.(sessions.Store)}
		backend = srv.count
		if s.toucher {
			backend = countingToucher{srv.count}
		}
	}
	opts = append([]sessions.Option{sessions.WithClock(srv.clock.Now)}, opts...)
	r := gin.New()
	r.Use(sessions.Sessions(cookieName, backend, opts...))
	r.GET("/untouched", func(c *gin.Context) { c.String(200, "hi") })
	r.GET("/get/:key", func(c *gin.Context) {
		v := sessions.Default(c).Get(c.Param("key"))
		c.String(200, "%v", v)
	})
	r.POST("/set/:key/:value", func(c *gin.Context) {
		sessions.Default(c).Set(c.Param("key"), c.Param("value"))
		c.String(200, "ok")
	})
	r.POST("/cart/:item", func(c *gin.Context) {
		s := sessions.Default(c)
		cart, _ := s.Get("cart").(map[string]int)
		if cart == nil {
			s.Set("cart", map[string]int{c.Param("item"): 1})
		} else {
			cart[c.Param("item")]++ // in place, no Set
		}
		c.String(200, "ok")
	})
	r.GET("/cart", func(c *gin.Context) {
		cart, _ := sessions.Get[map[string]int](sessions.Default(c), "cart")
		c.JSON(200, cart)
	})
	r.POST("/incr", func(c *gin.Context) {
		sessions.Default(c).Update("n", add(1))
		c.String(200, "ok")
	})
	r.POST("/hold", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Update("n", add(10))
		s.Set("held", "yes")
		srv.inside <- struct{}{}
		<-srv.release
		c.String(200, "ok")
	})
	r.POST("/flash/:msg", func(c *gin.Context) {
		sessions.Default(c).AddFlash(c.Param("msg"))
		c.String(200, "ok")
	})
	r.GET("/flashes", func(c *gin.Context) { c.String(200, "%v", sessions.Default(c).Flashes()) })
	r.POST("/renew", func(c *gin.Context) { sessions.Default(c).Renew(); c.String(200, "ok") })
	r.POST("/destroy", func(c *gin.Context) { sessions.Default(c).Destroy(); c.String(200, "ok") })
	r.GET("/id", func(c *gin.Context) { c.String(200, sessions.Default(c).ID()) })
	r.GET("/keys", func(c *gin.Context) { c.String(200, strings.Join(sessions.Default(c).Keys(), ",")) })
	srv.Server = httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

// add returns an Update function that adds n to an int.
func add(n int) func(any) any {
	return func(old any) any { v, _ := old.(int); return v + n }
}

// client is a browser: it keeps the cookies the server sets.
func (srv *server) client(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// cookie returns the value of the session cookie that c holds.
func (srv *server) cookie(t *testing.T, c *http.Client) string {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == cookieName {
			return ck.Value
		}
	}
	t.Fatal("the browser holds no session cookie")
	return ""
}

// calls is the number of store calls so far (0 for a Sealer).
func (srv *server) calls() int64 {
	if srv.count == nil {
		return 0
	}
	return srv.count.calls()
}

// read GETs /get/key, which must answer want, and reports whether the
// request wrote the session: a Save or Touch for a Store, a cookie for a
// Sealer.
func (srv *server) read(t *testing.T, c *http.Client, key, want string) (wrote bool) {
	t.Helper()
	var before int64
	if srv.count != nil {
		before = srv.count.writes()
	}
	resp := expect(t, c, "GET", srv.URL+"/get/"+key, want)
	if srv.sealed {
		_, set := sessionCookie(resp)
		return set
	}
	return srv.count.writes() > before
}

// whileHeld sends POST /hold with c's cookies in the background. Once its
// handler has loaded and changed the session, and waits, whileHeld runs
// meanwhile; then it lets the held request commit, last, and checks its
// answer. Two requests of one session overlap for certain, with no sleep.
func (srv *server) whileHeld(t *testing.T, c *http.Client, meanwhile func()) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- try(c, "POST", srv.URL+"/hold", "ok") }()
	select {
	case <-srv.inside:
	case err := <-done:
		t.Fatalf("the held request ended before its handler ran: %v", err)
	}
	func() {
		defer close(srv.release) // also when meanwhile fails t
		meanwhile()
	}()
	if err := <-done; err != nil {
		t.Fatalf("the held request: %v", err)
	}
}

// do sends a request and returns the response with its body read.
func do(t *testing.T, c *http.Client, method, url string, cookie string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// expect sends a request, which must answer 200 want.
func expect(t *testing.T, c *http.Client, method, url, want string) *http.Response {
	t.Helper()
	resp, body := do(t, c, method, url, "")
	if resp.StatusCode != 200 || body != want {
		t.Fatalf("%s %s = %d %q, want 200 %q", method, url, resp.StatusCode, body, want)
	}
	return resp
}

// try is expect for other goroutines: it returns what went wrong.
func try(c *http.Client, method, url, want string) error {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || string(body) != want {
		return fmt.Errorf("%s %s = %d %q, want 200 %q", method, url, resp.StatusCode, body, want)
	}
	return nil
}

// sessionCookie returns the value of the session cookie that resp sets.
func sessionCookie(resp *http.Response) (value string, set bool) {
	for _, c := range resp.Cookies() {
		if c.Name == cookieName {
			return c.Value, true
		}
	}
	return "", false
}

// counting wraps a Store and counts its calls.
type counting struct {
	sessions.Store
	loads, saves, deletes, touches atomic.Int64
}

func (c *counting) Load(ctx context.Context, key string) (sessions.Record, error) {
	c.loads.Add(1)
	return c.Store.Load(ctx, key)
}

func (c *counting) Save(ctx context.Context, key string, data []byte, version uint64, ttl time.Duration) (uint64, error) {
	c.saves.Add(1)
	return c.Store.Save(ctx, key, data, version, ttl)
}

func (c *counting) Delete(ctx context.Context, key string) error {
	c.deletes.Add(1)
	return c.Store.Delete(ctx, key)
}

func (c *counting) calls() int64 {
	return c.loads.Load() + c.saves.Load() + c.deletes.Load() + c.touches.Load()
}

func (c *counting) writes() int64 { return c.saves.Load() + c.touches.Load() }

// countingToucher is counting for a Store that is a Toucher.
type countingToucher struct{ *counting }

func (c countingToucher) Touch(ctx context.Context, key string, ttl time.Duration, at time.Time) error {
	c.touches.Add(1)
	return c.Store.(sessions.Toucher).Touch(ctx, key, ttl, at)
}
