package memcached_test

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionware/sessions/internal/testapp"
	"github.com/sessionware/sessions/memcached"
)

// user is a browser with a session, and what the test knows of it.
type user struct {
	b     *testapp.Browser
	id    string // the session ID its cookie holds
	home  string // the server its session's key wins
	acked int    // increments answered 200 since its session began
	fresh bool   // its session began anew after the kill
	fails int    // requests not answered 200
}

// newUser makes a browser whose session holds n=1.
func newUser(t *testing.T, web *testapp.App, addrs []string) *user {
	t.Helper()
	u := &user{b: web.NewBrowser()}
	u.b.Expect("POST", "/incr", 200, "ok")
	u.id = u.b.Cookie("sid")
	u.home = homeOf(t, addrs, keyOf(t, u.id))
	u.acked = 1
	return u
}

// usersOn makes users until each server holds at least n of their sessions.
func usersOn(t *testing.T, web *testapp.App, addrs []string, n int) map[string][]*user {
	t.Helper()
	by := map[string][]*user{}
	for tries := 0; ; tries++ {
		done := true
		for _, a := range addrs {
			done = done && len(by[a]) >= n
		}
		if done {
			return by
		}
		if tries > 50*n*len(addrs) {
			t.Fatalf("no even spread of sessions after %d users", tries)
		}
		u := newUser(t, web, addrs)
		by[u.home] = append(by[u.home], u)
	}
}

// TestServerKilledUnderLoad kills one of three servers (SIGKILL) while
// users add to their sessions as fast as they can, through the middleware
// over HTTP, with the default options. Within 5 s every request works
// again: the sessions on live servers lose no acknowledged increment;
// those on the dead server start afresh; logout works. When the server is
// back (restarted empty), the sessions begun meanwhile whose key it wins
// are gone (they were on a fallback, and deleted there), the others stay,
// and a session destroyed meanwhile stays destroyed.
func TestServerKilledUnderLoad(t *testing.T) {
	servers, addrs := cluster(t, 3)
	store := openAll(t, addrs)
	web := app(t, store)
	victim := servers[1]
	by := usersOn(t, web, addrs, 5)
	var busy, idle []*user // idle: sessions on the victim that make no request during the load
	for a, us := range by {
		if a == victim.Addr {
			busy, idle = append(busy, us[:3]...), append(idle, us[3:]...)
		} else {
			busy = append(busy, us...)
		}
	}

	const (
		recovery = 5 * time.Second // every request sent this long after the kill must work
		after    = 2 * time.Second // and the load goes on this long after that
		maxReqs  = 20000           // per user: a bound on the load besides its time
	)
	var (
		killedAt  atomic.Int64 // UnixNano of the kill
		warm      sync.WaitGroup
		wg        sync.WaitGroup
		mu        sync.Mutex
		late      []string // requests that failed more than recovery after the kill
		total503  atomic.Int64
		sentAfter atomic.Int64
		sentLate  atomic.Int64 // requests sent more than recovery after the kill
		lastFail  atomic.Int64 // UnixNano of the last failed request's start
	)
	warm.Add(len(busy))
	for _, u := range busy {
		wg.Go(func() {
			warmed := false
			for i := 0; i < maxReqs; i++ {
				if i == 2 {
					warm.Done()
					warmed = true
				}
				k := killedAt.Load()
				if k != 0 && time.Since(time.Unix(0, k)) > recovery+after {
					break
				}
				sent := time.Now()
				resp, body, err := u.b.Send("POST", "/incr")
				if k := killedAt.Load(); k != 0 {
					sentAfter.Add(1)
					if sent.Sub(time.Unix(0, k)) > recovery {
						sentLate.Add(1)
					}
				}
				if err != nil || resp.StatusCode != 200 {
					u.fails++
					total503.Add(1)
					lastFail.Store(sent.UnixNano())
					if k := killedAt.Load(); k != 0 && sent.Sub(time.Unix(0, k)) > recovery || u.home != victim.Addr {
						mu.Lock()
						late = append(late, fmt.Sprintf("%s: %v %v %q", sent.Format("15:04:05.000"), err, resp.Status, body))
						mu.Unlock()
					}
					continue
				}
				if id := u.b.Cookie("sid"); id != u.id {
					u.id, u.acked = id, 1
					u.fresh = killedAt.Load() != 0
				} else {
					u.acked++
				}
			}
			if !warmed {
				warm.Done()
			}
		})
	}
	warm.Wait()
	killedAt.Store(time.Now().UnixNano())
	victim.Stop()
	wg.Wait()

	for _, l := range late {
		t.Errorf("failed: %s", l)
	}
	if n := sentLate.Load(); n < int64(len(busy)) {
		t.Fatalf("only %d requests sent more than %v after the kill: the load ended too soon to show anything", n, recovery)
	}
	t.Logf("%d users, %d requests during the %v after the kill (%d of them after %v); %d failed, the last sent %v after it", len(busy), sentAfter.Load(), recovery+after, sentLate.Load(), recovery, total503.Load(), time.Duration(lastFail.Load()-killedAt.Load()))
	if got := store.Ejected(); len(got) != 1 || got[0] != victim.Addr {
		t.Fatalf("Ejected() = %q, want the victim %s", got, victim.Addr)
	}
	for _, u := range busy {
		u.b.Expect("GET", "/get/n", 200, strconv.Itoa(u.acked))
		switch {
		case u.home == victim.Addr && !u.fresh:
			t.Errorf("a session of the dead server did not start afresh (%d requests failed)", u.fails)
		case u.home != victim.Addr && (u.fresh || u.fails > 0):
			t.Errorf("a session of a live server: %d requests failed, began anew: %v", u.fails, u.fresh)
		}
	}
	// Logout works for a session of the dead server (its old cookie is
	// no way in afterwards) and of a live one.
	gone := idle[0]
	gone.b.Expect("POST", "/logout", 200, "bye")
	gone.b.Expect("GET", "/get/n", 200, "<nil>")
	web.Stranger().Expect("GET", "/get/n", 200, "<nil>", testapp.WithCookie("sid", gone.id))
	for _, u := range busy {
		if u.home != victim.Addr {
			u.b.Expect("POST", "/logout", 200, "bye")
			u.b.Expect("GET", "/get/n", 200, "<nil>")
			u.acked = 0
			break
		}
	}

	// The victim comes back, empty: within the retry interval it is in
	// rotation again, after the keys used meanwhile are deleted.
	victim.Start()
	waitFor(t, 5*time.Second, "the victim back in rotation", func() bool { return len(store.Ejected()) == 0 })
	for _, u := range busy {
		want := strconv.Itoa(u.acked)
		switch {
		case u.acked == 0: // logged out
			want = "<nil>"
		case homeOf(t, addrs, keyOf(t, u.id)) == victim.Addr:
			want = "<nil>" // begun on a fallback while its server was out: gone with the return
		}
		u.b.Expect("GET", "/get/n", 200, want)
	}
	web.Stranger().Expect("GET", "/get/n", 200, "<nil>", testapp.WithCookie("sid", gone.id))
	// Unused during the outage, on a server that restarted empty: gone.
	idle[1].b.Expect("GET", "/get/n", 200, "<nil>")
}

// ejectFrozen makes requests through web for a session that p holds until
// store ejects p (each fails within the timeout).
func ejectFrozen(t *testing.T, web *testapp.App, store *memcached.Store, id string) {
	t.Helper()
	b := web.Stranger()
	for i := 0; len(store.Ejected()) == 0; i++ {
		if i > 2*memcached.DefaultEjectAfter {
			t.Fatalf("not ejected after %d failed requests", i)
		}
		if resp, body := b.Do("GET", "/get/n", testapp.WithCookie("sid", id)); resp.StatusCode != 503 {
			t.Fatalf("a request for a session of a frozen server = %d %q, want 503", resp.StatusCode, body)
		}
	}
}

// TestFrozenServerComesBack freezes a server (it keeps its data, as in a
// partition) until this process ejects it, uses and ends sessions it
// holds meanwhile, thaws it, and shows what its return brings back: a
// session destroyed meanwhile stays destroyed, a session used meanwhile
// is gone (this process deletes it from the server before the key goes
// home), a session begun meanwhile on its fallback is gone too, a session
// nobody used meanwhile is back as it was.
func TestFrozenServerComesBack(t *testing.T) {
	servers, addrs := cluster(t, 3)
	store := openAll(t, addrs, memcached.WithRetryInterval(time.Hour))
	web := app(t, store)
	p := servers[0]
	on := usersOn(t, web, addrs, 4)[p.Addr]
	used, untouched, destroyed, prober := on[0], on[1], on[2], on[3]
	live := usersOn(t, web, addrs, 1)[addrs[1]][0]

	p.Freeze()
	ejectFrozen(t, web, store, prober.id)

	// While it is out, every request works.
	used.b.Expect("POST", "/incr", 200, "ok")
	used.b.Expect("GET", "/get/n", 200, "1") // afresh
	if used.b.Cookie("sid") == used.id {
		t.Fatal("a session of the frozen server kept its ID")
	}
	destroyed.b.Expect("POST", "/logout", 200, "bye")
	web.Stranger().Expect("GET", "/get/n", 200, "<nil>", testapp.WithCookie("sid", destroyed.id))
	live.b.Expect("POST", "/incr", 200, "ok")
	// A session begun now whose key the frozen server wins lives on its
	// fallback, for at most the fallback TTL.
	var begun *user
	for begun == nil || begun.home != p.Addr {
		begun = newUser(t, web, addrs)
	}
	fallback := homeOf(t, addrs[1:], keyOf(t, begun.id))
	if ttl := rawTTL(t, fallback, "session:"+keyOf(t, begun.id)); ttl > memcached.DefaultFallbackTTL+2*time.Second {
		t.Errorf("a session begun on a fallback lives %v there, want at most the fallback TTL (%v)", ttl, memcached.DefaultFallbackTTL)
	}

	p.Thaw()
	memcached.Probe(store)
	waitFor(t, 5*time.Second, "back after a probe", func() bool { return len(store.Ejected()) == 0 })

	web.Stranger().Expect("GET", "/get/n", 200, "<nil>", testapp.WithCookie("sid", destroyed.id))
	web.Stranger().Expect("GET", "/get/n", 200, "<nil>", testapp.WithCookie("sid", used.id))
	begun.b.Expect("GET", "/get/n", 200, "<nil>")
	if held(t, fallback, keyOf(t, begun.id)) {
		t.Error("the session begun on the fallback is still there")
	}
	untouched.b.Expect("GET", "/get/n", 200, "1")
	prober.b.Expect("GET", "/get/n", 200, "1") // its requests failed; nothing moved
	live.b.Expect("GET", "/get/n", 200, "2")
}

// TestTwoProcessesEjectOnTheirOwnClocks: two stores over the same servers
// (two app processes) each count failures and probe on their own. A
// session destroyed through A while a frozen server is out stays alive for
// B from B's return until A's: the server still holds it, and only A knows.
// Once A is back (and has deleted it there), it is gone for both. A
// session begun through B in that window, on the returned server, is found
// by A once A is back.
func TestTwoProcessesEjectOnTheirOwnClocks(t *testing.T) {
	servers, addrs := cluster(t, 3)
	opts := []memcached.Option{memcached.WithRetryInterval(time.Hour)}
	storeA, storeB := openAll(t, addrs, opts...), openAll(t, addrs, opts...)
	webA, webB := app(t, storeA), app(t, storeB)
	p := servers[0]
	on := usersOn(t, webA, addrs, 2)[p.Addr]
	destroyed, prober := on[0], on[1]
	webB.Stranger().Expect("GET", "/get/n", 200, "1", testapp.WithCookie("sid", destroyed.id))

	p.Freeze()
	ejectFrozen(t, webA, storeA, prober.id)
	ejectFrozen(t, webB, storeB, prober.id)
	destroyed.b.Expect("POST", "/logout", 200, "bye") // through A
	p.Thaw()

	memcached.Probe(storeB)
	waitFor(t, 5*time.Second, "B back", func() bool { return len(storeB.Ejected()) == 0 })
	if got := storeA.Ejected(); len(got) != 1 {
		t.Fatalf("A's ejection ended with B's: Ejected() = %q", got)
	}
	replay := testapp.WithCookie("sid", destroyed.id)
	webB.Stranger().Expect("GET", "/get/n", 200, "1", replay) // the window: B did not see the logout
	webA.Stranger().Expect("GET", "/get/n", 200, "<nil>", replay)
	// While they disagree, a session begun through B on the returned
	// server is not looked for there by A, and one begun through A on
	// the fallback is not looked for there by B.
	var begun, begunInA *user
	for begun == nil || begun.home != p.Addr {
		begun = newUser(t, webB, addrs)
	}
	for begunInA == nil || begunInA.home != p.Addr {
		begunInA = newUser(t, webA, addrs)
	}
	webB.Stranger().Expect("GET", "/get/n", 200, "<nil>", testapp.WithCookie("sid", begunInA.id))

	memcached.Probe(storeA)
	waitFor(t, 5*time.Second, "A back", func() bool { return len(storeA.Ejected()) == 0 })
	webB.Stranger().Expect("GET", "/get/n", 200, "<nil>", replay)
	webA.Stranger().Expect("GET", "/get/n", 200, "<nil>", replay)
	webA.Stranger().Expect("GET", "/get/n", 200, "1", testapp.WithCookie("sid", begun.id))
	// The session begun through A on the fallback went with A's return.
	begunInA.b.Expect("GET", "/get/n", 200, "<nil>")
}
