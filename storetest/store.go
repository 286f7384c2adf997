package storetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionware/sessions"
)

// expirySlack is how long after its TTL a record may still be loaded: a
// store rounds TTLs up to its resolution (memcached: whole seconds, plus
// one for its one-second clock).
const expirySlack = 3 * time.Second

// runStore checks the Store contract, call by call.
func (s *suite) runStore(t *testing.T) {
	t.Run("RoundTrip", s.testRoundTrip)
	t.Run("NotFound", s.testNotFound)
	t.Run("AddOnlyWhenAbsent", s.testAddOnlyWhenAbsent)
	t.Run("CompareAndSwap", s.testCompareAndSwap)
	t.Run("CompareAndSwapOfMissingKey", s.testCompareAndSwapOfMissingKey)
	t.Run("VersionsNeverRepeat", s.testVersionsNeverRepeat)
	t.Run("Delete", s.testDelete)
	t.Run("Expiry", s.testExpiry)
	t.Run("LongTTL", s.testLongTTL)
	if s.toucher {
		t.Run("Touch", s.testTouch)
	}
	t.Run("StoresACopy", s.testStoresACopy)
	t.Run("LargeValue", s.testLargeValue)
	t.Run("ConcurrentCompareAndSwap", s.testConcurrentCompareAndSwap)
	t.Run("CancelledContext", s.testCancelledContext)
}

var keySeq atomic.Uint64

// key returns a key unique to this run, shaped like the middleware's keys
// (43 characters at most).
func key(t *testing.T) string {
	k := fmt.Sprintf("%s-%d-%d", strings.ReplaceAll(t.Name(), "/", "."), time.Now().UnixNano(), keySeq.Add(1))
	if len(k) > 43 {
		k = k[len(k)-43:]
	}
	return k
}

func (s *suite) testRoundTrip(t *testing.T) {
	st, k := s.store(t), key(t)
	v, err := st.Save(t.Context(), k, []byte("hello"), 0, time.Minute)
	if err != nil {
		t.Fatalf("Save: %v", err)
	}
	r := mustLoad(t, st, k, "hello")
	if r.Version == 0 {
		t.Fatal("Load reports version 0")
	}
	if v != 0 && v != r.Version {
		t.Fatalf("Save returned version %d, Load reports %d", v, r.Version)
	}
	if !r.Touched.IsZero() {
		t.Fatalf("a record never touched reports Touched = %v", r.Touched)
	}
}

func (s *suite) testNotFound(t *testing.T) {
	if _, err := s.store(t).Load(t.Context(), key(t)); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Load of a missing key: err = %v, want ErrNotFound", err)
	}
}

func (s *suite) testAddOnlyWhenAbsent(t *testing.T) {
	st, k := s.store(t), key(t)
	mustSave(t, st, k, "first", 0, time.Minute)
	if _, err := st.Save(t.Context(), k, []byte("second"), 0, time.Minute); !errors.Is(err, sessions.ErrConflict) {
		t.Fatalf("second Save with version 0: err = %v, want ErrConflict", err)
	}
	mustLoad(t, st, k, "first")
}

func (s *suite) testCompareAndSwap(t *testing.T) {
	st, k := s.store(t), key(t)
	mustSave(t, st, k, "v1", 0, time.Minute)
	r1 := mustLoad(t, st, k, "v1")
	v2, err := st.Save(t.Context(), k, []byte("v2"), r1.Version, time.Minute)
	if err != nil {
		t.Fatalf("Save with the current version: %v", err)
	}
	if _, err := st.Save(t.Context(), k, []byte("stale"), r1.Version, time.Minute); !errors.Is(err, sessions.ErrConflict) {
		t.Fatalf("Save with a stale version: err = %v, want ErrConflict", err)
	}
	r2 := mustLoad(t, st, k, "v2")
	if r2.Version == r1.Version {
		t.Fatalf("version did not change on save: %d", r2.Version)
	}
	if v2 != 0 && v2 != r2.Version {
		t.Fatalf("Save returned version %d, Load reports %d", v2, r2.Version)
	}
}

func (s *suite) testCompareAndSwapOfMissingKey(t *testing.T) {
	st, k := s.store(t), key(t)
	if _, err := st.Save(t.Context(), k, []byte("x"), 12345, time.Minute); !errors.Is(err, sessions.ErrConflict) {
		t.Fatalf("Save with a version of a missing key: err = %v, want ErrConflict", err)
	}
	if _, err := st.Load(t.Context(), k); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("a failed compare-and-swap stored something: %v", err)
	}
}

// testVersionsNeverRepeat: a key saved, replaced, deleted and added again
// never gets a version it had before, so a request that holds an old
// version cannot overwrite a newer record.
func (s *suite) testVersionsNeverRepeat(t *testing.T) {
	st, k := s.store(t), key(t)
	seen := map[uint64]bool{}
	note := func(r sessions.Record) {
		t.Helper()
		if seen[r.Version] {
			t.Fatalf("version %d of %q came back", r.Version, k)
		}
		seen[r.Version] = true
	}
	for i := range 4 {
		mustSave(t, st, k, fmt.Sprint("added", i), 0, time.Minute)
		r := mustLoad(t, st, k, fmt.Sprint("added", i))
		note(r)
		mustSave(t, st, k, fmt.Sprint("replaced", i), r.Version, time.Minute)
		note(mustLoad(t, st, k, fmt.Sprint("replaced", i)))
		if err := st.Delete(t.Context(), k); err != nil {
			t.Fatal(err)
		}
	}
	mustSave(t, st, k, "last", 0, time.Minute)
	last := mustLoad(t, st, k, "last")
	note(last)
	for v := range seen {
		if v == last.Version {
			continue
		}
		if _, err := st.Save(t.Context(), k, []byte("stale"), v, time.Minute); !errors.Is(err, sessions.ErrConflict) {
			t.Fatalf("Save with an old version: err = %v, want ErrConflict", err)
		}
	}
	mustLoad(t, st, k, "last")
}

func (s *suite) testDelete(t *testing.T) {
	st, k, other := s.store(t), key(t), key(t)
	if err := st.Delete(t.Context(), k); err != nil {
		t.Fatalf("Delete of a missing key: %v, want nil", err)
	}
	mustSave(t, st, k, "x", 0, time.Minute)
	mustSave(t, st, other, "y", 0, time.Minute)
	if err := st.Delete(t.Context(), k); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := st.Load(t.Context(), k); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Load after Delete: err = %v, want ErrNotFound", err)
	}
	mustLoad(t, st, other, "y")
}

// testExpiry: a record saved or touched with a short TTL is gone after it,
// never before; a Touch with a longer TTL keeps a record past its first.
// On a real clock this is the suite's one wait, in parallel with the other
// tests; should the machine be too slow for the short TTL (a record gone
// before the test could touch it), it starts again with a longer one.
func (s *suite) testExpiry(t *testing.T) {
	if s.clock == nil {
		t.Parallel()
	}
	for ttl := 200 * time.Millisecond; !s.expiry(t, ttl); ttl *= 4 {
		if ttl > 10*time.Second {
			t.Fatal("records expired before the test could use them, even with a TTL of", ttl)
		}
		t.Logf("the machine was too slow for a TTL of %v: again with a longer one", ttl)
	}
}

// expiry runs testExpiry's checks with ttl as the short TTL. It reports
// false when the real time between two calls passed ttl, which makes the
// checks meaningless.
func (s *suite) expiry(t *testing.T, ttl time.Duration) bool {
	ctx := t.Context()
	st := s.store(t)
	tc, _ := st.(sessions.Toucher)
	shortened, kept, plain, long := key(t), key(t), key(t), key(t)
	start := time.Now()
	tooSlow := func(err error) bool {
		return s.clock == nil && errors.Is(err, sessions.ErrNotFound) && time.Since(start) >= ttl
	}
	if tc != nil {
		// Touch sets the TTL, shorter as well as longer.
		mustSave(t, st, shortened, "shortened", 0, time.Hour)
		if err := tc.Touch(ctx, shortened, ttl, s.now()); err != nil {
			t.Fatalf("Touch: %v", err)
		}
		mustSave(t, st, kept, "kept", 0, ttl)
		if err := tc.Touch(ctx, kept, time.Hour, s.now()); tooSlow(err) {
			return false
		} else if err != nil {
			t.Fatalf("Touch of a record saved with a TTL of %v, at once: %v", ttl, err)
		}
	}
	// Saved last: when it is gone, the short TTLs of the others have
	// passed too.
	saved := time.Now()
	mustSave(t, st, plain, "plain", 0, ttl)
	r, err := st.Load(ctx, plain)
	if tooSlow(err) {
		return false
	} else if err != nil {
		t.Fatalf("Load of a record saved with a TTL of %v, at once: %v", ttl, err)
	}
	mustSave(t, st, long, "long", 0, time.Hour)

	s.waitGone(t, st, plain, saved, ttl)
	if tc != nil {
		if _, err := st.Load(ctx, shortened); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("a record touched with a TTL of %v is still there after it: err = %v", ttl, err)
		}
		if r := mustLoad(t, st, kept, "kept"); r.Touched.IsZero() {
			t.Fatal("a touched record reports no Touched time")
		}
		if err := tc.Touch(ctx, plain, time.Hour, s.now()); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("Touch of an expired record: err = %v, want ErrNotFound", err)
		}
	}
	mustLoad(t, st, long, "long")
	if _, err := st.Save(ctx, plain, []byte("stale"), r.Version, time.Minute); !errors.Is(err, sessions.ErrConflict) {
		t.Fatalf("Save with the version of an expired record: err = %v, want ErrConflict", err)
	}
	mustSave(t, st, plain, "again", 0, time.Minute)
	mustLoad(t, st, plain, "again")
	return true
}

// waitGone waits until the record under k, saved at saved with ttl, is
// gone, and fails t if it goes before ttl or long after. With a fake clock
// it advances the clock instead, and the record must go exactly at ttl.
func (s *suite) waitGone(t *testing.T, st sessions.Store, k string, saved time.Time, ttl time.Duration) {
	t.Helper()
	if s.clock != nil {
		s.clock.Advance(ttl - time.Millisecond)
		mustLoad(t, st, k, "plain")
		s.clock.Advance(time.Millisecond)
		if _, err := st.Load(t.Context(), k); !errors.Is(err, sessions.ErrNotFound) {
			t.Fatalf("Load at the TTL: err = %v, want ErrNotFound", err)
		}
		return
	}
	// Poll the store's clock: there is nothing else to wait on.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := st.Load(t.Context(), k)
		elapsed := time.Since(saved)
		switch {
		case errors.Is(err, sessions.ErrNotFound):
			if elapsed < ttl {
				t.Fatalf("a record saved with a TTL of %v was gone after %v", ttl, elapsed)
			}
			return
		case err != nil:
			t.Fatalf("Load: %v", err)
		case elapsed > ttl+expirySlack:
			t.Fatalf("a record saved with a TTL of %v is still there after %v", ttl, elapsed)
		}
		<-tick.C
	}
}

func (s *suite) testLongTTL(t *testing.T) {
	// Beyond memcached's 30-day relative limit.
	st, k := s.store(t), key(t)
	mustSave(t, st, k, "long", 0, 60*24*time.Hour)
	mustLoad(t, st, k, "long")
}

// testTouch: Touch records the time it is given, which Load reports as
// Touched until the next Save, and leaves a version that Save accepts.
func (s *suite) testTouch(t *testing.T) {
	ctx := t.Context()
	st, k := s.store(t), key(t)
	tc := st.(sessions.Toucher)
	if err := tc.Touch(ctx, k, time.Minute, s.now()); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Touch of a missing key: err = %v, want ErrNotFound", err)
	}
	if _, err := st.Load(ctx, k); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Touch of a missing key stored something: %v", err)
	}
	mustSave(t, st, k, "kept", 0, time.Minute)
	before := mustLoad(t, st, k, "kept")
	// Not the store's own time: the middleware's, to the nanosecond.
	at := s.now().Add(-37*time.Minute - 123456789)
	for _, at := range []time.Time{at, at.Add(90 * time.Second)} {
		if err := tc.Touch(ctx, k, time.Hour, at); err != nil {
			t.Fatalf("Touch: %v", err)
		}
		r := mustLoad(t, st, k, "kept")
		if d := r.Touched.Sub(at); r.Touched.IsZero() || d <= -time.Millisecond || d >= time.Millisecond {
			t.Fatalf("after Touch at %v, Load reports Touched = %v", at, r.Touched)
		}
	}
	r := mustLoad(t, st, k, "kept")
	if r.Version != before.Version {
		// A store may change the version to touch; then the old one is stale.
		if _, err := st.Save(ctx, k, []byte("stale"), before.Version, time.Minute); !errors.Is(err, sessions.ErrConflict) {
			t.Fatalf("Save with the version from before a Touch that changed it: err = %v, want ErrConflict", err)
		}
	}
	mustSave(t, st, k, "after touch", r.Version, time.Minute)
	if r := mustLoad(t, st, k, "after touch"); !r.Touched.IsZero() {
		t.Fatalf("a record saved again reports Touched = %v, want zero", r.Touched)
	}
}

func (s *suite) testStoresACopy(t *testing.T) {
	st, k := s.store(t), key(t)
	data := []byte("original")
	if _, err := st.Save(t.Context(), k, data, 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	copy(data, "mutated!")
	mustLoad(t, st, k, "original")
}

func (s *suite) testLargeValue(t *testing.T) {
	st, k := s.store(t), key(t)
	big := bytes.Repeat([]byte("0123456789abcdef"), 256<<10/16)
	if _, err := st.Save(t.Context(), k, big, 0, time.Minute); err != nil {
		t.Fatalf("Save of 256 KiB: %v", err)
	}
	r, err := st.Load(t.Context(), k)
	if err != nil || !bytes.Equal(r.Data, big) {
		t.Fatalf("Load of 256 KiB: err %v, equal %v", err, bytes.Equal(r.Data, big))
	}
}

func (s *suite) testConcurrentCompareAndSwap(t *testing.T) {
	st, k := s.store(t), key(t)
	if _, err := st.Save(t.Context(), k, binary.AppendUvarint(nil, 0), 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() { errs <- increment(t.Context(), st, k) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	r, err := st.Load(t.Context(), k)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := binary.Uvarint(r.Data); got != n {
		t.Fatalf("after %d concurrent compare-and-swap increments the counter is %d", n, got)
	}
}

// increment adds one to the counter under k with compare-and-swap retries.
func increment(ctx context.Context, st sessions.Store, k string) error {
	for range 1000 {
		r, err := st.Load(ctx, k)
		if err != nil {
			return err
		}
		n, _ := binary.Uvarint(r.Data)
		_, err = st.Save(ctx, k, binary.AppendUvarint(nil, n+1), r.Version, time.Minute)
		if !errors.Is(err, sessions.ErrConflict) {
			return err
		}
	}
	return errors.New("increment: too many conflicts")
}

func (s *suite) testCancelledContext(t *testing.T) {
	st, k := s.store(t), key(t)
	cctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := st.Save(cctx, k, []byte("x"), 0, time.Minute); err == nil {
		t.Fatal("Save with a cancelled context succeeded")
	}
	if _, err := st.Load(t.Context(), k); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Save with a cancelled context stored something: %v", err)
	}
	if _, err := st.Load(cctx, k); err == nil || errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Load with a cancelled context: err = %v, want the context's error", err)
	}
	if err := st.Delete(cctx, k); err == nil {
		t.Fatal("Delete with a cancelled context succeeded")
	}
	if tc, ok := st.(sessions.Toucher); ok {
		mustSave(t, st, k, "x", 0, time.Minute)
		if err := tc.Touch(cctx, k, time.Hour, s.now()); err == nil {
			t.Fatal("Touch with a cancelled context succeeded")
		}
	}
}

func mustSave(t *testing.T, st sessions.Store, k, data string, version uint64, ttl time.Duration) {
	t.Helper()
	if _, err := st.Save(t.Context(), k, []byte(data), version, ttl); err != nil {
		t.Fatalf("Save(%q, version %d): %v", k, version, err)
	}
}

func mustLoad(t *testing.T, st sessions.Store, k, want string) sessions.Record {
	t.Helper()
	r, err := st.Load(t.Context(), k)
	if err != nil {
		t.Fatalf("Load(%q): %v", k, err)
	}
	if string(r.Data) != want {
		t.Fatalf("Load(%q) = %q, want %q", k, r.Data, want)
	}
	return r
}
