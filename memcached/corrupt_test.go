package memcached_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testapp"
	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/memcached"
)

// expectNewSession checks, over HTTP, what the middleware makes of the
// session old whose record web's store finds corrupt: a read sees an
// empty session, a write gets a new ID, both with the cause (sessions'
// ErrCorrupt, and why) in c.Errors, and the next request works. No
// request answers 503.
func expectNewSession(t *testing.T, web *testapp.App, b *testapp.Browser, old, why string) {
	t.Helper()
	wantCause := func(what string) {
		t.Helper()
		errs := strings.Join(web.Errors(), "\n")
		if !strings.Contains(errs, sessions.ErrCorrupt.Error()) || !strings.Contains(errs, why) {
			t.Fatalf("%s: c.Errors = %q, want sessions.ErrCorrupt and %q", what, errs, why)
		}
	}
	web.Stranger().Expect("GET", web.URL+"/get/user", 200, "<nil>", testapp.WithCookie("sid", old))
	wantCause("a read of the corrupt session")

	resp := b.Expect("POST", web.URL+"/set/user/bob", 200, "ok")
	wantCause("a write to the corrupt session")
	if c, ok := testapp.SetCookie(resp, "sid"); !ok || c.Value == "" || c.Value == old || c.MaxAge < 0 {
		t.Fatalf("the write's Set-Cookie = %v (set %v), want a new session ID (old %s)", c, ok, old)
	}
	b.Expect("GET", web.URL+"/get/user", 200, "bob")
	if errs := web.Errors(); len(errs) != 0 {
		t.Fatalf("the new session's read recorded %q", errs)
	}
}

// TestCorruptItemIsANewSession writes items that are no session record
// straight into memcached, under a live session's key: the request that
// presents its cookie gets a new session, not a 503 until the item
// expires.
func TestCorruptItemIsANewSession(t *testing.T) {
	srv := testserver.Memcached(t)
	web := app(t, open(t, srv))
	raw := memcache.New(srv.Addr)
	for _, tc := range []struct {
		name  string
		flags uint32
		value string
	}{
		{"FlagsPastTheValue", 99, "xyz"},
		{"StampsNotWhole", 3, "abc12345"}, // 3 bytes of data, then 5 of "stamps"
		{"FlagsOfAnotherApp", 0xdeadbeef, "a plain string some other program cached"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := web.NewBrowser()
			b.Expect("POST", "/set/user/alice", 200, "ok")
			old := b.Cookie("sid")
			it := &memcache.Item{Key: "session:" + storeKey(t, b), Value: []byte(tc.value), Flags: tc.flags, Expiration: 600}
			if err := raw.Set(it); err != nil {
				t.Fatal(err)
			}
			expectNewSession(t, web, b, old, "is not a session record")
		})
	}
}

// TestOversizedItemIsANewSession: a session stored under a larger maximum
// record size is corrupt to a store with a smaller one (it reads 200
// bytes of data, the limit is 100).
func TestOversizedItemIsANewSession(t *testing.T) {
	srv := testserver.Memcached(t)
	big := app(t, open(t, srv))
	small := app(t, open(t, srv, memcached.WithMaxRecordSize(100)))
	b := big.Browser
	long := strings.Repeat("x", 200)
	b.Expect("POST", "/set/user/"+long, 200, "ok")
	b.Expect("GET", "/get/user", 200, long) // a sound record, under the default
	expectNewSession(t, small, b, b.Cookie("sid"), "over the store's maximum record size of 100")
	// And a session over the limit is not stored: 500, as for any session
	// too large for its store.
	if resp, body := b.Do("POST", small.URL+"/set/user/"+long); resp.StatusCode != 500 {
		t.Fatalf("a save over the limit = %d %q, want 500", resp.StatusCode, body)
	}
	b.Expect("GET", small.URL+"/get/user", 200, "bob")
}

// TestMaxRecordSize checks the limit at its edge, on the store: Save
// refuses one byte more without sending anything, Load refuses a stored
// item with one byte more, and touch stamps do not count.
func TestMaxRecordSize(t *testing.T) {
	srv := testserver.Memcached(t, "-I", "2m")
	raw := memcache.New(srv.Addr)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		opt   memcached.Option
		limit int
	}{
		{"Option", memcached.WithMaxRecordSize(100), 100},
		{"Default", memcached.WithMaxRecordSize(0), memcached.DefaultMaxRecordSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, srv, tc.opt)
			rec := &recorder{}
			s.Client().DialContext = rec.dial
			at := bytes.Repeat([]byte("a"), tc.limit)
			if _, err := s.Save(ctx, tc.name+"at", at, 0, time.Minute); err != nil {
				t.Fatalf("Save of %d bytes: %v", tc.limit, err)
			}
			for range 3 {
				if err := s.Touch(ctx, tc.name+"at", time.Minute, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			if r, err := s.Load(ctx, tc.name+"at"); err != nil || !bytes.Equal(r.Data, at) || r.Touched.IsZero() {
				t.Fatalf("Load of %d bytes and 3 stamps: %d bytes, Touched %v, %v", tc.limit, len(r.Data), r.Touched, err)
			}
			rec.take()
			over := append(at, 'b')
			_, err := s.Save(ctx, tc.name+"over", over, 0, time.Minute)
			if !errors.Is(err, memcached.ErrTooLarge) || !errors.Is(err, sessions.ErrTooLarge) {
				t.Fatalf("Save of %d bytes: %v, want ErrTooLarge", len(over), err)
			}
			if sent := rec.take(); len(sent) != 0 {
				t.Fatalf("Save of %d bytes sent %q, want nothing", len(over), sent)
			}
			if err := raw.Set(&memcache.Item{Key: "session:" + tc.name + "over", Value: over, Flags: uint32(len(over)), Expiration: 60}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Load(ctx, tc.name+"over"); !errors.Is(err, sessions.ErrCorrupt) {
				t.Fatalf("Load of a stored %d bytes: %v, want sessions.ErrCorrupt", len(over), err)
			}
		})
	}
}

// proxied serves the session app on a store that reaches a new memcached
// through a proxy, and returns the proxy, the store and a browser that
// holds a session with user=alice.
func proxied(t *testing.T) (*proxy, *memcached.Store, *testapp.Browser) {
	t.Helper()
	px := newProxy(t, testserver.Memcached(t).Addr)
	// The faults below fail at once; the timeout only has to outlast a busy
	// machine.
	store, err := memcached.Open([]string{px.addr}, memcached.WithTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	b := app(t, store).Browser
	b.Expect("POST", "/set/user/alice", 200, "ok")
	return px, store, b
}

// TestReplyForAnotherKey puts a proxy between the store and memcached that
// names another key in the replies: the data is never used, and it is a
// transport error (503 until the fault ends), not a corrupt record that
// would throw the intact session away.
func TestReplyForAnotherKey(t *testing.T) {
	px, store, b := proxied(t)
	id, key := b.Cookie("sid"), storeKey(t, b)
	ctx := context.Background()
	stored, err := memcache.New(px.backend).Get("session:" + key)
	if err != nil {
		t.Fatal(err)
	}

	px.set(misroute)
	r, err := store.Load(ctx, key)
	if err == nil || errors.Is(err, sessions.ErrCorrupt) || errors.Is(err, sessions.ErrNotFound) || r.Data != nil {
		t.Fatalf("Load of a reply for another key = %q, %v; want a transport error and no data", r.Data, err)
	}
	if err := store.Touch(ctx, key, time.Minute, time.Now()); err == nil || errors.Is(err, sessions.ErrCorrupt) {
		t.Fatalf("Touch of a reply for another key: %v, want a transport error", err)
	}
	for _, req := range [][2]string{{"GET", "/get/user"}, {"POST", "/set/user/mallory"}} {
		if resp, body := b.Do(req[0], req[1]); resp.StatusCode != 503 {
			t.Fatalf("%s %s with replies for another key = %d %q, want 503", req[0], req[1], resp.StatusCode, body)
		}
	}

	// One confused connection: the retry on a fresh one reads the session.
	px.set(misrouteOnce)
	store.Close() // no stale connection to the proxy takes the retry
	b.Expect("GET", "/get/user", 200, "alice")

	px.set(forward)
	b.Expect("GET", "/get/user", 200, "alice")
	if b.Cookie("sid") != id {
		t.Fatal("the session ID changed")
	}
	if it, err := memcache.New(px.backend).Get("session:" + key); err != nil || !bytes.Equal(it.Value, stored.Value) {
		t.Fatalf("the stored item after the fault: %q, %v; want it unchanged (no stamp from the failed Touch)", it.Value, err)
	}
}

// TestReplyCutOffInTransit closes the connection halfway through a value:
// a transport error (503), not a corrupt record.
func TestReplyCutOffInTransit(t *testing.T) {
	px, store, b := proxied(t)
	id := b.Cookie("sid")

	px.set(cut)
	if _, err := store.Load(context.Background(), storeKey(t, b)); !errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, sessions.ErrCorrupt) {
		t.Fatalf("Load of a cut-off reply: %v, want io.ErrUnexpectedEOF, not sessions.ErrCorrupt", err)
	}
	for _, req := range [][2]string{{"GET", "/get/user"}, {"POST", "/set/user/mallory"}} {
		if resp, body := b.Do(req[0], req[1]); resp.StatusCode != 503 {
			t.Fatalf("%s %s with cut-off replies = %d %q, want 503", req[0], req[1], resp.StatusCode, body)
		}
	}
	px.set(forward)
	b.Expect("GET", "/get/user", 200, "alice")
	if b.Cookie("sid") != id {
		t.Fatal("the session ID changed")
	}
}
