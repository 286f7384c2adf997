package sessions

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions/internal/testapp"
)

// gateStore is a minimal in-memory Store whose saves can be held at a
// gate, so that a test can make requests queue behind a commit.
type gateStore struct {
	mu   sync.Mutex
	recs map[string]Record
	next uint64
	hold atomic.Bool   // the next save parks at the gate
	gate *testapp.Gate // where it parks until the test releases it
}

func newGateStore() *gateStore {
	return &gateStore{recs: map[string]Record{}, gate: testapp.NewGate()}
}

func (g *gateStore) Load(_ context.Context, key string) (Record, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, ok := g.recs[key]
	if !ok {
		return Record{}, ErrNotFound
	}
	return r, nil
}

func (g *gateStore) Save(ctx context.Context, key string, data []byte, version uint64, _ time.Duration) (uint64, error) {
	if g.hold.CompareAndSwap(true, false) {
		g.gate.Park() // a hung server: deaf to ctx, as a frozen one is
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			return 0, context.DeadlineExceeded // what a client's own deadline check gives
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if r, ok := g.recs[key]; r.Version != version || (version != 0 && !ok) {
		return 0, ErrConflict
	}
	g.next++
	g.recs[key] = Record{Data: append([]byte(nil), data...), Version: g.next}
	return g.next, nil
}

func (g *gateStore) Delete(_ context.Context, key string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.recs, key)
	return nil
}

// laneApp serves /add/:n (Update "n" += n) and /panicky, whose Update
// function panics when it runs a second time (on a fresher value).
func laneApp(t *testing.T, store Store, opts ...Option) *testapp.App {
	t.Helper()
	return testapp.NewGin(t, func(r *gin.Engine) {
		r.Use(gin.CustomRecovery(func(c *gin.Context, _ any) { c.AbortWithStatus(http.StatusInternalServerError) }))
		r.Use(Sessions("sid", store, opts...))
		r.POST("/add/:n", func(c *gin.Context) {
			var n int
			fmt.Sscan(c.Param("n"), &n)
			Default(c).Update("n", func(old any) any { v, _ := old.(int); return v + n })
			c.String(200, "ok")
		})
		r.POST("/panicky", func(c *gin.Context) {
			runs := 0
			Default(c).Update("n", func(old any) any {
				if runs++; runs > 1 {
					panic("the second run")
				}
				v, _ := old.(int)
				return v + 100
			})
			c.String(200, "ok")
		})
		r.GET("/n", func(c *gin.Context) { c.String(200, "%v", Default(c).Get("n")) })
	})
}

// post sends POST path with the session cookie and returns the status, or
// 0 if the request failed.
func post(t *testing.T, a *testapp.App, path, cookie string) int {
	t.Helper()
	resp, _, err := a.Stranger().Send("POST", path, testapp.WithCookie("sid", cookie))
	if err != nil {
		t.Error(err)
		return 0
	}
	return resp.StatusCode
}

// queued makes testHookQueued count queued requests on the returned
// channel, for the length of the test.
func queued(t *testing.T) <-chan struct{} {
	ch := make(chan struct{}, 16)
	testHookQueued = func() { ch <- struct{}{} }
	t.Cleanup(func() { testHookQueued = nil })
	return ch
}

// start logs in and returns the session cookie's value.
func start(t *testing.T, a *testapp.App) string {
	t.Helper()
	resp, _ := a.Stranger().Do("POST", "/add/1")
	ck, set := testapp.SetCookie(resp, "sid")
	if !set {
		t.Fatal("no cookie")
	}
	return ck.Value
}

func TestQueuedCommitsRideOnOneSave(t *testing.T) {
	store := newGateStore()
	a := laneApp(t, store)
	cookie := start(t, a)
	q := queued(t)
	store.hold.Store(true)
	first := make(chan int)
	go func() { first <- post(t, a, "/add/1", cookie) }()
	store.gate.Wait() // the first commit is at the store
	const riders = 5
	statuses := make(chan int, riders)
	for range riders {
		go func() { statuses <- post(t, a, "/add/10", cookie) }()
		<-q
	}
	saves := store.next
	store.gate.Release()
	if s := <-first; s != 200 {
		t.Fatalf("the first request: %d", s)
	}
	for range riders {
		if s := <-statuses; s != 200 {
			t.Fatalf("a queued request: %d", s)
		}
	}
	// The five queued commits went in one save, after the first.
	if n := store.next - saves; n != 2 {
		t.Fatalf("%d saves for one held commit and %d queued ones, want 2", n, riders)
	}
	if _, body := a.Stranger().Do("GET", "/n", testapp.WithCookie("sid", cookie)); body != "52" {
		t.Fatalf("n = %s, want 52", body)
	}
}

// A request whose Update function panics when run again fails alone: the
// requests queued with it still commit, whichever of them takes the turn.
func TestAPanicInAQueuedCommitStaysWithItsRequest(t *testing.T) {
	store := newGateStore()
	a := laneApp(t, store)
	cookie := start(t, a)
	q := queued(t)
	store.hold.Store(true)
	first := make(chan int)
	go func() { first <- post(t, a, "/add/1", cookie) }()
	store.gate.Wait()
	// The other request queues first, so it usually takes the turn and
	// carries the panicking one (the case that matters); if the
	// panicking one takes it, its own replay panics, which must not harm
	// the other either.
	panicky, other := make(chan int), make(chan int)
	go func() { other <- post(t, a, "/add/10", cookie) }()
	<-q
	go func() { panicky <- post(t, a, "/panicky", cookie) }()
	<-q
	store.gate.Release()
	if s := <-first; s != 200 {
		t.Fatalf("the first request: %d", s)
	}
	if s := <-other; s != 200 {
		t.Fatalf("the request queued beside the panicking one: %d", s)
	}
	if s := <-panicky; s != 500 {
		t.Fatalf("the panicking request: %d, want 500", s)
	}
	if _, body := a.Stranger().Do("GET", "/n", testapp.WithCookie("sid", cookie)); body != "12" {
		t.Fatalf("n = %s, want 12 (1 + 1 + 10; the panicking add dropped)", body)
	}
}

// A request queued behind a commit that hangs on the store (deaf even to
// its context) gives up at its own commit timeout, with the error
// handler's 503.
func TestAQueuedCommitGivesUpAtItsTimeout(t *testing.T) {
	store := newGateStore()
	a := laneApp(t, store, WithStoreTimeout(200*time.Millisecond))
	cookie := start(t, a)
	q := queued(t)
	store.hold.Store(true)
	first := make(chan int)
	go func() { first <- post(t, a, "/add/1", cookie) }()
	store.gate.Wait() // hangs until the test ends
	second := make(chan int)
	go func() { second <- post(t, a, "/add/1", cookie) }()
	<-q
	if s := <-second; s != http.StatusServiceUnavailable {
		t.Fatalf("the queued request: %d, want 503", s)
	}
	store.gate.Release()
	if s := <-first; s != http.StatusServiceUnavailable {
		t.Fatalf("the hung request, past its timeout: %d, want 503", s)
	}
}
