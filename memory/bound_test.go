package memory_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testapp"
	"github.com/sessionware/sessions/memory"
	"github.com/sessionware/sessions/storetest"
)

// boundedApp serves the middleware over store: POST /login?name=N logs in
// (a new session holding the user), GET /me answers the user and the
// counter, POST /anon starts an anonymous session (as a cookie-less form
// post does), and GET /inc loads the session, parks at gate if it is not
// nil, and then increments the counter.
func boundedApp(t *testing.T, store *memory.Store, gate *testapp.Gate) *testapp.App {
	return testapp.NewGin(t, func(r *gin.Engine) {
		r.Use(sessions.Sessions("sid", store))
		r.POST("/login", func(c *gin.Context) {
			s := sessions.Default(c)
			s.Set("user", c.Query("name"))
			s.Renew()
			c.String(http.StatusOK, "ok")
		})
		r.GET("/me", func(c *gin.Context) {
			s := sessions.Default(c)
			c.String(http.StatusOK, fmt.Sprint(s.Get("user"), " ", s.Get("n")))
		})
		r.POST("/anon", func(c *gin.Context) {
			sessions.Default(c).Set("cart", "x")
			c.String(http.StatusOK, "ok")
		})
		r.GET("/inc", func(c *gin.Context) {
			s := sessions.Default(c)
			if err := s.Load(); err != nil {
				c.String(http.StatusServiceUnavailable, err.Error())
				return
			}
			if gate != nil {
				gate.Park()
			}
			s.Update("n", func(old any) any { n, _ := old.(int); return n + 1 })
			c.String(http.StatusOK, "ok")
		})
	})
}

// flood sends n cookie-less POSTs, each of which starts a session, and
// returns how many the store refused (503).
func flood(t *testing.T, app *testapp.App, n int) (refused int) {
	t.Helper()
	anon := app.Stranger()
	for range n {
		resp, _ := anon.Do("POST", "/anon")
		switch resp.StatusCode {
		case http.StatusOK:
			if _, ok := testapp.SetCookie(resp, "sid"); !ok {
				t.Fatal("an anonymous POST started no session")
			}
		case http.StatusServiceUnavailable:
			refused++
		default:
			t.Fatalf("an anonymous POST: %s", resp.Status)
		}
	}
	return refused
}

// TestFloodDoesNotLogOutReturningUsers: users who logged in and came back
// stay logged in through a flood of ten times the bound in cookie-less
// POSTs, each of which starts a session. The users' last requests are
// minutes old, out of the in-use window, so it is the segments that keep
// them: the flood evicts only sessions that were never loaded again.
func TestFloodDoesNotLogOutReturningUsers(t *testing.T) {
	const bound, users = 640, 8
	clock := storetest.NewClock()
	store := memory.New(memory.WithMaxEntries(bound), memory.WithClock(clock.Now), memory.WithCleanupInterval(0), memory.WithLogger(nil))
	app := boundedApp(t, store, nil)
	var browsers []*testapp.Browser
	for i := range users {
		b := app.NewBrowser()
		b.Expect("POST", fmt.Sprint("/login?name=u", i), http.StatusOK, "ok")
		b.Expect("GET", "/me", http.StatusOK, fmt.Sprint("u", i, " <nil>"))
		browsers = append(browsers, b)
	}
	clock.Advance(10 * memory.DefaultInUse)

	if refused := flood(t, app, 10*bound); refused != 0 {
		t.Fatalf("%d anonymous sessions refused: nothing was in use", refused)
	}
	for i, b := range browsers {
		b.Expect("GET", "/me", http.StatusOK, fmt.Sprint("u", i, " <nil>"))
	}
	n := store.Len()
	if n > bound {
		t.Fatalf("%d sessions stored, bound %d", n, bound)
	}
	// Sessions saved: one per login and one per POST; none expired or
	// deleted, so the rest were evicted.
	if got, want := store.Evictions(), uint64(users+10*bound-n); got != want {
		t.Fatalf("Evictions() = %d, want %d (saved %d, stored %d)", got, want, users+10*bound, n)
	}
}

// TestASessionInUseIsNotEvicted: a request loads its session and is held;
// meanwhile a flood fills a store of one session per shard. The held
// request's session is in use (loaded within the in-use window), so the
// flood's sessions that land in its shard are refused (503) rather than
// evict it, and the held request's change lands when it finishes.
func TestASessionInUseIsNotEvicted(t *testing.T) {
	clock := storetest.NewClock()
	store := memory.New(memory.WithMaxEntries(64), memory.WithClock(clock.Now), memory.WithCleanupInterval(0), memory.WithLogger(nil))
	gate := testapp.NewGate()
	app := boundedApp(t, store, gate)
	app.Expect("POST", "/login?name=ann", http.StatusOK, "ok")
	app.Expect("GET", "/me", http.StatusOK, "ann <nil>")
	clock.Advance(10 * memory.DefaultInUse) // the login's load is long over

	held := app.Hold(gate, "GET", "/inc")
	clock.Advance(memory.DefaultInUse - time.Second) // a long request, still within the window
	refused := flood(t, app, 1000)
	if resp, body := held.Finish(); resp.StatusCode != http.StatusOK {
		t.Fatalf("the held request: %s %s", resp.Status, body)
	}
	app.Expect("GET", "/me", http.StatusOK, "ann 1")
	// 1000 sessions over 64 shards: some landed in ann's (the odds that
	// none did are 1 in 6 million).
	if refused == 0 || store.Refused() != uint64(refused) {
		t.Fatalf("%d anonymous POSTs answered 503, Refused() = %d; want the same, more than 0", refused, store.Refused())
	}
	if n := store.Len(); n > 64 {
		t.Fatalf("%d sessions stored, bound 64", n)
	}
}

func TestBoundHolds(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ maxEntries, bound int }{{1000, 1000}, {64, 64}, {10, 64}, {1, 64}} {
		s := memory.New(memory.WithMaxEntries(tc.maxEntries), memory.WithCleanupInterval(0), memory.WithLogger(nil))
		saves := 20 * tc.bound
		for i := range saves {
			if _, err := s.Save(ctx, fmt.Sprint("k", i), []byte("x"), 0, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		n := s.Len()
		if n > tc.bound || n < tc.bound/2 {
			t.Errorf("WithMaxEntries(%d): %d sessions after %d saves, want at most %d (and most of them)", tc.maxEntries, n, saves, tc.bound)
		}
		if got := s.Evictions(); got != uint64(saves-n) {
			t.Errorf("WithMaxEntries(%d): Evictions() = %d, want %d", tc.maxEntries, got, saves-n)
		}
		// Only a new key evicts: a load, an overwrite and a touch of a
		// stored session in the full store do not.
		key := fmt.Sprint("k", saves-1)
		r, err := s.Load(ctx, key)
		if err != nil {
			t.Fatalf("the last session saved: %v", err)
		}
		if _, err := s.Save(ctx, key, []byte("y"), r.Version, time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := s.Touch(ctx, key, time.Hour, time.Now()); err != nil {
			t.Fatal(err)
		}
		if s.Len() != n || s.Evictions() != uint64(saves-n) {
			t.Errorf("WithMaxEntries(%d): a load, an overwrite and a touch changed Len %d → %d, Evictions %d → %d", tc.maxEntries, n, s.Len(), saves-n, s.Evictions())
		}
	}
}

// TestDefaultBound: New with no options holds DefaultMaxEntries sessions;
// WithMaxEntries(0) holds as many as it is given.
func TestDefaultBound(t *testing.T) {
	ctx := context.Background()
	const saves = memory.DefaultMaxEntries + 10_000
	for _, tc := range []struct {
		name string
		opts []memory.Option
		max  int
	}{
		{"default", nil, memory.DefaultMaxEntries},
		{"WithMaxEntries(0)", []memory.Option{memory.WithMaxEntries(0)}, saves},
	} {
		s := memory.New(append(tc.opts, memory.WithCleanupInterval(0), memory.WithLogger(nil))...)
		for i := range saves {
			if _, err := s.Save(ctx, fmt.Sprint(i), nil, 0, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		if n := s.Len(); n > tc.max || n < tc.max*9/10 {
			t.Errorf("%s: %d sessions after %d saves, want at most %d, and nearly", tc.name, n, saves, tc.max)
		}
	}
}

// TestEvictionsAreLogged: the first eviction is logged at once, the next
// ones at most once a minute, each line with the counts since the last.
func TestEvictionsAreLogged(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	clock := storetest.NewClock()
	s := memory.New(memory.WithMaxEntries(64), memory.WithClock(clock.Now), memory.WithCleanupInterval(0), memory.WithLogger(logger))
	ctx := context.Background()
	saved := 0
	save := func(n int) {
		t.Helper()
		for range n {
			saved++
			if _, err := s.Save(ctx, fmt.Sprint(saved), nil, 0, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
	}
	lines := func() []string { return strings.Split(strings.TrimSpace(buf.String()), "\n") }
	for s.Evictions() == 0 {
		save(1)
	}
	if l := lines(); len(l) != 1 || !strings.Contains(l[0], "level=WARN") || !strings.Contains(l[0], "evicted=1 refused=0 max_entries=64") {
		t.Fatalf("after the first eviction, the log is %q", l)
	}
	before := s.Evictions()
	clock.Advance(time.Minute - time.Nanosecond)
	save(500)
	if l := lines(); len(l) != 1 {
		t.Fatalf("a second line within the minute: %q", l)
	}
	clock.Advance(time.Nanosecond)
	save(1)
	want := fmt.Sprintf("evicted=%d refused=0", s.Evictions()-before)
	if l := lines(); len(l) != 2 || !strings.Contains(l[1], want) {
		t.Fatalf("a minute later, the log is %q; want a second line with %s", l, want)
	}
}

// TestFullOfSessionsInUse: a store of one session per shard, each loaded
// just now, refuses new sessions with ErrFull and keeps its own; once the
// in-use window has passed, new sessions evict them.
func TestFullOfSessionsInUse(t *testing.T) {
	clock := storetest.NewClock()
	s := memory.New(memory.WithMaxEntries(64), memory.WithClock(clock.Now), memory.WithCleanupInterval(0), memory.WithLogger(nil), memory.WithInUse(time.Minute))
	ctx := context.Background()
	var kept []string
	for i := 0; s.Len() < 64; i++ {
		key := fmt.Sprint("old", i)
		if _, err := s.Save(ctx, key, nil, 0, time.Hour); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, key)
	}
	for _, k := range kept {
		_, _ = s.Load(ctx, k) // those evicted while the store filled are not found
	}
	refused := 0
	for i := range 200 {
		_, err := s.Save(ctx, fmt.Sprint("new", i), nil, 0, time.Hour)
		if errors.Is(err, memory.ErrFull) {
			refused++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if refused != 200 || s.Refused() != 200 {
		t.Fatalf("%d of 200 new sessions refused (Refused() = %d), want all: every session is in use", refused, s.Refused())
	}
	clock.Advance(time.Minute)
	for i := range 200 {
		if _, err := s.Save(ctx, fmt.Sprint("later", i), nil, 0, time.Hour); err != nil {
			t.Fatalf("after the in-use window: %v", err)
		}
	}
}
