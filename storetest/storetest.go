// Package storetest is the conformance suite that every sessions.Store
// passes. A backend's tests call Run with a function that makes a fresh,
// empty store (against a real server, for server backends).
package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
)

// Run runs the suite against stores made by newStore, which registers any
// clean-up with t.Cleanup. Stores that keep sessions on the server run the
// store-level contract (round trip, not-found, compare-and-swap, expiry,
// touch, large values, concurrency, cancelled contexts) and the HTTP
// behaviour suite; stores that seal sessions into the cookie
// (sessions.Sealer) run the HTTP behaviour that applies to them.
func Run(t *testing.T, newStore func(t *testing.T) sessions.Backend) {
	t.Helper()
	gin.SetMode(gin.TestMode)
	if _, ok := newStore(t).(sessions.Sealer); !ok {
		t.Run("Store", func(t *testing.T) { runStore(t, newStore) })
	}
	t.Run("HTTP", func(t *testing.T) { runHTTP(t, newStore) })
}

var keySeq atomic.Uint64

// key returns a key unique to this run, shaped like the middleware's keys.
func key(t *testing.T) string {
	k := fmt.Sprintf("%s-%d-%d", strings.ReplaceAll(t.Name(), "/", "."), time.Now().UnixNano(), keySeq.Add(1))
	if len(k) > 43 {
		k = k[len(k)-43:]
	}
	return k
}

func runStore(t *testing.T, newStore func(t *testing.T) sessions.Backend) {
	ctx := context.Background()
	t.Run("RoundTrip", func(t *testing.T) {
		s, k := newStore(t), key(t)
		if _, err := s.Save(ctx, k, []byte("hello"), 0, time.Minute); err != nil {
			t.Fatalf("Save: %v", err)
		}
		r, err := s.Load(ctx, k)
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if string(r.Data) != "hello" || r.Version == 0 {
			t.Fatalf("Load = %q version %d, want %q and a non-zero version", r.Data, r.Version, "hello")
		}
	})
	t.Run("NotFound", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Load(ctx, key(t)); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("Load of a missing key: err = %v, want ErrNotFound", err)
		}
	})
	t.Run("AddOnlyWhenAbsent", func(t *testing.T) {
		s, k := newStore(t), key(t)
		if _, err := s.Save(ctx, k, []byte("first"), 0, time.Minute); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Save(ctx, k, []byte("second"), 0, time.Minute); !errors.Is(err, sessions.ErrConflict) {
			t.Fatalf("second Save with version 0: err = %v, want ErrConflict", err)
		}
		mustLoad(t, s, k, "first")
	})
	t.Run("CompareAndSwap", func(t *testing.T) {
		s, k := newStore(t), key(t)
		if _, err := s.Save(ctx, k, []byte("v1"), 0, time.Minute); err != nil {
			t.Fatal(err)
		}
		r1 := mustLoad(t, s, k, "v1")
		if _, err := s.Save(ctx, k, []byte("v2"), r1.Version, time.Minute); err != nil {
			t.Fatalf("Save with the current version: %v", err)
		}
		if _, err := s.Save(ctx, k, []byte("stale"), r1.Version, time.Minute); !errors.Is(err, sessions.ErrConflict) {
			t.Fatalf("Save with a stale version: err = %v, want ErrConflict", err)
		}
		r2 := mustLoad(t, s, k, "v2")
		if r2.Version == r1.Version {
			t.Fatalf("version did not change on save: %d", r2.Version)
		}
	})
	t.Run("CompareAndSwapOfMissingKey", func(t *testing.T) {
		s, k := newStore(t), key(t)
		if _, err := s.Save(ctx, k, []byte("x"), 12345, time.Minute); !errors.Is(err, sessions.ErrConflict) {
			t.Fatalf("Save with a version of a missing key: err = %v, want ErrConflict", err)
		}
		if _, err := s.Load(ctx, k); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("a failed compare-and-swap stored something: %v", err)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		s, k := newStore(t), key(t)
		if err := s.Delete(ctx, k); err != nil {
			t.Fatalf("Delete of a missing key: %v, want nil", err)
		}
		if _, err := s.Save(ctx, k, []byte("x"), 0, time.Minute); err != nil {
			t.Fatal(err)
		}
		other := key(t)
		if _, err := s.Save(ctx, other, []byte("y"), 0, time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, k); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, err := s.Load(ctx, k); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("Load after Delete: err = %v, want ErrNotFound", err)
		}
		mustLoad(t, s, other, "y")
	})
	t.Run("Expiry", func(t *testing.T) {
		t.Parallel()
		s, k := newStore(t), key(t)
		if _, err := s.Save(ctx, k, []byte("short"), 0, time.Second); err != nil {
			t.Fatal(err)
		}
		mustLoad(t, s, k, "short")
		time.Sleep(2100 * time.Millisecond)
		if _, err := s.Load(ctx, k); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("Load after the TTL: err = %v, want ErrNotFound", err)
		}
		// An expired key can be added again.
		if _, err := s.Save(ctx, k, []byte("again"), 0, time.Minute); err != nil {
			t.Fatalf("Save over an expired key: %v", err)
		}
	})
	t.Run("LongTTL", func(t *testing.T) {
		// Beyond memcached's 30-day relative limit.
		s, k := newStore(t), key(t)
		if _, err := s.Save(ctx, k, []byte("long"), 0, 60*24*time.Hour); err != nil {
			t.Fatal(err)
		}
		mustLoad(t, s, k, "long")
	})
	if _, ok := newStore(t).(sessions.Toucher); ok {
		t.Run("Touch", func(t *testing.T) {
			t.Parallel()
			s, k := newStore(t), key(t)
			tc := s.(sessions.Toucher)
			if err := tc.Touch(ctx, k, time.Minute); !errors.Is(err, sessions.ErrNotFound) {
				t.Fatalf("Touch of a missing key: err = %v, want ErrNotFound", err)
			}
			v, err := s.Save(ctx, k, []byte("kept"), 0, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			before := time.Now().Add(-time.Second)
			if err := tc.Touch(ctx, k, time.Minute); err != nil {
				t.Fatalf("Touch: %v", err)
			}
			time.Sleep(2100 * time.Millisecond)
			r := mustLoad(t, s, k, "kept")
			if r.Touched.Before(before) || r.Touched.After(time.Now()) {
				t.Fatalf("Touched = %v, want about %v", r.Touched, before)
			}
			if v != 0 && r.Version != v {
				// Touch must not break a pending compare-and-swap.
				t.Fatalf("Touch changed the version from %d to %d", v, r.Version)
			}
			if _, err := s.Save(ctx, k, []byte("after touch"), r.Version, time.Minute); err != nil {
				t.Fatalf("Save with the version loaded after a touch: %v", err)
			}
		})
	}
	t.Run("StoresACopy", func(t *testing.T) {
		s, k := newStore(t), key(t)
		data := []byte("original")
		if _, err := s.Save(ctx, k, data, 0, time.Minute); err != nil {
			t.Fatal(err)
		}
		copy(data, "mutated!")
		mustLoad(t, s, k, "original")
	})
	t.Run("LargeValue", func(t *testing.T) {
		s, k := newStore(t), key(t)
		big := bytes.Repeat([]byte("0123456789abcdef"), 256<<10/16)
		if _, err := s.Save(ctx, k, big, 0, time.Minute); err != nil {
			t.Fatalf("Save of 256 KiB: %v", err)
		}
		r, err := s.Load(ctx, k)
		if err != nil || !bytes.Equal(r.Data, big) {
			t.Fatalf("Load of 256 KiB: err %v, equal %v", err, bytes.Equal(r.Data, big))
		}
	})
	t.Run("ConcurrentCompareAndSwap", func(t *testing.T) {
		s, k := newStore(t), key(t)
		if _, err := s.Save(ctx, k, binary.AppendUvarint(nil, 0), 0, time.Minute); err != nil {
			t.Fatal(err)
		}
		const n = 50
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- increment(ctx, s, k)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		r, err := s.Load(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := binary.Uvarint(r.Data); got != n {
			t.Fatalf("after %d concurrent compare-and-swap increments the counter is %d", n, got)
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		s, k := newStore(t), key(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Save(cctx, k, []byte("x"), 0, time.Minute); err == nil {
			t.Fatal("Save with a cancelled context succeeded")
		}
		if _, err := s.Load(ctx, k); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("Save with a cancelled context stored something: %v", err)
		}
		if _, err := s.Load(cctx, k); err == nil || errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("Load with a cancelled context: err = %v, want the context's error", err)
		}
		if err := s.Delete(cctx, k); err == nil {
			t.Fatal("Delete with a cancelled context succeeded")
		}
	})
}

// increment adds one to the counter under k with compare-and-swap retries.
func increment(ctx context.Context, s sessions.Store, k string) error {
	for attempt := 0; attempt < 1000; attempt++ {
		r, err := s.Load(ctx, k)
		if err != nil {
			return err
		}
		n, _ := binary.Uvarint(r.Data)
		_, err = s.Save(ctx, k, binary.AppendUvarint(nil, n+1), r.Version, time.Minute)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sessions.ErrConflict) {
			return err
		}
	}
	return errors.New("increment: too many conflicts")
}

func mustLoad(t *testing.T, s sessions.Store, k, want string) sessions.Record {
	t.Helper()
	r, err := s.Load(context.Background(), k)
	if err != nil {
		t.Fatalf("Load(%q): %v", k, err)
	}
	if string(r.Data) != want {
		t.Fatalf("Load(%q) = %q, want %q", k, r.Data, want)
	}
	return r
}

// counting wraps a server-side store and counts its calls.
type counting struct {
	sessions.Store
	loads, saves, deletes, touches atomic.Int64
}

func (c *counting) Load(ctx context.Context, key string) (sessions.Record, error) {
	c.loads.Add(1)
	return c.Store.Load(ctx, key)
}

func (c *counting) Save(ctx context.Context, key string, data []byte, version uint64, ttl time.Duration) (uint64, error) {
	c.saves.Add(1)
	return c.Store.Save(ctx, key, data, version, ttl)
}

func (c *counting) Delete(ctx context.Context, key string) error {
	c.deletes.Add(1)
	return c.Store.Delete(ctx, key)
}

func (c *counting) calls() int64 {
	return c.loads.Load() + c.saves.Load() + c.deletes.Load() + c.touches.Load()
}

type countingToucher struct{ *counting }

func (c countingToucher) Touch(ctx context.Context, key string, ttl time.Duration) error {
	c.touches.Add(1)
	return c.Store.(sessions.Toucher).Touch(ctx, key, ttl)
}

// server is a Gin app over real HTTP with handlers that exercise a session.
type server struct {
	*httptest.Server
	count  *counting // nil for cookie stores
	sealed bool
}

const cookieName = "sid"

func newServer(t *testing.T, store sessions.Store, opts ...sessions.Option) *server {
	srv := &server{}
	if _, ok := store.(sessions.Sealer); ok {
		srv.sealed = true
	} else {
		srv.count = &counting{Store: store}
		store = srv.count
		if _, ok := srv.count.Store.(sessions.Toucher); ok {
			store = countingToucher{srv.count}
		}
	}
	r := gin.New()
	r.Use(sessions.Sessions(cookieName, store, opts...))
	r.GET("/untouched", func(c *gin.Context) { c.String(200, "hi") })
	r.GET("/get/:key", func(c *gin.Context) {
		v := sessions.Default(c).Get(c.Param("key"))
		c.String(200, "%v", v)
	})
	r.POST("/set/:key/:value", func(c *gin.Context) {
		sessions.Default(c).Set(c.Param("key"), c.Param("value"))
		c.String(200, "ok")
	})
	r.POST("/cart/:item", func(c *gin.Context) {
		s := sessions.Default(c)
		cart, _ := s.Get("cart").(map[string]int)
		if cart == nil {
			s.Set("cart", map[string]int{c.Param("item"): 1})
		} else {
			cart[c.Param("item")]++ // in place, no Set
		}
		c.String(200, "ok")
	})
	r.GET("/cart", func(c *gin.Context) {
		cart, _ := sessions.Get[map[string]int](sessions.Default(c), "cart")
		c.JSON(200, cart)
	})
	r.POST("/incr", func(c *gin.Context) {
		sessions.Default(c).Update("n", func(old any) any { n, _ := old.(int); return n + 1 })
		c.String(200, "ok")
	})
	r.POST("/flash/:msg", func(c *gin.Context) {
		sessions.Default(c).AddFlash(c.Param("msg"))
		c.String(200, "ok")
	})
	r.GET("/flashes", func(c *gin.Context) { c.String(200, "%v", sessions.Default(c).Flashes()) })
	r.POST("/renew", func(c *gin.Context) { sessions.Default(c).Renew(); c.String(200, "ok") })
	r.POST("/destroy", func(c *gin.Context) { sessions.Default(c).Destroy(); c.String(200, "ok") })
	r.GET("/id", func(c *gin.Context) { c.String(200, sessions.Default(c).ID()) })
	r.GET("/keys", func(c *gin.Context) { c.String(200, strings.Join(sessions.Default(c).Keys(), ",")) })
	srv.Server = httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

// client is a browser: it keeps the cookies the server sets.
func (srv *server) client(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// do sends a request and returns the response with its body read.
func do(t *testing.T, c *http.Client, method, url string, cookie string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func expect(t *testing.T, c *http.Client, method, url, want string) *http.Response {
	t.Helper()
	resp, body := do(t, c, method, url, "")
	if resp.StatusCode != 200 || body != want {
		t.Fatalf("%s %s = %d %q, want 200 %q", method, url, resp.StatusCode, body, want)
	}
	return resp
}

// sessionCookie returns the value of the session cookie that resp sets.
func sessionCookie(resp *http.Response) (value string, set bool) {
	for _, c := range resp.Cookies() {
		if c.Name == cookieName {
			return c.Value, true
		}
	}
	return "", false
}

func runHTTP(t *testing.T, newStore func(t *testing.T) sessions.Backend) {
	t.Run("UntouchedCostsNothing", func(t *testing.T) {
		srv := newServer(t, newStore(t))
		c := srv.client(t)
		expect(t, c, "POST", srv.URL+"/set/a/1", "ok")
		before := srv.calls()
		resp := expect(t, c, "GET", srv.URL+"/untouched", "hi")
		if _, set := sessionCookie(resp); set {
			t.Fatal("an untouched session set a cookie")
		}
		if resp.Header.Get("Vary") != "" {
			t.Fatalf("an untouched session added Vary: %q", resp.Header.Get("Vary"))
		}
		if got := srv.calls() - before; got != 0 {
			t.Fatalf("an untouched session made %d store calls", got)
		}
	})
	t.Run("AnonymousEmptySessionIsNotStored", func(t *testing.T) {
		srv := newServer(t, newStore(t))
		c := srv.client(t)
		resp := expect(t, c, "GET", srv.URL+"/get/user", "<nil>")
		if _, set := sessionCookie(resp); set {
			t.Fatal("reading an empty new session set a cookie")
		}
		if resp.Header.Get("Vary") != "Cookie" {
			t.Fatalf("Vary = %q, want Cookie", resp.Header.Get("Vary"))
		}
		if srv.count != nil && srv.calls() != 0 {
			t.Fatalf("an anonymous empty session made %d store calls", srv.calls())
		}
	})
	t.Run("RoundTrip", func(t *testing.T) {
		srv := newServer(t, newStore(t))
		c := srv.client(t)
		resp := expect(t, c, "POST", srv.URL+"/set/user/alice", "ok")
		value, set := sessionCookie(resp)
		if !set || value == "" {
			t.Fatal("no session cookie after a Set")
		}
		if cc := resp.Header.Get("Cache-Control"); cc != `no-cache="Set-Cookie"` {
			t.Fatalf("Cache-Control = %q", cc)
		}
		raw := resp.Header.Get("Set-Cookie")
		for _, attr := range []string{"HttpOnly", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(raw, attr) {
				t.Fatalf("Set-Cookie %q lacks %s", raw, attr)
			}
		}
		if strings.Contains(raw, "alice") {
			t.Fatalf("the cookie reveals a value: %q", raw)
		}
		expect(t, c, "GET", srv.URL+"/get/user", "alice")
		// Another browser does not see it.
		expect(t, srv.client(t), "GET", srv.URL+"/get/user", "<nil>")
	})
	t.Run("ReadDoesNotWrite", func(t *testing.T) {
		srv := newServer(t, newStore(t))
		c := srv.client(t)
		expect(t, c, "POST", srv.URL+"/set/user/alice", "ok")
		expect(t, c, "POST", srv.URL+"/cart/apple", "ok")
		var saves int64
		if srv.count != nil {
			saves = srv.count.saves.Load()
		}
		resp := expect(t, c, "GET", srv.URL+"/cart", `{"apple":1}`)
		expect(t, c, "GET", srv.URL+"/get/user", "alice")
		if _, set := sessionCookie(resp); set {
			t.Fatal("a read-only request set the cookie")
		}
		if srv.count != nil && srv.count.saves.Load() != saves {
			t.Fatalf("a read-only request saved %d times", srv.count.saves.Load()-saves)
		}
	})
	t.Run("NestedChangeInPlaceIsSaved", func(t *testing.T) {
		srv := newServer(t, newStore(t))
		c := srv.client(t)
		expect(t, c, "POST", srv.URL+"/cart/apple", "ok")
		expect(t, c, "POST", srv.URL+"/cart/apple", "ok")
		expect(t, c, "POST", srv.URL+"/cart/pear", "ok")
		expect(t, c, "GET", srv.URL+"/cart", `{"apple":2,"pear":1}`)
	})
	t.Run("FlashesOnce", func(t *testing.T) {
		srv := newServer(t, newStore(t))
		c := srv.client(t)
		expect(t, c, "POST", srv.URL+"/flash/hello", "ok")
		expect(t, c, "POST", srv.URL+"/flash/again", "ok")
		expect(t, c, "GET", srv.URL+"/keys", "")
		expect(t, c, "GET", srv.URL+"/flashes", "[hello again]")
		expect(t, c, "GET", srv.URL+"/flashes", "[]")
	})
	t.Run("RenewChangesIDKeepsData", func(t *testing.T) {
		srv := newServer(t, newStore(t))
		c := srv.client(t)
		resp := expect(t, c, "POST", srv.URL+"/set/user/alice", "ok")
		oldCookie, _ := sessionCookie(resp)
		_, oldID := do(t, c, "GET", srv.URL+"/id", "")
		resp = expect(t, c, "POST", srv.URL+"/renew", "ok")
		newCookie, set := sessionCookie(resp)
		if !set || newCookie == oldCookie {
			t.Fatal("Renew did not set a new cookie")
		}
		_, newID := do(t, c, "GET", srv.URL+"/id", "")
		if newID == oldID || len(newID) != 43 {
			t.Fatalf("ID after Renew = %q, before %q", newID, oldID)
		}
		expect(t, c, "GET", srv.URL+"/get/user", "alice")
		if !srv.sealed {
			_, body := do(t, http.DefaultClient, "GET", srv.URL+"/get/user", cookieName+"="+oldCookie)
			if body != "<nil>" {
				t.Fatalf("the old ID still works after Renew: %q", body)
			}
		}
	})
	t.Run("DestroyDeletesAndExpires", func(t *testing.T) {
		srv := newServer(t, newStore(t))
		c := srv.client(t)
		resp := expect(t, c, "POST", srv.URL+"/set/user/alice", "ok")
		oldCookie, _ := sessionCookie(resp)
		resp = expect(t, c, "POST", srv.URL+"/destroy", "ok")
		var expired bool
		for _, ck := range resp.Cookies() {
			expired = expired || ck.Name == cookieName && ck.MaxAge < 0
		}
		if !expired {
			t.Fatalf("Destroy did not expire the cookie: %q", resp.Header.Values("Set-Cookie"))
		}
		expect(t, c, "GET", srv.URL+"/get/user", "<nil>")
		if !srv.sealed {
			_, body := do(t, http.DefaultClient, "GET", srv.URL+"/get/user", cookieName+"="+oldCookie)
			if body != "<nil>" {
				t.Fatalf("a copied cookie still works after Destroy: %q", body)
			}
		}
	})
	t.Run("MalformedCookieIsNoSession", func(t *testing.T) {
		srv := newServer(t, newStore(t))
		for _, bad := range []string{
			"x", strings.Repeat("A", 42), strings.Repeat("A", 44), strings.Repeat("A", 42) + "B",
			strings.Repeat("!", 43), strings.Repeat("A", 4096), "%00%00", `"` + strings.Repeat("A", 43) + `"x`,
		} {
			before := srv.calls()
			resp, body := do(t, http.DefaultClient, "GET", srv.URL+"/get/user", cookieName+"="+bad)
			if resp.StatusCode != 200 || body != "<nil>" {
				t.Fatalf("cookie %.20q: %d %q, want a new empty session", bad, resp.StatusCode, body)
			}
			if srv.calls() != before {
				t.Fatalf("cookie %.20q reached the store", bad)
			}
		}
	})
	if probe := newStore(t); func() bool { _, ok := probe.(sessions.Sealer); return !ok }() {
		t.Run("ConcurrentUpdatesLoseNothing", func(t *testing.T) {
			srv := newServer(t, newStore(t))
			c := srv.client(t)
			expect(t, c, "POST", srv.URL+"/incr", "ok")
			parallel(t, 50, func(int) error { return try(c, "POST", srv.URL+"/incr", "ok") })
			expect(t, c, "GET", srv.URL+"/get/n", "51")
		})
		t.Run("ConcurrentSetsOfDistinctKeysLoseNothing", func(t *testing.T) {
			srv := newServer(t, newStore(t))
			c := srv.client(t)
			expect(t, c, "POST", srv.URL+"/set/first/1", "ok")
			parallel(t, 50, func(i int) error { return try(c, "POST", fmt.Sprintf("%s/set/k%02d/%d", srv.URL, i, i), "ok") })
			_, keys := do(t, c, "GET", srv.URL+"/keys", "")
			if n := len(strings.Split(keys, ",")); n != 51 {
				t.Fatalf("after 50 concurrent sets of distinct keys the session has %d keys: %s", n, keys)
			}
		})
	}
}

func (srv *server) calls() int64 {
	if srv.count == nil {
		return 0
	}
	return srv.count.calls()
}

// parallel runs fn(0) … fn(n-1) at once and fails t with their errors.
func parallel(t *testing.T, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- fn(i)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// try is expect for other goroutines: it returns what went wrong.
func try(c *http.Client, method, url, want string) error {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || string(body) != want {
		return fmt.Errorf("%s %s = %d %q, want 200 %q", method, url, resp.StatusCode, body, want)
	}
	return nil
}
