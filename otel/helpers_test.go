package sessionsotel_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/sessionware/sessions"
	sessionsotel "github.com/sessionware/sessions/otel"
)

const cookieName = "sid"

func init() { gin.SetMode(gin.TestMode) }

// meter is an SDK MeterProvider whose ManualReader the test collects
// from, and an Observer made with it.
type meter struct {
	reader *sdkmetric.ManualReader
	obs    *sessionsotel.Observer
}

func newMeter(t *testing.T, opts ...sessionsotel.Option) *meter {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	obs, err := sessionsotel.New(mp, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return &meter{reader: reader, obs: obs}
}

// metrics is one collection, by instrument name.
type metrics map[string]metricdata.Metrics

func (m *meter) collect(t *testing.T) metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := m.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != sessionsotel.ScopeName {
			t.Fatalf("scope %q, want %q", sm.Scope.Name, sessionsotel.ScopeName)
		}
		for _, mt := range sm.Metrics {
			out[mt.Name] = mt
		}
	}
	return out
}

// count returns the value of a counter: the sum of its data points, each
// of which must have exactly the attributes want.
func (ms metrics) count(t *testing.T, name string, want ...attribute.KeyValue) int64 {
	t.Helper()
	mt, ok := ms[name]
	if !ok {
		return 0
	}
	sum, ok := mt.Data.(metricdata.Sum[int64])
	if !ok || !sum.IsMonotonic {
		t.Fatalf("%s is a %T, want a monotonic int64 counter", name, mt.Data)
	}
	var n int64
	for _, dp := range sum.DataPoints {
		if !dp.Attributes.Equals(ptr(attribute.NewSet(want...))) {
			t.Fatalf("%s has attributes %v, want %v", name, dp.Attributes.ToSlice(), want)
		}
		n += dp.Value
	}
	return n
}

func ptr[T any](v T) *T { return &v }

// calls returns how many store calls the duration histogram recorded, as
// "op outcome" → count, checking each data point: unit seconds, buckets
// that add up to the count, a positive sum, and the store attribute
// (store, or none when "").
func (ms metrics) calls(t *testing.T, store string) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	mt, ok := ms["sessions.store.duration"]
	if !ok {
		return out
	}
	if mt.Unit != "s" {
		t.Fatalf("sessions.store.duration in %q, want s", mt.Unit)
	}
	h, ok := mt.Data.(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("sessions.store.duration is a %T, want a float64 histogram", mt.Data)
	}
	for _, dp := range h.DataPoints {
		got, _ := dp.Attributes.Value("sessions.store.name")
		if _, has := dp.Attributes.Value("sessions.store.name"); got.AsString() != store || has != (store != "") {
			t.Fatalf("a data point of store %q (%v), want %q", got.AsString(), has, store)
		}
		op, _ := dp.Attributes.Value("sessions.store.operation")
		outcome, _ := dp.Attributes.Value("sessions.store.outcome")
		if n := dp.Attributes.Len(); n != 2+min(len(store), 1) {
			t.Fatalf("a data point has %d attributes: %v", n, dp.Attributes.ToSlice())
		}
		var inBuckets uint64
		for _, c := range dp.BucketCounts {
			inBuckets += c
		}
		if inBuckets != dp.Count || dp.Count == 0 || dp.Sum <= 0 {
			t.Fatalf("%s %s: count %d, %d in buckets, sum %v s", op.AsString(), outcome.AsString(), dp.Count, inBuckets, dp.Sum)
		}
		out[op.AsString()+" "+outcome.AsString()] += dp.Count
	}
	return out
}

// wantCalls fails the test unless the histogram holds exactly want.
func wantCalls(t *testing.T, got, want map[string]uint64, why string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: store calls recorded %v, want %v", why, got, want)
	}
}

// counting is a Store that counts its calls by "op outcome" itself, the
// way the Observer is told of them: an independent tally to compare the
// histogram with.
type counting struct {
	sessions.Store
	mu sync.Mutex
	n  map[string]uint64
}

func newCounting(s sessions.Store) *counting { return &counting{Store: s, n: map[string]uint64{}} }

func (c *counting) note(op string, err error) {
	outcome := "error"
	switch {
	case err == nil:
		outcome = "ok"
	case errors.Is(err, sessions.ErrNotFound):
		outcome = "not_found"
	case errors.Is(err, sessions.ErrConflict):
		outcome = "conflict"
	}
	c.mu.Lock()
	c.n[op+" "+outcome]++
	c.mu.Unlock()
}

func (c *counting) tally() map[string]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]uint64{}
	for k, v := range c.n {
		out[k] = v
	}
	return out
}

func (c *counting) Load(ctx context.Context, key string) (sessions.Record, error) {
	r, err := c.Store.Load(ctx, key)
	c.note("load", err)
	return r, err
}

func (c *counting) Save(ctx context.Context, key string, data []byte, version uint64, ttl time.Duration) (uint64, error) {
	v, err := c.Store.Save(ctx, key, data, version, ttl)
	c.note("save", err)
	return v, err
}

func (c *counting) Delete(ctx context.Context, key string) error {
	err := c.Store.Delete(ctx, key)
	c.note("delete", err)
	return err
}

func (c *counting) Touch(ctx context.Context, key string, ttl time.Duration, at time.Time) error {
	err := c.Store.(sessions.Toucher).Touch(ctx, key, ttl, at)
	c.note("touch", err)
	return err
}

// gate holds requests in their handler until the test releases them.
type gate struct {
	inside  chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGate() *gate { return &gate{inside: make(chan struct{}), release: make(chan struct{})} }

func (g *gate) park() {
	select {
	case g.inside <- struct{}{}:
	case <-g.release:
		return
	}
	<-g.release
}

func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

// app serves the test routes over real HTTP on a loopback port, with the
// Sessions middleware on backend:
//
//	POST /set/:key/:value   Set
//	GET  /get/:key          Get: the value, or <nil>
//	POST /incr              Update n by one
//	POST /login             Renew and Set user
//	POST /logout            Destroy
//	POST /held/incr         Update n by one, then park at the gate
//	POST /held/logout       Destroy, then park at the gate
//	POST /held/login        Renew and Set user, then park at the gate
type app struct {
	*httptest.Server
	gate *gate
}

func newApp(t *testing.T, backend sessions.Backend, opts ...sessions.Option) *app {
	t.Helper()
	a := &app{gate: newGate()}
	r := gin.New()
	r.Use(sessions.Sessions(cookieName, backend, opts...))
	incr := func(c *gin.Context) {
		sessions.Default(c).Update("n", func(old any) any { n, _ := old.(int); return n + 1 })
	}
	r.POST("/set/:key/:value", func(c *gin.Context) { sessions.Default(c).Set(c.Param("key"), c.Param("value")) })
	r.GET("/get/:key", func(c *gin.Context) { c.String(200, "%v", sessions.Default(c).Get(c.Param("key"))) })
	r.POST("/incr", incr)
	r.POST("/login", func(c *gin.Context) { s := sessions.Default(c); s.Renew(); s.Set("user", "alice") })
	r.POST("/logout", func(c *gin.Context) { sessions.Default(c).Destroy() })
	r.POST("/held/incr", func(c *gin.Context) { incr(c); a.gate.park() })
	r.POST("/held/logout", func(c *gin.Context) { sessions.Default(c).Destroy(); a.gate.park() })
	r.POST("/held/login", func(c *gin.Context) { s := sessions.Default(c); s.Renew(); s.Set("user", "alice"); a.gate.park() })
	a.Server = httptest.NewServer(r)
	t.Cleanup(a.Close)
	t.Cleanup(a.gate.open) // before Close, which waits for held requests
	return a
}

// client sends requests and keeps the session cookie it is given, in a
// jar, for any app (the cookie is the same on every loopback port).
type client struct {
	t    *testing.T
	http *http.Client
}

func newClient(t *testing.T) *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{t: t, http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// do sends a request to a and returns the status and body.
func (c *client) do(a *app, method, path string) (int, string) {
	c.t.Helper()
	code, body, err := c.send(a, method, path)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return code, body
}

func (c *client) send(a *app, method, path string) (int, string, error) {
	req, err := http.NewRequest(method, a.URL+path, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// expect sends a request and fails the test unless it answers code (and
// body, unless "").
func (c *client) expect(a *app, method, path string, code int, body string) {
	c.t.Helper()
	gotCode, gotBody := c.do(a, method, path)
	if gotCode != code || (body != "" && gotBody != body) {
		c.t.Fatalf("%s %s = %d %q, want %d %q", method, path, gotCode, gotBody, code, body)
	}
}

// cookie returns the session cookie the client holds for a.
func (c *client) cookie(a *app) string {
	c.t.Helper()
	u, _ := http.NewRequest("GET", a.URL, nil)
	for _, ck := range c.http.Jar.Cookies(u.URL) {
		if ck.Name == cookieName {
			return ck.Value
		}
	}
	c.t.Fatalf("no %s cookie", cookieName)
	return ""
}

// withCookie returns a new client that holds the session cookie value.
func withCookie(t *testing.T, a *app, value string) *client {
	c := newClient(t)
	u, _ := http.NewRequest("GET", a.URL, nil)
	c.http.Jar.SetCookies(u.URL, []*http.Cookie{{Name: cookieName, Value: value, Path: "/"}})
	return c
}

// held is a request parked at its app's gate.
type held struct {
	done chan error
	code chan int
}

// hold sends a request in the background and returns once its handler
// parks at a's gate.
func (c *client) hold(a *app, method, path string) *held {
	c.t.Helper()
	h := &held{done: make(chan error, 1), code: make(chan int, 1)}
	go func() {
		code, _, err := c.send(a, method, path)
		h.code <- code
		h.done <- err
	}()
	select {
	case <-a.gate.inside:
	case err := <-h.done:
		c.t.Fatalf("%s %s ended before it parked: %v", method, path, err)
	}
	return h
}

// finish opens the gate and returns the held request's status.
func (h *held) finish(t *testing.T, a *app) int {
	t.Helper()
	a.gate.open()
	if err := <-h.done; err != nil {
		t.Fatal(err)
	}
	return <-h.code
}

// redisServer is a redis-server the test starts on a free loopback port,
// without persistence, and kills at the end.
type redisServer struct {
	addr string
	cmd  *exec.Cmd
}

func startRedis(t *testing.T) *redisServer {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is not installed: run make test (from the repository root), which installs it")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &redisServer{addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	s.cmd = exec.Command(path, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out strings.Builder
	s.cmd.Stdout, s.cmd.Stderr = &out, &out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stop)
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", s.addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not listen on %s within 10 s: %v\n%s", s.addr, err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the server and waits for it to exit.
func (s *redisServer) stop() {
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// clock is a settable clock for the middleware and the memory store.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }
