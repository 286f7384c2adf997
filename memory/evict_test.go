package memory

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sessionware/sessions"
)

// keysIn returns n keys that s keeps in its first shard.
func keysIn(s *Store, n int) []string {
	var keys []string
	for i := 0; len(keys) < n; i++ {
		if k := fmt.Sprint("k", i); s.shard(k) == &s.shards[0] {
			keys = append(keys, k)
		}
	}
	return keys
}

// TestTheLeastRecentlyLoadedGoesBackToProbation: in a shard of ten, nine
// may be protected. Ten sessions loaded in turn are all in use, so none
// goes back; once the window has passed, loading the first again sends
// back the second (the least recently loaded), and the next new session
// evicts it, and nothing else.
func TestTheLeastRecentlyLoadedGoesBackToProbation(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	s := New(WithMaxEntries(10*shardCount), WithClock(func() time.Time { return now }), WithCleanupInterval(0), WithLogger(nil))
	ctx := context.Background()
	keys := keysIn(s, 11)
	for _, k := range keys[:10] {
		if _, err := s.Save(ctx, k, nil, 0, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range keys[:10] {
		if _, err := s.Load(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	sh := &s.shards[0]
	if sh.protected.len != 10 || sh.probation.len != 0 {
		t.Fatalf("%d protected, %d in probation; want 10 and 0: all ten are in use", sh.protected.len, sh.probation.len)
	}
	now = now.Add(DefaultInUse)
	if _, err := s.Load(ctx, keys[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save(ctx, keys[10], nil, 0, time.Hour); err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		_, err := s.Load(ctx, k)
		if gone := errors.Is(err, sessions.ErrNotFound); gone != (i == 1) || (err != nil && !gone) {
			t.Errorf("%s (saved %d): %v; want only the second one evicted", k, i, err)
		}
	}
	if s.Evictions() != 1 {
		t.Fatalf("Evictions() = %d, want 1", s.Evictions())
	}
}
