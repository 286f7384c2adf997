package memcached_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testapp"
	"github.com/sessionware/sessions/internal/testserver"
)

func init() { gin.SetMode(gin.TestMode) }

// app is a Gin engine with session handlers, served over real HTTP; its
// Errors are those each request adds with c.Error.
func app(t testing.TB, store sessions.Store, opts ...sessions.Option) *testapp.App {
	return testapp.NewGin(t, func(r *gin.Engine) {
		r.Use(sessions.Sessions("sid", store, opts...))
		r.GET("/get/:key", func(c *gin.Context) { c.String(200, "%v", sessions.Default(c).Get(c.Param("key"))) })
		r.GET("/untouched", func(c *gin.Context) { c.String(200, "hi") })
		r.POST("/set/:key/:value", func(c *gin.Context) {
			sessions.Default(c).Set(c.Param("key"), c.Param("value"))
			c.String(200, "ok")
		})
		r.POST("/incr", func(c *gin.Context) {
			sessions.Default(c).Update("n", func(old any) any { n, _ := old.(int); return n + 1 })
			c.String(200, "ok")
		})
		r.POST("/logout", func(c *gin.Context) {
			sessions.Default(c).Destroy()
			c.String(200, "bye")
		})
	})
}

func TestHTTPLongLifetime(t *testing.T) {
	srv := testserver.Memcached(t)
	web := app(t, open(t, srv), sessions.WithLifetime(60*24*time.Hour))
	b := web.Browser
	b.Expect("POST", "/set/user/alice", 200, "ok")
	time.Sleep(1100 * time.Millisecond)
	b.Expect("GET", "/get/user", 200, "alice")
}

// fakeClock is a clock that tests move by hand, shared by the middleware
// and the store.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestSlidingIdleExpiryRoundTrips(t *testing.T) {
	srv := testserver.Memcached(t)
	clock := &fakeClock{now: time.Now()}
	store := open(t, srv)
	rec := &recorder{}
	store.Client().DialContext = rec.dial
	const idle = 30 * time.Minute // refreshed at most once a minute
	web := app(t, store, sessions.WithIdleTimeout(idle), sessions.WithClock(clock.Now))
	b := web.Browser
	step := func(what, method, path, body string, verbs ...string) {
		t.Helper()
		b.Expect(method, path, 200, body)
		if got := rec.take(); !slices.Equal(got, verbs) {
			t.Fatalf("%s: memcached commands %q, want %q", what, got, verbs)
		}
	}

	step("new session", "POST", "/set/user/alice", "ok", "add")
	clock.Add(10 * time.Second)
	step("read, refresh not due", "GET", "/get/user", "alice", "gets")
	step("untouched", "GET", "/untouched", "hi")
	clock.Add(time.Minute)
	step("read, refresh due", "GET", "/get/user", "alice", "gets", "gat", "append")
	if ttl := rawTTL(t, srv.Addr, "session:"+storeKey(t, b)); ttl < idle-5*time.Second || ttl > idle+5*time.Second {
		t.Fatalf("after the touch memcached keeps the session for %v, want about %v", ttl, idle)
	}
	clock.Add(10 * time.Second)
	step("read just after a touch", "GET", "/get/user", "alice", "gets")
	// Reads every 20 minutes keep the session alive far past the idle
	// timeout counted from its last write, and never write it.
	for i := range 6 {
		clock.Add(20 * time.Minute)
		step(fmt.Sprintf("read %d after 20 idle minutes", i), "GET", "/get/user", "alice", "gets", "gat", "append")
		step("read again at once", "GET", "/get/user", "alice", "gets")
	}
	// A real change is one cas, which also drops the touch stamps.
	step("write", "POST", "/set/user/bob", "ok", "gets", "cas")
	// Idle beyond the timeout: the session is over.
	clock.Add(idle + time.Second)
	step("read after the idle timeout", "GET", "/get/user", "<nil>", "gets")
}

// storeKey returns the store key of the browser's session: the SHA-256 of
// the raw ID, as the middleware derives it.
func storeKey(t *testing.T, b *testapp.Browser) string {
	t.Helper()
	id := b.Cookie("sid")
	if id == "" {
		t.Fatal("the browser has no session cookie")
	}
	return keyOf(t, id)
}

// keyOf returns the store key of the session ID id.
func keyOf(t *testing.T, id string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Touches change the CAS unique (the stamp is appended): concurrent
// updates then retry, and still lose nothing.
func TestTouchesRacingUpdatesLoseNothing(t *testing.T) {
	srv := testserver.Memcached(t)
	clock := &fakeClock{now: time.Now()}
	store := open(t, srv)
	rec := &recorder{}
	store.Client().DialContext = rec.dial
	web := app(t, store, sessions.WithIdleTimeout(4*time.Minute), sessions.WithClock(clock.Now)) // refresh every minute
	b := web.Browser
	b.Expect("POST", "/incr", 200, "ok")
	const rounds, perRound = 5, 10
	var verbs []string
	for range rounds {
		clock.Add(time.Minute) // a refresh is due for every reader
		var wg sync.WaitGroup
		errs := make(chan error, 2*perRound)
		send := func(method, path string) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, _, err := b.Send(method, path)
				if err == nil && resp.StatusCode != 200 {
					err = fmt.Errorf("%s %s = %d", method, path, resp.StatusCode)
				}
				errs <- err
			}()
		}
		// The readers load first (so each finds its refresh due), then the
		// updates race with their touches.
		verbs = append(verbs, rec.take()...)
		for range perRound {
			send("GET", "/get/user")
		}
		for deadline := time.Now().Add(10 * time.Second); rec.count("gets") < perRound; {
			if time.Now().After(deadline) {
				t.Fatal("the readers did not load within 10s")
			}
			time.Sleep(time.Millisecond)
		}
		for range perRound {
			send("POST", "/incr")
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	b.Expect("GET", "/get/n", 200, fmt.Sprint(1+rounds*perRound))
	verbs = append(verbs, rec.take()...)
	if !slices.Contains(verbs, "append") || slices.Contains(verbs, "set") {
		t.Fatalf("commands sent: %q; want touches (append) and never a set", verbs)
	}
}
