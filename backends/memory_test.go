package backends_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sessionware/sessions/backends"
	"github.com/sessionware/sessions/memory"
)

// openMemory opens url, which must give a *memory.Store, closed when the
// test ends.
func openMemory(t *testing.T, url string) *memory.Store {
	t.Helper()
	b, err := backends.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := b.(*memory.Store)
	if !ok {
		t.Fatalf("%s gave a %T, want a *memory.Store", url, b)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestMemoryMaxEntriesIsApplied saves more sessions than each URL's bound:
// the store stays within it (max_entries, or memory.DefaultMaxEntries),
// and holds them all with max_entries=0.
func TestMemoryMaxEntriesIsApplied(t *testing.T) {
	const saves = memory.DefaultMaxEntries + 10_000
	for _, tc := range []struct {
		url   string
		bound int
	}{
		{"memory://?max_entries=64&cleanup=0", 64},
		{"memory://?max_entries=5000&cleanup=0", 5000},
		{"memory://?cleanup=0", memory.DefaultMaxEntries},
		{"memory://?max_entries=0&cleanup=0", saves},
	} {
		s := openMemory(t, tc.url)
		for i := range saves {
			if _, err := s.Save(t.Context(), fmt.Sprint("k", i), nil, 0, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		if n := s.Len(); n > tc.bound || n < tc.bound*9/10 {
			t.Errorf("%s: %d sessions after %d saves, want at most %d, and nearly", tc.url, n, saves, tc.bound)
		}
	}
}

// TestMemoryCleanupIsApplied runs the store on synctest's fake clock:
// expired sessions are reclaimed every cleanup interval, never with
// cleanup=0.
func TestMemoryCleanupIsApplied(t *testing.T) {
	for _, tc := range []struct {
		url     string
		after   time.Duration // the fake time waited after the sessions expired
		wantLen int
	}{
		{"memory://?cleanup=10s", 10 * time.Second, 0},
		{"memory://?cleanup=10m", 9 * time.Minute, 3}, // not yet
		{"memory://?cleanup=10m", 10 * time.Minute, 0},
		{"memory://?cleanup=0", 24 * time.Hour, 3},
	} {
		synctest.Test(t, func(t *testing.T) {
			s := openMemory(t, tc.url)
			for i := range 3 {
				if _, err := s.Save(t.Context(), fmt.Sprint("k", i), []byte("x"), 0, time.Millisecond); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(tc.after) // the fake clock: instant
			synctest.Wait()      // the janitor has run, if it was due
			if n := s.Len(); n != tc.wantLen {
				t.Errorf("%s: %d expired sessions left %v later, want %d", tc.url, n, tc.after, tc.wantLen)
			}
		})
	}
}
