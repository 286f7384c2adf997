package sessions_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

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
