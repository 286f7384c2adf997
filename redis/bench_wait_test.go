package redis_test

import (
	"testing"

	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/redis"
)

// BenchmarkWriteWait is BenchmarkWriteURL with wait=1 against a server
// with one replica: each save waits for the replica's acknowledgement
// (WAIT, in the same round trip as the save).
func BenchmarkWriteWait(b *testing.B) {
	srv := testserver.Redis(b)
	testserver.RedisReplica(b, srv)
	s, err := redis.Open("redis://" + srv.Addr + "?pool_size=64&wait=1")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	benchServe(b, benchEngine(s), "POST", "/write", true)
}

// BenchmarkWriteParallelWait is BenchmarkWriteParallelURL with wait=1.
func BenchmarkWriteParallelWait(b *testing.B) {
	srv := testserver.Redis(b)
	testserver.RedisReplica(b, srv)
	s, err := redis.Open("redis://" + srv.Addr + "?pool_size=64&wait=1")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	benchServeParallel(b, benchEngine(s), "POST", "/write")
}
