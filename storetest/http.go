package storetest

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionware/sessions"
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
	c := srv.client(t)
	expect(t, c, "POST", srv.URL+"/set/a/1", "ok")
	before := srv.calls()
	resp := expect(t, c, "GET", srv.URL+"/untouched", "hi")
	if _, set := sessionCookie(resp); set {
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
	c := srv.client(t)
	resp := expect(t, c, "GET", srv.URL+"/get/user", "<nil>")
	if _, set := sessionCookie(resp); set {
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
	c := srv.client(t)
	resp := expect(t, c, "POST", srv.URL+"/set/user/alice", "ok")
	value, set := sessionCookie(resp)
	if !set || value == "" {
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
	expect(t, c, "GET", srv.URL+"/get/user", "alice")
	// Another browser does not see it.
	expect(t, srv.client(t), "GET", srv.URL+"/get/user", "<nil>")
}

func (s *suite) testReadDoesNotWrite(t *testing.T) {
	srv := s.newServer(t)
	c := srv.client(t)
	expect(t, c, "POST", srv.URL+"/set/user/alice", "ok")
	expect(t, c, "POST", srv.URL+"/cart/apple", "ok")
	var saves int64
	if srv.count != nil {
		saves = srv.count.saves.Load()
	}
	resp := expect(t, c, "GET", srv.URL+"/cart", `{"apple":1}`)
	expect(t, c, "GET", srv.URL+"/get/user", "alice")
	if _, set := sessionCookie(resp); set {
		t.Fatal("a read-only request set the cookie")
	}
	if srv.count != nil && srv.count.saves.Load() != saves {
		t.Fatalf("a read-only request saved %d times", srv.count.saves.Load()-saves)
	}
}

func (s *suite) testNestedChangeInPlaceIsSaved(t *testing.T) {
	srv := s.newServer(t)
	c := srv.client(t)
	expect(t, c, "POST", srv.URL+"/cart/apple", "ok")
	expect(t, c, "POST", srv.URL+"/cart/apple", "ok")
	expect(t, c, "POST", srv.URL+"/cart/pear", "ok")
	expect(t, c, "GET", srv.URL+"/cart", `{"apple":2,"pear":1}`)
}

func (s *suite) testFlashesOnce(t *testing.T) {
	srv := s.newServer(t)
	c := srv.client(t)
	expect(t, c, "POST", srv.URL+"/flash/hello", "ok")
	expect(t, c, "POST", srv.URL+"/flash/again", "ok")
	expect(t, c, "GET", srv.URL+"/keys", "")
	expect(t, c, "GET", srv.URL+"/flashes", "[hello again]")
	expect(t, c, "GET", srv.URL+"/flashes", "[]")
}

func (s *suite) testRenewChangesIDKeepsData(t *testing.T) {
	srv := s.newServer(t)
	c := srv.client(t)
	resp := expect(t, c, "POST", srv.URL+"/set/user/alice", "ok")
	oldCookie, _ := sessionCookie(resp)
	_, oldID := do(t, c, "GET", srv.URL+"/id", "")
	resp = expect(t, c, "POST", srv.URL+"/renew", "ok")
	newCookie, set := sessionCookie(resp)
	if !set || newCookie == oldCookie {
		t.Fatal("Renew did not set a new cookie")
	}
	_, newID := do(t, c, "GET", srv.URL+"/id", "")
	if newID == oldID || len(newID) != 43 {
		t.Fatalf("ID after Renew = %q, before %q", newID, oldID)
	}
	expect(t, c, "GET", srv.URL+"/get/user", "alice")
	if !srv.sealed {
		_, body := do(t, http.DefaultClient, "GET", srv.URL+"/get/user", cookieName+"="+oldCookie)
		if body != "<nil>" {
			t.Fatalf("the old ID still works after Renew: %q", body)
		}
	}
}

func (s *suite) testDestroyDeletesAndExpires(t *testing.T) {
	srv := s.newServer(t)
	c := srv.client(t)
	resp := expect(t, c, "POST", srv.URL+"/set/user/alice", "ok")
	oldCookie, _ := sessionCookie(resp)
	resp = expect(t, c, "POST", srv.URL+"/destroy", "ok")
	var expired bool
	for _, ck := range resp.Cookies() {
		expired = expired || ck.Name == cookieName && ck.MaxAge < 0
	}
	if !expired {
		t.Fatalf("Destroy did not expire the cookie: %q", resp.Header.Values("Set-Cookie"))
	}
	expect(t, c, "GET", srv.URL+"/get/user", "<nil>")
	if !srv.sealed {
		_, body := do(t, http.DefaultClient, "GET", srv.URL+"/get/user", cookieName+"="+oldCookie)
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
		resp, body := do(t, http.DefaultClient, "GET", srv.URL+"/get/user", cookieName+"="+bad)
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
	c := srv.client(t)
	expect(t, c, "POST", srv.URL+"/set/user/alice", "ok")
	for range 3 {
		srv.clock.Advance(idle - time.Minute)
		expect(t, c, "GET", srv.URL+"/get/user", "alice")
	}
	srv.clock.Advance(idle)
	expect(t, c, "GET", srv.URL+"/get/user", "<nil>")
	expect(t, c, "POST", srv.URL+"/set/user/bob", "ok")
	expect(t, c, "GET", srv.URL+"/get/user", "bob")
}

// testRefreshAfterAQuarterOfTheIdleTimeout: a session that is only read
// is written again (touched, saved or sealed) once a quarter of its idle
// timeout has passed since it was last written, and not before.
func (s *suite) testRefreshAfterAQuarterOfTheIdleTimeout(t *testing.T) {
	const idle = 2 * time.Minute // refreshed every 30 s
	srv := s.newServer(t, sessions.WithIdleTimeout(idle))
	c := srv.client(t)
	expect(t, c, "POST", srv.URL+"/set/user/alice", "ok")
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
	c := srv.client(t)
	expect(t, c, "POST", srv.URL+"/set/user/alice", "ok")
	for range 2 {
		srv.clock.Advance(20 * time.Minute)
		expect(t, c, "GET", srv.URL+"/get/user", "alice")
	}
	srv.clock.Advance(20*time.Minute - 500*time.Millisecond)
	expect(t, c, "POST", srv.URL+"/set/seen/yes", "ok")
	// The browser may keep the cookie longer than the server allows: send
	// it by hand.
	cookie := srv.cookie(t, c)
	srv.clock.Advance(500 * time.Millisecond)
	_, body := do(t, http.DefaultClient, "GET", srv.URL+"/get/user", cookieName+"="+cookie)
	if body != "<nil>" {
		t.Fatalf("a session used every 20 minutes, with a lifetime of %v, is still there after it: %q", lifetime, body)
	}
}

func (s *suite) testConcurrentUpdatesLoseNothing(t *testing.T) {
	srv := s.newServer(t)
	c := srv.client(t)
	expect(t, c, "POST", srv.URL+"/incr", "ok")
	parallel(t, 50, func(int) error { return try(c, "POST", srv.URL+"/incr", "ok") })
	expect(t, c, "GET", srv.URL+"/get/n", "51")
}

func (s *suite) testConcurrentSetsOfDistinctKeysLoseNothing(t *testing.T) {
	srv := s.newServer(t)
	c := srv.client(t)
	expect(t, c, "POST", srv.URL+"/set/first/1", "ok")
	parallel(t, 50, func(i int) error { return try(c, "POST", fmt.Sprintf("%s/set/k%02d/%d", srv.URL, i, i), "ok") })
	_, keys := do(t, c, "GET", srv.URL+"/keys", "")
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
	c := srv.client(t)
	expect(t, c, "POST", srv.URL+"/set/init/1", "ok")
	srv.whileHeld(t, c, func() {
		expect(t, c, "POST", srv.URL+"/incr", "ok")
		expect(t, c, "POST", srv.URL+"/set/fast/yes", "ok")
	})
	expect(t, c, "GET", srv.URL+"/get/n", "11")
	expect(t, c, "GET", srv.URL+"/keys", "fast,held,init,n")
}

// testUpdateAfterAConcurrentTouchIsSaved: a read that refreshes the idle
// deadline (Touch, which may change the version) while another request
// holds the session loaded does not cost that request its update.
func (s *suite) testUpdateAfterAConcurrentTouchIsSaved(t *testing.T) {
	const idle = 2 * time.Minute
	srv := s.newServer(t, sessions.WithIdleTimeout(idle))
	c := srv.client(t)
	expect(t, c, "POST", srv.URL+"/set/init/1", "ok")
	srv.clock.Advance(idle / 2)
	srv.whileHeld(t, c, func() {
		if !srv.read(t, c, "init", "1") {
			t.Fatalf("a read %v after the save, with an idle timeout of %v, did not refresh the session", idle/2, idle)
		}
	})
	expect(t, c, "GET", srv.URL+"/get/n", "10")
	expect(t, c, "GET", srv.URL+"/keys", "held,init,n")
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
