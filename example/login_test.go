package main

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testapp"
)

// sessionCookie returns the session cookie a response sets, failing the
// test if it sets none.
func sessionCookie(t *testing.T, what string, r response) http.Cookie {
	t.Helper()
	c, ok := testapp.SetCookie(&http.Response{Header: r.header}, cookieName)
	if !ok {
		t.Fatalf("%s set no session cookie (status %d)", what, r.status)
	}
	return c
}

// wantBrowserSession checks that a cookie lasts the browser session: no
// Max-Age, no Expires.
func wantBrowserSession(t *testing.T, what string, c http.Cookie) {
	t.Helper()
	if c.MaxAge != 0 || !c.Expires.IsZero() || strings.Contains(c.Raw, "Max-Age") || strings.Contains(c.Raw, "Expires") {
		t.Errorf("%s: the cookie %q outlives the browser session", what, c.Raw)
	}
}

// wantRemembered checks that a cookie persists for about rememberFor.
func wantRemembered(t *testing.T, what string, c http.Cookie) {
	t.Helper()
	if secs := int(rememberFor / time.Second); c.MaxAge < secs-60 || c.MaxAge > secs {
		t.Errorf("%s: the cookie's Max-Age is %d s, want about %d s (30 days): %q", what, c.MaxAge, secs, c.Raw)
	}
}

// TestRememberMe logs in with and without "remember me", by form and by
// API, on every backend: without it the cookie lasts the browser session
// (the app uses WithPersist(false)), with it the cookie persists 30 days,
// also on later writes, until a login without it.
func TestRememberMe(t *testing.T) {
	for _, b := range []backendCase{memoryBackend(), cookieBackend(), memcachedBackend(), redisBackend()} {
		t.Run(b.name, func(t *testing.T) {
			h := serve(t, b.open(t))
			c := h.client()

			r := c.postForm("/cart", url.Values{"item": {"pencil"}, "qty": {"1"}})
			wantBrowserSession(t, "an anonymous cart", sessionCookie(t, "an anonymous cart", r))
			r = c.postForm("/login", url.Values{"username": {"alice"}})
			wantBrowserSession(t, "a login without remember me", sessionCookie(t, "login", r))

			r = c.postForm("/login", url.Values{"username": {"alice"}, "remember": {"1"}})
			wantRemembered(t, "a login with remember me", sessionCookie(t, "login with remember me", r))
			r = c.postJSON("/api/cart", `{"item": "pencil", "qty": 1}`)
			if sc, ok := testapp.SetCookie(&http.Response{Header: r.header}, cookieName); ok {
				wantRemembered(t, "a write after a login with remember me", sc) // a sealed cookie is sent again on every write
			} else if b.name == "cookie" {
				t.Error("a write to a sealed session sent no cookie")
			}

			r = c.postJSON("/api/login", `{"username": "alice", "remember": false}`)
			wantBrowserSession(t, "an API login without remember me", sessionCookie(t, "API login", r))
			r = c.postJSON("/api/login", `{"username": "alice", "remember": true}`)
			wantRemembered(t, "an API login with remember me", sessionCookie(t, "API login with remember me", r))
			want(t, "cart kept across logins", c.session()["cart"], map[string]any{"pencil": 2.0})
		})
	}
}

// clock is a settable clock for the session middleware (WithClock).
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestLoginLifetimes moves the middleware's clock: a login without
// "remember me" lasts 24 hours; with it, 30 days if the user comes back
// within a week each time; any session ends after a week without a
// request.
func TestLoginLifetimes(t *testing.T) {
	for _, b := range []backendCase{memoryBackend(), cookieBackend()} {
		t.Run(b.name, func(t *testing.T) {
			clk := &clock{now: time.Now()}
			h := serve(t, b.open(t), sessions.WithClock(clk.Now))
			plain, remembered, away := h.client(), h.client(), h.client()
			plain.postJSON("/api/login", `{"username": "alice"}`)
			remembered.postJSON("/api/login", `{"username": "alice", "remember": true}`)
			away.postJSON("/api/login", `{"username": "alice", "remember": true}`)
			user := func(c *client) any { t.Helper(); return c.session()["user"] }

			clk.advance(23 * time.Hour)
			want(t, "plain login after 23 h", user(plain), "alice")
			want(t, "remembered login after 23 h", user(remembered), "alice")
			clk.advance(2 * time.Hour)
			want(t, "plain login after 25 h", user(plain), nil)
			want(t, "remembered login after 25 h", user(remembered), "alice")

			elapsed := idleTimeout + time.Minute // away has not come back for a week
			clk.advance(elapsed - 25*time.Hour)
			want(t, "remembered login after a week away", user(away), nil)
			want(t, "remembered login after 6 days away", user(remembered), "alice")
			for step := idleTimeout - time.Hour; elapsed+step < rememberFor; elapsed += step {
				clk.advance(step)
				want(t, "remembered login, visited every 6 days", user(remembered), "alice")
			}
			clk.advance(rememberFor - elapsed + time.Minute) // 30 days from login, within a week of the last visit
			want(t, "remembered login after 30 days", user(remembered), nil)
		})
	}
}

// TestStaticFiles serves the stylesheet, the script and the pictures: the
// versioned URL the pages use may be cached for good, any other must be
// checked; no session is loaded or set; unknown names are a 404.
func TestStaticFiles(t *testing.T) {
	h := serve(t, memoryBackend().open(t))
	c := h.client()
	for name, ctype := range map[string]string{
		"shop.css":            "text/css; charset=utf-8",
		"shop.js":             "text/javascript; charset=utf-8",
		"products/pencil.svg": "image/svg+xml",
	} {
		body, _ := staticFS.ReadFile("static/" + name)
		r := c.get(asset(name))
		want(t, name+" status", r.status, http.StatusOK)
		want(t, name+" type", r.header.Get("Content-Type"), ctype)
		want(t, name+" cache", r.header.Get("Cache-Control"), "public, max-age=31536000, immutable")
		want(t, name+" nosniff", r.header.Get("X-Content-Type-Options"), "nosniff")
		want(t, name+" body", r.body, string(body))
		if sc := r.header.Values("Set-Cookie"); len(sc) > 0 {
			t.Errorf("%s set a cookie: %q", name, sc)
		}
		r = c.get("/static/" + name + "?v=old")
		want(t, name+" cache of an old version", r.header.Get("Cache-Control"), "no-cache")
	}
	for _, path := range []string{"/static/nope.css", "/static/", "/static/%2e%2e/app.go", "/static/products/../../app.go", "/static/templates/shop.html"} {
		r := c.get(path)
		if r.status != http.StatusNotFound && r.status != http.StatusMovedPermanently {
			t.Errorf("GET %s: %d, want 404", path, r.status)
		}
		if strings.Contains(r.body, "package main") || strings.Contains(r.body, "{{define") {
			t.Errorf("GET %s served source: %q", path, r.body)
		}
	}
}
