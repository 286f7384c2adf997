package memory_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/memory"
	"github.com/sessionware/sessions/storetest"
)

func TestConformance(t *testing.T) {
	clock := storetest.NewClock()
	storetest.Run(t, func(t *testing.T) sessions.Backend {
		s := memory.New(memory.WithClock(clock.Now))
		t.Cleanup(func() { s.Close() })
		return s
	}, storetest.WithClock(clock))
}

func TestJanitorReclaimsAndStops(t *testing.T) {
	before := runtime.NumGoroutine()
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := memory.New(memory.WithCleanupInterval(5*time.Millisecond), memory.WithClock(clock))
	ctx := context.Background()
	for i := range 100 {
		if _, err := s.Save(ctx, fmt.Sprint(i), []byte("x"), 0, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Save(ctx, "long", []byte("x"), 0, time.Hour); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if _, err := s.Load(ctx, "1"); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("an expired entry is visible: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Len() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the janitor left %d entries, want 1", s.Len())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("a second Close failed:", err)
	}
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before New, %d after Close", before, runtime.NumGoroutine())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Still usable after Close.
	if _, err := s.Load(ctx, "long"); err != nil {
		t.Fatal(err)
	}
}

func TestTouchRecordsTheGivenTime(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := memory.New(memory.WithClock(clock), memory.WithCleanupInterval(0))
	ctx := context.Background()
	if err := s.Touch(ctx, "k", time.Minute, now); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Touch of a missing key: %v, want ErrNotFound", err)
	}
	v, err := s.Save(ctx, "k", []byte("x"), 0, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// The middleware's time, hours from the store's clock: Touched is the
	// time given, the expiry counts on the store's clock.
	at := now.Add(5*time.Hour + 123*time.Nanosecond)
	if err := s.Touch(ctx, "k", 2*time.Minute, at); err != nil {
		t.Fatal(err)
	}
	r, err := s.Load(ctx, "k")
	if err != nil || !r.Touched.Equal(at) || r.Version != v || string(r.Data) != "x" {
		t.Fatalf("Load after Touch = %+v, %v; want Touched %v, version %d", r, err, at, v)
	}
	mu.Lock()
	now = now.Add(2*time.Minute - time.Nanosecond)
	mu.Unlock()
	if _, err := s.Load(ctx, "k"); err != nil {
		t.Fatalf("Load just before the touched expiry: %v", err)
	}
	mu.Lock()
	now = now.Add(time.Nanosecond)
	mu.Unlock()
	if _, err := s.Load(ctx, "k"); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Load at the touched expiry: %v, want ErrNotFound", err)
	}
}
