package redis_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testapp"
	"github.com/sessionware/sessions/internal/testserver"
)

// cartRoutes adds POST /add/:item, which adds item to the session's cart
// with Update, and GET /cart, which lists the cart's items, sorted and
// separated by commas.
func cartRoutes(r *gin.Engine) {
	r.POST("/add/:item", func(c *gin.Context) {
		item := c.Param("item")
		sessions.Default(c).Update("cart", func(old any) any {
			cart, _ := old.([]string)
			return append(slices.Clip(cart), item)
		})
		c.String(200, "ok")
	})
	r.GET("/cart", func(c *gin.Context) {
		cart, _ := sessions.Get[[]string](sessions.Default(c), "cart")
		slices.Sort(cart)
		c.String(200, "%s", strings.Join(cart, ","))
	})
}

// failoverRun is what a load of cart adds saw across a failover.
type failoverRun struct {
	acked, failed int // adds answered 200, and otherwise
	lost          int // acknowledged adds missing from the final carts
	lostSessions  int // sessions that lost at least one
	window        time.Duration
}

// cartLoadThroughFailover serves carts from a store on a master with one
// replica, watched by one Sentinel, opened by redis+sentinel:// with the
// options given, and runs workers browsers that each add items to their
// own cart as fast as they are answered. Once every worker has had 20
// adds acknowledged, the test asks the Sentinel for a failover (SENTINEL
// FAILOVER: the replica is promoted, the old master made its replica),
// and lets the load run until the Sentinel names the new master, the old
// master has resynchronised from it, and every worker has had 20 more
// adds acknowledged after that. Each worker makes 5,000 requests at most.
// Then every cart is read back through the app, from the new master, and
// compared with the adds that were acknowledged.
func cartLoadThroughFailover(t *testing.T, workers, replicas int, options string) failoverRun {
	// Its own directory: when the failover makes it a replica, it writes
	// the data it receives to disk.
	master := testserver.Redis(t, "--dir", t.TempDir())
	var rs []*testserver.Server
	for range replicas {
		rs = append(rs, testserver.RedisReplica(t, master))
	}
	sentinel := testserver.RedisSentinel(t, "mymaster", master, rs)
	store := openURL(t, "redis+sentinel://"+sentinel.Addr+"/0?master_name=mymaster"+options)
	a := newApp(t, store, cartRoutes)

	const warm, maxRequests = 20, 5000
	var (
		acked, failed atomic.Int64
		ackedItems    = make([][]string, workers)
		browsers      = make([]*testapp.Browser, workers)
		phase         atomic.Int32 // 0: warming; 1: failover asked; 2: after the switch
		counts        = make([]atomic.Int64, workers*3)
		stop          = make(chan struct{})
		wg            sync.WaitGroup
	)
	count := func(w int, p int32) *atomic.Int64 { return &counts[w*3+int(p)] }
	for w := range workers {
		browsers[w] = a.NewBrowser()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range maxRequests {
				select {
				case <-stop:
					return
				default:
				}
				p := phase.Load()
				item := fmt.Sprintf("w%d-%d", w, n)
				resp, _, err := browsers[w].Send("POST", "/add/"+item)
				if err == nil && resp.StatusCode == http.StatusOK {
					acked.Add(1)
					ackedItems[w] = append(ackedItems[w], item)
					count(w, p).Add(1)
				} else {
					failed.Add(1)
				}
			}
		}()
	}
	everyWorker := func(p int32, n int64) string {
		for w := range workers {
			if got := count(w, p).Load(); got < n {
				return fmt.Sprintf("worker %d has %d adds acknowledged in phase %d", w, got, p)
			}
		}
		return ""
	}
	defer func() { close(stop); wg.Wait() }()
	waitUntil(t, "every worker warm", 30*time.Second, func() string { return everyWorker(0, warm) })

	sc := newAdmin(t, sentinel.Addr)
	ctx := context.Background()
	start := time.Now()
	phase.Store(1)
	if err := sc.Do(ctx, "SENTINEL", "FAILOVER", "mymaster").Err(); err != nil {
		t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	var promoted string
	waitUntil(t, "the Sentinel names a replica", 30*time.Second, func() string {
		got, err := sc.Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster").StringSlice()
		if err != nil || len(got) != 2 || net.JoinHostPort(got[0], got[1]) == master.Addr {
			return fmt.Sprintf("the master is %v (%v)", got, err)
		}
		promoted = net.JoinHostPort(got[0], got[1])
		return ""
	})
	phase.Store(2)
	t.Logf("the Sentinel names the new master %v after SENTINEL FAILOVER", time.Since(start).Round(time.Millisecond))
	old := newAdmin(t, master.Addr)
	// Sentinel reconfigures the old master at its next check of it (every
	// 10 s): 11–16 s on a quiet box, over 30 s once on a busy one.
	waitUntil(t, "the old master resynchronised as a replica", 90*time.Second, func() string {
		info, err := old.Info(ctx, "replication").Result()
		if err != nil || !strings.Contains(info, "role:slave") || !strings.Contains(info, "master_link_status:up") {
			return fmt.Sprintf("%q (%v)", info, err)
		}
		return ""
	})
	t.Logf("the old master is a replica again, in sync, %v after SENTINEL FAILOVER", time.Since(start).Round(time.Millisecond))
	waitUntil(t, "every worker served by the new master", 30*time.Second, func() string { return everyWorker(2, warm) })
	window := time.Since(start)
	close(stop)
	wg.Wait()
	stop = make(chan struct{}) // for the deferred close

	run := failoverRun{acked: int(acked.Load()), failed: int(failed.Load()), window: window}
	for w, b := range browsers {
		resp, body := b.Do("GET", "/cart")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("worker %d's cart: %d %q", w, resp.StatusCode, body)
		}
		have := map[string]bool{}
		for it := range strings.SplitSeq(body, ",") {
			have[it] = true
		}
		lost := 0
		for _, it := range ackedItems[w] {
			if !have[it] {
				lost++
			}
		}
		if lost > 0 {
			run.lost += lost
			run.lostSessions++
		}
	}
	if n, err := newAdmin(t, promoted).DBSize(ctx).Result(); err != nil || n < int64(workers) {
		t.Fatalf("the new master holds %d keys (%v)", n, err)
	}
	return run
}

// TestFailover runs carts through a Sentinel failover (SENTINEL FAILOVER
// under load), four ways, side by side:
//
//   - one replica, wait=1: every add answered 200 had reached the replica,
//     so the promoted replica has it, and every cart read back after the
//     failover holds every acknowledged add. The adds that landed on the
//     old master after the promotion were not acknowledged (503: the
//     replica that WAIT counted on had left it), and neither were those
//     made before the old master came back as a replica: there was no
//     replica to wait for.
//   - one replica, no wait: the adds that land on the old master between
//     the promotion and the client's switch are acknowledged, then lost
//     when it resynchronises from the new master. How many depends on
//     timing: reported, not asserted.
//   - two replicas, wait=1: an add acknowledged by the replica that was
//     not promoted, while the old master still took writes, is lost when
//     that replica resynchronises from the new master: WAIT with fewer
//     replicas than there are does not protect against a failover that
//     the old master outlives. Reported, not asserted.
//   - two replicas, wait=2: every acknowledged add is on every replica,
//     the promoted one included: none is lost.
func TestFailover(t *testing.T) {
	for _, tc := range []struct {
		name         string
		replicas     int
		options      string
		losesNothing bool
	}{
		{"OneReplicaWait1", 1, "&wait=1", true},
		{"OneReplicaNoWait", 1, "", false},
		{"TwoReplicasWait1", 2, "&wait=1", false},
		{"TwoReplicasWait2", 2, "&wait=2", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			run := cartLoadThroughFailover(t, 4, tc.replicas, tc.options)
			t.Logf("%d replicas, options %q: %d adds acknowledged, %d failed, %d acknowledged adds lost in %d sessions; failover, switch and resync in %v",
				tc.replicas, tc.options, run.acked, run.failed, run.lost, run.lostSessions, run.window.Round(time.Millisecond))
			if tc.losesNothing && run.lost != 0 {
				t.Errorf("%d acknowledged adds were lost (%d sessions)", run.lost, run.lostSessions)
			}
		})
	}
}
