// Package benchmarks times sessionware's backends and the peers'
// (gin-contrib/sessions, alexedwards/scs) on the same request shapes,
// through a Gin engine and httptest.NewRecorder, against the same
// memcached and redis-server, started here on free loopback ports.
//
//	go test -bench . -benchmem
//
// Sub-benchmarks are named BenchmarkRequest/backend=NAME/shape=SHAPE and
// BenchmarkFloor/client=NAME/op=OP, for benchstat. Network backends also
// report rt/op: round trips to memcached or redis per request. The hot
// shape also reports failed (requests not answered 200) and lost
// (increments answered 200 that the counter does not show), counts over
// the b.N requests of the run.
// Nothing here asserts on time: targets live in BENCHMARKS.md.
package benchmarks

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sessionware/sessions/benchmarks/harness"
)

var env *harness.Env

func TestMain(m *testing.M) {
	var err error
	env, err = harness.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmarks:", err)
		os.Exit(1)
	}
	code := m.Run()
	env.Close()
	os.Exit(code)
}

func newApp(tb testing.TB, be *harness.Backend) *harness.App {
	tb.Helper()
	a, err := be.Open(env)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(a.Close)
	return a
}

func seed(tb testing.TB, a *harness.App, sh harness.Shape) string {
	tb.Helper()
	if sh.Session == "" || a.Backend.Family == harness.Bare {
		return ""
	}
	cookie, err := harness.Seed(a.Handler, sh.Session)
	if err != nil {
		if !a.Backend.Ours && !a.Backend.Prototype && harness.TooLarge(err) {
			// The peer refuses a session this large: the report says so.
			tb.Skipf("%s: refuses a ~2 KB session: %v", a.Backend.Name, err)
		}
		tb.Fatalf("%s: %v", a.Backend.Name, err)
	}
	return cookie
}

// serve runs one request, a shallow copy of tmpl (gorilla/sessions keeps
// its registry in the request, so a request must not be reused).
func serve(h http.Handler, tmpl *http.Request) *httptest.ResponseRecorder {
	req := *tmpl
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, &req)
	return rec
}

func BenchmarkRequest(b *testing.B) {
	for _, be := range harness.Backends {
		b.Run("backend="+be.Name, func(b *testing.B) {
			a := newApp(b, be)
			for _, sh := range harness.Shapes {
				b.Run("shape="+sh.Name, func(b *testing.B) {
					benchShape(b, a, sh)
				})
			}
		})
	}
}

func benchShape(b *testing.B, a *harness.App, sh harness.Shape) {
	if sh.Mode == harness.Hot {
		benchHot(b, a, sh)
		return
	}
	var rt0 int64
	if a.RoundTrips != nil {
		defer func() {
			b.ReportMetric(float64(a.RoundTrips.Load()-rt0)/float64(b.N), "rt/op")
		}()
	}
	// cpu-ns/op: this process's CPU time per request (the servers are
	// other processes), which a busy machine moves less than the wall time.
	var cpu0 time.Duration
	defer func() { b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op") }()
	if sh.Mode == harness.Parallel {
		// One session per goroutine, as for separate browsers, seeded
		// before the clock starts.
		n := runtime.GOMAXPROCS(0)
		cookies := make(chan string, n)
		for range n {
			cookies <- seed(b, a, sh)
		}
		b.ReportAllocs()
		if a.RoundTrips != nil {
			rt0 = a.RoundTrips.Load()
		}
		cpu0 = processCPU()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var cookie string
			select {
			case cookie = <-cookies:
			default:
				cookie = seed(b, a, sh)
			}
			tmpl := harness.Request(sh, cookie)
			for pb.Next() {
				if rec := serve(a.Handler, tmpl); rec.Code != http.StatusOK {
					b.Errorf("%s %s: status %d", sh.Method, sh.Path, rec.Code)
					return
				}
			}
		})
		return
	}
	tmpl := harness.Request(sh, seed(b, a, sh))
	b.ReportAllocs()
	if a.RoundTrips != nil {
		rt0 = a.RoundTrips.Load()
	}
	cpu0 = processCPU()
	for b.Loop() {
		if rec := serve(a.Handler, tmpl); rec.Code != http.StatusOK {
			b.Fatalf("%s %s: status %d: %s", sh.Method, sh.Path, rec.Code, rec.Body)
		}
	}
}

// TestShapes checks that every backend really serves every shape: the
// seeded value is read back, a write is seen by the next read, a new
// session gets a cookie. It keeps the benchmarks honest (a broken backend
// would otherwise time its error path).
func TestShapes(t *testing.T) {
	for _, be := range harness.Backends {
		t.Run(be.Name, func(t *testing.T) {
			a := newApp(t, be)
			if be.Family == harness.Bare {
				return
			}
			for _, kind := range []string{"small", "large"} {
				cookie, err := harness.Seed(a.Handler, kind)
				if err != nil && !be.Ours && !be.Prototype && harness.TooLarge(err) {
					t.Logf("%s refuses a ~2 KB session: %v", be.Name, err)
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				path := "/read"
				want := "alice"
				if kind == "large" {
					path, want = "/large-read", harness.LargeValues[7]
				}
				get := func(path string) string {
					rec := serve(a.Handler, harness.Request(harness.Shape{Method: http.MethodGet, Path: path, Session: kind}, cookie))
					if rec.Code != http.StatusOK {
						t.Fatalf("GET %s: status %d", path, rec.Code)
					}
					return rec.Body.String()
				}
				if got := get(path); got != want {
					t.Fatalf("GET %s = %.20q, want %.20q", path, got, want)
				}
				// A write, then the count through the cookie it returned.
				rec := serve(a.Handler, harness.Request(harness.Shape{Method: http.MethodPost, Path: "/incr", Session: kind}, cookie))
				if rec.Code != http.StatusOK {
					t.Fatalf("POST /incr: status %d: %s", rec.Code, rec.Body)
				}
				if c := harness.CookieFrom(rec.Result().Cookies()); c != "" {
					cookie = c
				}
				if got := get("/count"); got != "1" {
					t.Fatalf("after one increment, count = %q", got)
				}
			}
			rec := serve(a.Handler, harness.Request(harness.Shape{Method: http.MethodPost, Path: "/new"}, ""))
			if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Set-Cookie"), harness.CookieName+"=") {
				t.Fatalf("POST /new: status %d, Set-Cookie %q", rec.Code, rec.Header().Get("Set-Cookie"))
			}
		})
	}
}
