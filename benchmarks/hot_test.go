package benchmarks

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sessionware/sessions/benchmarks/harness"
)

// hotRun is what one run of the hot shape did.
type hotRun struct {
	ok, failed int64 // requests answered 200, and the others
	count      int   // the counter read back after the run
	firstFail  string
}

// lost is how many increments answered 200 the counter does not show (on a
// cookie backend, those the last response's cookie does not carry).
func (r hotRun) lost() int64 { return r.ok - int64(r.count) }

// hot seeds one session (its counter at 0) and sends n requests of shape
// sh on it from harness.HotClients goroutines at once, then reads the
// counter back. Every request carries the cookie of the latest response
// that set one, as the tabs of one browser share its cookie jar. start and
// stop are called right before the first request and right after the
// last (the benchmark's timer and round-trip count).
func hot(tb testing.TB, a *harness.App, sh harness.Shape, n int, start, stop func()) hotRun {
	tb.Helper()
	// jar holds the request to copy: its Cookie header is the latest
	// session cookie. A copy shares the header map, which only the jar's
	// writer (a new template) changes.
	var jar atomic.Pointer[http.Request]
	jar.Store(harness.Request(sh, seed(tb, a, sh)))
	var (
		next, ok, failed atomic.Int64
		mu               sync.Mutex
		firstFail        string
		wg               sync.WaitGroup
	)
	start()
	for range harness.HotClients {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				tmpl := jar.Load()
				rec := serve(a.Handler, tmpl)
				if rec.Code != http.StatusOK {
					if failed.Add(1) == 1 {
						mu.Lock()
						firstFail = strconv.Itoa(rec.Code) + " " + rec.Body.String()
						mu.Unlock()
					}
					continue
				}
				ok.Add(1)
				if len(rec.Header().Values("Set-Cookie")) == 0 {
					continue
				}
				if c := harness.CookieFrom(rec.Result().Cookies()); c != "" && c != tmpl.Header.Get("Cookie") {
					jar.Store(harness.Request(sh, c))
				}
			}
		})
	}
	wg.Wait()
	stop()
	r := hotRun{ok: ok.Load(), failed: failed.Load(), firstFail: firstFail}
	if a.Backend.Family == harness.Bare {
		r.count = int(r.ok) // no session: nothing to lose
		return r
	}
	get := harness.Shape{Method: http.MethodGet, Path: "/count", Session: sh.Session}
	rec := serve(a.Handler, harness.Request(get, jar.Load().Header.Get("Cookie")))
	if rec.Code != http.StatusOK {
		tb.Fatalf("GET /count after the hot run: status %d: %s", rec.Code, rec.Body)
	}
	count, err := strconv.Atoi(rec.Body.String())
	if err != nil {
		tb.Fatalf("GET /count after the hot run: %q", rec.Body)
	}
	r.count = count
	return r
}

// benchHot times b.N increments of one session from harness.HotClients
// goroutines (ns/op is the wall time over b.N: 1e9 / ns/op requests per
// second), and reports the failed requests and lost updates of the run.
func benchHot(b *testing.B, a *harness.App, sh harness.Shape) {
	var rt0 int64
	b.ReportAllocs()
	r := hot(b, a, sh, b.N, func() {
		if a.RoundTrips != nil {
			rt0 = a.RoundTrips.Load()
		}
		b.ResetTimer()
	}, func() {
		b.StopTimer()
		if a.RoundTrips != nil {
			b.ReportMetric(float64(a.RoundTrips.Load()-rt0)/float64(b.N), "rt/op")
		}
	})
	b.ReportMetric(float64(r.failed), "failed")
	b.ReportMetric(float64(r.lost()), "lost")
	if r.failed > 0 {
		b.Logf("%d of %d requests failed, the first: %.200s", r.failed, b.N, r.firstFail)
	}
}

// TestHot runs the hot shape a few rounds per client on every backend: ours
// on a server-side store loses no increment and fails no request; a cookie
// backend keeps at least one (the last write wins by design); the peers'
// losses are logged.
func TestHot(t *testing.T) {
	sh, ok := harness.ShapeByName("hot")
	if !ok {
		t.Fatal("no hot shape")
	}
	const n = 4 * harness.HotClients
	for _, be := range harness.Backends {
		if be.Family == harness.Bare {
			continue
		}
		t.Run(be.Name, func(t *testing.T) {
			a := newApp(t, be)
			r := hot(t, a, sh, n, func() {}, func() {})
			t.Logf("%d requests: %d failed, counter %d, lost %d", n, r.failed, r.count, r.lost())
			switch {
			case r.ok+r.failed != n:
				t.Fatalf("%d answered, %d sent", r.ok+r.failed, n)
			case (be.Ours || be.Prototype) && be.Family != harness.Cookie && (r.failed != 0 || r.lost() != 0):
				t.Fatalf("%d failed (first: %.200s), %d lost", r.failed, r.firstFail, r.lost())
			case r.ok > 0 && r.count < 1:
				t.Fatalf("the counter is %d after %d increments", r.count, r.ok)
			}
		})
	}
}
