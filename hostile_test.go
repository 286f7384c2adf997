package sessions_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testapp"
)

func mustPanic(t *testing.T, what string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Fatalf("%s: no panic", what)
		}
	}()
	fn()
}

func TestCookieAttributesThatWouldInjectPanicAtStartup(t *testing.T) {
	store := newFlaky(t)
	for _, opt := range []sessions.Option{
		sessions.WithPath("/; Domain=evil.example; SameSite=None"),
		sessions.WithPath("/a\nSet-Cookie: x=y"),
		sessions.WithPath("/\x00"),
		sessions.WithPath("relative"),
		sessions.WithPath(""),
		sessions.WithDomain("example.com; Secure"),
		sessions.WithDomain("exa mple.com"),
		sessions.WithDomain("-bad.example"),
		sessions.WithDomain("a..b"),
	} {
		mustPanic(t, fmt.Sprint(opt), func() { sessions.Sessions("sid", store, opt) })
	}
	// What net/http would send is accepted.
	for _, opts := range [][]sessions.Option{
		{sessions.WithPath("/app/v1"), sessions.WithDomain("shop.example.com")},
		{sessions.WithDomain(".example.com")},
		{sessions.WithDomain("127.0.0.1")},
	} {
		sessions.Sessions("sid", store, opts...)
	}
}

func TestCookieNamePrefixes(t *testing.T) {
	store := newFlaky(t)
	mustPanic(t, "__Host- without Secure", func() { sessions.Sessions("__Host-sid", store) })
	mustPanic(t, "__Host- with a path", func() {
		sessions.Sessions("__Host-sid", store, sessions.WithSecure(true), sessions.WithPath("/app"))
	})
	mustPanic(t, "__Host- with a domain", func() {
		sessions.Sessions("__Host-sid", store, sessions.WithSecure(true), sessions.WithDomain("example.com"))
	})
	mustPanic(t, "__Secure- without Secure", func() { sessions.Sessions("__Secure-sid", store) })

	// A __Host- cookie works: the attributes browsers demand, and the
	// session round-trips.
	a := testapp.NewGin(t, func(r *gin.Engine) {
		r.Use(sessions.Sessions("__Host-sid", store, sessions.WithSecure(true)))
		basicRoutes(r)
	})
	b := a.NewBrowser()
	resp := b.Expect("POST", "/set/u/alice", 200, "ok")
	ck, ok := testapp.SetCookie(resp, "__Host-sid")
	if !ok || !ck.Secure || ck.Path != "/" || ck.Domain != "" {
		t.Fatalf("Set-Cookie %q: want Secure, Path=/ and no Domain", resp.Header["Set-Cookie"])
	}
	// (The test client speaks plain HTTP, whose jar would not send a
	// Secure cookie back: send it by hand.)
	a.Stranger().Expect("GET", "/get/u", 200, "alice", testapp.WithCookie("__Host-sid", ck.Value))
}

func TestAPlantedCookieOfTheSameNameDoesNotHideTheSession(t *testing.T) {
	for name, backend := range map[string]sessions.Backend{"memory": newFlaky(t), "cookie": newCookieStore(t)} {
		t.Run(name, func(t *testing.T) {
			a := newApp(t, backend, basicRoutes)
			resp := a.NewBrowser().Expect("POST", "/set/u/alice", 200, "ok")
			ck, _ := testapp.SetCookie(resp, "sid")
			// A cookie set for a parent domain or path comes first in
			// the header; one that names no session must not win.
			planted := []string{"garbage", strings.Repeat("A", 43), ck.Value[:len(ck.Value)-1] + "B"}
			for _, p := range planted {
				header := func(r *http.Request) { r.Header.Set("Cookie", "sid="+p+"; other=1; sid="+ck.Value) }
				a.Stranger().Expect("GET", "/get/u", 200, "alice", header)
			}
		})
	}
}

// corruptStore answers every Load with a record that cannot be read, as a
// store reports a value of the wrong framing or type.
type corruptStore struct{ *flaky }

func (c corruptStore) Load(ctx context.Context, key string) (sessions.Record, error) {
	if _, err := c.flaky.Load(ctx, key); err != nil {
		return sessions.Record{}, err
	}
	return sessions.Record{}, fmt.Errorf("test store: wrong framing: %w", sessions.ErrCorrupt)
}

func TestACorruptRecordIsANewSessionNotAnOutage(t *testing.T) {
	store := newFlaky(t)
	var backend sessions.Backend = store
	a := newApp(t, backend, basicRoutes)
	b := a.NewBrowser()
	b.Expect("POST", "/set/u/alice", 200, "ok")
	old := b.Cookie("sid")
	c := newApp(t, corruptStore{store}, basicRoutes)
	// The same record read through a store that finds it corrupt: no 503,
	// a new session, and the cause recorded.
	c.Stranger().Expect("GET", "/get/u", 200, "<nil>", testapp.WithCookie("sid", old))
	if errs := strings.Join(c.Errors(), "\n"); !strings.Contains(errs, "corrupt record") {
		t.Fatalf("c.Errors = %q, want the corruption recorded", errs)
	}
	resp := c.Stranger().Expect("POST", "/set/u/bob", 200, "ok", testapp.WithCookie("sid", old))
	if ck, ok := testapp.SetCookie(resp, "sid"); !ok || ck.Value == old {
		t.Fatalf("a write over a corrupt record: Set-Cookie %q, want a new ID", resp.Header["Set-Cookie"])
	}
}

// recordWith hand-encodes a sealed session's record (format 1: created and
// refreshed times, the ID, one key) holding value, the raw encoding of a
// value: what an attacker who knows the cookie key could seal.
func recordWith(id string, value []byte) []byte {
	now := time.Now().UnixMilli()
	b := []byte{1}
	b = binary.AppendVarint(b, now)
	b = binary.AppendVarint(b, now)
	b = binary.AppendUvarint(b, uint64(len(id)))
	b = append(b, id...)
	b = append(b, 1, 1, 'k')
	b = binary.AppendUvarint(b, uint64(len(value)))
	return append(b, value...)
}

// A leaked cookie key lets an attacker seal any record: a stream of them
// with fresh type descriptors keeps the heap flat (decoding makes only a
// bounded set of types).
func TestSealedCookiesWithFreshDescriptorsKeepTheHeapFlat(t *testing.T) {
	cs := newCookieStore(t)
	a := newApp(t, cs, basicRoutes)
	rng := rand.New(rand.NewPCG(3, 4))
	const tSlice, tMap, tBool, tString, tDuration = 20, 21, 2, 15, 18 // the codec's tags
	send := func(n int) {
		for range n {
			var v []byte
			for range 3 + rng.IntN(12) {
				if rng.IntN(2) == 0 {
					v = append(v, tSlice)
				} else {
					v = append(v, tMap, byte(tBool+rng.IntN(tString-tBool+1)))
				}
			}
			v = append(v, byte(tBool+rng.IntN(tDuration-tBool+1)), 0)
			sealed, err := cs.Seal("sid", recordWith(strings.Repeat("A", 43), v))
			if err != nil {
				t.Fatal(err)
			}
			// The value decodes (a nil container): the request works.
			if resp, body := a.Stranger().Do("GET", "/get/k", testapp.WithCookie("sid", sealed)); resp.StatusCode != 200 || body == "<nil>" {
				t.Fatalf("%d %q: the sealed record was not read", resp.StatusCode, body)
			}
		}
	}
	send(3000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	send(3000)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 512<<10 {
		t.Fatalf("3,000 sealed cookies with fresh descriptors kept %d bytes", grew)
	}
}

func TestLogoutWhileTheStoreIsDownExpiresTheCookie(t *testing.T) {
	store := newFlaky(t)
	a := newApp(t, store, func(r *gin.Engine) {
		basicRoutes(r)
		r.POST("/logout", func(c *gin.Context) { sessions.Default(c).Destroy(); c.String(200, "bye") })
	})
	a.Expect("POST", "/set/u/alice", 200, "ok")
	store.down.Store(true)
	resp, _ := a.Do("POST", "/logout")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("logout with the store down: %d, want 503", resp.StatusCode)
	}
	if ck, ok := testapp.SetCookie(resp, "sid"); !ok || ck.MaxAge >= 0 {
		t.Fatalf("Set-Cookie %q: the error answer must expire the session cookie", resp.Header["Set-Cookie"])
	}
	// A plain failed save keeps the browser's cookie: it is not a logout.
	store.down.Store(false)
	a.Expect("POST", "/set/u/alice", 200, "ok")
	store.down.Store(true)
	resp, _ = a.Do("POST", "/set/u/bob")
	if _, ok := testapp.SetCookie(resp, "sid"); ok || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a failed save answered %d with Set-Cookie %q", resp.StatusCode, resp.Header["Set-Cookie"])
	}
}

func TestStoreErrorsNeverReachTheClient(t *testing.T) {
	store := newFlaky(t)
	a := newApp(t, store, basicRoutes)
	a.Expect("POST", "/set/u/alice", 200, "ok")
	store.down.Store(true) // the store's error says "store is down"
	resp, body := a.Do("GET", "/get/u")
	if resp.StatusCode != http.StatusServiceUnavailable || body != `{"error":"session store unavailable"}` {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	if errs := strings.Join(a.Errors(), "\n"); !strings.Contains(errs, "store is down") {
		t.Fatalf("the cause was not recorded with c.Error: %q", errs)
	}
}
