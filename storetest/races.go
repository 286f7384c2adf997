package storetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
)

// The race tests interleave two requests of one session through real
// HTTP, in a fixed order: the first loads the session and parks in its
// handler, the second runs whole, then the first is released and commits.

func (s *suite) runRaces(t *testing.T) {
	t.Run("UpdateLoadedBeforeRenewLandsOnTheRenewedSession", s.testUpdateBeforeRenew)
	t.Run("RenewLoadedBeforeUpdateKeepsIt", s.testRenewBeforeUpdate)
	t.Run("TwoRenewsLeaveOneLiveID", s.testTwoRenews)
	t.Run("LogoutBeatsAnUpdateLoadedBefore", s.testLogoutBeatsUpdate)
	t.Run("LogoutBeatsARenewLoadedBefore", s.testLogoutBeatsRenew)
	t.Run("OldIDReadsNothingAfterRenew", s.testOldIDAfterRenew)
	t.Run("LogoutLandsWhenTheClientHangsUp", s.testLogoutClientGone)
	t.Run("HotSession", s.testHotSession)
	t.Run("HotSessionInTwoProcesses", s.testTwoProcesses)
}

// raceApp serves a session's routes, and /held/… variants that do the
// same, then park until released.
type raceApp struct {
	*httptest.Server
	inside   chan struct{} // a held request has done its work and parks
	release  chan struct{} // lets it go on
	finished chan struct{} // a held request's middleware chain returned (its commit is done)
	browser  *http.Client  // one browser: a cookie jar shared by its requests
}

func (s *suite) newRaceApp(t *testing.T) *raceApp {
	t.Helper()
	a := &raceApp{inside: make(chan struct{}), release: make(chan struct{}), finished: make(chan struct{}, 1)}
	clock := s.clock
	if clock == nil {
		clock = NewClock()
	}
	r := gin.New()
	r.Use(func(c *gin.Context) {
		c.Next()
		if strings.HasPrefix(c.Request.URL.Path, "/held/") {
			a.finished <- struct{}{}
		}
	})
	r.Use(sessions.Sessions(cookieName, s.newBackend(t), sessions.WithClock(clock.Now)))
	ops := map[string]func(c *gin.Context){
		"incr":   func(c *gin.Context) { sessions.Default(c).Update("n", add(1)) },
		"login":  func(c *gin.Context) { s := sessions.Default(c); s.Renew(); s.Set("user", c.Query("user")) },
		"logout": func(c *gin.Context) { sessions.Default(c).Destroy() },
	}
	for name, op := range ops {
		r.POST("/"+name, func(c *gin.Context) { op(c); c.String(200, "ok") })
		r.POST("/held/"+name, func(c *gin.Context) {
			op(c)
			a.inside <- struct{}{}
			<-a.release
			c.String(200, "ok")
		})
	}
	r.POST("/held/logout-then-hang-up", func(c *gin.Context) {
		sessions.Default(c).Destroy()
		a.inside <- struct{}{}
		<-c.Request.Context().Done() // the client is gone; the commit comes next
	})
	r.POST("/set/:key/:value", func(c *gin.Context) {
		sessions.Default(c).Set(c.Param("key"), c.Param("value"))
		c.String(200, "ok")
	})
	r.GET("/get/:key", func(c *gin.Context) { c.String(200, "%v", sessions.Default(c).Get(c.Param("key"))) })
	a.Server = httptest.NewServer(r)
	t.Cleanup(a.Close)
	a.browser = (&server{}).client(t)
	return a
}

// held sends path from the browser; it returns once the request parks,
// with a channel that gives its response after release.
func (a *raceApp) held(t *testing.T, path string) <-chan *http.Response {
	t.Helper()
	out := make(chan *http.Response, 1)
	go func() {
		resp, err := a.browser.Post(a.URL+path, "", nil)
		if err != nil {
			t.Error(err)
			out <- nil
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		out <- resp
	}()
	<-a.inside
	return out
}

// finish releases the held request and returns its response.
func (a *raceApp) finish(t *testing.T, responses <-chan *http.Response) *http.Response {
	t.Helper()
	close(a.release)
	resp := <-responses
	<-a.finished
	if resp == nil {
		t.FailNow()
	}
	if resp.StatusCode != 200 {
		t.Fatalf("the held request answered %d", resp.StatusCode)
	}
	return resp
}

// id is the session ID the browser holds.
func (a *raceApp) id(t *testing.T) string {
	t.Helper()
	req, _ := http.NewRequest("GET", a.URL, nil)
	for _, c := range a.browser.Jar.Cookies(req.URL) {
		if c.Name == cookieName {
			return c.Value
		}
	}
	return ""
}

// get reads key as the browser, or with the session ID id if not empty.
func (a *raceApp) get(t *testing.T, key, id string) string {
	t.Helper()
	c := a.browser
	cookie := ""
	if id != "" {
		c, cookie = http.DefaultClient, cookieName+"="+id
	}
	resp, body := do(t, c, "GET", a.URL+"/get/"+key, cookie)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /get/%s = %d %s", key, resp.StatusCode, body)
	}
	return body
}

func (a *raceApp) post(t *testing.T, path string) *http.Response {
	t.Helper()
	return expect(t, a.browser, "POST", a.URL+path, "ok")
}

// setsNoCookie fails unless resp leaves the browser's session cookie alone.
func setsNoCookie(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	if v, set := sessionCookie(resp); set {
		t.Fatalf("%s set the session cookie to %q (%v); the browser's cookie must be left alone", what, v, resp.Header["Set-Cookie"])
	}
}

func (s *suite) testUpdateBeforeRenew(t *testing.T) {
	a := s.newRaceApp(t)
	a.post(t, "/login?user=alice")
	a.post(t, "/incr")
	old := a.id(t)
	held := a.held(t, "/held/incr")
	a.post(t, "/login?user=bob") // another tab logs in: a new ID
	renewed := a.id(t)
	setsNoCookie(t, "an update that loaded before a Renew", a.finish(t, held))
	if got := a.id(t); got != renewed {
		t.Fatalf("the browser holds %q, want the renewed ID %q", got, renewed)
	}
	if n := a.get(t, "n", ""); n != "2" {
		t.Fatalf("n = %s after two increments, one of them loaded before the Renew", n)
	}
	if u := a.get(t, "user", ""); u != "bob" {
		t.Fatalf("user = %s, want bob", u)
	}
	if u := a.get(t, "user", old); u != "<nil>" {
		t.Fatalf("the old ID still reads user = %s", u)
	}
}

func (s *suite) testRenewBeforeUpdate(t *testing.T) {
	a := s.newRaceApp(t)
	a.post(t, "/login?user=alice")
	old := a.id(t)
	held := a.held(t, "/held/login?user=bob")
	a.post(t, "/incr") // another tab, still on the old ID
	resp := a.finish(t, held)
	if v, set := sessionCookie(resp); !set || v == old {
		t.Fatalf("the Renew set the cookie %q (set %v)", v, set)
	}
	if n := a.get(t, "n", ""); n != "1" {
		t.Fatalf("n = %s: the Renew lost the increment committed while it ran", n)
	}
	if u := a.get(t, "user", ""); u != "bob" {
		t.Fatalf("user = %s, want bob", u)
	}
	if n := a.get(t, "n", old); n != "<nil>" {
		t.Fatalf("the old ID still reads n = %s", n)
	}
}

func (s *suite) testTwoRenews(t *testing.T) {
	a := s.newRaceApp(t)
	a.post(t, "/login?user=alice")
	old := a.id(t)
	held := a.held(t, "/held/login?user=carol")
	a.post(t, "/login?user=bob")
	winner := a.id(t)
	setsNoCookie(t, "a Renew that lost to a concurrent Renew", a.finish(t, held))
	if got := a.id(t); got != winner {
		t.Fatalf("the browser holds %q, want the winning Renew's %q", got, winner)
	}
	// The loser's change still lands, on the winner's ID (set values win).
	if u := a.get(t, "user", ""); u != "carol" {
		t.Fatalf("user = %s, want carol (the later commit's value)", u)
	}
	if u := a.get(t, "user", old); u != "<nil>" {
		t.Fatalf("the old ID still reads user = %s", u)
	}
}

func (s *suite) testLogoutBeatsUpdate(t *testing.T) {
	a := s.newRaceApp(t)
	a.post(t, "/login?user=alice")
	old := a.id(t)
	held := a.held(t, "/held/incr")
	a.post(t, "/logout")
	resp := a.finish(t, held)
	if v, set := sessionCookie(resp); set && v != "" {
		t.Fatalf("an update that lost to a logout set the cookie %q", v)
	}
	for _, k := range []string{"user", "n"} {
		if v := a.get(t, k, old); v != "<nil>" {
			t.Fatalf("after the logout the old ID reads %s = %s", k, v)
		}
		if v := a.get(t, k, ""); v != "<nil>" {
			t.Fatalf("after the logout the browser reads %s = %s", k, v)
		}
	}
}

func (s *suite) testLogoutBeatsRenew(t *testing.T) {
	a := s.newRaceApp(t)
	a.post(t, "/login?user=alice")
	old := a.id(t)
	held := a.held(t, "/held/login?user=bob")
	a.post(t, "/logout")
	resp := a.finish(t, held)
	ids := []string{old}
	if v, set := sessionCookie(resp); set && v != "" {
		ids = append(ids, v)
	}
	for _, id := range ids {
		if u := a.get(t, "user", id); u != "<nil>" {
			t.Fatalf("after the logout the ID %q reads user = %s", id, u)
		}
	}
	if u := a.get(t, "user", ""); u != "<nil>" {
		t.Fatalf("after the logout the browser reads user = %s", u)
	}
}

func (s *suite) testOldIDAfterRenew(t *testing.T) {
	a := s.newRaceApp(t)
	a.post(t, "/login?user=alice")
	old := a.id(t)
	a.post(t, "/login?user=bob")
	renewed := a.id(t)
	if u := a.get(t, "user", old); u != "<nil>" {
		t.Fatalf("the old ID reads user = %s after Renew", u)
	}
	// No fixation: a request that presents the old ID afterwards gets a
	// session of its own, not the renewed one.
	resp, _ := do(t, http.DefaultClient, "POST", a.URL+"/set/planted/1", cookieName+"="+old)
	if v, set := sessionCookie(resp); !set || v == old || v == renewed {
		t.Fatalf("a write with the old ID set the cookie %q (set %v)", v, set)
	}
	if v := a.get(t, "planted", ""); v != "<nil>" {
		t.Fatalf("a write with the old ID reached the renewed session: planted = %s", v)
	}
	if u := a.get(t, "user", ""); u != "bob" {
		t.Fatalf("user = %s, want bob", u)
	}
}

func (s *suite) testLogoutClientGone(t *testing.T) {
	a := s.newRaceApp(t)
	a.post(t, "/login?user=alice")
	old := a.id(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", a.URL+"/held/logout-then-hang-up", nil)
		resp, err := a.browser.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-a.inside
	cancel() // the client hangs up before the commit
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("the client's request ended with %v, want it cancelled", err)
	}
	<-a.finished
	if u := a.get(t, "user", old); u != "<nil>" {
		t.Fatalf("a logout whose client hung up was dropped: user = %s", u)
	}
}

// testHotSession has 64 clients send 20 increments each to one session at
// once: every request succeeds, none is lost, and, since the middleware
// lets a process's commits of one session take turns, the store sees
// about one load and one save per request.
func (s *suite) testHotSession(t *testing.T) {
	srv := s.newServer(t)
	c := srv.client(t)
	expect(t, c, "POST", srv.URL+"/incr", "ok")
	const clients, each = 64, 20
	before := srv.calls()
	parallel(t, clients, func(int) error {
		for range each {
			if err := try(c, "POST", srv.URL+"/incr", "ok"); err != nil {
				return err
			}
		}
		return nil
	})
	trips := float64(srv.calls()-before) / (clients * each)
	expect(t, c, "GET", srv.URL+"/get/n", fmt.Sprint(clients*each+1))
	t.Logf("%.2f store calls per request (loads %d, saves %d)", trips, srv.count.loads.Load(), srv.count.saves.Load())
	// Each request loads once; the saves are fewer than the requests, as
	// a commit carries those queued behind it. Racing instead of taking
	// turns costs 4 and more.
	if trips > 2.1 {
		t.Fatalf("%.2f store calls per request, want at most 2", trips)
	}
}

// testTwoProcesses runs two middlewares, as two processes would, on one
// store: each has its own lanes, so their commits of one session race for
// real, and compare-and-swap settles it. 32 clients on each write one
// session at once: nothing is lost and nothing fails.
func (s *suite) testTwoProcesses(t *testing.T) {
	backend := s.newBackend(t)
	clock := s.clock
	if clock == nil {
		clock = NewClock()
	}
	var urls [2]string
	for i := range urls {
		r := gin.New()
		r.Use(sessions.Sessions(cookieName, backend, sessions.WithClock(clock.Now)))
		r.POST("/incr", func(c *gin.Context) { sessions.Default(c).Update("n", add(1)); c.String(200, "ok") })
		r.GET("/get/:key", func(c *gin.Context) { c.String(200, "%v", sessions.Default(c).Get(c.Param("key"))) })
		srv := httptest.NewServer(r)
		t.Cleanup(srv.Close)
		urls[i] = srv.URL
	}
	c := (&server{}).client(t)
	expect(t, c, "POST", urls[0]+"/incr", "ok")
	id := ""
	for _, ck := range c.Jar.Cookies(mustURL(t, urls[0])) {
		if ck.Name == cookieName {
			id = ck.Value
		}
	}
	const clients, each = 32, 10
	parallel(t, 2*clients, func(i int) error {
		for range each {
			req, _ := http.NewRequest("POST", urls[i%2]+"/incr", nil)
			req.Header.Set("Cookie", cookieName+"="+id)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				return fmt.Errorf("POST /incr = %d", resp.StatusCode)
			}
		}
		return nil
	})
	expect(t, c, "GET", urls[1]+"/get/n", fmt.Sprint(2*clients*each+1))
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
