package storetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testapp"
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
// same, then park at its gate until released.
type raceApp struct {
	*testapp.App
	gate     *testapp.Gate
	finished chan struct{} // a held request's middleware chain returned (its commit is done)
}

func (s *suite) newRaceApp(t *testing.T) *raceApp {
	t.Helper()
	a := &raceApp{gate: testapp.NewGate(), finished: make(chan struct{}, 1)}
	clock := s.clock
	if clock == nil {
		clock = NewClock()
	}
	a.App = testapp.NewGin(t, func(r *gin.Engine) {
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
				a.gate.Park()
				c.String(200, "ok")
			})
		}
		r.POST("/held/logout-then-hang-up", func(c *gin.Context) {
			sessions.Default(c).Destroy()
			a.gate.Park()
			<-c.Request.Context().Done() // the client is gone; the commit comes next
		})
		r.POST("/set/:key/:value", func(c *gin.Context) {
			sessions.Default(c).Set(c.Param("key"), c.Param("value"))
			c.String(200, "ok")
		})
		r.GET("/get/:key", func(c *gin.Context) { c.String(200, "%v", sessions.Default(c).Get(c.Param("key"))) })
	})
	t.Cleanup(a.gate.Release) // before the server closes, also when a test fails
	return a
}

// finish releases the held request, waits until its commit is done, and
// returns its response.
func (a *raceApp) finish(t *testing.T, held *testapp.Held) *http.Response {
	t.Helper()
	resp, _ := held.Finish()
	<-a.finished
	if resp.StatusCode != 200 {
		t.Fatalf("the held request answered %d", resp.StatusCode)
	}
	return resp
}

// want fails unless key reads want, as the browser or with the session ID
// id if not empty; why says what the check shows.
func (a *raceApp) want(t *testing.T, key, id, want, why string) {
	t.Helper()
	if got := a.get(t, key, id); got != want {
		t.Fatalf("%s: %s = %s, want %s", why, key, got, want)
	}
}

// get reads key as the browser, or with the session ID id if not empty.
func (a *raceApp) get(t *testing.T, key, id string) string {
	t.Helper()
	b, opts := a.Browser, []testapp.Option(nil)
	if id != "" {
		b, opts = a.Stranger(), []testapp.Option{testapp.WithCookie(cookieName, id)}
	}
	resp, body := b.Do("GET", "/get/"+key, opts...)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /get/%s = %d %s", key, resp.StatusCode, body)
	}
	return body
}

// setsNoCookie fails unless resp leaves the browser's session cookie alone.
func setsNoCookie(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	if ck, set := testapp.SetCookie(resp, cookieName); set {
		t.Fatalf("%s set the session cookie to %q (%v); the browser's cookie must be left alone", what, ck.Value, resp.Header["Set-Cookie"])
	}
}

func (s *suite) testUpdateBeforeRenew(t *testing.T) {
	a := s.newRaceApp(t)
	a.Expect("POST", "/login?user=alice", 200, "ok")
	a.Expect("POST", "/incr", 200, "ok")
	old := a.Cookie(cookieName)
	held := a.Hold(a.gate, "POST", "/held/incr")
	a.Expect("POST", "/login?user=bob", 200, "ok") // another tab logs in: a new ID
	renewed := a.Cookie(cookieName)
	setsNoCookie(t, "an update that loaded before a Renew", a.finish(t, held))
	if got := a.Cookie(cookieName); got != renewed {
		t.Fatalf("the browser holds %q, want the renewed ID %q", got, renewed)
	}
	a.want(t, "n", "", "2", "two increments, one loaded before the Renew")
	a.want(t, "user", "", "bob", "the renewed session")
	a.want(t, "user", old, "<nil>", "the old ID after the Renew")
}

func (s *suite) testRenewBeforeUpdate(t *testing.T) {
	a := s.newRaceApp(t)
	a.Expect("POST", "/login?user=alice", 200, "ok")
	old := a.Cookie(cookieName)
	held := a.Hold(a.gate, "POST", "/held/login?user=bob")
	a.Expect("POST", "/incr", 200, "ok") // another tab, still on the old ID
	resp := a.finish(t, held)
	if ck, set := testapp.SetCookie(resp, cookieName); !set || ck.Value == old {
		t.Fatalf("the Renew set the cookie %q (set %v)", ck.Value, set)
	}
	a.want(t, "n", "", "1", "the increment committed while the Renew ran")
	a.want(t, "user", "", "bob", "the renewed session")
	a.want(t, "n", old, "<nil>", "the old ID after the Renew")
}

func (s *suite) testTwoRenews(t *testing.T) {
	a := s.newRaceApp(t)
	a.Expect("POST", "/login?user=alice", 200, "ok")
	old := a.Cookie(cookieName)
	held := a.Hold(a.gate, "POST", "/held/login?user=carol")
	a.Expect("POST", "/login?user=bob", 200, "ok")
	winner := a.Cookie(cookieName)
	setsNoCookie(t, "a Renew that lost to a concurrent Renew", a.finish(t, held))
	if got := a.Cookie(cookieName); got != winner {
		t.Fatalf("the browser holds %q, want the winning Renew's %q", got, winner)
	}
	// The loser's change still lands, on the winner's ID (set values win).
	a.want(t, "user", "", "carol", "the losing Renew's change, on the winner's ID (the later set wins)")
	a.want(t, "user", old, "<nil>", "the old ID after two Renews")
}

func (s *suite) testLogoutBeatsUpdate(t *testing.T) {
	a := s.newRaceApp(t)
	a.Expect("POST", "/login?user=alice", 200, "ok")
	old := a.Cookie(cookieName)
	held := a.Hold(a.gate, "POST", "/held/incr")
	a.Expect("POST", "/logout", 200, "ok")
	resp := a.finish(t, held)
	if ck, set := testapp.SetCookie(resp, cookieName); set && ck.Value != "" {
		t.Fatalf("an update that lost to a logout set the cookie %q", ck.Value)
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
	a.Expect("POST", "/login?user=alice", 200, "ok")
	old := a.Cookie(cookieName)
	held := a.Hold(a.gate, "POST", "/held/login?user=bob")
	a.Expect("POST", "/logout", 200, "ok")
	resp := a.finish(t, held)
	ids := []string{old}
	if ck, set := testapp.SetCookie(resp, cookieName); set && ck.Value != "" {
		ids = append(ids, ck.Value)
	}
	for _, id := range ids {
		if u := a.get(t, "user", id); u != "<nil>" {
			t.Fatalf("after the logout the ID %q reads user = %s", id, u)
		}
	}
	a.want(t, "user", "", "<nil>", "the browser after the logout")
}

func (s *suite) testOldIDAfterRenew(t *testing.T) {
	a := s.newRaceApp(t)
	a.Expect("POST", "/login?user=alice", 200, "ok")
	old := a.Cookie(cookieName)
	a.Expect("POST", "/login?user=bob", 200, "ok")
	renewed := a.Cookie(cookieName)
	a.want(t, "user", old, "<nil>", "the old ID after Renew")
	// No fixation: a request that presents the old ID afterwards gets a
	// session of its own, not the renewed one.
	resp, _ := a.Stranger().Do("POST", "/set/planted/1", testapp.WithCookie(cookieName, old))
	if ck, set := testapp.SetCookie(resp, cookieName); !set || ck.Value == old || ck.Value == renewed {
		t.Fatalf("a write with the old ID set the cookie %q (set %v)", ck.Value, set)
	}
	a.want(t, "planted", "", "<nil>", "a write with the old ID reached the renewed session")
	a.want(t, "user", "", "bob", "the renewed session")
}

func (s *suite) testLogoutClientGone(t *testing.T) {
	a := s.newRaceApp(t)
	a.Expect("POST", "/login?user=alice", 200, "ok")
	old := a.Cookie(cookieName)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", a.URL+"/held/logout-then-hang-up", nil)
		resp, err := a.HTTP.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	a.gate.Wait()
	cancel() // the client hangs up before the commit
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("the client's request ended with %v, want it cancelled", err)
	}
	a.gate.Release() // the handler waits for the hang-up to reach it
	<-a.finished
	a.want(t, "user", old, "<nil>", "a logout whose client hung up was dropped")
}

// testHotSession has 64 clients send 20 increments each to one session at
// once: every request succeeds, none is lost, and, since the middleware
// lets a process's commits of one session take turns, the store sees
// about one load and one save per request.
func (s *suite) testHotSession(t *testing.T) {
	srv := s.newServer(t)
	c := srv.Browser
	c.Expect("POST", "/incr", 200, "ok")
	const clients, each = 64, 20
	before := srv.calls()
	parallel(t, clients, func(int) error {
		for range each {
			if err := c.Try("POST", "/incr", 200, "ok"); err != nil {
				return err
			}
		}
		return nil
	})
	trips := float64(srv.calls()-before) / (clients * each)
	c.Expect("GET", "/get/n", 200, fmt.Sprint(clients*each+1))
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
	var apps [2]*testapp.App
	for i := range apps {
		apps[i] = testapp.NewGin(t, func(r *gin.Engine) {
			r.Use(sessions.Sessions(cookieName, backend, sessions.WithClock(clock.Now)))
			r.POST("/incr", func(c *gin.Context) { sessions.Default(c).Update("n", add(1)); c.String(200, "ok") })
			r.GET("/get/:key", func(c *gin.Context) { c.String(200, "%v", sessions.Default(c).Get(c.Param("key"))) })
		})
	}
	c := apps[0].Browser
	c.Expect("POST", "/incr", 200, "ok")
	id := c.Cookie(cookieName)
	const clients, each = 32, 10
	parallel(t, 2*clients, func(i int) error {
		stranger := apps[i%2].Stranger()
		for range each {
			resp, _, err := stranger.Send("POST", "/incr", testapp.WithCookie(cookieName, id))
			if err != nil {
				return err
			}
			if resp.StatusCode != 200 {
				return fmt.Errorf("POST /incr = %d", resp.StatusCode)
			}
		}
		return nil
	})
	c.Expect("GET", apps[1].URL+"/get/n", 200, fmt.Sprint(2*clients*each+1))
}
