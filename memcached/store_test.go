package memcached_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/storetest"
	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/memcached"
)

func open(t testing.TB, srv *testserver.Server, opts ...memcached.Option) *memcached.Store {
	t.Helper()
	s, err := memcached.Open([]string{srv.Addr}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Client().Close() })
	return s
}

func TestConformance(t *testing.T) {
	srv := testserver.Memcached(t)
	storetest.Run(t, func(t *testing.T) sessions.Backend { return open(t, srv) })
}

func TestConformanceWithNew(t *testing.T) {
	// A plain gomemcache client, with its defaults, through New.
	srv := testserver.Memcached(t)
	storetest.Run(t, func(t *testing.T) sessions.Backend {
		return memcached.New(memcache.New(srv.Addr), memcached.WithPrefix("other:"))
	})
}

func TestLongLifetime(t *testing.T) {
	srv := testserver.Memcached(t)
	s := open(t, srv)
	ctx := context.Background()
	const ttl = 60 * 24 * time.Hour
	if _, err := s.Save(ctx, "sixty-days", []byte("still here"), 0, ttl); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // a relative 5,184,000 would be 1970: dead at once
	r, err := s.Load(ctx, "sixty-days")
	if err != nil || string(r.Data) != "still here" {
		t.Fatalf("Load after a 60-day Save = %q, %v", r.Data, err)
	}
	if err := s.Touch(ctx, "sixty-days", ttl); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "sixty-days"); err != nil {
		t.Fatalf("Load after a 60-day Touch: %v", err)
	}
	// The raw item's expiry is absolute and about 60 days out: ask the server.
	if got := rawTTL(t, srv.Addr, "session:sixty-days"); got < ttl-time.Minute || got > ttl+time.Minute {
		t.Fatalf("memcached holds the item for %v, want about %v", got, ttl)
	}
}

func TestPrefixAndForeignKeys(t *testing.T) {
	srv := testserver.Memcached(t)
	ctx := context.Background()
	raw := memcache.New(srv.Addr)
	if err := raw.Set(&memcache.Item{Key: "k", Value: []byte("someone else's")}); err != nil {
		t.Fatal(err)
	}
	a := open(t, srv)
	b := open(t, srv, memcached.WithPrefix("app2:"))
	if _, err := a.Save(ctx, "k", []byte("a"), 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Save(ctx, "k", []byte("b"), 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"k": "someone else's", "session:k": "a", "app2:k": "b"} {
		it, err := raw.Get(key)
		if err != nil || string(it.Value) != want {
			t.Fatalf("raw %q = %v, %v; want %q", key, it, err, want)
		}
	}
	if err := a.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Get("k"); err != nil {
		t.Fatalf("Delete touched an unprefixed key: %v", err)
	}
	// A value under the prefix that this package did not write is an error,
	// not garbage handed to the decoder.
	if err := raw.Set(&memcache.Item{Key: "session:bad", Value: []byte("xyz"), Flags: 99}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Load(ctx, "bad"); err == nil {
		t.Fatal("Load of a foreign item succeeded")
	}
}

func TestBadPrefixPanics(t *testing.T) {
	for _, p := range []string{"", "has space:", "tab\t", strings.Repeat("x", 200)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New with prefix %q did not panic", p)
				}
			}()
			memcached.New(memcache.New("127.0.0.1:1"), memcached.WithPrefix(p))
		}()
		if _, err := memcached.Open([]string{"127.0.0.1:1"}, memcached.WithPrefix(p)); err == nil {
			t.Errorf("Open with prefix %q succeeded", p)
		}
	}
}

func TestOpenBadAddresses(t *testing.T) {
	for _, addrs := range [][]string{nil, {}, {""}, {"no-port"}, {"127.0.0.1:11211", "127.0.0.1:11211"}, {"127.0.0.1:notaport"}} {
		if _, err := memcached.Open(addrs); err == nil {
			t.Errorf("Open(%q) succeeded", addrs)
		} else if !strings.HasPrefix(err.Error(), "memcached: ") {
			t.Errorf("Open(%q): unclear error %v", addrs, err)
		}
	}
}

func TestTooLarge(t *testing.T) {
	srv := testserver.Memcached(t, "-I", "1m")
	s := open(t, srv)
	ctx := context.Background()
	_, err := s.Save(ctx, "big", bytes.Repeat([]byte("x"), 2<<20), 0, time.Minute)
	if !errors.Is(err, memcached.ErrTooLarge) {
		t.Fatalf("Save of 2 MB: err = %v, want ErrTooLarge", err)
	}
	t.Log(err)
	// The connection is still usable afterwards.
	if _, err := s.Save(ctx, "small", []byte("ok"), 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	// A stored session close to the limit can still be touched; the
	// expiry moves even if no stamp fits any more.
	near := bytes.Repeat([]byte("y"), 1<<20-200)
	if _, err := s.Save(ctx, "near", near, 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	for range 40 {
		if err := s.Touch(ctx, "near", time.Minute); err != nil {
			t.Fatalf("Touch near the limit: %v", err)
		}
	}
	r, err := s.Load(ctx, "near")
	if err != nil || !bytes.Equal(r.Data, near) {
		t.Fatalf("Load near the limit: %v", err)
	}
}

func TestTouchKeepsDataAndStampsTime(t *testing.T) {
	srv := testserver.Memcached(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s := open(t, srv, memcached.WithClock(func() time.Time { return now }))
	if _, err := s.Save(ctx, "k", []byte("data"), 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	r0, _ := s.Load(ctx, "k")
	if !r0.Touched.IsZero() {
		t.Fatalf("Touched = %v before any Touch", r0.Touched)
	}
	for i := range 3 {
		now = now.Add(time.Minute)
		if err := s.Touch(ctx, "k", time.Minute); err != nil {
			t.Fatal(err)
		}
		r, err := s.Load(ctx, "k")
		if err != nil || string(r.Data) != "data" || !r.Touched.Equal(now) {
			t.Fatalf("after touch %d: %q touched %v err %v; want %q touched %v", i, r.Data, r.Touched, err, "data", now)
		}
	}
	// A save compacts the stamps away.
	r, _ := s.Load(ctx, "k")
	if _, err := s.Save(ctx, "k", []byte("new"), r.Version, time.Minute); err != nil {
		t.Fatal(err)
	}
	it, err := s.Client().Get("session:k")
	if err != nil || string(it.Value) != "new" {
		t.Fatalf("raw item after save = %q, %v", it.Value, err)
	}
}

func TestCancelledContextSendsNothing(t *testing.T) {
	srv := testserver.Memcached(t)
	s := open(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Touch(ctx, "k", time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("Touch: %v", err)
	}
	if _, err := s.Load(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Load: %v", err)
	}
}

func TestServerWithoutCAS(t *testing.T) {
	srv := testserver.Memcached(t, "-C")
	s := open(t, srv)
	ctx := context.Background()
	if _, err := s.Save(ctx, "k", []byte("x"), 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "k"); !errors.Is(err, memcached.ErrNoCAS) {
		t.Fatalf("Load from a server without CAS: err = %v, want ErrNoCAS", err)
	}
}

func TestManyTouchesAskForCompaction(t *testing.T) {
	srv := testserver.Memcached(t)
	ctx := context.Background()
	s := open(t, srv)
	if _, err := s.Save(ctx, "k", []byte("data"), 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 64; i++ {
		if err := s.Touch(ctx, "k", time.Minute); err != nil {
			t.Fatal(err)
		}
		r, err := s.Load(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if r.Compact != (i >= 64) {
			t.Fatalf("after %d touches Compact = %v", i, r.Compact)
		}
	}
	r, _ := s.Load(ctx, "k")
	if _, err := s.Save(ctx, "k", r.Data, r.Version, time.Minute); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Load(ctx, "k"); r.Compact || string(r.Data) != "data" {
		t.Fatalf("after a save: Compact %v, data %q", r.Compact, r.Data)
	}
}

func TestTooLargeIsAContentError(t *testing.T) {
	if !errors.Is(memcached.ErrTooLarge, sessions.ErrTooLarge) {
		t.Fatal("memcached.ErrTooLarge does not wrap sessions.ErrTooLarge")
	}
}

func TestNamesAreResolvedWhenDialled(t *testing.T) {
	// A name that does not resolve yet does not fail Open (a server started
	// after the app); a request then fails, and a name that resolves works.
	s, err := memcached.Open([]string{"memcached.not-yet-up.invalid:11211"}, memcached.WithTimeout(200*time.Millisecond))
	if err != nil {
		t.Fatalf("Open of a name that does not resolve yet: %v", err)
	}
	if _, err := s.Load(context.Background(), "k"); err == nil || errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Load through an unresolvable name: %v, want a connection error", err)
	}
	srv := testserver.Memcached(t)
	_, port, _ := strings.Cut(srv.Addr, ":")
	byName, err := memcached.Open([]string{"localhost:" + port})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := byName.Save(context.Background(), "k", []byte("v"), 0, time.Minute); err != nil {
		t.Fatalf("Save through localhost: %v", err)
	}
}
