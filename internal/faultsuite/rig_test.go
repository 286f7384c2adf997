package faultsuite_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/goleak"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/backends"
	"github.com/sessionware/sessions/internal/faultproxy"
	"github.com/sessionware/sessions/internal/testapp"
	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/memcached"
)

// budget is what the store calls of one request may take in all, by the
// core's default; slack is added to it for a busy machine. A request under
// a fault must end within budget+slack.
const (
	budget = 2 * time.Second
	slack  = time.Second
)

// unavailable is the default error handler's answer to a store failure.
const unavailable = `{"error":"session store unavailable"}`

const cookieName = "sid"

// noteLen is the size of a padding value every logged-in session holds, so
// that a load's reply is long: a cut after cutAt bytes lands inside the
// session data, past the reply's header, on both protocols.
const (
	noteLen = 2000
	cutAt   = 200
)

// backend is a server the suite runs against.
type backend struct {
	name string
	// start starts the server (on a free loopback port; stopped when the
	// test ends).
	start func(t *testing.T) *testserver.Server
	// url is the store URL of a server at addr, with the backend's default
	// options: the suite checks what an app configured by the README gets.
	url func(addr string) string
	// losesData: a restarted server comes back empty.
	losesData bool
	// recovery is how soon after a fault clears every request must
	// succeed again: for memcached, which ejects a failing server and
	// probes it again every retry interval, that interval.
	recovery time.Duration
}

var stores = []backend{
	{
		name:      "memcached",
		start:     func(t *testing.T) *testserver.Server { return testserver.Memcached(t) },
		url:       func(addr string) string { return "memcached://" + addr },
		losesData: true,
		recovery:  memcached.DefaultRetryInterval,
	},
	{
		name: "redis",
		// Every write synced to an append-only file: a killed server comes
		// back with every write it acknowledged.
		start: func(t *testing.T) *testserver.Server {
			return testserver.Redis(t, "--appendonly", "yes", "--appendfsync", "always", "--dir", t.TempDir())
		},
		url:      func(addr string) string { return "redis://" + addr },
		recovery: time.Second,
	},
}

// checkLeaks fails the test if goroutines started during it are still
// running once all its clean-ups have run: call it first, so that its
// check runs last.
func checkLeaks(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}

// open opens a store by URL and closes it when the test ends.
func open(t *testing.T, url string) sessions.Backend {
	t.Helper()
	store, err := backends.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, ok := store.(io.Closer); ok {
			_ = c.Close()
		}
	})
	return store
}

// rig is an app whose store reaches the server through a fault proxy, and
// a viewer: the same app on a store that reaches the server directly, to
// see what is stored.
type rig struct {
	backend string
	srv     *testserver.Server
	proxy   *faultproxy.Proxy
	app     *testapp.App
	view    *testapp.App
	gate    *testapp.Gate // POST /hold/cart/:item parks here
}

func newRig(t *testing.T, b backend) *rig {
	t.Helper()
	r := &rig{backend: b.name, srv: b.start(t), gate: testapp.NewGate()}
	r.proxy = faultproxy.New(t, r.srv.Addr)
	r.app = testapp.NewGin(t, routes(open(t, b.url(r.proxy.Addr())), r.gate))
	r.view = testapp.NewGin(t, routes(open(t, b.url(r.srv.Addr)), nil))
	r.app.HTTP.Timeout = clientTimeout
	return r
}

// clientTimeout is how long the suite's browsers wait for an answer: far
// beyond the budget, so that a request that overruns it is measured, not
// cut short.
const clientTimeout = 30 * time.Second

// browser returns a new browser of the app, with an empty cookie jar.
func (r *rig) browser() *testapp.Browser {
	b := r.app.NewBrowser()
	b.HTTP.Timeout = clientTimeout
	return b
}

// stranger returns a client of the app without a cookie jar.
func (r *rig) stranger() *testapp.Browser {
	b := r.app.Stranger()
	b.HTTP.Timeout = clientTimeout
	return b
}

// state is a session as GET /state shows it.
type state struct {
	User string         `json:"user"`
	Cart map[string]int `json:"cart"`
	Last string         `json:"last"` // the item added last
	Note int            `json:"note"` // the padding's length
}

func (s state) String() string {
	b, _ := json.Marshal(s)
	return string(b)
}

// items is the number of items in the cart.
func (s state) items() int {
	n := 0
	for _, q := range s.Cart {
		n += q
	}
	return n
}

// routes is the app of the suite: log in (a new ID), add to the cart (two
// values changed at once), read, log out.
func routes(store sessions.Backend, gate *testapp.Gate) func(r *gin.Engine) {
	return func(r *gin.Engine) {
		r.Use(sessions.Sessions(cookieName, store))
		r.GET("/untouched", func(c *gin.Context) { c.String(200, "hi") })
		r.GET("/state", func(c *gin.Context) {
			s := sessions.Default(c)
			var st state
			st.User, _ = sessions.Get[string](s, "user")
			st.Cart, _ = sessions.Get[map[string]int](s, "cart")
			st.Last, _ = sessions.Get[string](s, "last")
			note, _ := sessions.Get[string](s, "note")
			st.Note = len(note)
			if c.IsAborted() {
				return
			}
			c.JSON(200, st)
		})
		r.POST("/login/:user", func(c *gin.Context) {
			s := sessions.Default(c)
			if prev, ok := sessions.Get[string](s, "user"); ok && prev != c.Param("user") {
				s.Clear()
			}
			s.Renew()
			s.Set("user", c.Param("user"))
			s.Set("note", strings.Repeat("n", noteLen))
			c.String(200, "ok")
		})
		add := func(c *gin.Context) {
			s := sessions.Default(c)
			item := c.Param("item")
			s.Update("cart", func(old any) any {
				cart, _ := old.(map[string]int)
				if cart == nil {
					cart = map[string]int{}
				}
				cart[item]++
				return cart
			})
			s.Set("last", item)
		}
		r.POST("/cart/:item", func(c *gin.Context) { add(c); c.String(200, "ok") })
		if gate != nil {
			// Loads and changes the session, then waits for the test: a
			// fault set meanwhile meets the commit.
			r.POST("/hold/cart/:item", func(c *gin.Context) { add(c); gate.Park(); c.String(200, "ok") })
		}
		r.POST("/logout", func(c *gin.Context) { sessions.Default(c).Destroy(); c.String(200, "ok") })
	}
}

// read returns a browser's session as the app shows it, and the status.
func read(b *testapp.Browser, opts ...testapp.Option) (state, int, error) {
	st, status, _, err := readBody(b, opts...)
	return st, status, err
}

// readBody is read that returns the body too.
func readBody(b *testapp.Browser, opts ...testapp.Option) (state, int, string, error) {
	resp, body, err := b.Send("GET", "/state", opts...)
	if err != nil {
		return state{}, 0, "", err
	}
	var st state
	if resp.StatusCode == 200 {
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			return state{}, resp.StatusCode, body, fmt.Errorf("GET /state: %q: %v", body, err)
		}
	}
	return st, resp.StatusCode, body, nil
}

// mustRead is read that fails the test unless the answer is 200.
func mustRead(t *testing.T, b *testapp.Browser, opts ...testapp.Option) state {
	t.Helper()
	st, status, err := read(b, opts...)
	if err != nil || status != 200 {
		t.Fatalf("GET /state = %d, %v", status, err)
	}
	return st
}

// stored returns the session the cookie value id names, as the viewer
// (straight to the server) reads it.
func (r *rig) stored(t *testing.T, id string) state {
	t.Helper()
	return mustRead(t, r.view.Stranger(), testapp.WithCookie(cookieName, id))
}

// timed sends a request and returns the response, its body and how long
// it took.
func timed(b *testapp.Browser, method, target string, opts ...testapp.Option) (*http.Response, string, time.Duration, error) {
	start := time.Now()
	resp, body, err := b.Send(method, target, opts...)
	return resp, body, time.Since(start), err
}
