package benchmarks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/benchmarks/harness"
	"github.com/sessionware/sessions/redis"
)

// BenchmarkRedisPath takes a redis session request apart, step by step, on
// one session and one client, to find where the time of a request goes
// beyond its round trips:
//
//	step=hmget           the raw HMGET of the session's key (go-redis)
//	step=load            the store's Load of that key, called directly
//	step=load-deadline   Load with a context that has a deadline and a
//	                     Done channel, as the middleware's commit context
//	step=read            GET /read through Gin and the middleware
//	step=bare-read       the same route without the middleware
//	step=hmget-evalsha   the raw round trips of a write
//	step=load-save       the store's Load then Save, called directly
//	step=write           POST /write through Gin and the middleware
//	step=bare-write      the same route without the middleware
//
// Each step also reports cpu-ns/op, this process's own CPU time (user and
// system) per operation, which a busy machine disturbs less than the wall
// time.
func BenchmarkRedisPath(b *testing.B) {
	ctx := context.Background()
	d := &harness.Dialer{}
	client := harness.GoredisClient(env, d)
	defer client.Close()
	prefix := "path" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"
	store := redis.New(client, redis.WithPrefix(prefix))
	gin.SetMode(gin.ReleaseMode)
	obs := &callTimer{}
	engine := func(mw bool, opts ...sessions.Option) *gin.Engine {
		r := gin.New()
		if mw {
			r.Use(sessions.Sessions(harness.CookieName, store, opts...))
		}
		r.GET("/read", func(c *gin.Context) {
			v := "alice"
			if mw {
				v, _ = sessions.Default(c).Get("user").(string)
			}
			c.String(http.StatusOK, v)
		})
		n := 0
		r.POST("/write", func(c *gin.Context) {
			n++
			if mw {
				sessions.Default(c).Set("n", n)
			}
			c.String(http.StatusOK, "ok")
		})
		r.POST("/seed", func(c *gin.Context) {
			s := sessions.Default(c)
			s.Set("user", "alice")
			s.Set("n", 0)
			c.String(http.StatusOK, "ok")
		})
		return r
	}
	withMW, bare, observed := engine(true), engine(false), engine(true, sessions.WithObserver(obs))
	cookie, err := harness.Seed(withMW, "small")
	if err != nil {
		b.Fatal(err)
	}
	keys, err := client.Keys(ctx, prefix+"*").Result()
	if err != nil || len(keys) != 1 {
		b.Fatalf("the seeded session's key: %v %v", keys, err)
	}
	full := keys[0]
	key := full[len(prefix):]

	step := func(name string, op func()) {
		b.Run("step="+name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				op()
			}
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
	request := func(h http.Handler, method, path string) func() {
		tmpl := httptest.NewRequest(method, path, nil)
		tmpl.Header.Set("Cookie", cookie)
		return func() {
			req := *tmpl
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, &req)
			if rec.Code != http.StatusOK {
				b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
			}
		}
	}
	step("hmget", func() {
		if err := client.HMGet(ctx, full, "d", "v", "t").Err(); err != nil {
			b.Fatal(err)
		}
	})
	step("load", func() {
		if _, err := store.Load(ctx, key); err != nil {
			b.Fatal(err)
		}
	})
	step("load-deadline", func() {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = dctx.Done()
		if _, err := store.Load(dctx, key); err != nil {
			b.Fatal(err)
		}
		cancel()
	})
	step("read", request(withMW, http.MethodGet, "/read"))
	// The same, with the store calls timed: store-ns/op is the time spent
	// inside the store's Load and Save, as the middleware calls them.
	b.Run("step=read-timed", func(b *testing.B) {
		op := request(observed, http.MethodGet, "/read")
		obs.reset()
		for b.Loop() {
			op()
		}
		b.ReportMetric(float64(obs.total.Load())/float64(b.N), "store-ns/op")
	})
	step("bare-read", request(bare, http.MethodGet, "/read"))
	rec, err := store.Load(ctx, key)
	if err != nil {
		b.Fatal(err)
	}
	data := rec.Data
	step("hmget-evalsha", func() {
		r, err := client.HMGet(ctx, full, "d", "v", "t").Result()
		if err != nil {
			b.Fatal(err)
		}
		v, _ := strconv.ParseUint(r[1].(string), 10, 64)
		if err := floorScript.Run(ctx, client, []string{full}, strconv.FormatUint(v, 10), strconv.FormatUint(v+1, 10), data, "86400000").Err(); err != nil {
			b.Fatal(err)
		}
	})
	step("load-save", func() {
		r, err := store.Load(ctx, key)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := store.Save(ctx, key, r.Data, r.Version, 24*time.Hour); err != nil {
			b.Fatal(err)
		}
	})
	// Load, then Save under a context made as the middleware makes its
	// commit context (a copy of the core's commitContext: a deadline, and a
	// Done channel with a timer made when a client asks for it, as
	// go-redis does on every command).
	step("load-save-commitctx", func() {
		r, err := store.Load(ctx, key)
		if err != nil {
			b.Fatal(err)
		}
		cctx := &commitCtx{parent: ctx, deadline: time.Now().Add(2 * time.Second)}
		if _, err := store.Save(cctx, key, r.Data, r.Version, 24*time.Hour); err != nil {
			b.Fatal(err)
		}
		cctx.end()
	})
	step("write", request(withMW, http.MethodPost, "/write"))
	b.Run("step=write-timed", func(b *testing.B) {
		op := request(observed, http.MethodPost, "/write")
		obs.reset()
		for b.Loop() {
			op()
		}
		b.ReportMetric(float64(obs.total.Load())/float64(b.N), "store-ns/op")
	})
	step("bare-write", request(bare, http.MethodPost, "/write"))
}

// commitCtx is a copy of the core's commitContext (commitctx.go), to
// time its effect on a store call apart from the rest of the middleware.
type commitCtx struct {
	parent   context.Context
	deadline time.Time
	mu       sync.Mutex
	done     chan struct{}
	timer    *time.Timer
}

func (c *commitCtx) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *commitCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if d := time.Until(c.deadline); d <= 0 {
			close(c.done)
		} else {
			done := c.done
			c.timer = time.AfterFunc(d, func() { close(done) })
		}
	}
	return c.done
}

func (c *commitCtx) Err() error {
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *commitCtx) Value(key any) any { return c.parent.Value(key) }

func (c *commitCtx) end() {
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
}

// callTimer is an Observer that adds up the time of the store calls.
type callTimer struct{ total atomic.Int64 }

func (o *callTimer) reset() { o.total.Store(0) }

func (o *callTimer) StoreCall(_ context.Context, _ string, d time.Duration, _ error) {
	o.total.Add(int64(d))
}

func (o *callTimer) Event(context.Context, sessions.Event) {}

// processCPU is this process's CPU time (user and system).
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
