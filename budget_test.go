package sessions_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/memory"
)

// slowStore is a memory store whose Load takes loadTime, as a slow server
// would, and whose Save, while hang is set, hangs until its context ends,
// as a frozen server would. It records how much of the budget each Save
// was given.
type slowStore struct {
	*memory.Store
	loadTime time.Duration
	hang     atomic.Bool
	saveLeft atomic.Int64 // the Save's deadline minus the time it started
}

func (s *slowStore) Load(ctx context.Context, key string) (sessions.Record, error) {
	time.Sleep(s.loadTime)
	return s.Store.Load(ctx, key)
}

func (s *slowStore) Save(ctx context.Context, key string, data []byte, version uint64, ttl time.Duration) (uint64, error) {
	if d, ok := ctx.Deadline(); ok {
		s.saveLeft.Store(int64(time.Until(d)))
	}
	if s.hang.Load() {
		<-ctx.Done()
		return 0, ctx.Err()
	}
	return s.Store.Save(ctx, key, data, version, ttl)
}

func newSlowStore(t *testing.T) *slowStore {
	m := memory.New()
	t.Cleanup(func() { m.Close() })
	return &slowStore{Store: m}
}

// The load and the commit share one budget: a store that took most of it
// to load leaves the commit only the rest, so a hung store costs a request
// the budget once.
func TestStoreCallsShareOneBudget(t *testing.T) {
	const budget = 800 * time.Millisecond
	st := newSlowStore(t)
	app := newApp(t, st, basicRoutes, sessions.WithStoreTimeout(budget))
	b := app.NewBrowser()
	b.Expect("POST", "/set/a/1", 200, "ok") // a session to load

	st.loadTime = 500 * time.Millisecond
	st.hang.Store(true)
	start := time.Now()
	b.Expect("POST", "/set/a/2", 503, `{"error":"session store unavailable"}`)
	took := time.Since(start)
	left := time.Duration(st.saveLeft.Load())
	if left > budget-st.loadTime+100*time.Millisecond {
		t.Errorf("the commit was given %v after a load of %v; the budget is %v in all", left, st.loadTime, budget)
	}
	t.Logf("request took %v; the commit was given %v", took, left)

	st.loadTime, st.hang = 0, atomic.Bool{}
	b.Expect("GET", "/get/a", 200, "1") // the hung save changed nothing
}

// The handler's own time between the load and the commit does not count
// against the budget.
func TestHandlerTimeDoesNotCountAgainstTheBudget(t *testing.T) {
	st := newSlowStore(t)
	app := newApp(t, st, func(r *gin.Engine) {
		basicRoutes(r)
		r.POST("/slow", func(c *gin.Context) {
			s := sessions.Default(c)
			_ = s.Get("a") // the load
			time.Sleep(400 * time.Millisecond)
			s.Set("a", "slow")
			c.String(200, "ok")
		})
	}, sessions.WithStoreTimeout(300*time.Millisecond))
	b := app.NewBrowser()
	b.Expect("POST", "/set/a/1", 200, "ok")
	b.Expect("POST", "/slow", 200, "ok")
	b.Expect("GET", "/get/a", 200, "slow")
}
