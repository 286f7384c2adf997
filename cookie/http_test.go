package cookie_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/cookie"
	"github.com/sessionware/sessions/internal/testapp"
)

func init() { gin.SetMode(gin.TestMode) }

const cookieName = "sid"

// newServer is a Gin app over real HTTP whose handlers use a session kept
// in store.
func newServer(t *testing.T, store sessions.Backend, opts ...sessions.Option) *testapp.App {
	t.Helper()
	r := gin.New()
	r.Use(sessions.Sessions(cookieName, store, opts...))
	r.GET("/get/:key", func(c *gin.Context) { c.String(200, "%v", sessions.Default(c).Get(c.Param("key"))) })
	r.POST("/set/:key/:value", func(c *gin.Context) {
		sessions.Default(c).Set(c.Param("key"), c.Param("value"))
		c.String(200, "ok")
	})
	r.GET("/id", func(c *gin.Context) { c.String(200, sessions.Default(c).ID()) })
	r.POST("/renew", func(c *gin.Context) { sessions.Default(c).Renew(); c.String(200, "ok") })
	// /random/:n sets n random bytes under "big" and relies on the
	// automatic save.
	r.POST("/random/:n", func(c *gin.Context) {
		n, _ := strconv.Atoi(c.Param("n"))
		sessions.Default(c).Set("big", randomBytes(n))
		c.String(200, "ok")
	})
	// /random-save/:n does the same but calls Save, and on ErrTooLarge
	// answers 413 with the error (after a failed Save the middleware saves
	// nothing more, and answers a success status with the error handler).
	r.POST("/random-save/:n", func(c *gin.Context) {
		s := sessions.Default(c)
		n, _ := strconv.Atoi(c.Param("n"))
		s.Set("big", randomBytes(n))
		if err := s.Save(); err != nil {
			status := 500
			if errors.Is(err, cookie.ErrTooLarge) {
				status = http.StatusRequestEntityTooLarge
			}
			c.String(status, "Save: %v", err)
			return
		}
		c.String(200, "saved")
	})
	r.GET("/len/big", func(c *gin.Context) {
		b, _ := sessions.Default(c).Get("big").([]byte)
		c.String(200, "%d", len(b))
	})
	return testapp.New(t, r)
}

// setCookie returns the session cookie's value that resp sets, or "".
func setCookie(resp *http.Response) string {
	ck, _ := testapp.SetCookie(resp, cookieName)
	return ck.Value
}

func TestRotationOverHTTP(t *testing.T) {
	kOld, kNew := newKey(t), newKey(t)
	before := newServer(t, newStore(t, kOld))
	after := newServer(t, newStore(t, kNew, cookie.WithOldKeys(kOld)))
	retired := newServer(t, newStore(t, kNew))

	// A browser gets a session from the server with the old key.
	b := before.Browser
	oldValue := setCookie(b.Expect("POST", "/set/user/alice", 200, "ok"))
	if oldValue == "" {
		t.Fatal("no session cookie")
	}
	_, id := b.Do("GET", "/id")

	// After the deploy that adds the new key, its cookie (the browser
	// sends it to every port of the host) still opens, and the response
	// seals it again with the new key.
	resp, body := b.Do("GET", after.URL+"/get/user")
	if resp.StatusCode != 200 || body != "alice" {
		t.Fatalf("with the old key as an old key: %d %q, want 200 alice", resp.StatusCode, body)
	}
	newValue := setCookie(resp)
	if newValue == "" || newValue == oldValue {
		t.Fatal("a cookie opened with an old key was not sealed again")
	}
	if p, rotated, err := newStore(t, kNew).Open(cookieName, newValue); err != nil || rotated || len(p) == 0 {
		t.Fatalf("the new cookie with only the new key: %v, rotated %v", err, rotated)
	}
	if _, _, err := newStore(t, kOld).Open(cookieName, newValue); err == nil {
		t.Fatal("the new cookie opens with the old key")
	}
	// The session is the same one: same ID and values, and the next read
	// writes nothing.
	resp, body = b.Do("GET", after.URL+"/id")
	if body != id {
		t.Fatalf("the ID changed on rotation: %q, was %q", body, id)
	}
	if v := setCookie(resp); v != "" {
		t.Fatal("a read after rotation set the cookie again")
	}

	// Once the old key is retired, its cookies are no session: 200, an
	// empty session, no error page, nothing set.
	resp, body = retired.Stranger().Do("GET", "/get/user", testapp.WithCookie(cookieName, oldValue))
	if resp.StatusCode != 200 || body != "<nil>" || setCookie(resp) != "" {
		t.Fatalf("a cookie of a retired key: %d %q, cookie set %v; want 200 <nil>, none", resp.StatusCode, body, setCookie(resp) != "")
	}
	resp, body = retired.Stranger().Do("GET", "/id", testapp.WithCookie(cookieName, oldValue))
	if resp.StatusCode != 200 || body == id || len(body) != 43 {
		t.Fatalf("a cookie of a retired key: ID %q, was %q", body, id)
	}
	// The rotated cookie does work there.
	b.Expect("GET", retired.URL+"/get/user", 200, "alice")
}

func TestIDIsStableAndChangesOnRenew(t *testing.T) {
	srv := newServer(t, newStore(t, newKey(t)))
	b := srv.Browser
	b.Expect("POST", "/set/user/alice", 200, "ok")
	_, id1 := b.Do("GET", "/id")
	_, id2 := b.Do("GET", "/id")
	b.Expect("POST", "/set/user/bob", 200, "ok")
	_, id3 := b.Do("GET", "/id")
	if len(id1) != 43 || id1 != id2 || id1 != id3 {
		t.Fatalf("IDs over requests: %q %q %q, want one", id1, id2, id3)
	}
	b.Expect("POST", "/renew", 200, "ok")
	_, id4 := b.Do("GET", "/id")
	if id4 == id1 || len(id4) != 43 {
		t.Fatalf("ID after Renew = %q, before %q", id4, id1)
	}
	b.Expect("GET", "/get/user", 200, "bob")
}

// clock is a settable time for sessions.WithClock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// TestExpiryOverHTTP replays cookies, as a browser (or an attacker) that
// kept them would, after the lifetime and the idle timeout: they are new,
// empty sessions whatever their Max-Age said.
func TestExpiryOverHTTP(t *testing.T) {
	type step struct {
		at     time.Duration // since the session was made
		cookie string        // which cookie to send: a name given by an earlier step's keep
		alive  bool
		keep   string // name the cookie this response sets, if any
	}
	tests := []struct {
		name     string
		lifetime time.Duration
		idle     time.Duration
		steps    []step
	}{
		{
			name: "lifetime", lifetime: time.Hour,
			steps: []step{
				{at: 30 * time.Minute, cookie: "first", alive: true},
				{at: time.Hour - time.Second, cookie: "first", alive: true},
				{at: time.Hour, cookie: "first", alive: false},
				{at: 30 * 24 * time.Hour, cookie: "first", alive: false},
			},
		},
		{
			name: "idle timeout", lifetime: 24 * time.Hour, idle: 10 * time.Minute,
			steps: []step{
				{at: 9 * time.Minute, cookie: "first", alive: true, keep: "refreshed"},
				{at: 10 * time.Minute, cookie: "first", alive: false},
				{at: 18 * time.Minute, cookie: "refreshed", alive: true},
				{at: 18 * time.Minute, cookie: "first", alive: false},
				{at: 19 * time.Minute, cookie: "refreshed", alive: false},
			},
		},
		{
			name: "lifetime despite activity", lifetime: time.Hour, idle: 10 * time.Minute,
			steps: []step{
				{at: 8 * time.Minute, cookie: "first", alive: true, keep: "c1"},
				{at: 16 * time.Minute, cookie: "c1", alive: true, keep: "c2"},
				{at: 24 * time.Minute, cookie: "c2", alive: true, keep: "c3"},
				{at: 32 * time.Minute, cookie: "c3", alive: true, keep: "c4"},
				{at: 40 * time.Minute, cookie: "c4", alive: true, keep: "c5"},
				{at: 48 * time.Minute, cookie: "c5", alive: true, keep: "c6"},
				{at: 56 * time.Minute, cookie: "c6", alive: true, keep: "c7"},
				{at: time.Hour, cookie: "c7", alive: false},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
			clk := &clock{now: t0}
			opts := []sessions.Option{sessions.WithClock(clk.Now), sessions.WithLifetime(tt.lifetime)}
			if tt.idle > 0 {
				opts = append(opts, sessions.WithIdleTimeout(tt.idle))
			}
			srv := newServer(t, newStore(t, newKey(t)), opts...)
			cookies := map[string]string{}
			cookies["first"] = setCookie(srv.Stranger().Expect("POST", "/set/user/alice", 200, "ok"))
			if cookies["first"] == "" {
				t.Fatal("no session cookie")
			}
			for _, st := range tt.steps {
				clk.Set(t0.Add(st.at))
				want := "<nil>"
				if st.alive {
					want = "alice"
				}
				resp, body := srv.Stranger().Do("GET", "/get/user", testapp.WithCookie(cookieName, cookies[st.cookie]))
				if resp.StatusCode != 200 || body != want {
					t.Fatalf("cookie %q at +%v: %d %q, want 200 %q", st.cookie, st.at, resp.StatusCode, body, want)
				}
				set := setCookie(resp)
				if !st.alive && set != "" {
					t.Fatalf("cookie %q at +%v: an expired session set a cookie", st.cookie, st.at)
				}
				if st.keep != "" {
					if set == "" {
						t.Fatalf("cookie %q at +%v: the idle deadline was not pushed", st.cookie, st.at)
					}
					cookies[st.keep] = set
				}
			}
		})
	}
}

func TestTooLargeOverHTTP(t *testing.T) {
	srv := newServer(t, newStore(t, newKey(t)))
	b := srv.Browser
	b.Expect("POST", "/set/user/alice", 200, "ok")

	// Without Save: the error handler answers 500 and no cookie is set,
	// so the browser keeps the session it had.
	resp, body := b.Do("POST", "/random/5000")
	if resp.StatusCode != 500 || !strings.Contains(body, "session error") {
		t.Fatalf("a 5 KB session: %d %q, want 500 and the error handler's body", resp.StatusCode, body)
	}
	if len(resp.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("a failed save set cookies: %q", resp.Header.Values("Set-Cookie"))
	}
	b.Expect("GET", "/get/user", 200, "alice")

	// With Save: the handler gets ErrTooLarge and answers as it likes;
	// nothing is saved.
	resp, body = b.Do("POST", "/random-save/5000")
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "session too large") || !strings.Contains(body, "at most 3900") {
		t.Fatalf("a 5 KB session with Save: %d %q, want 413 and ErrTooLarge with the sizes", resp.StatusCode, body)
	}
	if len(resp.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("a failed Save set cookies: %q", resp.Header.Values("Set-Cookie"))
	}
	b.Expect("GET", "/get/user", 200, "alice")
	b.Expect("GET", "/len/big", 200, "0")

	// Just under the limit, the cookie with its attributes fits in 4096
	// bytes and the browser sends it back.
	resp, _ = b.Do("POST", "/random/2700")
	if resp.StatusCode != 200 || setCookie(resp) == "" {
		t.Fatalf("a 2.7 KB session: %d, cookie set: %v", resp.StatusCode, setCookie(resp) != "")
	}
	b.Expect("GET", "/len/big", 200, "2700")
	b.Expect("GET", "/get/user", 200, "alice")
}

// TestLargestCookieFits finds the largest session that saves, with every
// attribute the middleware can write, and checks that its Set-Cookie line
// stays within the 4096 bytes browsers keep.
func TestLargestCookieFits(t *testing.T) {
	srv := newServer(t, newStore(t, newKey(t)), sessions.WithSecure(true), sessions.WithSameSite(http.SameSiteStrictMode),
		sessions.WithDomain("www.sessionware.example"), sessions.WithPath("/"), sessions.WithLifetime(365*24*time.Hour))
	fits := func(n int) (bool, *http.Response) {
		resp, body := srv.Stranger().Do("POST", "/random-save/"+strconv.Itoa(n))
		if resp.StatusCode != 200 && resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("%d random bytes: %d %q", n, resp.StatusCode, body)
		}
		return resp.StatusCode == 200, resp
	}
	lo, hi := 1000, 5000 // lo fits, hi does not
	if ok, _ := fits(lo); !ok {
		t.Fatalf("%d random bytes do not fit", lo)
	}
	if ok, _ := fits(hi); ok {
		t.Fatalf("%d random bytes fit", hi)
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if ok, _ := fits(mid); ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	_, resp := fits(lo)
	line := resp.Header.Get("Set-Cookie")
	t.Logf("the largest random value that fits: %d bytes; its Set-Cookie line: %d bytes", lo, len(line))
	if len(line) > 4096 {
		t.Fatalf("a Set-Cookie line of %d bytes: browsers drop it", len(line))
	}
	if lo < 2780 {
		t.Fatalf("only %d random bytes fit; the documentation promises about 2,830 of keys and values", lo)
	}
}

// TestTamperedCookieOverHTTP checks that a changed cookie is a new, empty
// session with no error page (TestTamper does the 100,000 mutations).
func TestTamperedCookieOverHTTP(t *testing.T) {
	srv := newServer(t, newStore(t, newKey(t)))
	v := setCookie(srv.Stranger().Expect("POST", "/set/user/alice", 200, "ok"))
	flip := func(i int) string {
		b := []byte(v)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	other := setCookie(newServer(t, newStore(t, newKey(t))).Stranger().Expect("POST", "/set/user/alice", 200, "ok"))
	for _, bad := range []string{flip(0), flip(1), flip(5), flip(len(v) / 2), flip(len(v) - 1), v[:len(v)-1], v + "A", other} {
		resp, body := srv.Stranger().Do("GET", "/get/user", testapp.WithCookie(cookieName, bad))
		if resp.StatusCode != 200 || body != "<nil>" || setCookie(resp) != "" {
			t.Fatalf("a tampered cookie: %d %q, want 200 <nil> and no cookie", resp.StatusCode, body)
		}
	}
	srv.Stranger().Expect("GET", "/get/user", 200, "alice", testapp.WithCookie(cookieName, v))
}
