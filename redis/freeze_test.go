package redis_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testapp"
	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/redis"
)

// openURL opens rawURL and closes the store at the end of the test.
func openURL(t *testing.T, rawURL string, opts ...redis.Option) *redis.Store {
	t.Helper()
	s, err := redis.Open(rawURL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// storeCall is one kind of store call, under ctx, of a session saved
// at version v.
type storeCall struct {
	name string
	call func(ctx context.Context, s *redis.Store, v uint64) error
}

var storeCalls = []storeCall{
	{"Load", func(ctx context.Context, s *redis.Store, _ uint64) error { _, err := s.Load(ctx, "k"); return err }},
	{"Save", func(ctx context.Context, s *redis.Store, v uint64) error {
		_, err := s.Save(ctx, "k", []byte("frozen"), v, time.Minute)
		return err
	}},
	{"Touch", func(ctx context.Context, s *redis.Store, _ uint64) error {
		return s.Touch(ctx, "k", time.Minute, time.Now())
	}},
	{"Delete", func(ctx context.Context, s *redis.Store, _ uint64) error { return s.Delete(ctx, "k") }},
}

// frozenCalls freezes srv and makes n calls of each kind at once, each
// under a context of the given budget (none if 0), on connections of the
// pool that were all open and idle before the freeze. It returns the
// slowest call. Every call must fail.
func frozenCalls(t *testing.T, srv *testserver.Server, s *redis.Store, n int, budget time.Duration) time.Duration {
	t.Helper()
	v, err := s.Save(context.Background(), "k", []byte("before"), 0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	srv.Freeze()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var slowest time.Duration
	for range n {
		for _, c := range storeCalls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := context.Background()
				if budget > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, budget)
					defer cancel()
				}
				start := time.Now()
				err := c.call(ctx, s, v)
				d := time.Since(start)
				mu.Lock()
				defer mu.Unlock()
				slowest = max(slowest, d)
				if err == nil {
					t.Errorf("%s on a frozen server succeeded", c.name)
				}
			}()
		}
	}
	wg.Wait()
	return slowest
}

// thawAndRecover thaws srv and checks that a load works again within
// 1 s: the pool has dropped the connections that timed out and dials new
// ones.
func thawAndRecover(t *testing.T, srv *testserver.Server, s *redis.Store) {
	t.Helper()
	srv.Thaw()
	thawed := time.Now()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		_, err := s.Load(ctx, "k")
		cancel()
		if err == nil || errors.Is(err, sessions.ErrNotFound) {
			t.Logf("loads work again %v after the thaw", time.Since(thawed).Round(time.Microsecond))
			return
		}
		if time.Since(thawed) > time.Second {
			t.Fatalf("a load still fails %v after the thaw: %v", time.Since(thawed), err)
		}
	}
}

// TestFrozenServerCostsAtMostTheBudget freezes redis-server (SIGSTOP: the
// kernel still accepts connections and takes what is written, so dial
// timeouts alone would not help) under a store opened from the default
// URL. Loads, saves, touches and deletes, 3 times the pool's size of
// each at once (so most also wait for a connection), each under the 2 s
// budget the middleware gives a request, all fail within it. After the
// thaw the store serves again within 1 s.
func TestFrozenServerCostsAtMostTheBudget(t *testing.T) {
	srv := testserver.Redis(t)
	s := openURL(t, "redis://"+srv.Addr)
	n := 3 * 10 * runtime.GOMAXPROCS(0) // 3 × go-redis's pool size, per kind of call
	slowest := frozenCalls(t, srv, s, n, budget)
	t.Logf("%d calls on a frozen server: the slowest failed after %v", n*len(storeCalls), slowest.Round(time.Millisecond))
	if slowest > budget+slack {
		t.Errorf("a call on a frozen server took %v, over the %v budget", slowest, budget)
	}
	thawAndRecover(t, srv, s)
}

// TestTheRequestDeadlineBoundsEveryCall sets every go-redis timeout of the
// URL to 10 s and a pool of 2 connections: each call on a frozen server,
// under a 1 s budget, still fails within that budget, whether it waits on
// a connection's reply or for a free connection. go-redis honours the
// context's deadline only with ContextTimeoutEnabled, which Open sets.
func TestTheRequestDeadlineBoundsEveryCall(t *testing.T) {
	srv := testserver.Redis(t)
	s := openURL(t, "redis://"+srv.Addr+"?dial_timeout=10s&read_timeout=10s&write_timeout=10s&pool_timeout=10s&pool_size=2")
	const short = time.Second
	slowest := frozenCalls(t, srv, s, 3, short)
	t.Logf("the slowest call failed after %v", slowest.Round(time.Millisecond))
	if slowest > short+slack {
		t.Errorf("a call under a %v budget took %v on a frozen server", short, slowest)
	}
	thawAndRecover(t, srv, s)
}

// TestWithoutADeadlineOpensTimeoutsBoundACall makes calls on a frozen
// server under contexts without a deadline (a program that calls the
// store itself): Open's 1 s read and write timeouts bound them, where
// go-redis's own (5 s, then a retry) held a call for 10 s.
func TestWithoutADeadlineOpensTimeoutsBoundACall(t *testing.T) {
	srv := testserver.Redis(t)
	s := openURL(t, "redis://"+srv.Addr)
	slowest := frozenCalls(t, srv, s, 2, 0)
	t.Logf("the slowest call without a deadline failed after %v", slowest.Round(time.Millisecond))
	if slowest > 3*time.Second {
		t.Errorf("a call without a deadline took %v on a frozen server", slowest)
	}
	thawAndRecover(t, srv, s)
}

// TestPoolWaitIsBounded makes two loads at once, without a deadline and
// without retries, on a frozen server through a pool of one connection:
// the one that finds the connection taken gives up after Open's 1 s pool
// timeout, instead of go-redis's (the read timeout, 3 s here, plus 1 s).
// (go-redis retries a pool timeout: under a deadline, the deadline is what
// bounds the wait, see TestTheRequestDeadlineBoundsEveryCall.)
func TestPoolWaitIsBounded(t *testing.T) {
	srv := testserver.Redis(t)
	s := openURL(t, "redis://"+srv.Addr+"?pool_size=1&read_timeout=3s&max_retries=-1")
	if _, err := s.Load(context.Background(), "k"); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatal(err)
	}
	srv.Freeze()
	defer srv.Thaw()
	type result struct {
		d   time.Duration
		err error
	}
	results := make(chan result, 2)
	for range 2 {
		go func() {
			start := time.Now()
			_, err := s.Load(context.Background(), "k")
			results <- result{time.Since(start), err}
		}()
	}
	var waited []string
	for range 2 {
		r := <-results
		if errors.Is(r.err, goredis.ErrPoolTimeout) {
			waited = append(waited, fmt.Sprint(r.d.Round(time.Millisecond)))
			if r.d > time.Second+slack {
				t.Errorf("the load that waited for a connection gave up after %v", r.d)
			}
		}
	}
	if len(waited) != 1 {
		t.Fatalf("%d loads waited for the pool's connection, want 1", len(waited))
	}
	t.Logf("the load that waited for a connection gave up after %s", waited[0])
}

// TestFrozenServerAnswers503WithinTheBudget serves sessions from a store
// opened from the default URL over real HTTP, and freezes redis-server:
// 20 requests of each kind at once (a read, a write, an Update) all get a
// 503 within the 2 s budget, and the app serves again within 1 s of the
// thaw. A request that loaded its session before the freeze fails its
// commit within the budget too.
func TestFrozenServerAnswers503WithinTheBudget(t *testing.T) {
	srv := testserver.Redis(t)
	var frozen sync.Once
	a := newApp(t, openURL(t, "redis://"+srv.Addr), func(r *gin.Engine) {
		r.POST("/freeze-then-set/:value", func(c *gin.Context) {
			s := sessions.Default(c)
			_ = s.Get("user") // loaded before the freeze
			frozen.Do(srv.Freeze)
			s.Set("user", c.Param("value"))
			c.String(200, "ok")
		})
	})
	a.Expect("POST", "/set/user/alice", 200, "ok")
	id := a.Cookie("sid")

	start := time.Now()
	if resp, body := a.Do("POST", "/freeze-then-set/mallory"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a commit on a frozen server = %d %q, want 503", resp.StatusCode, body)
	}
	t.Logf("a commit on the frozen server answered 503 after %v", time.Since(start).Round(time.Millisecond))
	if d := time.Since(start); d > budget+slack {
		t.Errorf("a commit on a frozen server answered after %v, over the budget", d)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	var slowest time.Duration
	for range 20 {
		for _, req := range []struct{ method, path string }{{"GET", "/get/user"}, {"POST", "/set/user/bob"}, {"POST", "/incr"}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				resp, body, err := a.Stranger().Send(req.method, req.path, testapp.WithCookie("sid", id))
				d := time.Since(start)
				mu.Lock()
				defer mu.Unlock()
				slowest = max(slowest, d)
				if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
					t.Errorf("%s %s on a frozen server: %v %v %q, want 503", req.method, req.path, err, resp, body)
				}
			}()
		}
	}
	wg.Wait()
	t.Logf("60 requests on the frozen server: the slowest answered 503 after %v", slowest.Round(time.Millisecond))
	if slowest > budget+slack {
		t.Errorf("a request on a frozen server answered after %v, over the budget", slowest)
	}

	srv.Thaw()
	thawed := time.Now()
	for {
		resp, body := a.Do("GET", "/get/user")
		if resp.StatusCode == 200 {
			// The commit that failed may have landed all the same: the
			// frozen server read it from its socket after the thaw.
			t.Logf("the app serves again %v after the thaw (user %q)", time.Since(thawed).Round(time.Millisecond), body)
			break
		}
		if time.Since(thawed) > time.Second {
			t.Fatalf("the app still answers %d %q %v after the thaw", resp.StatusCode, body, time.Since(thawed))
		}
	}
}
