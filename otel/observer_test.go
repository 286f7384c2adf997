package sessionsotel_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/cookie"
	"github.com/sessionware/sessions/memory"
	sessionsotel "github.com/sessionware/sessions/otel"
	"github.com/sessionware/sessions/redis"
)

// events are the event counters' names.
var events = []string{"sessions.created", "sessions.renewed", "sessions.destroyed", "sessions.conflicts", "sessions.load.errors", "sessions.save.errors"}

// wantEvents fails the test unless each event counter holds want's value
// (0 for those want does not name), with the attributes attrs.
func wantEvents(t *testing.T, ms metrics, want map[string]int64, attrs ...attribute.KeyValue) {
	t.Helper()
	for _, name := range events {
		if got := ms.count(t, name, attrs...); got != want[name] {
			t.Errorf("%s = %d, want %d", name, got, want[name])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

func newMemory(t *testing.T, opts ...memory.Option) *memory.Store {
	s := memory.New(opts...)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestEveryStoreCallAndEventIsRecorded runs a session's life through the
// middleware on the memory store: created, read, its idle deadline
// slid, renewed at login, destroyed at logout, then an old ID and an ID
// the store never held. Every store call is in the histogram under its
// operation and outcome, as many as a tally kept by the store itself, and
// each event is counted once.
func TestEveryStoreCallAndEventIsRecorded(t *testing.T) {
	m := newMeter(t, sessionsotel.WithStore("memory"))
	clk := newClock()
	store := newCounting(newMemory(t, memory.WithClock(clk.Now)))
	a := newApp(t, store, sessions.WithObserver(m.obs), sessions.WithClock(clk.Now), sessions.WithIdleTimeout(30*time.Minute))
	c := newClient(t)

	c.expect(a, "POST", "/set/a/1", 200, "") // a new session: saved
	c.expect(a, "GET", "/get/a", 200, "1")   // loaded
	clk.add(2 * time.Minute)                 // past the refresh interval (a minute for a 30-minute idle timeout)
	c.expect(a, "GET", "/get/a", 200, "1")   // loaded, touched
	old := c.cookie(a)
	c.expect(a, "POST", "/login", 200, "")  // loaded; saved under a new key, the old one swapped for a tombstone
	c.expect(a, "POST", "/logout", 200, "") // loaded; swapped for a tombstone
	withCookie(t, a, old).expect(a, "GET", "/get/a", 200, "<nil>")

	other := newApp(t, newMemory(t)) // an ID that a's store never held
	oc := newClient(t)
	oc.expect(other, "POST", "/set/a/1", 200, "")
	withCookie(t, a, oc.cookie(other)).expect(a, "GET", "/get/a", 200, "<nil>")

	ms := m.collect(t)
	want := map[string]uint64{"load ok": 5, "load not_found": 1, "save ok": 4, "touch ok": 1}
	wantCalls(t, store.tally(), want, "the store's own tally")
	wantCalls(t, ms.calls(t, "memory"), want, "the histogram")
	wantEvents(t, ms, map[string]int64{"sessions.created": 1, "sessions.renewed": 1, "sessions.destroyed": 1},
		attribute.String("sessions.store.name", "memory"))
}

// TestConflictsAreCountedAndRetried runs two middlewares on one memory
// store, as two processes would (each has its own turns, so their commits
// of one session race for real): a request loads the session in one and
// is held while the other commits; when it commits, its compare-and-swap
// loses, is counted, and is retried after a reload, and the update lands.
// Then the same with a login (Renew), whose swap of the old record for a
// tombstone loses, and a logout, whose swap for a tombstone loses: each is
// counted and retried.
func TestConflictsAreCountedAndRetried(t *testing.T) {
	m := newMeter(t) // no store name: the attribute is left out
	store := newCounting(newMemory(t))
	a1 := newApp(t, store, sessions.WithObserver(m.obs))
	a2 := newApp(t, store, sessions.WithObserver(m.obs))
	c := newClient(t)
	c.expect(a1, "POST", "/incr", 200, "") // created: n = 1
	id := c.cookie(a1)

	held := withCookie(t, a1, id).hold(a1, "POST", "/held/incr") // loaded n = 1 and incremented it
	c.expect(a2, "POST", "/incr", 200, "")                       // n = 2 in the store
	if code := held.finish(t, a1); code != 200 {
		t.Fatalf("the held request answered %d", code)
	}
	c.expect(a2, "GET", "/get/n", 200, "3") // the held request's update was replayed, not lost

	ms := m.collect(t)
	want := map[string]uint64{"load ok": 4, "save ok": 3, "save conflict": 1}
	wantCalls(t, store.tally(), want, "the store's own tally after the update")
	wantCalls(t, ms.calls(t, ""), want, "the histogram after the update")
	wantEvents(t, ms, map[string]int64{"sessions.created": 1, "sessions.conflicts": 1})

	// A login held in a1 while a2 commits: it adds the record under its
	// new ID, its swap of the old record for a "moved" tombstone loses,
	// so it deletes the new record, reloads, and does it again.
	a1.gate = newGate()
	login := withCookie(t, a1, id)
	held = login.hold(a1, "POST", "/held/login") // loaded n = 3
	c.expect(a2, "POST", "/incr", 200, "")       // n = 4 in the store
	if code := held.finish(t, a1); code != 200 {
		t.Fatalf("the held login answered %d", code)
	}
	newID := login.cookie(a1)
	if newID == id {
		t.Fatal("the login kept its ID")
	}
	withCookie(t, a2, newID).expect(a2, "GET", "/get/n", 200, "4")

	ms = m.collect(t)
	// The login: load; add (new key), swap (conflict), delete (new key);
	// reload; add, swap. The incr: load, save. The read: load.
	want = map[string]uint64{"load ok": 4 + 4, "save ok": 3 + 4, "save conflict": 1 + 1, "delete ok": 1}
	wantCalls(t, store.tally(), want, "the store's own tally after the login")
	wantCalls(t, ms.calls(t, ""), want, "the histogram after the login")
	wantEvents(t, ms, map[string]int64{"sessions.created": 1, "sessions.renewed": 1, "sessions.conflicts": 2})
	id = newID

	a1.gate = newGate()
	held = withCookie(t, a1, id).hold(a1, "POST", "/held/logout") // loaded n = 4, destroys it
	withCookie(t, a2, id).expect(a2, "POST", "/incr", 200, "")    // n = 5 in the store
	if code := held.finish(t, a1); code != 200 {
		t.Fatalf("the held logout answered %d", code)
	}
	withCookie(t, a2, id).expect(a2, "GET", "/get/n", 200, "<nil>") // the logout won

	ms = m.collect(t)
	// The logout: load; its swap conflicts; it reloads and swaps again.
	// The incr in between: load, save. The last read: load.
	want = map[string]uint64{"load ok": 8 + 4, "save ok": 7 + 2, "save conflict": 2 + 1, "delete ok": 1}
	wantCalls(t, store.tally(), want, "the store's own tally after the logout")
	wantCalls(t, ms.calls(t, ""), want, "the histogram after the logout")
	wantEvents(t, ms, map[string]int64{"sessions.created": 1, "sessions.renewed": 1, "sessions.destroyed": 1, "sessions.conflicts": 3})
}

// TestRedis runs the middleware on a real redis-server that the test
// starts, and kills: a commit after the server went away is a save error
// (one store call with outcome error), and a load while it is away is a
// load error; the requests get 503.
func TestRedis(t *testing.T) {
	srv := startRedis(t)
	store, err := redis.Open("redis://" + srv.addr + "?max_retries=0&dialer_retries=1&dial_timeout=500ms")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	m := newMeter(t, sessionsotel.WithStore("redis"))
	counted := newCounting(store)
	a := newApp(t, counted, sessions.WithObserver(m.obs))
	c := newClient(t)

	c.expect(a, "POST", "/incr", 200, "")
	c.expect(a, "GET", "/get/n", 200, "1")
	c.expect(a, "POST", "/login", 200, "")
	c.expect(a, "GET", "/get/user", 200, "alice")
	ms := m.collect(t)
	want := map[string]uint64{"load ok": 3, "save ok": 3}
	wantCalls(t, counted.tally(), want, "the store's own tally")
	wantCalls(t, ms.calls(t, "redis"), want, "the histogram")
	store_ := attribute.String("sessions.store.name", "redis")
	wantEvents(t, ms, map[string]int64{"sessions.created": 1, "sessions.renewed": 1}, store_)

	held := c.hold(a, "POST", "/held/incr") // loaded while Redis was up
	srv.stop()
	if code := held.finish(t, a); code != 503 {
		t.Fatalf("a commit with Redis gone answered %d, want 503", code)
	}
	c.expect(a, "GET", "/get/n", 503, "")

	ms = m.collect(t)
	want = map[string]uint64{"load ok": 4, "save ok": 3, "save error": 1, "load error": 1}
	wantCalls(t, counted.tally(), want, "the store's own tally with Redis gone")
	wantCalls(t, ms.calls(t, "redis"), want, "the histogram with Redis gone")
	wantEvents(t, ms, map[string]int64{"sessions.created": 1, "sessions.renewed": 1, "sessions.load.errors": 1, "sessions.save.errors": 1}, store_)
}

// TestCookieStoreCountsEventsOnly: the cookie backend has no store calls
// to time, but its sessions are created and destroyed all the same.
func TestCookieStoreCountsEventsOnly(t *testing.T) {
	m := newMeter(t, sessionsotel.WithStore("cookie"))
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	store, err := cookie.New(key)
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t, store, sessions.WithObserver(m.obs))
	c := newClient(t)
	c.expect(a, "POST", "/set/a/1", 200, "")
	c.expect(a, "POST", "/login", 200, "")
	c.expect(a, "GET", "/get/user", 200, "alice")
	c.expect(a, "POST", "/logout", 200, "")
	ms := m.collect(t)
	wantCalls(t, ms.calls(t, "cookie"), map[string]uint64{}, "the histogram")
	wantEvents(t, ms, map[string]int64{"sessions.created": 1, "sessions.renewed": 1, "sessions.destroyed": 1},
		attribute.String("sessions.store.name", "cookie"))
}

// TestOutcomes: the outcome of a store call is read from its error, also
// wrapped: ErrNotFound and ErrConflict are answers of their own, anything
// else is an error; an operation this package does not know is recorded
// under its own name.
func TestOutcomes(t *testing.T) {
	m := newMeter(t)
	ctx := context.Background()
	for _, call := range []struct {
		op  string
		err error
	}{
		{"load", nil},
		{"load", sessions.ErrNotFound},
		{"load", &sessions.StoreError{Op: "load", Err: sessions.ErrNotFound}},
		{"load", sessions.ErrCorrupt},
		{"save", sessions.ErrConflict},
		{"save", errors.Join(errors.New("lost"), sessions.ErrConflict)},
		{"save", context.DeadlineExceeded},
		{"touch", sessions.ErrNotFound},
		{"delete", nil},
		{"scan", nil},
	} {
		m.obs.StoreCall(ctx, call.op, time.Millisecond, call.err)
	}
	wantCalls(t, m.collect(t).calls(t, ""), map[string]uint64{
		"load ok": 1, "load not_found": 2, "load error": 1,
		"save conflict": 2, "save error": 1,
		"touch not_found": 1, "delete ok": 1, "scan ok": 1,
	}, "direct calls")
}

// TestHistogramRecordsSeconds: a call's duration goes in as seconds, into
// the bucket that holds it, with the bounds docs/observability.md lists.
func TestHistogramRecordsSeconds(t *testing.T) {
	m := newMeter(t)
	m.obs.StoreCall(context.Background(), "load", 3*time.Millisecond, nil)
	h := m.collect(t)["sessions.store.duration"].Data.(metricdata.Histogram[float64])
	if len(h.DataPoints) != 1 {
		t.Fatalf("%d data points", len(h.DataPoints))
	}
	dp := h.DataPoints[0]
	bounds := []float64{0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}
	if !slices.Equal(dp.Bounds, bounds) {
		t.Fatalf("bounds %v, want %v", dp.Bounds, bounds)
	}
	if dp.Sum != 0.003 || dp.BucketCounts[8] != 1 { // (0.0025, 0.005]
		t.Fatalf("sum %v, buckets %v: want 0.003 in the ninth", dp.Sum, dp.BucketCounts)
	}
}

// TestNoopAndGlobalProviders: New works with a no-op MeterProvider and,
// given nil, with the global one.
func TestNoopAndGlobalProviders(t *testing.T) {
	for _, mp := range []any{noop.NewMeterProvider(), nil} {
		var obs *sessionsotel.Observer
		var err error
		if mp == nil {
			obs, err = sessionsotel.New(nil)
		} else {
			obs, err = sessionsotel.New(mp.(noop.MeterProvider))
		}
		if err != nil {
			t.Fatal(err)
		}
		a := newApp(t, newMemory(t), sessions.WithObserver(obs))
		c := newClient(t)
		c.expect(a, "POST", "/incr", 200, "")
		c.expect(a, "GET", "/get/n", 200, "1")
	}
}
