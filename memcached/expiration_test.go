package memcached

import (
	"math"
	"testing"
	"time"
)

func TestExpiration(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		ttl  time.Duration
		want int32
	}{
		{0, 1},
		{-time.Second, 1},
		{time.Millisecond, 2},
		{time.Second, 2},
		{1500 * time.Millisecond, 3},
		{30*24*time.Hour - time.Second, maxRelative},           // the largest relative value
		{30 * 24 * time.Hour, 1_800_000_000 + maxRelative + 1}, // absolute from here on
		{60 * 24 * time.Hour, 1_800_000_000 + 60*24*3600 + 1},
		{100 * 365 * 24 * time.Hour, math.MaxInt32}, // past 2038: clamped
		{math.MaxInt64, math.MaxInt32},              // "never": no overflow into the past
		{math.MaxInt64 - 500*time.Millisecond, math.MaxInt32},
	} {
		if got := expiration(tc.ttl, now); got != tc.want {
			t.Errorf("expiration(%v) = %d, want %d", tc.ttl, got, tc.want)
		}
	}
}
