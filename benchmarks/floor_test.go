package benchmarks

import (
	"context"
	"runtime"
	"strconv"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/sessionware/sessions/benchmarks/harness"
)

// The floors: the raw client round trips a session request needs, with
// the same clients and servers as the backends, and a value the size of
// the small session. A read needs one (gets / HMGET), a write two (gets
// then cas / HMGET then EVALSHA).

var floorValue = make([]byte, 120)

// floorOp times op and reports its round trips per iteration, counted
// like the backends'.
func floorOp(b *testing.B, d *harness.Dialer, op func()) {
	b.ReportAllocs()
	rt0 := d.RoundTrips.Load()
	for b.Loop() {
		op()
	}
	b.ReportMetric(float64(d.RoundTrips.Load()-rt0)/float64(b.N), "rt/op")
}

func BenchmarkFloor(b *testing.B) {
	b.Run("client=gomemcache", func(b *testing.B) {
		// The same client settings and counting dialer as the backends.
		d := &harness.Dialer{}
		c := harness.MemcacheClient(env, d)
		defer c.Close()
		key := "floor:mc"
		if err := c.Set(&memcache.Item{Key: key, Value: floorValue, Expiration: 3600}); err != nil {
			b.Fatal(err)
		}
		b.Run("op=get", func(b *testing.B) {
			floorOp(b, d, func() {
				if _, err := c.Get(key); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run("op=set", func(b *testing.B) {
			floorOp(b, d, func() {
				if err := c.Set(&memcache.Item{Key: key, Value: floorValue, Expiration: 3600}); err != nil {
					b.Fatal(err)
				}
			})
		})
		// A cas needs the CAS unique of a gets: get-cas is the pair a
		// write costs; cas alone is get-cas minus get.
		b.Run("op=get-cas", func(b *testing.B) {
			floorOp(b, d, func() {
				it, err := c.Get(key)
				if err != nil {
					b.Fatal(err)
				}
				it.Value = floorValue
				if err := c.CompareAndSwap(it); err != nil {
					b.Fatal(err)
				}
			})
		})
	})
	b.Run("client=rueidis", benchRueidisFloor)
	b.Run("client=goredis", func(b *testing.B) {
		ctx := context.Background()
		d := &harness.Dialer{}
		c := harness.GoredisClient(env, d)
		defer c.Close()
		key := "floor:rd"
		if err := c.HSet(ctx, key, "d", floorValue, "v", "1").Err(); err != nil {
			b.Fatal(err)
		}
		hmget := func() {
			if err := c.HMGet(ctx, key, "d", "v", "t").Err(); err != nil {
				b.Fatal(err)
			}
		}
		version := uint64(1)
		evalsha := func() {
			next := version + 1
			if err := floorScript.Run(ctx, c, []string{key}, strconv.FormatUint(version, 10), strconv.FormatUint(next, 10), floorValue, "86400000").Err(); err != nil {
				b.Fatal(err)
			}
			version = next
		}
		evalsha() // loads the script
		b.Run("op=hmget", func(b *testing.B) { floorOp(b, d, hmget) })
		b.Run("op=parallel-hmget", func(b *testing.B) { floorParallel(b, d, hmget) })
		// go-redis's own (experimental) autopipeliner, for comparison with
		// rueidis's pipelining.
		b.Run("op=parallel-hmget-autopipeline", func(b *testing.B) {
			ap, err := c.AutoPipeline()
			if err != nil {
				b.Fatal(err)
			}
			floorParallel(b, d, func() {
				if err := ap.HMGet(ctx, key, "d", "v", "t").Err(); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run("op=evalsha", func(b *testing.B) { floorOp(b, d, evalsha) })
		b.Run("op=hmget-evalsha", func(b *testing.B) {
			floorOp(b, d, func() {
				hmget()
				evalsha()
			})
		})
	})
}

// floorParallel times op from 64 goroutines at once (b.SetParallelism
// over GOMAXPROCS), as 64 concurrent requests would run it: ns/op is the
// wall time over b.N, the inverse of the throughput.
func floorParallel(b *testing.B, d *harness.Dialer, op func()) {
	b.ReportAllocs()
	b.SetParallelism(max(1, harness.HotClients/runtime.GOMAXPROCS(0)))
	rt0 := d.RoundTrips.Load()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			op()
		}
	})
	b.ReportMetric(float64(d.RoundTrips.Load()-rt0)/float64(b.N), "rt/op")
}

// The rueidis floor: the same commands on the prototype's client
// (auto-pipelining; no client-side cache).
func benchRueidisFloor(b *testing.B) {
	ctx := context.Background()
	d := &harness.Dialer{}
	c, err := harness.RueidisClient(env, d, false)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	key := "floor:ru"
	if err := c.Do(ctx, c.B().Hset().Key(key).FieldValue().FieldValue("d", string(floorValue)).FieldValue("v", "1").Build()).Error(); err != nil {
		b.Fatal(err)
	}
	hmget := func() {
		if err := c.Do(ctx, c.B().Hmget().Key(key).Field("d", "v", "t").Build()).Error(); err != nil {
			b.Fatal(err)
		}
	}
	version := uint64(1)
	evalsha := func() {
		next := version + 1
		if err := floorScriptRueidis.Exec(ctx, c, []string{key}, []string{strconv.FormatUint(version, 10), strconv.FormatUint(next, 10), string(floorValue), "86400000"}).Error(); err != nil {
			b.Fatal(err)
		}
		version = next
	}
	evalsha() // loads the script
	b.Run("op=hmget", func(b *testing.B) { floorOp(b, d, hmget) })
	b.Run("op=parallel-hmget", func(b *testing.B) { floorParallel(b, d, hmget) })
	b.Run("op=evalsha", func(b *testing.B) { floorOp(b, d, evalsha) })
	b.Run("op=hmget-evalsha", func(b *testing.B) {
		floorOp(b, d, func() {
			hmget()
			evalsha()
		})
	})
}

var floorScriptRueidis = rueidis.NewLuaScript(floorScriptSource)

// floorScript is a compare-and-swap save of the same shape as a session
// store's: compare a version field, write data and version, set the TTL.
var floorScript = goredis.NewScript(floorScriptSource)

const floorScriptSource = `
local v = redis.call('HGET', KEYS[1], 'v')
if v ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'd', ARGV[3], 'v', ARGV[2])
redis.call('HDEL', KEYS[1], 't')
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
`
