package faultsuite_test

import (
	"fmt"
	"maps"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionware/sessions/internal/faultproxy"
	"github.com/sessionware/sessions/internal/testapp"
)

// outcome is what a request that meets a fault gets.
type outcome int

const (
	succeeds outcome = iota // 200, and its change is stored
	fails                   // the error handler's 503, and the stored session is the old or the new state
	either                  // one or the other, as the fault meets the request
)

// faultCase is a fault and what a request meets under it, when the fault
// meets the request's load (it is set before the request) and when it
// meets its commit (set while the request waits between its load and its
// commit).
type faultCase struct {
	name           string
	fault          faultproxy.Fault
	load, atCommit outcome
}

var faults = []faultCase{
	// A slow network: slower answers, all right.
	{"Latency", faultproxy.Delay(20 * time.Millisecond), succeeds, succeeds},
	// A network so slow that every reply comes after the budget: like a
	// stall, except that the replies do arrive, late, on connections the
	// client may reuse.
	{"LatencyPastTheBudget", faultproxy.Delay(budget + slack), fails, fails},
	// Connections accepted, bytes held: the server seems to hang.
	{"Stall", faultproxy.Stall, fails, fails},
	// The load's reply cut inside the session data: a transport error,
	// never "no session". A save's reply is shorter and passes whole, so
	// a commit that needs no load succeeds.
	{"CutMidReply", faultproxy.Cut(cutAt), fails, either},
	// Every command done, its reply never delivered.
	{"CutBeforeReply", faultproxy.Cut(0), fails, fails},
	// Connects refused, open connections reset: the server is down.
	{"Refuse", faultproxy.Refuse, fails, fails},
}

// TestFaults runs every fault against every networked backend, through the
// app's real HTTP middleware. For each fault, once at the load of the
// requests and once at the commit of one:
//
//   - every request ends within the budget (plus slack), with the error
//     handler's 503 when it fails;
//   - a failed request sets no cookie: the logged-in user keeps the same
//     session, never a new empty one, whatever the fault did to the reply;
//   - the stored session is then the old state or the new, whole (the
//     request changes two values at once: both or neither);
//   - a logout that fails leaves the session whole or ended;
//   - once the fault clears, requests succeed again within the backend's
//     recovery time (1 s);
//   - no goroutine outlives the test (the proxy, the stores and the apps
//     closed).
func TestFaults(t *testing.T) {
	for _, b := range stores {
		t.Run(b.name, func(t *testing.T) {
			for _, fc := range faults {
				t.Run(fc.name, func(t *testing.T) { runFault(t, b, fc) })
			}
		})
	}
}

func runFault(t *testing.T, b backend, fc faultCase) {
	checkLeaks(t)
	r := newRig(t, b)
	alice, carol := r.app.Browser, r.browser()
	alice.Expect("POST", "/login/alice", 200, "ok")
	alice.Expect("POST", "/cart/apple", 200, "ok")
	carol.Expect("POST", "/login/carol", 200, "ok")
	carolID := carol.Cookie(cookieName)
	old := mustRead(t, alice)
	if old.User != "alice" || old.items() != 1 || old.Note != noteLen {
		t.Fatalf("alice's session before the fault: %v", old)
	}

	// 1. The fault meets the requests' loads.
	r.proxy.Set(fc.fault)
	id := alice.Cookie(cookieName)
	for _, req := range []struct{ method, path string }{
		{"GET", "/state"},
		{"POST", "/cart/pear"},
		{"POST", "/login/alice"}, // Renew: a new ID if it succeeds
	} {
		resp, body, took, err := timed(alice, req.method, req.path)
		r.check(t, fc, "load", fc.load, req.method+" "+req.path, resp, body, took, err)
		if fc.load == fails && alice.Cookie(cookieName) != id {
			t.Errorf("%s: %s %s replaced the session cookie", fc.name, req.method, req.path)
		}
	}
	// A logout, from a copy of carol's cookie: one whose load failed
	// still ends the session if it can reach the store at commit.
	resp, body, took, err := timed(r.stranger(), "POST", "/logout", testapp.WithCookie(cookieName, carolID))
	r.check(t, fc, "load", fc.load, "POST /logout", resp, body, took, err)
	want := old
	if fc.load == succeeds {
		want.Cart = map[string]int{"apple": 1, "pear": 1}
		want.Last = "pear"
	}
	record(b.name, fc.name, "recovery after a fault at load", r.recover(t, b, alice))
	r.expectSession(t, fc, alice, []state{want})
	r.expectEndedOrWhole(t, carolID, "carol")

	// 2. The fault meets a commit: the request loads and changes the
	// session (plum in the cart, plum as the last item), waits, the fault
	// begins, the request commits.
	id = alice.Cookie(cookieName)
	old = mustRead(t, alice)
	h := alice.Hold(r.gate, "POST", "/hold/cart/plum")
	r.proxy.Set(fc.fault)
	start := time.Now()
	resp, body = h.Finish()
	r.check(t, fc, "commit", fc.atCommit, "POST /hold/cart/plum", resp, body, time.Since(start), nil)
	if resp.StatusCode != 200 && alice.Cookie(cookieName) != id {
		t.Errorf("%s: a failed commit replaced the session cookie", fc.name)
	}
	added := old
	added.Cart = maps.Clone(old.Cart)
	added.Cart["plum"]++
	added.Last = "plum"
	record(b.name, fc.name, "recovery after a fault at commit", r.recover(t, b, alice))
	switch {
	case fc.atCommit == succeeds || resp.StatusCode == 200:
		r.expectSession(t, fc, alice, []state{added})
	default:
		got := r.expectSession(t, fc, alice, []state{old, added})
		record(b.name, fc.name, "stored after the failed commit", map[bool]string{true: "new state (landed, reply lost)", false: "old state"}[reflect.DeepEqual(got, added)])
	}
	if alice.Cookie(cookieName) != id {
		t.Errorf("%s: the session cookie changed", fc.name)
	}
}

// check checks one request's answer under fault fc at its load or commit:
// it ended within the budget, and as want says.
func (r *rig) check(t *testing.T, fc faultCase, at string, want outcome, what string, resp *http.Response, body string, took time.Duration, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s at %s: %s: no answer after %v: %v", fc.name, at, what, took.Round(time.Millisecond), err)
		return
	}
	status := resp.StatusCode
	record(r.backend, fc.name, fmt.Sprintf("%s at %s: %d", what, at, status), took)
	if took > budget+slack {
		t.Errorf("%s at %s: %s took %v, want at most %v (a %v budget plus %v slack)", fc.name, at, what, took.Round(time.Millisecond), budget+slack, budget, slack)
	}
	ok := status == 200 && body == "ok" || status == 200 && strings.HasPrefix(body, "{")
	failed := status == http.StatusServiceUnavailable && body == unavailable
	switch {
	case want == succeeds && !ok, want == fails && !failed, want == either && !ok && !failed:
		t.Errorf("%s at %s: %s = %d %q, want %s", fc.name, at, what, status, body, [...]string{"200", "503 " + unavailable, "200 or 503"}[want])
	}
	if failed && what != "POST /logout" {
		// A logout that failed expires the cookie (the user asked to
		// leave); no other failed request may touch it.
		if sc := resp.Header.Values("Set-Cookie"); len(sc) > 0 {
			t.Errorf("%s at %s: %s failed and set a cookie: %q", fc.name, at, what, sc)
		}
	}
}

// recover clears the fault, lets the commands it held land, and returns
// how long it took until b's session could be read again, then checks full service: b reads again, and a new
// browser logs in and fills a cart. It fails the test if that took longer
// than the backend's recovery time (plus recoverySlack).
func (r *rig) recover(t *testing.T, be backend, b *testapp.Browser) time.Duration {
	t.Helper()
	r.proxy.Set(faultproxy.Pass)
	cleared := time.Now()
	// The commands a Stall or a Delay held go on now, late: let them
	// land, so that what is stored no longer changes.
	if !r.proxy.Drain(5 * time.Second) {
		t.Fatalf("the proxy still holds %d chunks 5s after the fault cleared", r.proxy.Held())
	}
	for {
		_, status, err := read(b)
		if err == nil && status == 200 {
			break
		}
		if time.Since(cleared) > 10*time.Second {
			t.Fatalf("the session could not be read within 10s of the fault clearing: %d, %v", status, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(cleared)
	mustRead(t, b)
	dave := r.browser()
	dave.Expect("POST", "/login/dave", 200, "ok")
	dave.Expect("POST", "/cart/fig", 200, "ok")
	if st := mustRead(t, dave); st.User != "dave" || st.Cart["fig"] != 1 {
		t.Fatalf("a new session after the fault cleared: %v", st)
	}
	if took > be.recovery+recoverySlack {
		t.Errorf("service returned %v after the fault cleared, want within %v", took.Round(time.Millisecond), be.recovery)
	}
	return took
}

// recoverySlack is added to a backend's recovery time for a busy machine.
const recoverySlack = 500 * time.Millisecond

// expectSession checks that b's session, as the app shows it and as it is
// stored, is one of want, and returns it.
func (r *rig) expectSession(t *testing.T, fc faultCase, b *testapp.Browser, want []state) state {
	t.Helper()
	got := mustRead(t, b)
	stored := r.stored(t, b.Cookie(cookieName))
	if !reflect.DeepEqual(got, stored) {
		t.Errorf("%s: the app shows %v, the store holds %v", fc.name, got, stored)
	}
	for _, w := range want {
		if reflect.DeepEqual(got, w) {
			return got
		}
	}
	t.Errorf("%s: the session after the fault is %v, want one of %v", fc.name, got, want)
	return got
}

// expectEndedOrWhole checks that the session of the cookie value id is
// either ended or user's whole session.
func (r *rig) expectEndedOrWhole(t *testing.T, id, user string) {
	t.Helper()
	st := r.stored(t, id)
	if !reflect.DeepEqual(st, state{}) && (st.User != user || st.Note != noteLen) {
		t.Errorf("%s's session after a failed logout is %v: neither whole nor ended", user, st)
	}
}

// measured holds the figures the suite measures, printed at the end of a
// verbose run.
var measured = struct {
	sync.Mutex
	lines []string
}{}

func record(backend, name, what string, v any) {
	if d, ok := v.(time.Duration); ok {
		v = d.Round(time.Millisecond)
	}
	measured.Lock()
	defer measured.Unlock()
	measured.lines = append(measured.lines, fmt.Sprintf("%s\t%s\t%s\t%v", backend, name, what, v))
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testing.Verbose() {
		measured.Lock()
		fmt.Fprintln(os.Stdout, "measured:")
		for _, l := range measured.lines {
			fmt.Fprintln(os.Stdout, "  "+l)
		}
		measured.Unlock()
	}
	os.Exit(code)
}
