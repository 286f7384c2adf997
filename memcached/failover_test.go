package memcached_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/memcached"
)

// cluster starts n memcached servers.
func cluster(t *testing.T, n int) ([]*testserver.Server, []string) {
	t.Helper()
	var servers []*testserver.Server
	var addrs []string
	for range n {
		s := testserver.Memcached(t)
		servers, addrs = append(servers, s), append(addrs, s.Addr)
	}
	return servers, addrs
}

// openAll opens a store on addrs, closed when the test ends.
func openAll(t *testing.T, addrs []string, opts ...memcached.Option) *memcached.Store {
	t.Helper()
	s, err := memcached.Open(addrs, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// homeOf returns the server among addrs that the store key k wins, by
// RendezvousSelector: the servers' order when all are up.
func homeOf(t *testing.T, addrs []string, k string) string {
	t.Helper()
	sel, err := memcached.NewRendezvousSelector(addrs...)
	if err != nil {
		t.Fatal(err)
	}
	a, err := sel.PickServer("session:" + k)
	if err != nil {
		t.Fatal(err)
	}
	return a.String()
}

// keysOn returns n store keys that the server at addr wins among addrs.
func keysOn(t *testing.T, addrs []string, addr, name string, n int) []string {
	t.Helper()
	var keys []string
	for i := 0; len(keys) < n; i++ {
		if k := fmt.Sprintf("%s-%d", name, i); homeOf(t, addrs, k) == addr {
			keys = append(keys, k)
		}
	}
	return keys
}

// without returns addrs without a.
func without(addrs []string, a string) []string {
	return slices.DeleteFunc(slices.Clone(addrs), func(b string) bool { return b == a })
}

// held reports whether the server at addr holds the store key k.
func held(t *testing.T, addr, k string) bool {
	t.Helper()
	_, err := memcache.New(addr).Get("session:" + k)
	if err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		t.Fatalf("raw get on %s: %v", addr, err)
	}
	return err == nil
}

// waitFor polls cond until it holds, failing the test after within.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
	}
}

func TestPoolPlacesKeysAsRendezvousSelector(t *testing.T) {
	_, addrs := cluster(t, 3)
	s := openAll(t, addrs)
	for i := range 300 {
		k := fmt.Sprint("k", i)
		if _, err := s.Save(t.Context(), k, []byte("v"), 0, time.Minute); err != nil {
			t.Fatal(err)
		}
		if home := homeOf(t, addrs, k); !held(t, home, k) {
			t.Fatalf("%s is not on %s, the server RendezvousSelector picks", k, home)
		}
	}
}

// TestDeadServerIsEjected: a server killed fails DefaultEjectAfter commands
// in a row, then is out: its keys go to the next server in their order,
// with the fallback TTL; the other servers' keys never fail.
func TestDeadServerIsEjected(t *testing.T) {
	servers, addrs := cluster(t, 3)
	s := openAll(t, addrs)
	ctx := context.Background()
	dead := servers[1]
	onDead := keysOn(t, addrs, dead.Addr, "dead", 2*memcached.DefaultEjectAfter)
	var onLive []string
	for _, a := range without(addrs, dead.Addr) {
		onLive = append(onLive, keysOn(t, addrs, a, "live", 3)...)
	}
	for _, k := range append(slices.Clone(onDead), onLive...) {
		if _, err := s.Save(ctx, k, []byte(k), 0, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	loaded, err := s.Load(ctx, onDead[1]) // a request that loads before the crash and saves after
	if err != nil {
		t.Fatal(err)
	}
	dead.Stop()
	failed := 0
	for _, k := range onDead {
		_, err := s.Load(ctx, k)
		if errors.Is(err, sessions.ErrNotFound) {
			break
		}
		if err == nil {
			t.Fatalf("Load %s from a dead server succeeded", k)
		}
		failed++
		for _, l := range onLive {
			if r, err := s.Load(ctx, l); err != nil || string(r.Data) != l {
				t.Fatalf("Load %s from a live server = %q, %v", l, r.Data, err)
			}
		}
	}
	if failed != memcached.DefaultEjectAfter {
		t.Errorf("%d loads failed before the dead server was ejected, want %d", failed, memcached.DefaultEjectAfter)
	}
	if got := s.Ejected(); !slices.Equal(got, []string{dead.Addr}) {
		t.Fatalf("Ejected() = %q, want %q", got, []string{dead.Addr})
	}
	// A version loaded from the dead server matches nothing on the
	// fallback: a conflict, and nothing written there.
	if _, err := s.Save(ctx, onDead[1], []byte("late"), loaded.Version, time.Hour); !errors.Is(err, sessions.ErrConflict) {
		t.Fatalf("Save at a version loaded from the dead server: %v, want ErrConflict", err)
	}
	if _, err := s.Load(ctx, onDead[1]); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Load after that Save: %v, want ErrNotFound", err)
	}
	// Its keys now live on their fallback, for at most the fallback TTL.
	k := onDead[0]
	if _, err := s.Save(ctx, k, []byte("anew"), 0, time.Hour); err != nil {
		t.Fatalf("Save of a dead server's key: %v", err)
	}
	if r, err := s.Load(ctx, k); err != nil || string(r.Data) != "anew" {
		t.Fatalf("Load = %q, %v", r.Data, err)
	}
	fallback := homeOf(t, without(addrs, dead.Addr), k)
	if ttl := rawTTL(t, fallback, "session:"+k); ttl > memcached.DefaultFallbackTTL+2*time.Second || ttl < memcached.DefaultFallbackTTL-time.Minute {
		t.Errorf("on its fallback the record lives %v, want the fallback TTL (%v)", ttl, memcached.DefaultFallbackTTL)
	}
	if err := s.Touch(ctx, k, time.Hour, time.Now()); err != nil {
		t.Fatal(err)
	}
	if ttl := rawTTL(t, fallback, "session:"+k); ttl > memcached.DefaultFallbackTTL+2*time.Second {
		t.Errorf("touched on its fallback, the record lives %v, want at most %v", ttl, memcached.DefaultFallbackTTL)
	}
	// A live server's keys keep their TTL.
	if ttl := rawTTL(t, homeOf(t, addrs, onLive[0]), "session:"+onLive[0]); ttl < 59*time.Minute {
		t.Errorf("a live server's record lives %v, want about an hour", ttl)
	}
}

// TestEjectedServerReturns: a server that kept its data (frozen, as in a
// partition) comes back when a probe succeeds; the keys this store used
// while it was out are deleted from it and from their fallback before
// they go home, so that nothing older, and nothing destroyed meanwhile,
// comes back; keys not used meanwhile are found as they were.
func TestEjectedServerReturns(t *testing.T) {
	servers, addrs := cluster(t, 3)
	s := openAll(t, addrs, memcached.WithRetryInterval(time.Hour))
	ctx := context.Background()
	p := servers[0]
	keys := keysOn(t, addrs, p.Addr, "p", 4)
	used, untouched, created, prober := keys[0], keys[1], keys[2], keys[3]
	for _, k := range []string{used, untouched, prober} {
		if _, err := s.Save(ctx, k, []byte("before"), 0, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	p.Freeze()
	for range memcached.DefaultEjectAfter {
		if _, err := s.Load(ctx, prober); err == nil || errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("Load from a frozen server: %v", err)
		}
	}
	if got := s.Ejected(); !slices.Equal(got, []string{p.Addr}) {
		t.Fatalf("Ejected() = %q, want %q", got, []string{p.Addr})
	}
	// While it is out: used is not found (and this store remembers it),
	// created is written to its fallback.
	if _, err := s.Load(ctx, used); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Load of a frozen server's key: %v, want ErrNotFound", err)
	}
	if _, err := s.Save(ctx, created, []byte("meanwhile"), 0, time.Hour); err != nil {
		t.Fatal(err)
	}
	fallback := homeOf(t, addrs[1:], created)
	if !held(t, fallback, created) {
		t.Fatalf("%s is not on its fallback %s", created, fallback)
	}
	p.Thaw()
	time.Sleep(100 * time.Millisecond)
	if got := s.Ejected(); len(got) != 1 {
		t.Fatalf("back before any probe (retry interval 1h): Ejected() = %q", got)
	}
	memcached.Probe(s)
	waitFor(t, 5*time.Second, "back after a probe", func() bool { return len(s.Ejected()) == 0 })
	for _, tc := range []struct {
		k, why string
		want   string // "" for not found
	}{
		{used, "a key used while its server was out is deleted from it on its return", ""},
		{prober, "a key whose commands only failed (it never went elsewhere) is found as it was", "before"},
		{created, "a key written to the fallback meanwhile is deleted there", ""},
		{untouched, "a key not used meanwhile is found as it was", "before"},
	} {
		r, err := s.Load(ctx, tc.k)
		switch {
		case tc.want == "" && !errors.Is(err, sessions.ErrNotFound):
			t.Errorf("%s: Load = %q, %v; want ErrNotFound", tc.why, r.Data, err)
		case tc.want != "" && (err != nil || string(r.Data) != tc.want):
			t.Errorf("%s: Load = %q, %v; want %q", tc.why, r.Data, err, tc.want)
		}
	}
	if held(t, fallback, created) {
		t.Errorf("the copy of %s on the fallback %s outlived the return", created, fallback)
	}
}

// TestRememberedKeysAreBounded: an ejected server's keys are remembered up
// to a bound; past it, the keys not remembered fail rather than go to
// their fallback unremembered (they could bring back a destroyed session
// on the server's return), while those remembered still work.
func TestRememberedKeysAreBounded(t *testing.T) {
	servers, addrs := cluster(t, 3)
	s := openAll(t, addrs, memcached.WithRetryInterval(time.Hour))
	memcached.SetMaxMoved(s, 3)
	ctx := context.Background()
	dead := servers[2]
	keys := keysOn(t, addrs, dead.Addr, "d", 3+memcached.DefaultEjectAfter+1)
	dead.Stop()
	probe, keys := keys[:memcached.DefaultEjectAfter], keys[memcached.DefaultEjectAfter:]
	for _, k := range probe[:memcached.DefaultEjectAfter-1] {
		if _, err := s.Load(ctx, k); err == nil || errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("Load from a dead server: %v", err)
		}
	}
	// The last failure ejects it; the probe keys are not remembered (they
	// never went elsewhere), the next three are.
	if _, err := s.Load(ctx, probe[len(probe)-1]); err == nil || errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Load from a dead server: %v", err)
	}
	for _, k := range keys[:3] {
		if _, err := s.Save(ctx, k, []byte("v"), 0, time.Hour); err != nil {
			t.Fatalf("Save %s with the bound not reached: %v", k, err)
		}
	}
	_, err := s.Load(ctx, keys[3])
	if err == nil || errors.Is(err, sessions.ErrNotFound) || !strings.Contains(err.Error(), "the most this store remembers") {
		t.Fatalf("Load of a fourth key past the bound: %v", err)
	}
	for _, k := range keys[:3] {
		if r, err := s.Load(ctx, k); err != nil || string(r.Data) != "v" {
			t.Fatalf("Load %s remembered = %q, %v", k, r.Data, err)
		}
	}
}

// TestOneServerIsNeverEjected: with nowhere to send its keys, a single
// server stays in: requests fail while it is down and work as soon as it
// is back, without waiting for a probe.
func TestOneServerIsNeverEjected(t *testing.T) {
	srv := testserver.Memcached(t)
	s := openAll(t, []string{srv.Addr}, memcached.WithRetryInterval(time.Hour))
	ctx := context.Background()
	srv.Stop()
	for range 2 * memcached.DefaultEjectAfter {
		if _, err := s.Load(ctx, "k"); err == nil || errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("Load from a dead server: %v", err)
		}
	}
	if got := s.Ejected(); len(got) != 0 {
		t.Fatalf("Ejected() = %q", got)
	}
	srv.Start()
	if _, err := s.Load(ctx, "k"); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Load once the server is back: %v", err)
	}
}

// TestEjectionOff: WithEjectAfter(0) keeps a dead server in: its keys fail
// until it is back.
func TestEjectionOff(t *testing.T) {
	servers, addrs := cluster(t, 2)
	s := openAll(t, addrs, memcached.WithEjectAfter(0))
	ctx := context.Background()
	k := keysOn(t, addrs, servers[0].Addr, "k", 1)[0]
	servers[0].Stop()
	for range 2 * memcached.DefaultEjectAfter {
		if _, err := s.Load(ctx, k); err == nil || errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("Load from a dead server: %v", err)
		}
	}
	if got := s.Ejected(); len(got) != 0 {
		t.Fatalf("Ejected() = %q with ejection off", got)
	}
}

// TestFailuresMustComeInARow: an answer between failures starts the count
// again; only DefaultEjectAfter failures in a row eject.
func TestFailuresMustComeInARow(t *testing.T) {
	srv, other := testserver.Memcached(t), testserver.Memcached(t)
	px := newProxy(t, srv.Addr)
	addrs := []string{px.addr, other.Addr}
	s := openAll(t, addrs, memcached.WithRetryInterval(time.Hour))
	ctx := context.Background()
	k := keysOn(t, addrs, px.addr, "k", 1)[0]
	fail := func(n int) {
		t.Helper()
		px.set(refuse)
		for range n {
			if _, err := s.Load(ctx, k); err == nil || errors.Is(err, sessions.ErrNotFound) {
				t.Fatalf("Load through a refusing proxy: %v", err)
			}
		}
	}
	fail(memcached.DefaultEjectAfter - 1)
	px.set(forward)
	if _, err := s.Load(ctx, k); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Load through a forwarding proxy: %v", err)
	}
	fail(memcached.DefaultEjectAfter - 1)
	if got := s.Ejected(); len(got) != 0 {
		t.Fatalf("ejected after %d failures, an answer, and %d failures: %q", memcached.DefaultEjectAfter-1, memcached.DefaultEjectAfter-1, got)
	}
	fail(1)
	if got := s.Ejected(); !slices.Equal(got, []string{px.addr}) {
		t.Fatalf("Ejected() = %q after %d failures in a row", got, memcached.DefaultEjectAfter)
	}
}

// TestReturningServerKeepsRememberedKeysAway holds a returning server's
// first deletion: meanwhile a key remembered from the outage still goes to
// its fallback (the server still holds its old record), and a key not
// remembered is home already.
func TestReturningServerKeepsRememberedKeysAway(t *testing.T) {
	servers, addrs := cluster(t, 3)
	s := openAll(t, addrs, memcached.WithRetryInterval(time.Hour))
	rec := &recorder{}
	s.Client().DialContext = rec.dial
	ctx := context.Background()
	p := servers[0]
	keys := keysOn(t, addrs, p.Addr, "r", 3)
	remembered, unseen, prober := keys[0], keys[1], keys[2]
	for _, k := range keys {
		if _, err := s.Save(ctx, k, []byte("before"), 0, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	p.Freeze()
	for range memcached.DefaultEjectAfter {
		if _, err := s.Load(ctx, prober); err == nil || errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("Load from a frozen server: %v", err)
		}
	}
	if _, err := s.Load(ctx, remembered); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Load while ejected: %v", err)
	}
	p.Thaw()
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	rec.mu.Lock()
	rec.before = func(verb string) {
		if verb == "delete" {
			once.Do(func() { close(entered); <-release })
		}
	}
	rec.mu.Unlock()
	memcached.Probe(s)
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("no deletion within 5s of the probe")
	}
	if _, err := s.Load(ctx, remembered); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("a remembered key before its deletion from the returning server: %v, want ErrNotFound (from its fallback)", err)
	}
	if r, err := s.Load(ctx, unseen); err != nil || string(r.Data) != "before" {
		t.Errorf("a key not remembered while its server returns = %q, %v; want it from home", r.Data, err)
	}
	if got := s.Ejected(); !slices.Equal(got, []string{p.Addr}) {
		t.Errorf("Ejected() while returning = %q", got)
	}
	close(release)
	waitFor(t, 5*time.Second, "back", func() bool { return len(s.Ejected()) == 0 })
	if _, err := s.Load(ctx, remembered); !errors.Is(err, sessions.ErrNotFound) {
		t.Errorf("a remembered key after the return: %v, want ErrNotFound", err)
	}
}

// TestAbandonedCommandsCountTowardsEjection: commands that the caller's
// deadline cut short still count for their server when they time out, so
// a hung server is ejected even when every request's budget ends before
// the client's timeout.
func TestAbandonedCommandsCountTowardsEjection(t *testing.T) {
	servers, addrs := cluster(t, 2)
	s := openAll(t, addrs, memcached.WithTimeout(time.Second), memcached.WithRetryInterval(time.Hour))
	p := servers[0]
	k := keysOn(t, addrs, p.Addr, "a", 1)[0]
	p.Freeze()
	defer p.Thaw()
	for range memcached.DefaultEjectAfter {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := s.Load(ctx, k)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Load past its deadline: %v", err)
		}
	}
	// Each command times out a second after it was sent, and counts then.
	waitFor(t, 5*time.Second, "ejected", func() bool { return len(s.Ejected()) == 1 })
}

// TestDeadlineMissesDoNotEject: a slow server that answers after the
// caller's deadline is not failing: the calls fail, the server stays in.
func TestDeadlineMissesDoNotEject(t *testing.T) {
	srv, other := testserver.Memcached(t), testserver.Memcached(t)
	// Every answer comes 2 s late: the calls below all end before the first
	// answer, which then resets nothing that a miscount could have built.
	px := newDelayedProxy(t, srv.Addr, 2*time.Second)
	addrs := []string{px.addr, other.Addr}
	s := openAll(t, addrs, memcached.WithTimeout(5*time.Second), memcached.WithRetryInterval(time.Hour))
	k := keysOn(t, addrs, px.addr, "slow", 1)[0]
	for range 2 * memcached.DefaultEjectAfter {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		_, err := s.Load(ctx, k)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Load past its deadline: %v", err)
		}
	}
	if got := s.Ejected(); len(got) != 0 {
		t.Fatalf("a slow server was ejected for its callers' deadlines: %q", got)
	}
	if _, err := s.Load(context.Background(), k); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Load without a deadline from a slow server: %v", err)
	}
}

// TestFallbackReadsRenewTheTTL: a record read from a fallback server gets
// the fallback TTL again, so that a session only read during an outage
// lives on; its CAS unique stays (the middleware's save after the read is
// no conflict).
func TestFallbackReadsRenewTheTTL(t *testing.T) {
	servers, addrs := cluster(t, 2)
	const fallbackTTL = 10 * time.Second
	s := openAll(t, addrs, memcached.WithFallbackTTL(fallbackTTL), memcached.WithRetryInterval(time.Hour))
	ctx := context.Background()
	dead := servers[0]
	dead.Stop()
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	k := keysOn(t, addrs, dead.Addr, "k", 1)[0]
	if _, err := s.Save(ctx, k, []byte("v"), 0, time.Hour); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond) // memcached counts whole seconds
	if ttl := rawTTL(t, addrs[1], "session:"+k); ttl > fallbackTTL {
		t.Fatalf("2 s after the save the record has %v left, want less than %v", ttl, fallbackTTL)
	}
	r, err := s.Load(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if ttl := rawTTL(t, addrs[1], "session:"+k); ttl < fallbackTTL {
		t.Errorf("after a read from the fallback the record has %v left, want the fallback TTL (%v) again", ttl, fallbackTTL)
	}
	if _, err := s.Save(ctx, k, []byte("w"), r.Version, time.Hour); err != nil {
		t.Errorf("Save at the version read before the renewal: %v", err)
	}
}
