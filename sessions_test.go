package sessions_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/cookie"
	"github.com/sessionware/sessions/internal/testapp"
	"github.com/sessionware/sessions/memory"
)

func init() { gin.SetMode(gin.TestMode) }

// flaky is a memory store whose calls fail while down is set, and which
// counts its calls, to test the middleware's error paths.
type flaky struct {
	*memory.Store
	down                           atomic.Bool
	tooLarge                       atomic.Bool // Save fails with ErrTooLarge
	loads, saves, touches, deletes atomic.Int64
	latency                        atomic.Int64 // each Load and Save takes this long, as over a network
	failLoads                      atomic.Int64 // that many Loads fail, then the store works again
	keys                           sync.Map     // every key saved
}

var errDown = errors.New("store is down")

func newFlaky(t *testing.T, opts ...memory.Option) *flaky {
	s := memory.New(opts...)
	t.Cleanup(func() { s.Close() })
	return &flaky{Store: s}
}

func (f *flaky) Load(ctx context.Context, key string) (sessions.Record, error) {
	f.loads.Add(1)
	time.Sleep(time.Duration(f.latency.Load()))
	if f.down.Load() || f.failLoads.Add(-1) >= 0 {
		return sessions.Record{}, errDown
	}
	return f.Store.Load(ctx, key)
}

func (f *flaky) Save(ctx context.Context, key string, data []byte, version uint64, ttl time.Duration) (uint64, error) {
	f.saves.Add(1)
	time.Sleep(time.Duration(f.latency.Load()))
	if f.down.Load() {
		return 0, errDown
	}
	if f.tooLarge.Load() {
		return 0, fmt.Errorf("test store: %w", sessions.ErrTooLarge)
	}
	f.keys.Store(key, true)
	return f.Store.Save(ctx, key, data, version, ttl)
}

func (f *flaky) Touch(ctx context.Context, key string, ttl time.Duration, at time.Time) error {
	f.touches.Add(1)
	if f.down.Load() {
		return errDown
	}
	return f.Store.Touch(ctx, key, ttl, at)
}

func (f *flaky) Delete(ctx context.Context, key string) error {
	f.deletes.Add(1)
	if f.down.Load() {
		return errDown
	}
	return f.Store.Delete(ctx, key)
}

// newApp serves routes behind the middleware, on store, over real HTTP;
// the app's own browser keeps the session cookie "sid".
func newApp(t *testing.T, store sessions.Backend, routes func(r *gin.Engine), opts ...sessions.Option) *testapp.App {
	return testapp.NewGin(t, func(r *gin.Engine) {
		r.Use(sessions.Sessions("sid", store, opts...))
		routes(r)
	})
}

// basicRoutes are handlers over one session.
func basicRoutes(r *gin.Engine) {
	r.GET("/get/:k", func(c *gin.Context) { c.String(200, "%v", sessions.Default(c).Get(c.Param("k"))) })
	r.POST("/set/:k/:v", func(c *gin.Context) {
		sessions.Default(c).Set(c.Param("k"), c.Param("v"))
		c.String(200, "ok")
	})
	r.POST("/clear", func(c *gin.Context) { sessions.Default(c).Clear(); c.String(200, "ok") })
	r.GET("/keys", func(c *gin.Context) { c.String(200, "%v", sessions.Default(c).Keys()) })
}

func TestStoreNeverSeesTheRawID(t *testing.T) {
	store := newFlaky(t)
	a := newApp(t, store, basicRoutes)
	a.Expect("POST", "/set/user/alice", 200, "ok")
	id := a.Cookie("sid")
	if len(id) != 43 {
		t.Fatalf("cookie value %q is not a 43-character ID", id)
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(id)
	if err != nil || len(raw) != 32 {
		t.Fatalf("cookie %q is not 32 bytes of base64url: %v", id, err)
	}
	sum := sha256.Sum256(raw)
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	n := 0
	store.keys.Range(func(k, _ any) bool {
		n++
		if k != want {
			t.Errorf("stored under %q, want the SHA-256 of the ID %q", k, want)
		}
		if k == id {
			t.Error("the store saw the raw ID")
		}
		return true
	})
	if n != 1 {
		t.Fatalf("%d keys stored, want 1", n)
	}
}

func TestAutoCommit(t *testing.T) {
	store := newFlaky(t)
	a := newApp(t, store, func(r *gin.Engine) {
		basicRoutes(r)
		r.POST("/nobody", func(c *gin.Context) {
			sessions.Default(c).Set("n", 1)
			c.Status(http.StatusNoContent)
		})
		r.POST("/stream", func(c *gin.Context) {
			s := sessions.Default(c)
			s.Set("a", "1")
			c.Writer.WriteHeader(200)
			c.Writer.Flush() // header goes out here: the session is saved first
			s.Set("b", "2")  // a change after the header: saved at the end, no new cookie needed
			_, _ = c.Writer.WriteString("streamed")
		})
		r.POST("/late", func(c *gin.Context) {
			c.String(200, "written")
			sessions.Default(c).Set("late", "x") // new session, header gone: cannot set a cookie
		})
	})
	resp := a.Expect("POST", "/nobody", 204, "")
	if _, set := testapp.SetCookie(resp, "sid"); !set {
		t.Fatal("a handler that wrote no body did not get its session saved")
	}
	a.Expect("GET", "/get/n", 200, "1")

	a.Browser = a.NewBrowser()
	resp = a.Expect("POST", "/stream", 200, "streamed")
	if _, set := testapp.SetCookie(resp, "sid"); !set {
		t.Fatal("a streamed response did not get its cookie before the header went out")
	}
	a.Expect("GET", "/get/a", 200, "1")
	a.Expect("GET", "/get/b", 200, "2")

	a.Browser = a.NewBrowser()
	a.Expect("POST", "/late", 200, "written")
	if errs := a.Errors(); len(errs) != 1 || !strings.Contains(errs[0], "after the response header") {
		t.Fatalf("a change that needs a cookie after the header was not reported: %v", errs)
	}
}

func TestSaveEarlyReturnsTheError(t *testing.T) {
	store := newFlaky(t)
	var saveErr error
	a := newApp(t, store, func(r *gin.Engine) {
		r.POST("/save", func(c *gin.Context) {
			s := sessions.Default(c)
			s.Set("k", "v")
			saveErr = s.Save()
			c.String(200, "handler says ok")
		})
	})
	store.down.Store(true)
	resp, body := a.Do("POST", "/save")
	if saveErr == nil || !errors.Is(saveErr, errDown) {
		t.Fatalf("Save() = %v, want the store's error", saveErr)
	}
	var se *sessions.StoreError
	if !errors.As(saveErr, &se) || se.Op != "save" {
		t.Fatalf("Save() error %v is not a *StoreError for save", saveErr)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(body, "handler says ok") {
		t.Fatalf("a failed save reached the client as %d %q", resp.StatusCode, body)
	}
	if _, set := testapp.SetCookie(resp, "sid"); set {
		t.Fatal("a failed save set a cookie")
	}
	store.down.Store(false)
	resp = a.Expect("POST", "/save", 200, "handler says ok")
	if ck, set := testapp.SetCookie(resp, "sid"); saveErr != nil || !set {
		t.Fatalf("after recovery: Save() = %v, cookie %q", saveErr, ck.Raw)
	}
}

func TestLoadFailureNeverOverwrites(t *testing.T) {
	store := newFlaky(t)
	handlerRan := false
	a := newApp(t, store, func(r *gin.Engine) {
		basicRoutes(r)
		r.POST("/cart", func(c *gin.Context) {
			s := sessions.Default(c)
			cart, _ := s.Get("cart").(map[string]int)
			handlerRan = true
			if cart == nil {
				cart = map[string]int{}
			}
			cart["apple"]++
			s.Set("cart", cart)
			c.String(200, "%v", cart)
		})
		r.GET("/decide", func(c *gin.Context) {
			s := sessions.Default(c)
			if err := s.Load(); err != nil {
				s.Set("ignored", "x") // must not be saved over the real session
				c.String(http.StatusTeapot, "degraded")
				return
			}
			c.String(200, "%v", s.Get("cart"))
		})
	})
	a.Expect("POST", "/cart", 200, "map[apple:1]")
	a.Expect("POST", "/cart", 200, "map[apple:2]")

	store.down.Store(true)
	saves := store.saves.Load()
	resp, body := a.Do("POST", "/cart")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "unavailable") {
		t.Fatalf("load failure answered %d %q, want 503 from the error handler", resp.StatusCode, body)
	}
	errs := a.Errors()
	if !handlerRan || len(errs) == 0 || !strings.Contains(strings.Join(errs, ";"), "store is down") {
		t.Fatalf("the cause was not recorded with c.Error: %v", errs)
	}
	if !strings.Contains(strings.Join(errs, ";"), sessions.ErrAnswered.Error()) {
		t.Fatalf("the handler's own write after the error answer was not refused with ErrAnswered: %v", errs)
	}
	if store.saves.Load() != saves {
		t.Fatal("the middleware tried to save a session it could not load")
	}
	a.Expect("GET", "/decide", http.StatusTeapot, "degraded")
	if store.saves.Load() != saves {
		t.Fatal("a session whose Load failed was saved")
	}

	store.down.Store(false)
	a.Expect("GET", "/get/cart", 200, "map[apple:2]")
	a.Expect("POST", "/cart", 200, "map[apple:3]")
}

func TestCustomErrorHandler(t *testing.T) {
	store := newFlaky(t)
	var got error
	a := newApp(t, store, basicRoutes, sessions.WithErrorHandler(func(c *gin.Context, err error) {
		got = err
		c.String(http.StatusBadGateway, "custom")
	}))
	store.down.Store(true)
	a.Expect("GET", "/get/x", http.StatusOK, "<nil>") // no cookie: no store call, no error
	store.down.Store(false)
	a.Expect("POST", "/set/x/1", 200, "ok")
	store.down.Store(true)
	a.Expect("GET", "/get/x", http.StatusBadGateway, "custom")
	if !errors.Is(got, errDown) {
		t.Fatalf("error handler got %v", got)
	}
}

func TestClearAndKeys(t *testing.T) {
	a := newApp(t, newFlaky(t), basicRoutes)
	a.Expect("POST", "/set/b/2", 200, "ok")
	a.Expect("POST", "/set/a/1", 200, "ok")
	a.Expect("GET", "/keys", 200, "[a b]")
	id := a.Cookie("sid")
	a.Expect("POST", "/clear", 200, "ok")
	a.Expect("GET", "/keys", 200, "[]")
	if a.Cookie("sid") != id {
		t.Fatal("Clear changed the session ID")
	}
}

func TestUpdateAppliesAtOnce(t *testing.T) {
	a := newApp(t, newFlaky(t), func(r *gin.Engine) {
		r.POST("/twice", func(c *gin.Context) {
			s := sessions.Default(c)
			inc := func(old any) any { n, _ := old.(int); return n + 1 }
			s.Update("n", inc)
			first := s.Get("n")
			s.Update("n", inc)
			c.String(200, "%v %v", first, s.Get("n"))
		})
	})
	a.Expect("POST", "/twice", 200, "1 2")
	a.Expect("POST", "/twice", 200, "3 4")
}

func TestNamedSessions(t *testing.T) {
	store := newFlaky(t)
	r := gin.New()
	r.Use(sessions.Sessions("one", store), sessions.Sessions("two", store))
	r.POST("/", func(c *gin.Context) {
		sessions.Named(c, "one").Set("v", "first")
		sessions.Named(c, "two").Set("v", "second")
		if sessions.Default(c) != sessions.Named(c, "one") {
			t.Error("Default is not the first middleware's session")
		}
		c.String(200, "ok")
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	cookies := w.Result().Cookies()
	if len(cookies) != 2 || cookies[0].Name == cookies[1].Name || cookies[0].Value == cookies[1].Value {
		t.Fatalf("want two distinct session cookies, got %v", cookies)
	}
}

func TestPanicSavesNothing(t *testing.T) {
	store := newFlaky(t)
	r := gin.New()
	r.Use(gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, _ any) { c.AbortWithStatus(500) }))
	r.Use(sessions.Sessions("sid", store))
	r.POST("/", func(c *gin.Context) {
		sessions.Default(c).Set("half", "done")
		panic("boom")
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
	if w.Code != 500 || store.saves.Load() != 0 || w.Header().Get("Set-Cookie") != "" {
		t.Fatalf("after a panic: status %d, %d saves, Set-Cookie %q", w.Code, store.saves.Load(), w.Header().Get("Set-Cookie"))
	}
}

func TestCookieAttributes(t *testing.T) {
	tests := []struct {
		name string
		opts []sessions.Option
		want []string
		not  []string
	}{
		{"defaults", nil, []string{"Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=86400"}, []string{"Secure", "Domain="}},
		{"configured", []sessions.Option{
			sessions.WithPath("/app"), sessions.WithDomain("example.com"), sessions.WithSecure(true),
			sessions.WithSameSite(http.SameSiteStrictMode), sessions.WithLifetime(time.Hour),
		}, []string{"Path=/app", "Domain=example.com", "Secure", "SameSite=Strict", "Max-Age=3600", "HttpOnly"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := gin.New()
			r.Use(sessions.Sessions("sid", newFlaky(t), tc.opts...))
			r.POST("/", func(c *gin.Context) { sessions.Default(c).Set("a", 1); c.String(200, "ok") })
			w := httptest.NewRecorder()
			r.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
			sc := w.Header().Get("Set-Cookie")
			for _, s := range tc.want {
				if !strings.Contains(sc, s) {
					t.Errorf("Set-Cookie %q lacks %q", sc, s)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(sc, s) {
					t.Errorf("Set-Cookie %q has %q", sc, s)
				}
			}
			if w.Header().Get("Vary") != "Cookie" || w.Header().Get("Cache-Control") != `no-cache="Set-Cookie"` {
				t.Errorf("Vary %q, Cache-Control %q", w.Header().Get("Vary"), w.Header().Get("Cache-Control"))
			}
		})
	}
}

func TestInvalidConfigurationPanicsAtStartup(t *testing.T) {
	for name, fn := range map[string]func(){
		"empty name":    func() { sessions.Sessions("", newFlaky(t)) },
		"bad name":      func() { sessions.Sessions("a b", newFlaky(t)) },
		"nil store":     func() { sessions.Sessions("sid", nil) },
		"zero lifetime": func() { sessions.Sessions("sid", newFlaky(t), sessions.WithLifetime(0)) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			fn()
		})
	}
}

// clock is a settable time for expiry tests, shared by the middleware and
// the memory store.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestExpiry(t *testing.T) {
	t.Run("lifetime", func(t *testing.T) {
		clk := &clock{now: time.Unix(1_700_000_000, 0)}
		store := newFlaky(t, memory.WithClock(clk.Now))
		a := newApp(t, store, basicRoutes, sessions.WithClock(clk.Now), sessions.WithLifetime(time.Hour))
		a.Expect("POST", "/set/u/alice", 200, "ok")
		old := a.Cookie("sid")
		clk.Add(59 * time.Minute)
		a.Expect("GET", "/get/u", 200, "alice")
		a.Expect("POST", "/set/u/bob", 200, "ok") // writing does not extend the lifetime
		clk.Add(2 * time.Minute)
		a.Expect("GET", "/get/u", 200, "<nil>")
		if _, b := a.Stranger().Do("GET", "/get/u", testapp.WithCookie("sid", old)); b != "<nil>" {
			t.Fatalf("a replayed cookie after the lifetime gave %q", b)
		}
	})
	t.Run("idle slides by touch, not by writes", func(t *testing.T) {
		clk := &clock{now: time.Unix(1_700_000_000, 0)}
		store := newFlaky(t, memory.WithClock(clk.Now))
		a := newApp(t, store, basicRoutes, sessions.WithClock(clk.Now), sessions.WithIdleTimeout(20*time.Minute))
		a.Expect("POST", "/set/u/alice", 200, "ok")
		saves := store.saves.Load()
		// Refresh interval: a quarter of 20 minutes, capped at a minute.
		for i := 0; i < 10; i++ { // 10 reads, 30 s apart: one touch at most
			clk.Add(30 * time.Second)
			a.Expect("GET", "/get/u", 200, "alice")
		}
		if store.saves.Load() != saves {
			t.Fatalf("reads wrote the session %d times", store.saves.Load()-saves)
		}
		if n := store.touches.Load(); n < 4 || n > 5 {
			t.Fatalf("%d touches over 5 minutes of reads, want one a minute", n)
		}
		// Still alive 19 minutes after the last touch, dead after 21.
		clk.Add(19 * time.Minute)
		a.Expect("GET", "/get/u", 200, "alice")
		clk.Add(21 * time.Minute)
		a.Expect("GET", "/get/u", 200, "<nil>")
	})
	t.Run("store ttl follows", func(t *testing.T) {
		clk := &clock{now: time.Unix(1_700_000_000, 0)}
		store := newFlaky(t, memory.WithClock(clk.Now))
		a := newApp(t, store, basicRoutes, sessions.WithClock(clk.Now), sessions.WithIdleTimeout(10*time.Minute))
		a.Expect("POST", "/set/u/alice", 200, "ok")
		clk.Add(11 * time.Minute)
		if store.Len() != 1 {
			t.Fatalf("store has %d entries", store.Len())
		}
		// The memory store itself no longer returns it: its TTL was the idle timeout.
		n := 0
		store.keys.Range(func(k, _ any) bool {
			n++
			if _, err := store.Store.Load(context.Background(), k.(string)); !errors.Is(err, sessions.ErrNotFound) {
				t.Fatalf("store still returns the session after its idle timeout: %v", err)
			}
			return true
		})
		if n != 1 {
			t.Fatalf("%d keys", n)
		}
	})
}

func TestStructsAndNamedTypes(t *testing.T) {
	type user struct {
		Name  string   `json:"name"`
		Roles []string `json:"roles"`
	}
	type cart map[string]int
	a := newApp(t, newFlaky(t), func(r *gin.Engine) {
		r.POST("/", func(c *gin.Context) {
			s := sessions.Default(c)
			s.Set("user", user{Name: "alice", Roles: []string{"admin"}})
			s.Set("cart", cart{"apple": 2})
			s.Set("when", time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
			s.Set("big", int64(1)<<60)
			c.String(200, "ok")
		})
		r.GET("/", func(c *gin.Context) {
			s := sessions.Default(c)
			u, okU := sessions.Get[user](s, "user")
			ct, okC := sessions.Get[cart](s, "cart")
			w, okW := sessions.Get[time.Time](s, "when")
			b, okB := sessions.Get[int64](s, "big")
			_, wrong := sessions.Get[int](s, "big")
			c.String(200, "%v %v %v %v %v %v %v %v %v", u.Name, u.Roles, okU, ct["apple"], okC, w.Format(time.RFC3339), okW, b == 1<<60 && okB, wrong)
		})
	})
	a.Expect("POST", "/", 200, "ok")
	a.Expect("GET", "/", 200, "alice [admin] true 2 true 2026-11-25T12:00:00Z true true false")
}

func TestConcurrentUpdateReplaysOnConflict(t *testing.T) {
	// Two requests load the same session; the first saves; the second's
	// commit conflicts, reloads, and re-runs its Update on the fresh value
	// while keeping its own Set.
	store := newFlaky(t)
	gate := testapp.NewGate()
	a := newApp(t, store, func(r *gin.Engine) {
		basicRoutes(r)
		r.POST("/slow", func(c *gin.Context) {
			s := sessions.Default(c)
			s.Update("n", func(old any) any { n, _ := old.(int); return n + 10 })
			s.Set("slow", "yes")
			gate.Park()
			c.String(200, "ok")
		})
		r.POST("/fast", func(c *gin.Context) {
			s := sessions.Default(c)
			s.Update("n", func(old any) any { n, _ := old.(int); return n + 1 })
			s.Set("fast", "yes")
			c.String(200, "ok")
		})
	})
	a.Expect("POST", "/set/init/1", 200, "ok")
	a.While(gate, "POST", "/slow", func() { a.Expect("POST", "/fast", 200, "ok") })
	a.Expect("GET", "/get/n", 200, "11")
	a.Expect("GET", "/keys", 200, "[fast init n slow]")
}

func TestConcurrentDestroyWins(t *testing.T) {
	store := newFlaky(t)
	gate := testapp.NewGate()
	a := newApp(t, store, func(r *gin.Engine) {
		basicRoutes(r)
		r.POST("/slow", func(c *gin.Context) {
			sessions.Default(c).Set("late", "write")
			gate.Park()
			c.String(200, "ok")
		})
		r.POST("/logout", func(c *gin.Context) { sessions.Default(c).Destroy(); c.String(200, "bye") })
	})
	a.Expect("POST", "/set/user/alice", 200, "ok")
	id := a.Cookie("sid")
	stranger := a.Stranger() // the old ID, copied
	held := stranger.Hold(gate, "POST", "/slow", testapp.WithCookie("sid", id))
	a.Expect("POST", "/logout", 200, "bye")
	resp, _ := held.Finish()
	if ck, set := testapp.SetCookie(resp, "sid"); !set || ck.MaxAge >= 0 {
		t.Fatalf("the request that lost to a logout did not expire its cookie: %q", ck.Raw)
	}
	// Nothing of the session is readable under its old ID, and the late
	// write created no other session.
	for _, k := range []string{"user", "late"} {
		if _, body := stranger.Do("GET", "/get/"+k, testapp.WithCookie("sid", id)); body != "<nil>" {
			t.Fatalf("after the logout, %s = %q under the old ID", k, body)
		}
	}
	if n := store.Len(); n != 1 {
		t.Fatalf("%d records: want the logout's tombstone only", n)
	}
}

func TestSilentErrorHandlerStillFails(t *testing.T) {
	store := newFlaky(t)
	a := newApp(t, store, basicRoutes, sessions.WithErrorHandler(func(c *gin.Context, err error) {}))
	store.down.Store(true)
	resp, body := a.Do("POST", "/set/k/v")
	if resp.StatusCode != http.StatusInternalServerError || body == "ok" {
		t.Fatalf("a failed save with a silent error handler answered %d %q", resp.StatusCode, body)
	}
}

func TestFailedSaveLetsTheHandlerAnswerWithAnError(t *testing.T) {
	store := newFlaky(t)
	a := newApp(t, store, func(r *gin.Engine) {
		r.POST("/", func(c *gin.Context) {
			s := sessions.Default(c)
			s.Set("k", "v")
			if err := s.Save(); err != nil {
				s.Set("k", "again") // nothing more is saved after a failed Save
				c.String(http.StatusInsufficientStorage, "could not save: try later")
				return
			}
			c.String(200, "saved")
		})
	})
	store.down.Store(true)
	saves := store.saves.Load()
	a.Expect("POST", "/", http.StatusInsufficientStorage, "could not save: try later")
	if n := store.saves.Load() - saves; n != 1 {
		t.Fatalf("%d save attempts after a failed Save, want exactly the one", n)
	}
}

// noTouch hides the memory store's Touch: a Store without Toucher.
type noTouch struct{ *flaky }

func (noTouch) Touch() {} // not a sessions.Toucher

func TestIdleRefreshEveryQuarterOfTheIdleTimeout(t *testing.T) {
	for _, touch := range []bool{true, false} {
		t.Run(fmt.Sprintf("toucher=%v", touch), func(t *testing.T) {
			clk := &clock{now: time.Unix(1_700_000_000, 0)}
			store := newFlaky(t, memory.WithClock(clk.Now))
			var backend sessions.Backend = store
			if !touch {
				backend = noTouch{store}
			}
			a := newApp(t, backend, basicRoutes, sessions.WithClock(clk.Now), sessions.WithIdleTimeout(2*time.Minute))
			a.Expect("POST", "/set/u/alice", 200, "ok")
			writes := func() int64 { return store.saves.Load() + store.touches.Load() }
			before := writes()
			clk.Add(30*time.Second - time.Millisecond) // a refresh is due after idle/4 = 30 s
			a.Expect("GET", "/get/u", 200, "alice")
			if n := writes() - before; n != 0 {
				t.Fatalf("%d writes before a refresh was due (saves %d touches %d)", n, store.saves.Load(), store.touches.Load())
			}
			clk.Add(time.Millisecond)
			a.Expect("GET", "/get/u", 200, "alice")
			if n := writes() - before; n != 1 {
				t.Fatalf("%d writes when a refresh was due, want 1", n)
			}
			if touch && store.touches.Load() != 1 {
				t.Fatalf("%d touches: a store with Touch is refreshed by a touch", store.touches.Load())
			}
			clk.Add(30*time.Second - time.Millisecond)
			a.Expect("GET", "/get/u", 200, "alice")
			if n := writes() - before; n != 1 {
				t.Fatalf("%d writes: a refresh came before idle/4 had passed since the last one", n)
			}
			clk.Add(time.Millisecond)
			a.Expect("GET", "/get/u", 200, "alice")
			if n := writes() - before; n != 2 {
				t.Fatalf("%d writes, want 2", n)
			}
			// The deadline slid: two minutes after the last refresh (three
			// after the first write) the session is alive; a moment later
			// it is gone.
			clk.Add(2*time.Minute - time.Millisecond)
			a.Expect("GET", "/get/u", 200, "alice")
			clk.Add(2*time.Minute + time.Millisecond)
			a.Expect("GET", "/get/u", 200, "<nil>")
		})
	}
}

func TestTooLargeAnswers500(t *testing.T) {
	store := newFlaky(t)
	a := newApp(t, store, basicRoutes)
	store.tooLarge.Store(true)
	resp, _ := a.Do("POST", "/set/k/v")
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("a session too large for the store answered %d, want 500", resp.StatusCode)
	}
	store.down.Store(true)
	store.tooLarge.Store(false)
	resp, _ = a.Do("POST", "/set/k/v")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a store failure answered %d, want 503", resp.StatusCode)
	}
}

func TestCacheControlIsMergedNotReplaced(t *testing.T) {
	tests := []struct{ set, want string }{
		{"", `no-cache="Set-Cookie"`},
		{"no-store", "no-store"},
		{"private, max-age=60", "private, max-age=60"},
		{"public, max-age=3600", `public, max-age=3600, no-cache="Set-Cookie"`},
	}
	for _, tc := range tests {
		r := gin.New()
		r.Use(sessions.Sessions("sid", newFlaky(t)))
		r.POST("/", func(c *gin.Context) {
			if tc.set != "" {
				c.Header("Cache-Control", tc.set)
			}
			sessions.Default(c).Set("a", 1)
			c.String(200, "ok")
		})
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
		if got := w.Header().Get("Cache-Control"); got != tc.want {
			t.Errorf("handler set %q: Cache-Control %q, want %q", tc.set, got, tc.want)
		}
	}
}

// Regression tests from the core review.

func TestPlainGetOfAStructIsReadOnly(t *testing.T) {
	type user struct {
		Name string
		Age  int
	}
	store := newFlaky(t)
	a := newApp(t, store, func(r *gin.Engine) {
		r.POST("/", func(c *gin.Context) { sessions.Default(c).Set("u", user{"ann", 30}); c.String(200, "ok") })
		r.GET("/plain", func(c *gin.Context) { c.String(200, "%v", sessions.Default(c).Get("u")) })
		r.GET("/typed", func(c *gin.Context) {
			u, ok := sessions.Get[user](sessions.Default(c), "u")
			c.String(200, "%v %v", u, ok)
		})
		r.GET("/generic", func(c *gin.Context) {
			m, ok := sessions.Get[map[string]any](sessions.Default(c), "u")
			c.String(200, "%v %v", m["Name"], ok)
		})
	})
	a.Expect("POST", "/", 200, "ok")
	saves := store.saves.Load()
	a.Expect("GET", "/plain", 200, "map[Age:30 Name:ann]")
	a.Expect("GET", "/generic", 200, "ann true")
	a.Expect("GET", "/typed", 200, "{ann 30} true")
	if store.saves.Load() != saves {
		t.Fatal("reading a struct wrote the session")
	}
}

func TestGetOfANamedMapKeepsTheStoredType(t *testing.T) {
	type cart map[string]int
	store := newFlaky(t)
	a := newApp(t, store, func(r *gin.Engine) {
		r.POST("/", func(c *gin.Context) { sessions.Default(c).Set("c", map[string]int{"a": 1}); c.String(200, "ok") })
		r.GET("/typed", func(c *gin.Context) {
			ct, ok := sessions.Get[cart](sessions.Default(c), "c")
			c.String(200, "%v %v", ct, ok)
		})
		r.POST("/typed", func(c *gin.Context) {
			ct, _ := sessions.Get[cart](sessions.Default(c), "c")
			ct["b"] = 2 // in place, through the named type
			c.String(200, "ok")
		})
		r.GET("/plain", func(c *gin.Context) { c.String(200, "%T", sessions.Default(c).Get("c")) })
	})
	a.Expect("POST", "/", 200, "ok")
	saves := store.saves.Load()
	a.Expect("GET", "/typed", 200, "map[a:1] true")
	if store.saves.Load() != saves {
		t.Fatal("a read-only Get[named map] wrote the session")
	}
	a.Expect("GET", "/plain", 200, "map[string]int")
	a.Expect("POST", "/typed", 200, "ok")
	a.Expect("GET", "/typed", 200, "map[a:1 b:2] true")
}

func TestClearThenSetSurvivesAConflict(t *testing.T) {
	store := newFlaky(t)
	gate := testapp.NewGate()
	a := newApp(t, store, func(r *gin.Engine) {
		basicRoutes(r)
		r.POST("/slow", func(c *gin.Context) {
			s := sessions.Default(c)
			s.Clear()
			s.Set("a", "1") // the value it already had
			gate.Park()
			c.String(200, "ok")
		})
	})
	a.Expect("POST", "/set/a/1", 200, "ok")
	a.Expect("POST", "/set/b/1", 200, "ok")
	a.While(gate, "POST", "/slow", func() { a.Expect("POST", "/set/a/2", 200, "ok") })
	a.Expect("GET", "/keys", 200, "[a]")
	a.Expect("GET", "/get/a", 200, "1")
}

func TestErrorAnswerDropsTheHandlersContentHeaders(t *testing.T) {
	store := newFlaky(t)
	a := newApp(t, store, func(r *gin.Engine) {
		r.POST("/", func(c *gin.Context) {
			sessions.Default(c).Set("k", "v")
			c.Header("Content-Length", "5")
			c.Header("ETag", `"x"`)
			c.Header("Location", "/elsewhere")
			c.Header("X-Kept", "yes")
			c.String(200, "hello")
		})
	})
	store.down.Store(true)
	resp, body := a.Do("POST", "/")
	if resp.StatusCode != 503 || !strings.Contains(body, "unavailable") {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if resp.Header.Get("ETag") != "" || resp.Header.Get("Location") != "" || resp.Header.Get("X-Kept") != "yes" {
		t.Fatalf("headers of the error answer: %v", resp.Header)
	}
}

func TestNoOrphanRecordAfterTheHeader(t *testing.T) {
	store := newFlaky(t)
	a := newApp(t, store, func(r *gin.Engine) {
		r.POST("/", func(c *gin.Context) {
			c.String(200, "written")
			sessions.Default(c).Set("x", 1) // a new session: no cookie can point to it now
		})
	})
	resp := a.Expect("POST", "/", 200, "written")
	if ck, set := testapp.SetCookie(resp, "sid"); set || store.Len() != 0 || store.saves.Load() != 0 {
		t.Fatalf("Set-Cookie %q, %d stored, %d saves", ck.Raw, store.Len(), store.saves.Load())
	}
}

func TestHugeLifetime(t *testing.T) {
	a := newApp(t, newFlaky(t), basicRoutes, sessions.WithLifetime(math.MaxInt64))
	resp := a.Expect("POST", "/set/k/v", 200, "ok")
	if ck, _ := testapp.SetCookie(resp, "sid"); ck.MaxAge != math.MaxInt32 {
		t.Fatalf("a lifetime of forever sent %q", ck.Raw)
	}
	a.Expect("GET", "/get/k", 200, "v")
}

func TestSaveThenDestroyLeavesNoCookieSession(t *testing.T) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cs, err := cookie.New(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, store := range map[string]sessions.Backend{"cookie": cs, "memory": newFlaky(t)} {
		t.Run(name, func(t *testing.T) {
			a := newApp(t, store, func(r *gin.Engine) {
				basicRoutes(r)
				r.POST("/", func(c *gin.Context) {
					s := sessions.Default(c)
					s.Set("user", "admin")
					if err := s.Save(); err != nil {
						t.Error(err)
					}
					s.Destroy()
					c.String(200, "ok")
				})
			})
			resp := a.Expect("POST", "/", 200, "ok")
			if ck, set := testapp.SetCookie(resp, "sid"); !set || ck.MaxAge >= 0 {
				t.Fatalf("Save then Destroy sent %q, want an expired cookie", ck.Raw)
			}
			a.Expect("GET", "/get/user", 200, "<nil>")
		})
	}
}

func TestClearRemovesKeysAConcurrentRequestAdded(t *testing.T) {
	store := newFlaky(t)
	gate := testapp.NewGate()
	a := newApp(t, store, func(r *gin.Engine) {
		basicRoutes(r)
		r.POST("/slow", func(c *gin.Context) {
			s := sessions.Default(c)
			s.Clear()
			s.Set("mine", "1")
			gate.Park()
			c.String(200, "ok")
		})
	})
	a.Expect("POST", "/set/old/1", 200, "ok")
	// Another tab adds a key while the clearing request is parked; the
	// clear, committed after it, removes that key too.
	a.While(gate, "POST", "/slow", func() { a.Expect("POST", "/set/theirs/1", 200, "ok") })
	a.Expect("GET", "/keys", 200, "[mine]")
}

func TestRenewOfAnEmptyNewSessionStoresNothing(t *testing.T) {
	store := newFlaky(t)
	a := newApp(t, store, func(r *gin.Engine) {
		r.POST("/renew", func(c *gin.Context) { sessions.Default(c).Renew(); c.String(200, "ok") })
	})
	resp := a.Expect("POST", "/renew", 200, "ok")
	if ck, set := testapp.SetCookie(resp, "sid"); set {
		t.Fatalf("Set-Cookie %q for an empty session", ck.Raw)
	}
	if n := store.saves.Load(); n != 0 {
		t.Fatalf("%d saves of an empty renewed session", n)
	}
	if n := store.Len(); n != 0 {
		t.Fatalf("%d records stored", n)
	}
}

func TestDestroyWithoutACookieSendsNoCookie(t *testing.T) {
	for name, backend := range map[string]sessions.Backend{"memory": newFlaky(t), "cookie": newCookieStore(t)} {
		t.Run(name, func(t *testing.T) {
			a := newApp(t, backend, func(r *gin.Engine) {
				basicRoutes(r)
				r.POST("/logout", func(c *gin.Context) { sessions.Default(c).Destroy(); c.String(200, "ok") })
			})
			if ck, set := testapp.SetCookie(a.Expect("POST", "/logout", 200, "ok"), "sid"); set {
				t.Fatalf("Set-Cookie %q to a client that had no cookie", ck.Raw)
			}
			// With a cookie, the logout expires it.
			a.Expect("POST", "/set/u/alice", 200, "ok")
			if ck, set := testapp.SetCookie(a.Expect("POST", "/logout", 200, "ok"), "sid"); !set || ck.MaxAge >= 0 {
				t.Fatalf("Set-Cookie %q: the logout did not expire the cookie", ck.Raw)
			}
		})
	}
}

func TestAbsoluteLifetimeEndsASessionInUse(t *testing.T) {
	// The store keeps real time, so it holds the record throughout: only
	// the middleware's lifetime check, on its own clock, can end it.
	for name, backend := range map[string]sessions.Backend{"memory": newFlaky(t), "cookie": newCookieStore(t)} {
		t.Run(name, func(t *testing.T) {
			clk := &clock{now: time.Unix(1_700_000_000, 0)}
			a := newApp(t, backend, basicRoutes, sessions.WithClock(clk.Now),
				sessions.WithLifetime(time.Hour), sessions.WithIdleTimeout(10*time.Minute))
			a.Expect("POST", "/set/u/alice", 200, "ok")
			// Used every 9 minutes, it never idles out.
			for range 6 {
				clk.Add(9 * time.Minute)
				a.Expect("GET", "/get/u", 200, "alice")
			}
			clk.Add(9 * time.Minute) // 63 minutes after creation
			a.Expect("GET", "/get/u", 200, "<nil>")
		})
	}
}

func newCookieStore(t *testing.T) *cookie.Store {
	t.Helper()
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(7 * i)
	}
	cs, err := cookie.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func TestHotSessionLosesNothingAndTakesTurns(t *testing.T) {
	store := newFlaky(t)
	a := newApp(t, store, func(r *gin.Engine) {
		r.POST("/inc", func(c *gin.Context) {
			sessions.Default(c).Update("n", func(old any) any { n, _ := old.(int); return n + 1 })
			c.String(200, "ok")
		})
		basicRoutes(r)
	})
	a.Expect("POST", "/set/u/alice", 200, "ok")
	id := a.Cookie("sid")
	// A store round trip as long as a loopback Redis's, so that requests
	// overlap as they do against a server.
	store.latency.Store(int64(100 * time.Microsecond))
	const clients, each = 64, 20
	loads, saves := store.loads.Load(), store.saves.Load()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				resp, _, err := a.Send("POST", "/inc", testapp.WithCookie("sid", id))
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of %d requests failed", n, clients*each)
	}
	a.Expect("GET", "/get/n", 200, fmt.Sprint(clients*each))
	trips := float64(store.loads.Load()-loads+store.saves.Load()-saves) / (clients * each)
	t.Logf("store round trips per request: %.2f (loads %d, saves %d)", trips, store.loads.Load()-loads, store.saves.Load()-saves)
	// One load and one save each, and a little for the turns the lane's
	// memory missed; without turns, requests race and reload: 4 and more.
	if trips > 2.2 {
		t.Fatalf("%.2f store round trips per request, want at most 2.2", trips)
	}
}

func TestLogoutLandsWhenTheLoadFailed(t *testing.T) {
	store := newFlaky(t)
	a := newApp(t, store, func(r *gin.Engine) {
		basicRoutes(r)
		r.POST("/logout", func(c *gin.Context) { sessions.Default(c).Destroy(); c.String(200, "bye") })
	})
	a.Expect("POST", "/set/user/alice", 200, "ok")
	id := a.Cookie("sid")
	store.failLoads.Store(1) // the logout's load fails; the store answers again at its commit
	loadsBefore := store.loads.Load()
	a.Expect("POST", "/logout", 200, "bye")
	if store.loads.Load() == loadsBefore {
		t.Fatal("the logout never tried to load the session")
	}
	if _, body := a.Stranger().Do("GET", "/get/user", testapp.WithCookie("sid", id)); body != "<nil>" {
		t.Fatalf("a logout whose load failed was dropped: user = %q", body)
	}
}
