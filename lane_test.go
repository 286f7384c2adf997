package sessions

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// gateStore is a minimal in-memory Store whose saves can be held at a
// gate, so that a test can make requests queue behind a commit.
type gateStore struct {
	mu      sync.Mutex
	recs    map[string]Record
	next    uint64
	held    chan struct{} // closed by a test to let held saves go on
	hold    atomic.Bool   // the next save waits at the gate
	holding chan struct{} // a save is waiting at the gate
}

func newGateStore() *gateStore {
	return &gateStore{recs: map[string]Record{}, held: make(chan struct{}), holding: make(chan struct{}, 1)}
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
		g.holding <- struct{}{}
		<-g.held // a hung server: deaf to ctx, as a frozen one is
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
func laneApp(t *testing.T, store Store, opts ...Option) *httptest.Server {
	t.Helper()
	gin.SetMode(gin.TestMode)
	r := gin.New()
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
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, url, cookie string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", url, nil)
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
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

// start logs in and returns the session cookie.
func start(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	resp, err := http.Post(srv.URL+"/add/1", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		return c.Name + "=" + c.Value
	}
	t.Fatal("no cookie")
	return ""
}

func TestQueuedCommitsRideOnOneSave(t *testing.T) {
	store := newGateStore()
	srv := laneApp(t, store)
	cookie := start(t, srv)
	q := queued(t)
	store.hold.Store(true)
	first := make(chan int)
	go func() { first <- post(t, srv.URL+"/add/1", cookie) }()
	<-store.holding // the first commit is at the store
	const riders = 5
	statuses := make(chan int, riders)
	for range riders {
		go func() { statuses <- post(t, srv.URL+"/add/10", cookie) }()
		<-q
	}
	saves := store.next
	close(store.held)
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
	resp, _ := http.NewRequest("GET", srv.URL+"/n", nil)
	resp.Header.Set("Cookie", cookie)
	r, err := http.DefaultClient.Do(resp)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if string(body) != "52" {
		t.Fatalf("n = %s, want 52", body)
	}
}

// A request whose Update function panics when run again fails alone: the
// requests queued with it still commit, whichever of them takes the turn.
func TestAPanicInAQueuedCommitStaysWithItsRequest(t *testing.T) {
	store := newGateStore()
	srv := laneApp(t, store)
	cookie := start(t, srv)
	q := queued(t)
	store.hold.Store(true)
	first := make(chan int)
	go func() { first <- post(t, srv.URL+"/add/1", cookie) }()
	<-store.holding
	// The other request queues first, so it usually takes the turn and
	// carries the panicking one (the case that matters); if the
	// panicking one takes it, its own replay panics, which must not harm
	// the other either.
	panicky, other := make(chan int), make(chan int)
	go func() { other <- post(t, srv.URL+"/add/10", cookie) }()
	<-q
	go func() { panicky <- post(t, srv.URL+"/panicky", cookie) }()
	<-q
	close(store.held)
	if s := <-first; s != 200 {
		t.Fatalf("the first request: %d", s)
	}
	if s := <-other; s != 200 {
		t.Fatalf("the request queued beside the panicking one: %d", s)
	}
	if s := <-panicky; s != 500 {
		t.Fatalf("the panicking request: %d, want 500", s)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/n", nil)
	req.Header.Set("Cookie", cookie)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	if string(body) != "12" {
		t.Fatalf("n = %s, want 12 (1 + 1 + 10; the panicking add dropped)", body)
	}
}

// A request queued behind a commit that hangs on the store (deaf even to
// its context) gives up at its own commit timeout, with the error
// handler's 503.
func TestAQueuedCommitGivesUpAtItsTimeout(t *testing.T) {
	store := newGateStore()
	srv := laneApp(t, store, WithCommitTimeout(200*time.Millisecond))
	cookie := start(t, srv)
	q := queued(t)
	store.hold.Store(true)
	first := make(chan int)
	go func() { first <- post(t, srv.URL+"/add/1", cookie) }()
	<-store.holding // hangs until the test ends
	second := make(chan int)
	go func() { second <- post(t, srv.URL+"/add/1", cookie) }()
	<-q
	if s := <-second; s != http.StatusServiceUnavailable {
		t.Fatalf("the queued request: %d, want 503", s)
	}
	close(store.held)
	if s := <-first; s != http.StatusServiceUnavailable {
		t.Fatalf("the hung request, past its timeout: %d, want 503", s)
	}
}
