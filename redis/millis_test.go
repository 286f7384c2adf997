package redis

import (
	"math"
	"testing"
	"time"
)

// TestMillisRoundsUp checks the TTLs sent to PEXPIRE: a record never
// expires before the TTL the middleware asked for.
func TestMillisRoundsUp(t *testing.T) {
	for _, tc := range []struct {
		ttl  time.Duration
		want string
	}{
		{0, "1"},
		{-time.Second, "1"},
		{time.Nanosecond, "1"},
		{time.Millisecond, "1"},
		{time.Millisecond + time.Nanosecond, "2"},
		{1500 * time.Microsecond, "2"},
		{90*time.Second + 500*time.Millisecond, "90500"},
		{time.Hour - time.Nanosecond, "3600000"},
		{math.MaxInt64, "9223372036855"},
	} {
		if got := millis(tc.ttl); got != tc.want {
			t.Errorf("millis(%v) = %s, want %s", tc.ttl, got, tc.want)
		}
	}
}
