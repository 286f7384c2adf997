package redis_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testapp"
	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/redis"
	"github.com/sessionware/sessions/storetest"
)

func init() { gin.SetMode(gin.TestMode) }

var prefixSeq atomic.Uint64

// uniquePrefix keeps the stores of one server apart.
func uniquePrefix() string { return fmt.Sprintf("test%d:", prefixSeq.Add(1)) }

// newClient returns a client of addr, closed when the test ends.
func newClient(t testing.TB, addr string, tweak ...func(*goredis.Options)) *goredis.Client {
	o := &goredis.Options{Addr: addr}
	for _, f := range tweak {
		f(o)
	}
	c := goredis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestConformance(t *testing.T) {
	srv := testserver.Redis(t)
	client := newClient(t, srv.Addr)
	storetest.Run(t, func(t *testing.T) sessions.Backend {
		return redis.New(client, redis.WithPrefix(uniquePrefix()))
	})
}

// TestConformanceOpen runs the suite on stores made by Open, each with its
// own client.
func TestConformanceOpen(t *testing.T) {
	srv := testserver.Redis(t)
	storetest.Run(t, func(t *testing.T) sessions.Backend {
		s, err := redis.Open("redis://" + srv.Addr + "/0?prefix=" + uniquePrefix())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// TestConformanceCluster runs the suite against a one-node Redis Cluster
// that owns all 16384 slots, through a cluster client: the scripts name
// their one key, so they route like any other command.
func TestConformanceCluster(t *testing.T) {
	dir := t.TempDir()
	srv := testserver.Redis(t, "--cluster-enabled", "yes",
		"--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--dir", dir)
	ctx := context.Background()
	admin := newClient(t, srv.Addr)
	if err := admin.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
		t.Fatalf("CLUSTER ADDSLOTSRANGE: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := admin.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster did not come up: %v %q", err, info)
		}
		time.Sleep(50 * time.Millisecond)
	}
	s, err := redis.Open("redis+cluster://" + srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, ok := s.Client().(*goredis.ClusterClient); !ok {
		t.Fatalf("redis+cluster:// made a %T", s.Client())
	}
	storetest.Run(t, func(t *testing.T) sessions.Backend {
		return redis.New(s.Client(), redis.WithPrefix(uniquePrefix()))
	})
}

// TestConformanceSentinel runs the suite through a real Sentinel that
// monitors a real master, with a store made by Open from a
// redis+sentinel:// URL.
func TestConformanceSentinel(t *testing.T) {
	master := testserver.Redis(t)
	_, masterPort, _ := net.SplitHostPort(master.Addr)
	sentinel := startSentinel(t, "sentinel monitor mymaster 127.0.0.1 "+masterPort+" 1\n")
	s, err := redis.Open("redis+sentinel://" + sentinel + "/0?master_name=mymaster&dial_timeout=2s")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	storetest.Run(t, func(t *testing.T) sessions.Backend {
		return redis.New(s.Client(), redis.WithPrefix(uniquePrefix()))
	})
	// The sessions are on the master.
	keys, err := newClient(t, master.Addr).DBSize(context.Background()).Result()
	if err != nil || keys == 0 {
		t.Fatalf("the master holds %d keys (%v), want the suite's sessions", keys, err)
	}
}

// startSentinel runs redis-server in Sentinel mode on a free loopback port
// (internal/testserver cannot: Sentinel needs a writable config file as
// its first argument) and returns its address.
func startSentinel(t *testing.T, conf string) string {
	t.Helper()
	port := testserver.FreePort(t)
	file := filepath.Join(t.TempDir(), "sentinel.conf")
	conf = "port " + strconv.Itoa(port) + "\nbind 127.0.0.1\n" + conf
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("redis-server", file, "--sentinel")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server --sentinel: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	c := newClient(t, addr)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := c.Do(context.Background(), "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster").StringSlice()
		if err == nil && len(got) == 2 {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sentinel on %s did not answer within 10s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// commandLog is a go-redis hook that records every command sent.
type commandLog struct {
	mu   sync.Mutex
	cmds []string
	keys []string
}

func (l *commandLog) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (l *commandLog) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		l.add(cmd)
		return next(ctx, cmd)
	}
}

func (l *commandLog) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		for _, cmd := range cmds {
			l.add(cmd)
		}
		return next(ctx, cmds)
	}
}

func (l *commandLog) add(cmd goredis.Cmder) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cmds = append(l.cmds, cmd.Name())
	args := cmd.Args()
	switch cmd.Name() {
	case "evalsha", "eval":
		if len(args) > 3 {
			l.keys = append(l.keys, fmt.Sprint(args[3]))
		}
	case "hmget", "del", "hget", "pttl":
		if len(args) > 1 {
			l.keys = append(l.keys, fmt.Sprint(args[1]))
		}
	}
}

// logCommands records the commands client sends from now on.
func logCommands(client *goredis.Client) *commandLog {
	l := &commandLog{}
	client.AddHook(l)
	return l
}

// take returns the commands sent since the last take.
func (l *commandLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	cmds := l.cmds
	l.cmds = nil
	return cmds
}

func (l *commandLog) lastKey() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.keys) == 0 {
		return ""
	}
	return l.keys[len(l.keys)-1]
}

// newApp serves session handlers on store over real HTTP, and the routes
// extra adds if not nil; the app's own browser keeps the cookie "sid".
func newApp(t *testing.T, store sessions.Store, extra func(r *gin.Engine), opts ...sessions.Option) *testapp.App {
	return testapp.NewGin(t, func(r *gin.Engine) {
		r.Use(sessions.Sessions("sid", store, opts...))
		r.GET("/untouched", func(c *gin.Context) { c.String(200, "hi") })
		r.GET("/get/:key", func(c *gin.Context) { c.String(200, "%v", sessions.Default(c).Get(c.Param("key"))) })
		r.POST("/set/:key/:value", func(c *gin.Context) {
			sessions.Default(c).Set(c.Param("key"), c.Param("value"))
			c.String(200, "ok")
		})
		r.POST("/incr", func(c *gin.Context) {
			sessions.Default(c).Update("n", func(old any) any { n, _ := old.(int); return n + 1 })
			c.String(200, "ok")
		})
		if extra != nil {
			extra(r)
		}
	})
}

// clock is a settable offset from the real time, for WithClock.
type clock struct{ offset atomic.Int64 }

func (c *clock) now() time.Time      { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) set(d time.Duration) { c.offset.Store(int64(d)) }

// TestRoundTrips counts the commands each kind of request sends: none for
// an untouched session, one HMGET to read, HMGET and one script to write,
// one script for a new session, and one script to touch.
func TestRoundTrips(t *testing.T) {
	srv := testserver.Redis(t)
	client := newClient(t, srv.Addr)
	log := logCommands(client)
	// Open the connection first: its handshake (HELLO, CLIENT SETINFO) is
	// once per pooled connection, not per request.
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	log.take()
	var clk clock
	clk.set(-3 * time.Minute) // the session is saved 3 minutes "ago"
	a := newApp(t, redis.New(client), nil, sessions.WithIdleTimeout(10*time.Minute), sessions.WithClock(clk.now))

	check := func(what string, want ...string) {
		t.Helper()
		if got := log.take(); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s sent %q, want %q", what, got, want)
		}
	}

	// The server has not seen the script yet: EVALSHA fails once and EVAL
	// loads it.
	a.Expect("POST", "/set/user/alice", 200, "ok")
	check("the first save on a fresh server", "evalsha", "eval")

	other := newApp(t, redis.New(client), nil)
	other.Expect("POST", "/set/user/bob", 200, "ok")
	check("a new session", "evalsha")

	a.Expect("GET", "/untouched", 200, "hi")
	check("an untouched session")

	a.Expect("GET", "/get/user", 200, "alice")
	check("a read", "hmget")

	a.Expect("POST", "/set/user/carol", 200, "ok")
	check("a write", "hmget", "evalsha")

	a.Expect("POST", "/set/user/carol", 200, "ok")
	check("an unchanged write", "hmget")

	// Three minutes later by the middleware's clock the idle deadline is
	// due for a push: one touch script (the first loads it).
	clk.set(-3 * time.Minute)
	a.Expect("POST", "/set/user/dave", 200, "ok")
	log.take()
	clk.set(0)
	a.Expect("GET", "/get/user", 200, "dave")
	check("the first touch on a fresh server", "hmget", "evalsha", "eval")
	a.Expect("GET", "/get/user", 200, "dave")
	check("a read right after a touch", "hmget")

	clk.set(-3 * time.Minute)
	a.Expect("POST", "/set/user/erin", 200, "ok")
	log.take()
	clk.set(0)
	a.Expect("GET", "/get/user", 200, "erin")
	check("a read that touches", "hmget", "evalsha")
}

// TestStoreCommands checks each store call is one command.
func TestStoreCommands(t *testing.T) {
	srv := testserver.Redis(t)
	client := newClient(t, srv.Addr)
	log := logCommands(client)
	s := redis.New(client, redis.WithPrefix("app:"))
	ctx := context.Background()
	v, err := s.Save(ctx, "k", []byte("x"), 0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Touch(ctx, "k", time.Minute, time.Now()); err != nil {
		t.Fatal(err)
	}
	log.take() // the scripts' first runs load them
	steps := []struct {
		name string
		fn   func() error
		want string
	}{
		{"Load", func() error { _, err := s.Load(ctx, "k"); return err }, "hmget"},
		{"Save", func() error { var err error; v, err = s.Save(ctx, "k", []byte("y"), v, time.Minute); return err }, "evalsha"},
		{"Save with a conflict", func() error {
			if _, err := s.Save(ctx, "k", []byte("z"), v+1, time.Minute); !errors.Is(err, sessions.ErrConflict) {
				return fmt.Errorf("err = %v, want ErrConflict", err)
			}
			return nil
		}, "evalsha"},
		{"Touch", func() error { return s.Touch(ctx, "k", time.Minute, time.Now()) }, "evalsha"},
		{"Delete", func() error { return s.Delete(ctx, "k") }, "del"},
		{"Delete of a missing key", func() error { return s.Delete(ctx, "k") }, "del"},
		{"Load of a missing key", func() error {
			if _, err := s.Load(ctx, "k"); !errors.Is(err, sessions.ErrNotFound) {
				return fmt.Errorf("err = %v, want ErrNotFound", err)
			}
			return nil
		}, "hmget"},
	}
	for _, st := range steps {
		if err := st.fn(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := strings.Join(log.take(), " "); got != st.want {
			t.Errorf("%s sent %q, want %q", st.name, got, st.want)
		}
		if k := log.lastKey(); k != "app:k" {
			t.Errorf("%s used key %q, want the prefixed %q", st.name, k, "app:k")
		}
	}
}

// TestLayout checks what a saved session looks like in Redis.
func TestLayout(t *testing.T) {
	srv := testserver.Redis(t)
	client := newClient(t, srv.Addr)
	s := redis.New(client)
	ctx := context.Background()
	v, err := s.Save(ctx, "abc", []byte("data"), 0, 90*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	h, err := client.HGetAll(ctx, "session:abc").Result()
	if err != nil {
		t.Fatal(err)
	}
	if h["d"] != "data" || h["v"] != strconv.FormatUint(v, 10) || len(h) != 2 {
		t.Fatalf("stored hash = %q, want d=data v=%d", h, v)
	}
	// The middleware's time, far from the real one: the store records it
	// as given, to the millisecond, not its own clock.
	at := time.Date(2031, 3, 4, 5, 6, 7, 8_999_999, time.UTC)
	if err := s.Touch(ctx, "abc", time.Hour, at); err != nil {
		t.Fatal(err)
	}
	if h, err := client.HGet(ctx, "session:abc", "t").Result(); err != nil || h != strconv.FormatInt(at.UnixMilli(), 10) {
		t.Fatalf("stored t = %q (%v), want %d", h, err, at.UnixMilli())
	}
	r, err := s.Load(ctx, "abc")
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != v || string(r.Data) != "data" || !r.Touched.Equal(at.Truncate(time.Millisecond)) {
		t.Fatalf("after Touch: %+v, want version %d and Touched %v", r, v, at.Truncate(time.Millisecond))
	}
	// A save starts the record afresh: no stale touch time.
	v2, err := s.Save(ctx, "abc", []byte("new"), v, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if r, err = s.Load(ctx, "abc"); err != nil || !r.Touched.IsZero() || r.Version != v2 {
		t.Fatalf("after a save: %+v %v, want a zero Touched and version %d", r, err, v2)
	}
	// Touch of a missing key creates nothing.
	if err := s.Touch(ctx, "missing", time.Minute, at); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Touch of a missing key: %v", err)
	}
	if n, err := client.Exists(ctx, "session:missing").Result(); err != nil || n != 0 {
		t.Fatalf("Touch of a missing key left %d keys (%v)", n, err)
	}
	// A key of another type is corrupt, never "not found", and a save does
	// not overwrite it.
	if err := client.Set(ctx, "session:str", "x", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "str"); !errors.Is(err, sessions.ErrCorrupt) {
		t.Fatalf("Load of a string key: err = %v, want sessions.ErrCorrupt", err)
	}
	if _, err := s.Save(ctx, "str", []byte("x"), 0, time.Minute); err == nil {
		t.Fatal("Save over a string key succeeded")
	}
}

// TestRetriedSaveIsIdempotent replays a save's EVALSHA, as go-redis does
// when a reply is lost: the replay reports success, not a conflict that
// would make the middleware apply its update twice.
func TestRetriedSaveIsIdempotent(t *testing.T) {
	srv := testserver.Redis(t)
	client := newClient(t, srv.Addr)
	var replays atomic.Int64
	client.AddHook(replayHook{&replays})
	s := redis.New(client)
	ctx := context.Background()
	v, err := s.Save(ctx, "k", []byte("one"), 0, time.Minute)
	if err != nil {
		t.Fatalf("replayed add: %v", err)
	}
	v2, err := s.Save(ctx, "k", []byte("two"), v, time.Minute)
	if err != nil {
		t.Fatalf("replayed compare-and-swap: %v", err)
	}
	r, err := s.Load(ctx, "k")
	if err != nil || string(r.Data) != "two" || r.Version != v2 {
		t.Fatalf("Load = %q version %d (%v), want %q version %d", r.Data, r.Version, err, "two", v2)
	}
	if replays.Load() < 2 {
		t.Fatalf("%d replays, want 2", replays.Load())
	}
	// A stale version still conflicts.
	if _, err := s.Save(ctx, "k", []byte("stale"), v, time.Minute); !errors.Is(err, sessions.ErrConflict) {
		t.Fatalf("stale save: err = %v, want ErrConflict", err)
	}
}

// replayHook sends every successful script call twice and returns the
// second reply.
type replayHook struct{ n *atomic.Int64 }

func (replayHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (h replayHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if err := next(ctx, cmd); err != nil || cmd.Name() != "evalsha" && cmd.Name() != "eval" {
			return err
		}
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (replayHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}

// TestTTLMatchesMiddleware checks the key's TTL against the middleware's
// idle timeout and remaining lifetime, and the cookie's Max-Age against
// both: they never drift apart.
func TestTTLMatchesMiddleware(t *testing.T) {
	srv := testserver.Redis(t)
	client := newClient(t, srv.Addr)
	log := logCommands(client)
	ctx := context.Background()

	pttl := func() time.Duration {
		t.Helper()
		d, err := client.PTTL(ctx, log.lastKey()).Result()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	near := func(what string, got, want time.Duration) {
		t.Helper()
		if got > want || got < want-2*time.Second {
			t.Errorf("%s = %v, want %v (at most 2s less)", what, got, want)
		}
	}
	maxAge := func(resp *http.Response) time.Duration {
		t.Helper()
		c, set := testapp.SetCookie(resp, "sid")
		if !set {
			t.Fatal("no cookie")
		}
		return time.Duration(c.MaxAge) * time.Second
	}

	t.Run("Store", func(t *testing.T) {
		s := redis.New(client)
		if _, err := s.Save(ctx, "ttl", []byte("x"), 0, 90*time.Second+500*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		near("PTTL after Save", pttl(), 90*time.Second+500*time.Millisecond)
		if err := s.Touch(ctx, "ttl", 42*time.Minute, time.Now()); err != nil {
			t.Fatal(err)
		}
		near("PTTL after Touch", pttl(), 42*time.Minute)
	})
	t.Run("Lifetime", func(t *testing.T) {
		var clk clock
		a := newApp(t, redis.New(client), nil, sessions.WithLifetime(2*time.Hour), sessions.WithClock(clk.now))
		clk.set(-90 * time.Minute) // created 90 minutes ago
		resp := a.Expect("POST", "/set/user/alice", 200, "ok")
		near("PTTL of a new session", pttl(), 2*time.Hour)
		near("its cookie's Max-Age", maxAge(resp), 2*time.Hour)
		clk.set(0)
		a.Expect("POST", "/set/user/bob", 200, "ok")
		near("PTTL 90 minutes later", pttl(), 30*time.Minute)
	})
	t.Run("IdleTimeout", func(t *testing.T) {
		var clk clock
		a := newApp(t, redis.New(client), nil, sessions.WithLifetime(24*time.Hour),
			sessions.WithIdleTimeout(20*time.Minute), sessions.WithClock(clk.now))
		clk.set(-5 * time.Minute)
		a.Expect("POST", "/set/user/alice", 200, "ok")
		near("PTTL of a new session", pttl(), 20*time.Minute)
		// Five minutes later the read pushes the deadline with a touch.
		clk.set(0)
		a.Expect("GET", "/get/user", 200, "alice")
		near("PTTL after a touch", pttl(), 20*time.Minute)
		a.Expect("POST", "/set/user/bob", 200, "ok")
		near("PTTL after a save", pttl(), 20*time.Minute)
	})
	t.Run("IdleTimeoutNearTheEndOfTheLifetime", func(t *testing.T) {
		var clk clock
		a := newApp(t, redis.New(client), nil, sessions.WithLifetime(time.Hour),
			sessions.WithIdleTimeout(20*time.Minute), sessions.WithClock(clk.now))
		// Created 55 minutes ago and used every 15 minutes since.
		for i, ago := range []time.Duration{55, 40, 25, 10, 0} {
			clk.set(-ago * time.Minute)
			a.Expect("POST", "/set/n/"+strconv.Itoa(i), 200, "ok")
		}
		near("PTTL with 5 minutes of lifetime left", pttl(), 5*time.Minute)
	})
}

// TestServerDown stops redis-server under a running app: requests that
// need the session get 503 quickly, the stored session is not
// overwritten, and once the server is back the same app serves again.
func TestServerDown(t *testing.T) {
	t.Run("New", func(t *testing.T) {
		serverDown(t, func(addr string) sessions.Store {
			return redis.New(newClient(t, addr, func(o *goredis.Options) {
				o.DialTimeout = time.Second
				o.ReadTimeout = time.Second
				o.WriteTimeout = time.Second
				o.MaxRetries = 1
				o.DialerRetries = 1
			}))
		})
	})
	t.Run("Open", func(t *testing.T) {
		serverDown(t, func(addr string) sessions.Store {
			s, err := redis.Open("redis://" + addr + "?dial_timeout=1s&read_timeout=1s&write_timeout=1s&max_retries=1&dialer_retries=1&dialer_retry_timeout=10ms")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		})
	})
}

func serverDown(t *testing.T, newStore func(addr string) sessions.Store) {
	// Append-only file synced on every write, so that the data survives
	// the kill and the restart.
	srv := testserver.Redis(t, "--appendonly", "yes", "--appendfsync", "always", "--dir", t.TempDir())
	a := newApp(t, newStore(srv.Addr), func(r *gin.Engine) {
		r.POST("/stop-then-set/:value", func(c *gin.Context) {
			s := sessions.Default(c)
			_ = s.Get("user") // loaded while the server is up
			srv.Stop()
			s.Set("user", c.Param("value"))
			c.String(200, "ok")
		})
	})
	a.Expect("POST", "/set/user/alice", 200, "ok")
	a.Expect("GET", "/get/user", 200, "alice")

	srv.Stop()
	for _, req := range []struct{ method, path string }{
		{"GET", "/get/user"}, {"POST", "/set/user/mallory"}, {"POST", "/incr"},
	} {
		start := time.Now()
		resp, body := a.Do(req.method, req.path)
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("%s %s with the server down = %d %q, want 503", req.method, req.path, resp.StatusCode, body)
		}
		t.Logf("%s %s failed in %v", req.method, req.path, time.Since(start))
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s %s took %v to fail, want well under 1s", req.method, req.path, d)
		}
		if sc := resp.Header.Get("Set-Cookie"); sc != "" {
			t.Errorf("%s %s with the server down set a cookie: %q", req.method, req.path, sc)
		}
	}
	// Untouched requests do not need the server.
	a.Expect("GET", "/untouched", 200, "hi")

	srv.Start()
	waitUp(t, a)
	a.Expect("GET", "/get/user", 200, "alice")

	// The server goes away between load and save.
	if resp, body := a.Do("POST", "/stop-then-set/mallory"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a save with the server down = %d %q, want 503", resp.StatusCode, body)
	}
	srv.Start()
	waitUp(t, a)
	a.Expect("GET", "/get/user", 200, "alice")
	a.Expect("POST", "/set/user/bob", 200, "ok")
	a.Expect("GET", "/get/user", 200, "bob")
}

// waitUp waits until the restarted server has loaded its data and answers
// the app (it refuses commands with LOADING while it reads its file).
func waitUp(t *testing.T, a *testapp.App) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if resp, _ := a.Do("GET", "/get/user"); resp.StatusCode == 200 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the app did not recover within 5s of the server's restart")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOpen(t *testing.T) {
	srv := testserver.Redis(t)
	ctx := context.Background()
	t.Run("Prefix", func(t *testing.T) {
		s, err := redis.Open("redis://"+srv.Addr+"/3?prefix=myapp:&dial_timeout=1s", redis.WithPrefix("override:"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Save(ctx, "k", []byte("x"), 0, time.Minute); err != nil {
			t.Fatal(err)
		}
		c := newClient(t, srv.Addr, func(o *goredis.Options) { o.DB = 3 })
		if n, err := c.Exists(ctx, "override:k").Result(); err != nil || n != 1 {
			t.Fatalf("override:k in db 3: %d %v", n, err)
		}
		s2, err := redis.Open("redis://" + srv.Addr + "/3?prefix=myapp:")
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		if _, err := s2.Save(ctx, "k", []byte("x"), 0, time.Minute); err != nil {
			t.Fatal(err)
		}
		if n, err := c.Exists(ctx, "myapp:k").Result(); err != nil || n != 1 {
			t.Fatalf("myapp:k in db 3: %d %v", n, err)
		}
	})
	t.Run("Close", func(t *testing.T) {
		s, err := redis.Open("redis://" + srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Load(ctx, "k"); err == nil {
			t.Fatal("Load after Close succeeded")
		}
		// New leaves the caller's client open.
		c := newClient(t, srv.Addr)
		if err := redis.New(c).Close(); err != nil {
			t.Fatal(err)
		}
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatalf("the caller's client after the store's Close: %v", err)
		}
	})
	t.Run("Forms", func(t *testing.T) {
		for _, tc := range []struct {
			url  string
			want string // the client's type
		}{
			// check=false: nothing listens there, and Open does no I/O.
			{"redis://localhost?check=false", "*redis.Client"},
			{"redis://user:pw@localhost:6380/2?pool_size=4&read_timeout=2s&check=false", "*redis.Client"},
			{"rediss://user:pw@redis.example.com:6380/0?check=0", "*redis.Client"},
			{"unix:///run/redis.sock?db=1&check=false", "*redis.Client"},
			{"redis+cluster://pw@node1:7000?addr=node2:7000&addr=node3:7000&check=false", "*redis.ClusterClient"},
			{"rediss+cluster://node1:7000?check=false", "*redis.ClusterClient"},
			{"redis+sentinel://s1:26379/1?master_name=mymaster&addr=s2:26379&password=masterpw&check=false", "*redis.Client"},
			{"REDIS://localhost?check=FALSE", "*redis.Client"},
			{"redis://localhost?dialer_retries=1&dialer_retry_timeout=10ms&max_retries=1&check=false", "*redis.Client"},
			{"unix:///run/redis.sock?dialer_retry_timeout=1&check=false", "*redis.Client"},
			{"redis+cluster://node1:7000?dialer_retries=1&check=false", "*redis.ClusterClient"},
			{"redis://localhost?wait=1&wait_timeout=100ms&check=false", "*redis.Client"},
			{"redis+cluster://node1:7000?wait=2&check=false", "*redis.ClusterClient"},
			{"redis+sentinel://s1:26379/1?master_name=m&wait=1&wait_timeout=1800ms&read_timeout=2s&check=false", "*redis.Client"},
			{"redis://localhost?context_timeout_enabled=true&check=false", "*redis.Client"},
		} {
			s, err := redis.Open(tc.url)
			if err != nil {
				t.Errorf("Open(%q): %v", tc.url, err)
				continue
			}
			if got := fmt.Sprintf("%T", s.Client()); got != tc.want {
				t.Errorf("Open(%q) made a %s, want %s", tc.url, got, tc.want)
			}
			_ = s.Close()
		}
	})
	t.Run("Errors", func(t *testing.T) {
		const secret = "s3cr3tPW"
		for _, tc := range []struct{ url, want string }{
			{"", "malformed URL"},
			{"localhost:6379", "malformed URL"},
			{"user:" + secret + "@localhost:6379", "malformed URL"},
			{"redis://u:" + secret + "@[::1", "malformed URL"},
			{"redis://u:" + secret + "@host:6379/%zz", "malformed URL"},
			{"http://u:" + secret + "@host", `unsupported scheme "http"; accepted: redis://`},
			{"redis+ring://u:" + secret + "@host", "unsupported scheme"},
			{"unix+cluster://u:" + secret + "@host", "unsupported scheme"},
			{"redis://u:" + secret + "@host:6379/abc", "invalid database number"},
			{"redis://u:" + secret + "@host:6379/1/2", "invalid URL path"},
			{"redis://u:" + secret + "@host:6379?dial_timeout=soon", "dial_timeout"},
			{"redis://u:" + secret + "@host:6379?bogus=1", "unexpected option: bogus"},
			{"redis://u:" + secret + "@host:6379?password=" + secret, "unexpected option: password"},
			{"redis://u:" + secret + "@host:6379?prefix=", "prefix must not be empty"},
			{"redis+cluster://u:" + secret + "@host:7000?db=1", "unexpected option: db"},
			{"redis+sentinel://u:" + secret + "@host:26379?password=" + secret, "master_name"},
			{"redis+sentinel://u:" + secret + "@host:26379?master_name=m&password=" + secret + "&max_retries=" + secret, "max_retries"},
			{"unix://u:" + secret + "@?db=1", "unix socket path"},
			{"redis+cluster://u:" + secret + "@host:7000?read_only=true", "replicas"},
			{"redis+cluster://u:" + secret + "@host:7000?route_randomly=true", "replicas"},
			{"redis+sentinel://u:" + secret + "@host:26379?master_name=m&replica_only=true", "replicas"},
			{"redis://u:" + secret + "@host?dialer_retries=many", "invalid dialer_retries number"},
			{"redis://u:" + secret + "@host?dialer_retry_timeout=soon", "invalid dialer_retry_timeout"},
			{"redis://u:" + secret + "@host?check=maybe", `invalid check: "maybe"`},
			{"redis://u:" + secret + "@host?wait=-1", `invalid wait: "-1"`},
			{"redis://u:" + secret + "@host?wait=101", `invalid wait: "101"`},
			{"redis://u:" + secret + "@host?wait=one", `invalid wait: "one"`},
			{"redis://u:" + secret + "@host?wait=1&wait_timeout=500", `invalid wait_timeout: "500"`},
			{"redis://u:" + secret + "@host?wait=1&wait_timeout=0s", `invalid wait_timeout: "0s"`},
			{"redis://u:" + secret + "@host?wait_timeout=100ms", "wait_timeout is given without wait"},
			{"redis://u:" + secret + "@host?wait=1&wait_timeout=900ms", "shorter than the client's read timeout, 1s"},
			{"redis://u:" + secret + "@host?wait=1&wait_timeout=2s&read_timeout=2s", "shorter than the client's read timeout, 2s"},
			{"redis+cluster://u:" + secret + "@host?wait=1&wait_timeout=1s", "shorter than the client's read timeout"},
			{"redis+sentinel://u:" + secret + "@host?master_name=m&wait=1&wait_timeout=1s", "shorter than the client's read timeout"},
			{"redis://u:" + secret + "@host?context_timeout_enabled=false", "context_timeout_enabled other than true is refused"},
			{"redis+cluster://u:" + secret + "@host?context_timeout_enabled=0", "context_timeout_enabled other than true is refused"},
			{"redis+sentinel://u:" + secret + "@host?master_name=m&context_timeout_enabled=false", "context_timeout_enabled other than true is refused"},
		} {
			s, err := redis.Open(tc.url)
			if err == nil {
				_ = s.Close()
				t.Errorf("Open(%q) succeeded", tc.url)
				continue
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open(%q): %v, want an error containing %q", tc.url, err, tc.want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("Open(%q): the error reveals the password: %v", tc.url, err)
			}
		}
		if _, err := redis.Open("redis://localhost", redis.WithPrefix("")); err == nil {
			t.Error("Open with an empty prefix succeeded")
		}
	})
}

func TestNewPanics(t *testing.T) {
	for name, fn := range map[string]func(){
		"nil client":   func() { redis.New(nil) },
		"empty prefix": func() { redis.New(goredis.NewClient(&goredis.Options{}), redis.WithPrefix("")) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New with a %s did not panic", name)
				}
			}()
			fn()
		}()
	}
}

// TestConcurrentRequests runs 40 concurrent Update requests of one session
// over real HTTP, as two browser tabs would: none is lost.
func TestConcurrentRequests(t *testing.T) {
	srv := testserver.Redis(t)
	a := newApp(t, redis.New(newClient(t, srv.Addr)), nil)
	a.Expect("POST", "/incr", 200, "ok")
	stranger, id := a.Stranger(), a.Cookie("sid") // another tab of the browser
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _, err := stranger.Send("POST", "/incr", testapp.WithCookie("sid", id))
			if err != nil {
				errs <- err
				return
			}
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("status %d", resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	a.Expect("GET", "/get/n", 200, strconv.Itoa(n+1))
}

// TestCancelledContext: a request whose context ends before the session
// loads still gets its session, never an empty one: the store calls run
// detached from the request's cancellation, under the request's store
// budget.
func TestCancelledContext(t *testing.T) {
	srv := testserver.Redis(t)
	a := newApp(t, redis.New(newClient(t, srv.Addr)), nil)
	a.Expect("POST", "/set/user/alice", 200, "ok")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequest("GET", "/get/user", nil).WithContext(ctx)
	req.Header.Set("Cookie", "sid="+a.Cookie("sid"))
	w := httptest.NewRecorder()
	a.Config.Handler.ServeHTTP(w, req) // in process: a cancelled request cannot be sent
	if w.Code != http.StatusOK || w.Body.String() != "alice" {
		t.Fatalf("a cancelled request = %d %q, want its session: 200 \"alice\"", w.Code, w.Body.String())
	}
	a.Expect("GET", "/get/user", 200, "alice")
}

func TestOpenRefusesAmbiguousUserInfo(t *testing.T) {
	for _, raw := range []string{
		"redis://app:/Xy9secretPW@cache.internal:6379",
		"redis://:?Xy9secretPW@cache.internal:6379",
		"redis://:#Xy9secretPW@cache.internal:6379/0",
		"redis+sentinel://u:42/Xy9secretPW@s1:26379/0?master_name=m",
		"redis+cluster://:a?Xy9secretPW@n1:7000",
	} {
		s, err := redis.Open(raw)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", raw)
			continue
		}
		if strings.Contains(err.Error(), "Xy9secretPW") {
			t.Errorf("Open(%q): the error shows the password: %v", raw, err)
		}
	}
	// An escaped password is fine.
	s, err := redis.Open("redis://:a%2Fb%3Fc%23d@127.0.0.1:1/0?check=false")
	if err != nil {
		t.Fatalf("an escaped password: %v", err)
	}
	s.Close()
}
