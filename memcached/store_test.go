package memcached_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/memcached"
	"github.com/sessionware/sessions/storetest"
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

// The conformance runs wait for memcached's one-second clock to expire a
// record: in parallel, they wait once.
func TestConformance(t *testing.T) {
	t.Parallel()
	srv := testserver.Memcached(t)
	storetest.Run(t, func(t *testing.T) sessions.Backend { return open(t, srv) })
}

func TestConformanceWithNew(t *testing.T) {
	t.Parallel()
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
	if err := s.Touch(ctx, "sixty-days", ttl, time.Now()); err != nil {
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
	if _, err := a.Load(ctx, "bad"); !errors.Is(err, sessions.ErrCorrupt) {
		t.Fatalf("Load of a foreign item: %v, want sessions.ErrCorrupt", err)
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

// TestTooLarge: a server whose item size limit is below the store's
// maximum record size refuses a session over its limit itself, with the
// same ErrTooLarge.
func TestTooLarge(t *testing.T) {
	srv := testserver.Memcached(t, "-I", "1m")
	s := open(t, srv, memcached.WithMaxRecordSize(4<<20))
	ctx := context.Background()
	_, err := s.Save(ctx, "big", bytes.Repeat([]byte("x"), 2<<20), 0, time.Minute)
	if !errors.Is(err, memcached.ErrTooLarge) || !strings.Contains(err.Error(), "server's item size limit") {
		t.Fatalf("Save of 2 MB: err = %v, want ErrTooLarge from the server", err)
	}
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
		if err := s.Touch(ctx, "near", time.Minute, time.Now()); err != nil {
			t.Fatalf("Touch near the limit: %v", err)
		}
	}
	r, err := s.Load(ctx, "near")
	if err != nil || !bytes.Equal(r.Data, near) {
		t.Fatalf("Load near the limit: %v", err)
	}
	// A refused append drops the stamps that filled the item, so the last
	// touch is still recorded.
	at := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	if err := s.Touch(ctx, "near", time.Minute, at); err != nil {
		t.Fatal(err)
	}
	if r, err := s.Load(ctx, "near"); err != nil || !bytes.Equal(r.Data, near) || !r.Touched.Equal(at) {
		t.Fatalf("Load after a touch near the limit: Touched %v (want %v), %v", r.Touched, at, err)
	}
}

func TestTouchKeepsDataAndStampsTime(t *testing.T) {
	srv := testserver.Memcached(t)
	ctx := context.Background()
	s := open(t, srv)
	if _, err := s.Save(ctx, "k", []byte("data"), 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	r0, _ := s.Load(ctx, "k")
	if !r0.Touched.IsZero() {
		t.Fatalf("Touched = %v before any Touch", r0.Touched)
	}
	// The middleware's time, far from the real one: the store records it
	// as given (to the millisecond), not its own clock.
	at := time.Date(2031, 11, 25, 12, 0, 0, 7_000_000, time.UTC)
	for i := range 3 {
		at = at.Add(time.Minute)
		if err := s.Touch(ctx, "k", time.Minute, at); err != nil {
			t.Fatal(err)
		}
		r, err := s.Load(ctx, "k")
		if err != nil || string(r.Data) != "data" || !r.Touched.Equal(at) {
			t.Fatalf("after touch %d: %q touched %v err %v; want %q touched %v", i, r.Data, r.Touched, err, "data", at)
		}
	}
	if err := s.Touch(ctx, "missing", time.Minute, at); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Touch of a missing key: %v, want ErrNotFound", err)
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
	if err := s.Touch(ctx, "k", time.Minute, time.Now()); !errors.Is(err, context.Canceled) {
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

// TestTouchCompactsStamps touches a session that is only ever read, far
// more often than the bound on stamps: the item stays bounded, the data
// intact, the last touch recorded, and the rewrite is one gets and one cas.
func TestTouchCompactsStamps(t *testing.T) {
	srv := testserver.Memcached(t)
	ctx := context.Background()
	s := open(t, srv)
	rec := &recorder{}
	s.Client().DialContext = rec.dial
	data := []byte("session data")
	if _, err := s.Save(ctx, "k", data, 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	const bound = 64 // stamps
	longest, rewrites := 0, 0
	for i := 1; i <= 3*bound+5; i++ {
		at = at.Add(time.Minute)
		rec.take()
		if err := s.Touch(ctx, "k", time.Minute, at); err != nil {
			t.Fatal(err)
		}
		verbs := rec.take()
		it, err := memcache.New(srv.Addr).Get("session:k")
		if err != nil {
			t.Fatal(err)
		}
		stamps := (len(it.Value) - len(data)) / 8
		longest = max(longest, stamps)
		if stamps == 1 && i > 1 {
			rewrites++
			if !slices.Equal(verbs, []string{"gat", "gets", "cas"}) {
				t.Fatalf("touch %d rewrote the item with %q, want gat, gets, cas", i, verbs)
			}
		} else if !slices.Equal(verbs, []string{"gat", "append"}) {
			t.Fatalf("touch %d sent %q, want gat, append", i, verbs)
		}
		r, err := s.Load(ctx, "k")
		if err != nil || !bytes.Equal(r.Data, data) || !r.Touched.Equal(at) {
			t.Fatalf("after touch %d: %q touched %v, %v; want %q touched %v", i, r.Data, r.Touched, err, data, at)
		}
	}
	if longest > bound || rewrites != 3 {
		t.Fatalf("at most %d stamps with %d rewrites, want at most %d stamps, rewritten 3 times", longest, rewrites, bound)
	}
}

// TestCompactionLosesToASave makes a save land between the compaction's
// gets and its cas: the cas fails, Touch succeeds, and the save stands.
func TestCompactionLosesToASave(t *testing.T) {
	srv := testserver.Memcached(t)
	ctx := context.Background()
	s, other := open(t, srv), open(t, srv)
	rec := &recorder{}
	s.Client().DialContext = rec.dial
	if _, err := s.Save(ctx, "k", []byte("old"), 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	for range 64 {
		if err := s.Touch(ctx, "k", time.Minute, at); err != nil {
			t.Fatal(err)
		}
	}
	var saveErr error
	rec.before = func(verb string) {
		if verb != "cas" {
			return
		}
		rec.before = nil
		r, err := other.Load(ctx, "k")
		if err == nil {
			_, err = other.Save(ctx, "k", []byte("new"), r.Version, time.Minute)
		}
		saveErr = err
	}
	if err := s.Touch(ctx, "k", time.Minute, at); err != nil {
		t.Fatalf("Touch that lost its compaction to a save: %v", err)
	}
	if saveErr != nil {
		t.Fatalf("the concurrent save: %v", saveErr)
	}
	it, err := memcache.New(srv.Addr).Get("session:k")
	if err != nil || string(it.Value) != "new" {
		t.Fatalf("raw item after the race = %q, %v; want the save's data alone", it.Value, err)
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
