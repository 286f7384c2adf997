package faultsuite_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionware/sessions/internal/testapp"
)

// The bounded load of TestServerKilledUnderLoad.
const (
	loadWorkers  = 16  // browsers, each logged in as its own user
	loadRequests = 60  // requests each, after its login
	killAfter    = 200 // answers before the server is killed
	downFor      = 48  // answers while it is down
)

// TestServerKilledUnderLoad kills the server (SIGKILL) while 16 logged-in
// browsers add to their carts and read them, and starts it again on the
// same port after 48 answers given while it was down. It checks that:
//
//   - every answer is 200 or the error handler's 503, within the budget
//     (plus slack), and some are 503;
//   - no acknowledged cart add is lost and none is counted twice: a read
//     shows at least the adds answered 200 and at most the adds sent; on
//     redis (every write synced to its append-only file) this holds across
//     the restart, and every user is still logged in at the end; a
//     memcached comes back empty, so there a user may find a new session
//     after the restart (and logs in again), never before;
//   - service returns after the restart: every browser's last read is 200;
//   - no goroutine outlives the test.
//
// It reports how long after the restart the first request succeeded.
func TestServerKilledUnderLoad(t *testing.T) {
	for _, b := range stores {
		t.Run(b.name, func(t *testing.T) { killUnderLoad(t, b) })
	}
}

// worker is one browser of the load, and what it knows of its cart: the
// adds answered 200 and the adds sent since its last read, which a read
// must fall between.
type worker struct {
	b     *testapp.Browser
	user  string
	acked int
	sent  int
	// resync: the session was lost and a new one begun; the next read
	// tells the count.
	resync bool
}

// answer is one request of the load, as its client saw it.
type answer struct {
	what    string
	status  int
	body    string
	took    time.Duration
	start   time.Time
	err     error
	invalid string // what the model found wrong, if anything
}

func killUnderLoad(t *testing.T, be backend) {
	checkLeaks(t)
	srv := be.start(t)
	app := testapp.NewGin(t, routes(open(t, be.url(srv.Addr)), nil))
	workers := make([]*worker, loadWorkers)
	for i := range workers {
		b := app.NewBrowser()
		b.HTTP.Timeout = clientTimeout
		w := &worker{b: b, user: fmt.Sprintf("user%02d", i)}
		b.Expect("POST", "/login/"+w.user, 200, "ok")
		workers[i] = w
	}

	var (
		answered atomic.Int64
		killed   atomic.Bool // set before the kill: from then on memcached may have lost a session
		tick     = make(chan struct{}, 1)
		done     = make(chan struct{})
		mu       sync.Mutex
		answers  []answer
		wg       sync.WaitGroup
	)
	note := func(a answer) {
		mu.Lock()
		answers = append(answers, a)
		mu.Unlock()
		answered.Add(1)
		select {
		case tick <- struct{}{}:
		default:
		}
	}
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range loadRequests {
				w.step(k, be.losesData && killed.Load(), note)
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	// waitAnswers waits until n answers have come, or the load ended.
	waitAnswers := func(n int64) {
		for answered.Load() < n {
			select {
			case <-tick:
			case <-done:
				return
			}
		}
	}

	waitAnswers(killAfter)
	killed.Store(true)
	srv.Stop()
	stopped := time.Now()
	waitAnswers(answered.Load() + downFor)
	srv.Start()
	restarted := time.Now()
	<-done

	var down, failed, after int
	var firstOK, lastFail time.Duration = -1, 0
	for _, a := range answers {
		switch {
		case a.err != nil:
			t.Errorf("%s: no answer after %v: %v", a.what, a.took.Round(time.Millisecond), a.err)
			continue
		case a.status == http.StatusServiceUnavailable && a.body == unavailable:
			failed++
			switch end := a.start.Add(a.took).Sub(restarted); {
			case a.start.After(restarted):
				after++
				lastFail = max(lastFail, end)
			case a.start.After(stopped):
				down++
			}
		case a.status != 200:
			t.Errorf("%s = %d %q, want 200 or 503 %s", a.what, a.status, a.body, unavailable)
		case a.start.After(restarted) && (firstOK < 0 || a.start.Add(a.took).Sub(restarted) < firstOK):
			firstOK = a.start.Add(a.took).Sub(restarted)
		}
		if a.took > budget+slack {
			t.Errorf("%s took %v, want at most %v", a.what, a.took.Round(time.Millisecond), budget+slack)
		}
		if a.invalid != "" {
			t.Error(a.invalid)
		}
	}
	if down == 0 {
		t.Error("no request sent while the server was down failed: was it killed?")
	}
	t.Logf("%d answers, %d of them 503 (%d sent while the server was down, for %v)", len(answers), failed, down, restarted.Sub(stopped).Round(time.Millisecond))
	record(be.name, "KilledUnderLoad", fmt.Sprintf("server down (%d requests, %d answered 503)", len(answers), failed), restarted.Sub(stopped))
	if firstOK < 0 {
		t.Error("no request sent after the restart succeeded")
	} else {
		record(be.name, "KilledUnderLoad", "restart to the first success", firstOK)
	}
	// Full service: no request sent after the restart fails once the
	// backend's recovery time has passed.
	record(be.name, "KilledUnderLoad", fmt.Sprintf("restart to the last failure (%d requests sent after the restart failed)", after), lastFail)
	if lastFail > be.recovery+recoverySlack {
		t.Errorf("%d requests sent after the restart failed, the last %v after it; want full service within %v", after, lastFail.Round(time.Millisecond), be.recovery)
	}

	// Every browser is served again, and its cart holds what it should.
	for _, w := range workers {
		st, status, err := read(w.b)
		if err != nil || status != 200 {
			t.Errorf("%s after the load: GET /state = %d, %v", w.user, status, err)
			continue
		}
		switch n := st.items(); {
		case st.User != w.user && !be.losesData:
			t.Errorf("%s is no longer logged in after the restart: %v", w.user, st)
		case st.User != w.user || w.resync:
		case n < w.acked || n > w.sent:
			t.Errorf("%s's cart holds %d items after the load; %d adds were acknowledged, %d sent", w.user, n, w.acked, w.sent)
		}
	}
}

// step sends the worker's request k (an add, an add, a read, …) and
// notes its answer. mayLose says that the server may have lost the
// session (a memcached was killed): a read that finds a new session then
// logs in again.
func (w *worker) step(k int, mayLose bool, note func(answer)) {
	start := time.Now()
	if k%3 != 2 {
		item := fmt.Sprintf("item%d", k%7)
		resp, body, err := w.b.Send("POST", "/cart/"+item)
		a := answer{what: w.user + " POST /cart/" + item, body: body, took: time.Since(start), start: start, err: err}
		if err == nil {
			a.status = resp.StatusCode
			w.sent++
			if a.status == 200 {
				w.acked++
			}
		}
		note(a)
		return
	}
	st, status, body, err := readBody(w.b)
	a := answer{what: w.user + " GET /state", status: status, body: body, took: time.Since(start), start: start, err: err}
	if err == nil && status == 200 {
		n := st.items()
		switch {
		case st.User != w.user && mayLose:
			w.resync = true
			note(a)
			start = time.Now()
			resp, body, err := w.b.Send("POST", "/login/"+w.user)
			a = answer{what: w.user + " POST /login/" + w.user, body: body, took: time.Since(start), start: start, err: err}
			if err == nil {
				a.status = resp.StatusCode
			}
		case st.User != w.user:
			a.invalid = fmt.Sprintf("%s lost its session while the server kept its data: %v", w.user, st)
		case w.resync:
			w.resync = false
		case n < w.acked || n > w.sent:
			a.invalid = fmt.Sprintf("%s's cart holds %d items; %d adds were acknowledged, %d sent", w.user, n, w.acked, w.sent)
		}
		w.acked, w.sent = n, n
	}
	note(a)
}
