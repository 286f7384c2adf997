package storetest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testapp"
)

func (s *suite) testFlashCategories(t *testing.T) {
	srv := s.newServer(t)
	c := srv.Browser
	c.Expect("POST", "/flash/saved", 200, "ok")
	c.Expect("POST", "/flash/oops/error", 200, "ok")
	c.Expect("POST", "/flash/fine/info", 200, "ok")
	c.Expect("POST", "/flash/again/error", 200, "ok")
	c.Expect("GET", "/keys", 200, "")
	c.Expect("GET", "/flashes/error", 200, "[oops again]")
	c.Expect("GET", "/flashes/error", 200, "[]")
	c.Expect("GET", "/flashes", 200, "[saved]")
	c.Expect("GET", "/flashes/info", 200, "[fine]")
	c.Expect("GET", "/flashes/info", 200, "[]")
}

// sessionCookie returns the session's Set-Cookie header line of resp.
func sessionCookie(t *testing.T, resp *http.Response) string {
	t.Helper()
	for _, line := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, cookieName+"=") {
			return line
		}
	}
	t.Fatalf("no %s cookie set: %q", cookieName, resp.Header.Values("Set-Cookie"))
	return ""
}

// maxAgeOf returns the Max-Age attribute of a Set-Cookie line, or "" when
// it has none; it fails the test on an Expires attribute.
func maxAgeOf(t *testing.T, line string) string {
	t.Helper()
	for _, attr := range strings.Split(line, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(attr), "=")
		switch strings.ToLower(k) {
		case "expires":
			t.Fatalf("the cookie has Expires: %q", line)
		case "max-age":
			return v
		}
	}
	return ""
}

// WithPersist(false): the cookie lasts the browser session (no Max-Age,
// no Expires); the session still ends on the server at its lifetime.
func (s *suite) testBrowserSessionCookies(t *testing.T) {
	srv := s.newServer(t, sessions.WithPersist(false), sessions.WithLifetime(time.Hour))
	c := srv.Browser
	resp := c.Expect("POST", "/set/user/alice", 200, "ok")
	if ma := maxAgeOf(t, sessionCookie(t, resp)); ma != "" {
		t.Fatalf("WithPersist(false): the cookie has Max-Age=%s", ma)
	}
	c.Expect("GET", "/get/user", 200, "alice")
	resp = c.Expect("POST", "/renew", 200, "ok")
	if ma := maxAgeOf(t, sessionCookie(t, resp)); ma != "" {
		t.Fatalf("WithPersist(false): the renewed cookie has Max-Age=%s", ma)
	}
	cookie := c.Cookie(cookieName)
	srv.clock.Advance(time.Hour)
	_, body := srv.Stranger().Do("GET", "/get/user", testapp.WithCookie(cookieName, cookie))
	if body != "<nil>" {
		t.Fatalf("a browser-session cookie outlived the lifetime on the server: %q", body)
	}
}

// RememberMe(true) makes this session's cookie persist although
// WithPersist(false) says otherwise, and the cookie is sent again at once;
// RememberMe(false) takes the Max-Age away again.
func (s *suite) testRememberMe(t *testing.T) {
	srv := s.newServer(t, sessions.WithPersist(false), sessions.WithLifetime(time.Hour))
	c := srv.Browser
	c.Expect("POST", "/set/user/alice", 200, "ok")
	resp := c.Expect("POST", "/remember/yes", 200, "ok")
	if ma := maxAgeOf(t, sessionCookie(t, resp)); ma != "3600" {
		t.Fatalf("after RememberMe(true): Max-Age = %q, want 3600", ma)
	}
	resp = c.Expect("POST", "/renew", 200, "ok")
	if ma := maxAgeOf(t, sessionCookie(t, resp)); ma != "3600" {
		t.Fatalf("RememberMe(true), then Renew: Max-Age = %q, want 3600", ma)
	}
	c.Expect("GET", "/get/user", 200, "alice")
	resp = c.Expect("POST", "/remember/no", 200, "ok")
	if ma := maxAgeOf(t, sessionCookie(t, resp)); ma != "" {
		t.Fatalf("after RememberMe(false): Max-Age = %q, want none", ma)
	}
	c.Expect("GET", "/get/user", 200, "alice")
}

// SetLifetime(40 days) at "login" keeps the session past WithLifetime, in
// the store too (past memcached's 30-day limit for relative TTLs), with
// the cookie's Max-Age and the store's TTL following; it ends at the new
// expiry.
func (s *suite) testSetLifetimeLonger(t *testing.T) {
	const days = 24 * time.Hour
	srv := s.newServer(t, sessions.WithLifetime(time.Hour))
	c := srv.Browser
	c.Expect("POST", "/set/user/alice", 200, "ok")
	resp := c.Expect("POST", "/lifetime/960h", 200, "ok")
	if ma := maxAgeOf(t, sessionCookie(t, resp)); ma != "3456000" {
		t.Fatalf("after SetLifetime(40 days): Max-Age = %q, want 3456000", ma)
	}
	if srv.count != nil {
		if ttl := time.Duration(srv.count.lastTTL.Load()); ttl < 40*days-time.Minute {
			t.Fatalf("after SetLifetime(40 days) the store was given a TTL of %v", ttl)
		}
	}
	c.Expect("GET", "/get/user", 200, "alice") // the store kept it
	srv.clock.Advance(39 * days)
	c.Expect("GET", "/get/user", 200, "alice")
	resp = c.Expect("POST", "/renew", 200, "ok")
	if ma := maxAgeOf(t, sessionCookie(t, resp)); ma != "86400" {
		t.Fatalf("Renew a day before the expiry: Max-Age = %q, want 86400", ma)
	}
	cookie := c.Cookie(cookieName)
	srv.clock.Advance(days)
	_, body := srv.Stranger().Do("GET", "/get/user", testapp.WithCookie(cookieName, cookie))
	if body != "<nil>" {
		t.Fatalf("the session outlived SetLifetime: %q", body)
	}
}

// SetLifetime(10m) ends a session before WithLifetime would.
func (s *suite) testSetLifetimeShorter(t *testing.T) {
	srv := s.newServer(t, sessions.WithLifetime(time.Hour))
	c := srv.Browser
	c.Expect("POST", "/set/user/alice", 200, "ok")
	resp := c.Expect("POST", "/lifetime/10m", 200, "ok")
	if ma := maxAgeOf(t, sessionCookie(t, resp)); ma != "600" {
		t.Fatalf("after SetLifetime(10m): Max-Age = %q, want 600", ma)
	}
	srv.clock.Advance(9 * time.Minute)
	c.Expect("GET", "/get/user", 200, "alice")
	cookie := c.Cookie(cookieName)
	srv.clock.Advance(time.Minute)
	_, body := srv.Stranger().Do("GET", "/get/user", testapp.WithCookie(cookieName, cookie))
	if body != "<nil>" {
		t.Fatalf("the session outlived SetLifetime(10m): %q", body)
	}
}

// WithHeader: a client that sends the header (even empty) gets its token
// there and no cookie; the token works like the cookie, Renew and Destroy
// included; responses vary on the header; a client without it keeps using
// cookies.
func (s *suite) testHeaderTokens(t *testing.T) {
	const header = "X-Session-Token"
	srv := s.newServer(t, sessions.WithHeader(header))
	api := srv.Stranger()
	resp, body := api.Do("POST", "/set/user/alice", testapp.WithHeader(header, ""))
	token := resp.Header.Get(header)
	if body != "ok" || token == "" {
		t.Fatalf("a new session over the header: %q, token %q", body, token)
	}
	if sc := resp.Header.Values("Set-Cookie"); len(sc) != 0 {
		t.Fatalf("a header client got a cookie: %q", sc)
	}
	if vary := strings.Join(resp.Header.Values("Vary"), ","); !strings.Contains(vary, header) {
		t.Fatalf("Vary = %q, want %s in it", vary, header)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, header) && !strings.Contains(cc, "no-store") {
		t.Fatalf("a response with a token may be cached: Cache-Control %q", cc)
	}
	resp, body = api.Do("GET", "/get/user", testapp.WithHeader(header, token))
	if body != "alice" {
		t.Fatalf("the token does not carry the session: %q", body)
	}
	if !srv.sealed && resp.Header.Get(header) != "" {
		t.Fatalf("a read sent a new token: %q", resp.Header.Get(header))
	}
	// The header wins over a cookie the request also carries.
	_, body = api.Do("GET", "/get/user", testapp.WithHeader(header, ""), testapp.WithCookie(cookieName, token))
	if body != "<nil>" {
		t.Fatalf("an empty header let the cookie in: %q", body)
	}
	resp, _ = api.Do("POST", "/renew", testapp.WithHeader(header, token))
	renewed := resp.Header.Get(header)
	if renewed == "" || renewed == token {
		t.Fatalf("Renew over the header sent token %q (was %q)", renewed, token)
	}
	if _, body = api.Do("GET", "/get/user", testapp.WithHeader(header, renewed)); body != "alice" {
		t.Fatalf("the renewed token does not carry the session: %q", body)
	}
	if !srv.sealed {
		if _, body = api.Do("GET", "/get/user", testapp.WithHeader(header, token)); body != "<nil>" {
			t.Fatalf("the token from before Renew still works: %q", body)
		}
	}
	resp, _ = api.Do("POST", "/destroy", testapp.WithHeader(header, renewed))
	if v, ok := resp.Header[header]; !ok || len(v) != 1 || v[0] != "" {
		t.Fatalf("Destroy over the header answered %s: %q, want it empty", header, v)
	}
	if !srv.sealed {
		if _, body = api.Do("GET", "/get/user", testapp.WithHeader(header, renewed)); body != "<nil>" {
			t.Fatalf("the token works after Destroy: %q", body)
		}
	}
	// Browsers without the header keep their cookie.
	c := srv.Browser
	resp = c.Expect("POST", "/set/user/bob", 200, "ok")
	if resp.Header.Get(header) != "" {
		t.Fatal("a cookie client got a token header")
	}
	sessionCookie(t, resp)
	c.Expect("GET", "/get/user", 200, "bob")
}
