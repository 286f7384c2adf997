package redis_test

import (
	"testing"

	"github.com/sessionware/sessions/redis"
)

// Pool options that go-redis acts on when it makes the client are bounded
// at Open: a negative or huge pool_size panicked or allocated gigabytes
// there, and min_idle_conns dialled.
func TestOpenBoundsPoolOptions(t *testing.T) {
	for _, q := range []string{"pool_size=-1", "pool_size=0", "pool_size=4294967297", "pool_size=2147483647", "max_idle_conns=-1",
		"max_active_conns=100000", "min_idle_conns=1", "pool_size=ten"} {
		if s, err := redis.Open("redis://127.0.0.1:1/0?" + q); err == nil {
			s.Close()
			t.Errorf("Open with %s: no error", q)
		}
	}
	s, err := redis.Open("redis://127.0.0.1:1/0?pool_size=64&max_idle_conns=8&min_idle_conns=0&check=false")
	if err != nil {
		t.Fatalf("Open with sane pool options: %v", err)
	}
	s.Close()
}
