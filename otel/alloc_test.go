package sessionsotel_test

import (
	"context"
	"testing"
	"time"

	"github.com/sessionware/sessions"
	sessionsotel "github.com/sessionware/sessions/otel"
)

// TestRecordingAllocatesNothing: with the OpenTelemetry SDK, recording a
// store call or an event whose attributes the SDK has seen before
// allocates nothing: the attribute sets and options are made once, in New.
func TestRecordingAllocatesNothing(t *testing.T) {
	m := newMeter(t, sessionsotel.WithStore("memory"))
	ctx := context.Background()
	for name, record := range map[string]func(){
		"load ok":         func() { m.obs.StoreCall(ctx, "load", time.Microsecond, nil) },
		"save conflict":   func() { m.obs.StoreCall(ctx, "save", time.Microsecond, sessions.ErrConflict) },
		"touch not_found": func() { m.obs.StoreCall(ctx, "touch", time.Microsecond, sessions.ErrNotFound) },
		"delete error":    func() { m.obs.StoreCall(ctx, "delete", time.Microsecond, context.Canceled) },
		"created":         func() { m.obs.Event(ctx, sessions.EventCreated) },
		"save_error":      func() { m.obs.Event(ctx, sessions.EventSaveError) },
	} {
		record() // the SDK's first measurement of an attribute set allocates its aggregator
		if n := testing.AllocsPerRun(1000, record); n != 0 {
			t.Errorf("%s: %v allocations per measurement, want 0", name, n)
		}
	}
}
