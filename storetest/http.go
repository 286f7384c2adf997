package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testapp"
)

// runHTTP checks the middleware's behaviour through the backend, over real
// HTTP.
func (s *suite) runHTTP(t *testing.T) {
	t.Run("UntouchedCostsNothing", s.testUntouchedCostsNothing)
	t.Run("AnonymousEmptySessionIsNotStored", s.testAnonymousEmptySessionIsNotStored)
	t.Run("RoundTrip", s.testHTTPRoundTrip)
	t.Run("ReadDoesNotWrite", s.testReadDoesNotWrite)
	t.Run("NestedChangeInPlaceIsSaved", s.testNestedChangeInPlaceIsSaved)
	t.Run("FlashesOnce", s.testFlashesOnce)
	t.Run("RenewChangesIDKeepsData", s.testRenewChangesIDKeepsData)
	t.Run("DestroyDeletesAndExpires", s.testDestroyDeletesAndExpires)
	t.Run("MalformedCookieIsNoSession", s.testMalformedCookieIsNoSession)
	t.Run("IdleSessionExpires", s.testIdleSessionExpires)
	t.Run("RefreshAfterAQuarterOfTheIdleTimeout", s.testRefreshAfterAQuarterOfTheIdleTimeout)
	t.Run("LifetimeEndsAUsedSession", s.testLifetimeEndsAUsedSession)
	t.Run("FlashCategories", s.testFlashCategories)
	t.Run("BrowserSessionCookies", s.testBrowserSessionCookies)
	t.Run("RememberMe", s.testRememberMe)
	t.Run("SetLifetimeLonger", s.testSetLifetimeLonger)
	t.Run("SetLifetimeShorter", s.testSetLifetimeShorter)
	t.Run("HeaderTokens", s.testHeaderTokens)
	t.Run("SignOutOtherDevices", s.testSignOutOtherDevices)
	t.Run("LostOwnerIndexSignsOut", s.testLostOwnerIndexSignsOut)
	if !s.sealed {
		// A sealed session is the cookie: concurrent requests of one
		// session cannot merge, the last response's cookie wins.
		t.Run("ConcurrentUpdatesLoseNothing", s.testConcurrentUpdatesLoseNothing)
		t.Run("ConcurrentSetsOfDistinctKeysLoseNothing", s.testConcurrentSetsOfDistinctKeysLoseNothing)
		t.Run("UpdateAfterAConcurrentCommitIsReplayed", s.testUpdateAfterAConcurrentCommitIsReplayed)
		t.Run("UpdateAfterAConcurrentTouchIsSaved", s.testUpdateAfterAConcurrentTouchIsSaved)
	}
}

func (s *suite) testUntouchedCostsNothing(t *testing.T) {
	srv := s.newServer(t)
	c := srv.Browser
	c.Expect("POST", "/set/a/1", 200, "ok")
	before := srv.calls()
	resp := c.Expect("GET", "/untouched", 200, "hi")
	if _, set := testapp.SetCookie(resp, cookieName); set {
		t.Fatal("an untouched session set a cookie")
	}
	if resp.Header.Get("Vary") != "" {
		t.Fatalf("an untouched session added Vary: %q", resp.Header.Get("Vary"))
	}
	if got := srv.calls() - before; got != 0 {
		t.Fatalf("an untouched session made %d store calls", got)
	}
}

func (s *suite) testAnonymousEmptySessionIsNotStored(t *testing.T) {
	srv := s.newServer(t)
	c := srv.Browser
	resp := c.Expect("GET", "/get/user", 200, "<nil>")
	if _, set := testapp.SetCookie(resp, cookieName); set {
		t.Fatal("reading an empty new session set a cookie")
	}
	if resp.Header.Get("Vary") != "Cookie" {
		t.Fatalf("Vary = %q, want Cookie", resp.Header.Get("Vary"))
	}
	if srv.calls() != 0 {
		t.Fatalf("an anonymous empty session made %d store calls", srv.calls())
	}
}

func (s *suite) testHTTPRoundTrip(t *testing.T) {
	srv := s.newServer(t)
	c := srv.Browser
	resp := c.Expect("POST", "/set/user/alice", 200, "ok")
	if ck, set := testapp.SetCookie(resp, cookieName); !set || ck.Value == "" {
		t.Fatal("no session cookie after a Set")
	}
	if cc := resp.Header.Get("Cache-Control"); cc != `no-cache="Set-Cookie"` {
		t.Fatalf("Cache-Control = %q", cc)
	}
	raw := resp.Header.Get("Set-Cookie")
	for _, attr := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(raw, attr) {
			t.Fatalf("Set-Cookie %q lacks %s", raw, attr)
		}
	}
	if strings.Contains(raw, "alice") {
		t.Fatalf("the cookie reveals a value: %q", raw)
	}
	c.Expect("GET", "/get/user", 200, "alice")
	// Another browser does not see it.
	srv.NewBrowser().Expect("GET", "/get/user", 200, "<nil>")
}

func (s *suite) testReadDoesNotWrite(t *testing.T) {
	srv := s.newServer(t)
	c := srv.Browser
	c.Expect("POST", "/set/user/alice", 200, "ok")
	c.Expect("POST", "/cart/apple", 200, "ok")
	var saves int64
	if srv.count != nil {
		saves = srv.count.saves.Load()
	}
	resp := c.Expect("GET", "/cart", 200, `{"apple":1}`)
	c.Expect("GET", "/get/user", 200, "alice")
	if _, set := testapp.SetCookie(resp, cookieName); set {
		t.Fatal("a read-only request set the cookie")
	}
	if srv.count != nil && srv.count.saves.Load() != saves {
		t.Fatalf("a read-only request saved %d times", srv.count.saves.Load()-saves)
	}
}

func (s *suite) testNestedChangeInPlaceIsSaved(t *testing.T) {
	srv := s.newServer(t)
	c := srv.Browser
	c.Expect("POST", "/cart/apple", 200, "ok")
	c.Expect("POST", "/cart/apple", 200, "ok")
	c.Expect("POST", "/cart/pear", 200, "ok")
	c.Expect("GET", "/cart", 200, `{"apple":2,"pear":1}`)
}

func (s *suite) testFlashesOnce(t *testing.T) {
	srv := s.newServer(t)
	c := srv.Browser
	c.Expect("POST", "/flash/hello", 200, "ok")
	c.Expect("POST", "/flash/again", 200, "ok")
	c.Expect("GET", "/keys", 200, "")
	c.Expect("GET", "/flashes", 200, "[hello again]")
	c.Expect("GET", "/flashes", 200, "[]")
}

func (s *suite) testRenewChangesIDKeepsData(t *testing.T) {
	srv := s.newServer(t)
	c := srv.Browser
	resp := c.Expect("POST", "/set/user/alice", 200, "ok")
	oldCookie, _ := testapp.SetCookie(resp, cookieName)
	_, oldID := c.Do("GET", "/id")
	resp = c.Expect("POST", "/renew", 200, "ok")
	if newCookie, set := testapp.SetCookie(resp, cookieName); !set || newCookie.Value == oldCookie.Value {
		t.Fatal("Renew did not set a new cookie")
	}
	_, newID := c.Do("GET", "/id")
	if newID == oldID || len(newID) != 43 {
		t.Fatalf("ID after Renew = %q, before %q", newID, oldID)
	}
	c.Expect("GET", "/get/user", 200, "alice")
	if !srv.sealed {
		_, body := srv.Stranger().Do("GET", "/get/user", testapp.WithCookie(cookieName, oldCookie.Value))
		if body != "<nil>" {
			t.Fatalf("the old ID still works after Renew: %q", body)
		}
	}
}

func (s *suite) testDestroyDeletesAndExpires(t *testing.T) {
	srv := s.newServer(t)
	c := srv.Browser
	resp := c.Expect("POST", "/set/user/alice", 200, "ok")
	oldCookie, _ := testapp.SetCookie(resp, cookieName)
	resp = c.Expect("POST", "/destroy", 200, "ok")
	if ck, set := testapp.SetCookie(resp, cookieName); !set || ck.MaxAge >= 0 {
		t.Fatalf("Destroy did not expire the cookie: %q", resp.Header.Values("Set-Cookie"))
	}
	c.Expect("GET", "/get/user", 200, "<nil>")
	if !srv.sealed {
		_, body := srv.Stranger().Do("GET", "/get/user", testapp.WithCookie(cookieName, oldCookie.Value))
		if body != "<nil>" {
			t.Fatalf("a copied cookie still works after Destroy: %q", body)
		}
	}
}

func (s *suite) testMalformedCookieIsNoSession(t *testing.T) {
	srv := s.newServer(t)
	for _, bad := range []string{
		"x", strings.Repeat("A", 42), strings.Repeat("A", 44), strings.Repeat("A", 42) + "B",
		strings.Repeat("!", 43), strings.Repeat("A", 4096), "%00%00", `"` + strings.Repeat("A", 43) + `"x`,
	} {
		before := srv.calls()
		resp, body := srv.Stranger().Do("GET", "/get/user", testapp.WithCookie(cookieName, bad))
		if resp.StatusCode != 200 || body != "<nil>" {
			t.Fatalf("cookie %.20q: %d %q, want a new empty session", bad, resp.StatusCode, body)
		}
		if srv.calls() != before {
			t.Fatalf("cookie %.20q reached the store", bad)
		}
	}
}

// testIdleSessionExpires: reads keep a session alive past its idle
// timeout (on a shared clock, the store's record too), and a session
// unused for the idle timeout is a new, empty one.
func (s *suite) testIdleSessionExpires(t *testing.T) {
	const idle = 10 * time.Minute
	srv := s.newServer(t, sessions.WithIdleTimeout(idle))
	c := srv.Browser
	c.Expect("POST", "/set/user/alice", 200, "ok")
	for range 3 {
		srv.clock.Advance(idle - time.Minute)
		c.Expect("GET", "/get/user", 200, "alice")
	}
	srv.clock.Advance(idle)
	c.Expect("GET", "/get/user", 200, "<nil>")
	c.Expect("POST", "/set/user/bob", 200, "ok")
	c.Expect("GET", "/get/user", 200, "bob")
}

// testRefreshAfterAQuarterOfTheIdleTimeout: a session that is only read
// is written again (touched, saved or sealed) once a quarter of its idle
// timeout has passed since it was last written, and not before.
func (s *suite) testRefreshAfterAQuarterOfTheIdleTimeout(t *testing.T) {
	const idle = 2 * time.Minute // refreshed every 30 s
	srv := s.newServer(t, sessions.WithIdleTimeout(idle))
	c := srv.Browser
	c.Expect("POST", "/set/user/alice", 200, "ok")
	var at time.Duration
	for _, step := range []struct {
		advance time.Duration
		write   bool
	}{
		{29 * time.Second, false},
		{1 * time.Second, true}, // 30 s after the save
		{29 * time.Second, false},
		{1 * time.Second, true}, // 30 s after that refresh
		{15 * time.Second, false},
	} {
		srv.clock.Advance(step.advance)
		at += step.advance
		if wrote := srv.read(t, c, "user", "alice"); wrote != step.write {
			t.Fatalf("idle timeout %v, a read %v after the session was saved wrote it: %v, want %v",
				idle, at, wrote, step.write)
		}
	}
}

// testLifetimeEndsAUsedSession: a session used within its idle timeout
// still ends at its absolute lifetime. Its last save comes half a second
// before the end, so that the store's record outlives the lifetime (the
// middleware never asks for a TTL under a second): only the middleware's
// lifetime check ends the session.
func (s *suite) testLifetimeEndsAUsedSession(t *testing.T) {
	const lifetime, idle = time.Hour, 30 * time.Minute
	srv := s.newServer(t, sessions.WithLifetime(lifetime), sessions.WithIdleTimeout(idle))
	c := srv.Browser
	c.Expect("POST", "/set/user/alice", 200, "ok")
	for range 2 {
		srv.clock.Advance(20 * time.Minute)
		c.Expect("GET", "/get/user", 200, "alice")
	}
	srv.clock.Advance(20*time.Minute - 500*time.Millisecond)
	c.Expect("POST", "/set/seen/yes", 200, "ok")
	// The browser may keep the cookie longer than the server allows: send
	// it by hand.
	cookie := c.Cookie(cookieName)
	if cookie == "" {
		t.Fatal("the browser holds no session cookie")
	}
	srv.clock.Advance(500 * time.Millisecond)
	_, body := srv.Stranger().Do("GET", "/get/user", testapp.WithCookie(cookieName, cookie))
	if body != "<nil>" {
		t.Fatalf("a session used every 20 minutes, with a lifetime of %v, is still there after it: %q", lifetime, body)
	}
}

func (s *suite) testConcurrentUpdatesLoseNothing(t *testing.T) {
	srv := s.newServer(t)
	c := srv.Browser
	c.Expect("POST", "/incr", 200, "ok")
	parallel(t, 50, func(int) error { return c.Try("POST", "/incr", 200, "ok") })
	c.Expect("GET", "/get/n", 200, "51")
}

func (s *suite) testConcurrentSetsOfDistinctKeysLoseNothing(t *testing.T) {
	srv := s.newServer(t)
	c := srv.Browser
	c.Expect("POST", "/set/first/1", 200, "ok")
	parallel(t, 50, func(i int) error { return c.Try("POST", fmt.Sprintf("/set/k%02d/%d", i, i), 200, "ok") })
	_, keys := c.Do("GET", "/keys")
	if n := len(strings.Split(keys, ",")); n != 51 {
		t.Fatalf("after 50 concurrent sets of distinct keys the session has %d keys: %s", n, keys)
	}
}

// testUpdateAfterAConcurrentCommitIsReplayed: the held request loads the
// session and adds 10 to n; meanwhile two others add 1 to n and set a key,
// and commit first. The held request's compare-and-swap then loses: it
// must reload and run its Update again on the fresh value, keeping theirs.
func (s *suite) testUpdateAfterAConcurrentCommitIsReplayed(t *testing.T) {
	srv := s.newServer(t)
	c := srv.Browser
	c.Expect("POST", "/set/init/1", 200, "ok")
	srv.whileHeld(t, c, func() {
		c.Expect("POST", "/incr", 200, "ok")
		c.Expect("POST", "/set/fast/yes", 200, "ok")
	})
	c.Expect("GET", "/get/n", 200, "11")
	c.Expect("GET", "/keys", 200, "fast,held,init,n")
}

// testUpdateAfterAConcurrentTouchIsSaved: a read that refreshes the idle
// deadline (Touch, which may change the version) while another request
// holds the session loaded does not cost that request its update.
func (s *suite) testUpdateAfterAConcurrentTouchIsSaved(t *testing.T) {
	const idle = 2 * time.Minute
	srv := s.newServer(t, sessions.WithIdleTimeout(idle))
	c := srv.Browser
	c.Expect("POST", "/set/init/1", 200, "ok")
	srv.clock.Advance(idle / 2)
	srv.whileHeld(t, c, func() {
		if !srv.read(t, c, "init", "1") {
			t.Fatalf("a read %v after the save, with an idle timeout of %v, did not refresh the session", idle/2, idle)
		}
	})
	c.Expect("GET", "/get/n", 200, "10")
	c.Expect("GET", "/keys", 200, "held,init,n")
}

// parallel runs fn(0) … fn(n-1) at once and fails t with their errors.
func parallel(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- fn(i) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}
