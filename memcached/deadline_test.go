package memcached_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/backends"
	"github.com/sessionware/sessions/internal/testapp"
	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/memcached"
)

// storeCalls are the calls of a Store, on key k but for Delete: a command
// that a frozen server took is carried out when it thaws.
func storeCalls(s *memcached.Store, k string) map[string]func(ctx context.Context) error {
	return map[string]func(ctx context.Context) error{
		"Load": func(ctx context.Context) error { _, err := s.Load(ctx, k); return err },
		"Save": func(ctx context.Context) error { _, err := s.Save(ctx, k, []byte("v"), 12345, time.Minute); return err },
		"Add": func(ctx context.Context) error {
			_, err := s.Save(ctx, k+"-new", []byte("v"), 0, time.Minute)
			return err
		},
		"Touch": func(ctx context.Context) error {
			return s.Touch(ctx, k, time.Minute, time.Now())
		},
		"Delete": func(ctx context.Context) error { return s.Delete(ctx, k+"-gone") },
	}
}

// TestFrozenServerWithDefaults: a hung memcached (SIGSTOP: the kernel still
// accepts connections, nothing answers) costs a request about the default
// timeout (500 ms), well within the middleware's 2 s budget, with the
// store the default URL opens: over HTTP a 503, and each store call an
// error. Thawed, it serves again at once.
func TestFrozenServerWithDefaults(t *testing.T) {
	srv := testserver.Memcached(t)
	b, err := backends.Open("memcached://" + srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	store := b.(*memcached.Store)
	t.Cleanup(func() { _ = store.Close() })
	web := app(t, store)
	web.Expect("POST", "/set/user/alice", 200, "ok")
	k := storeKey(t, web.Browser)

	srv.Freeze()
	const budget, slack = 2 * time.Second, 500 * time.Millisecond
	replay := web.Stranger() // the browser's cookie, kept whatever the answers say
	for _, req := range [][2]string{{"GET", "/get/user"}, {"POST", "/set/user/bob"}, {"POST", "/incr"}, {"POST", "/logout"}} {
		start := time.Now()
		if resp, body := replay.Do(req[0], req[1], testapp.WithCookie("sid", web.Cookie("sid"))); resp.StatusCode != 503 {
			t.Errorf("%s %s = %d %q, want 503", req[0], req[1], resp.StatusCode, body)
		}
		d := time.Since(start)
		if d > budget+slack {
			t.Errorf("%s %s took %v with the server frozen, over the %v budget", req[0], req[1], d, budget)
		}
		t.Logf("%s %s with the server frozen: 503 in %v", req[0], req[1], d.Round(time.Millisecond))
	}
	for name, call := range storeCalls(store, k) {
		ctx, cancel := context.WithTimeout(context.Background(), budget)
		start := time.Now()
		err := call(ctx)
		d := time.Since(start)
		cancel()
		if err == nil || errors.Is(err, sessions.ErrNotFound) || errors.Is(err, sessions.ErrConflict) {
			t.Errorf("%s on a frozen server: %v, want a failure", name, err)
		}
		if d > budget+slack {
			t.Errorf("%s took %v on a frozen server, over the %v budget", name, d, budget)
		}
	}
	srv.Thaw()
	web.Expect("GET", "/get/user", 200, "alice")
	web.Expect("POST", "/set/user/carol", 200, "ok")
	web.Expect("GET", "/get/user", 200, "carol")
}

// TestDeadlineBoundsEveryCall: a context deadline shorter than the client's
// timeout ends each call at the deadline, with an error wrapping
// context.DeadlineExceeded; calls under such a deadline work as usual on
// a server that answers; a context that has ended sends nothing.
func TestDeadlineBoundsEveryCall(t *testing.T) {
	srv := testserver.Memcached(t)
	store := open(t, srv, memcached.WithTimeout(5*time.Second))
	t.Cleanup(func() { _ = store.Close() })
	bg := context.Background()
	if _, err := store.Save(bg, "k", []byte("v"), 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	const deadline = 300 * time.Millisecond

	srv.Freeze()
	for name, call := range storeCalls(store, "k") {
		ctx, cancel := context.WithTimeout(bg, deadline)
		start := time.Now()
		err := call(ctx)
		d := time.Since(start)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s on a frozen server past its deadline: %v, want context.DeadlineExceeded", name, err)
		}
		// The client's timeout (5 s) would end it much later.
		if d > 2*time.Second {
			t.Errorf("%s took %v with a %v deadline", name, d, deadline)
		}
		t.Logf("%s with a %v deadline on a frozen server: failed in %v", name, deadline, d.Round(time.Millisecond))
	}
	srv.Thaw()
	ctx, cancel := context.WithTimeout(bg, deadline)
	defer cancel()
	if r, err := store.Load(ctx, "k"); err != nil || string(r.Data) != "v" {
		t.Fatalf("Load under a short deadline from a server that answers = %q, %v", r.Data, err)
	}
	if err := store.Touch(ctx, "k", time.Minute, time.Now()); err != nil {
		t.Fatalf("Touch under a short deadline: %v", err)
	}
	ended, cancel := context.WithCancel(bg)
	cancel()
	for name, call := range storeCalls(store, "k") {
		if err := call(ended); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v", name, err)
		}
	}
	if r, err := store.Load(bg, "k"); err != nil || string(r.Data) != "v" {
		t.Fatalf("after calls that ended before they began, Load = %q, %v", r.Data, err)
	}
}

// TestEjectionUnderAFrozenServer: of three servers, one frozen costs the
// requests of its sessions the timeout until it is ejected, then nothing;
// within 5 s of the freeze every request works.
func TestEjectionUnderAFrozenServer(t *testing.T) {
	servers, addrs := cluster(t, 3)
	store := openAll(t, addrs)
	web := app(t, store)
	p := servers[2]
	on := usersOn(t, web, addrs, 1)
	u := on[p.Addr][0]
	p.Freeze()
	start := time.Now()
	for i := 0; ; i++ {
		resp, _ := u.b.Do("POST", "/incr")
		if resp.StatusCode == 200 {
			break
		}
		if i > memcached.DefaultEjectAfter {
			t.Fatalf("still failing after %d requests", i+1)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("a request of the frozen server's session worked %v after the freeze, want within 5s", d)
	}
	u.b.Expect("GET", "/get/n", 200, "1") // afresh
	for _, a := range addrs[:2] {
		on[a][0].b.Expect("GET", "/get/n", 200, "1")
	}
	p.Thaw()
}
