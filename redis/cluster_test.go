package redis_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/redis"
)

// budget is the request budget the middleware gives every store call of
// a request by default: the load and the commit share it.
const budget = 2 * time.Second

// slack is what the tests allow past a bound, for a busy machine (a
// request on a frozen server ends at its budget, 2.0 s, plus a few ms;
// 2.17 s was the most seen, with the race detector).
const slack = time.Second

// clusterURL is the redis+cluster:// URL of c with the URL's defaults
// (timeouts, start-up check) and the options given.
func clusterURL(c *testserver.Cluster, options ...string) string {
	addrs := c.Addrs()
	q := []string{}
	for _, a := range addrs[1:] {
		q = append(q, "addr="+a)
	}
	return "redis+cluster://" + addrs[0] + "?" + strings.Join(append(q, options...), "&")
}

// keysByMaster returns perMaster store keys (without the prefix) for each
// master of c, asking the cluster for each key's slot.
func keysByMaster(t *testing.T, c *testserver.Cluster, s *redis.Store, perMaster int) [][]string {
	t.Helper()
	ctx := context.Background()
	out := make([][]string, len(c.Masters))
	full := 0
	for i := 0; full < len(c.Masters); i++ {
		key := fmt.Sprintf("k%d", i)
		slot, err := s.Client().ClusterKeySlot(ctx, redis.DefaultPrefix+key).Result()
		if err != nil {
			t.Fatal(err)
		}
		m := c.MasterOf(int(slot))
		if len(out[m]) < perMaster {
			out[m] = append(out[m], key)
			if len(out[m]) == perMaster {
				full++
			}
		}
	}
	return out
}

// request is what the middleware does for a request that changes its
// session: a load and a save, under one context whose deadline is the
// request's budget. It returns the error and how long it took.
func request(s *redis.Store, key string, data []byte) (time.Duration, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	r, err := s.Load(ctx, key)
	if errors.Is(err, sessions.ErrNotFound) {
		r, err = sessions.Record{}, nil
	}
	if err == nil {
		_, err = s.Save(ctx, key, data, r.Version, time.Minute)
	}
	return time.Since(start), err
}

// tally is what one master's requests did.
type tally struct {
	mu      sync.Mutex
	ok      int
	errs    map[string]int // error text (its first word) → count
	slowest time.Duration
}

func (t *tally) add(d time.Duration, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.slowest = max(t.slowest, d)
	if err == nil {
		t.ok++
		return
	}
	if t.errs == nil {
		t.errs = map[string]int{}
	}
	word, _, _ := strings.Cut(err.Error(), " ")
	t.errs[word]++
}

func (t *tally) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return fmt.Sprintf("%d ok, errors %v, slowest %v", t.ok, t.errs, t.slowest.Round(time.Millisecond))
}

// hammer runs, for every key of every master, one worker that sends
// requests one after the other, and returns a tally per master and
// finish, which waits until every worker has finished a request, then
// stops them all. Each key has its own worker, so the workers stuck on a
// frozen master never hold up those of the others (a fixed pool of
// workers shared by all keys would soon be all stuck on it).
func hammer(s *redis.Store, keys [][]string) (tallies []*tally, finish func()) {
	var all, first sync.WaitGroup
	stop := make(chan struct{})
	for _, ks := range keys {
		t := &tally{}
		tallies = append(tallies, t)
		for _, k := range ks {
			all.Add(1)
			first.Add(1)
			go func() {
				defer all.Done()
				for n := 0; ; n++ {
					t.add(request(s, k, fmt.Appendf(nil, "%d", n)))
					if n == 0 {
						first.Done()
					}
					select {
					case <-stop:
						return
					default:
					}
				}
			}()
		}
	}
	return tallies, func() {
		first.Wait()
		close(stop)
		all.Wait()
	}
}

// TestClusterFrozenMasterDelaysOnlyItsSlots freezes one master of a
// three-master cluster (SIGSTOP) for about 2 s, well under the cluster's
// node timeout (15 s): the requests for the keys of the other masters all
// succeed, none waiting on the frozen node, and those for the frozen
// master's keys fail within the request budget. Thawed, it serves again.
func TestClusterFrozenMasterDelaysOnlyItsSlots(t *testing.T) {
	c := testserver.RedisCluster(t, 3, 0)
	s, err := redis.Open(clusterURL(c))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	keys := keysByMaster(t, c, s, 8)
	for _, ks := range keys {
		for _, k := range ks {
			if _, err := request(s, k, []byte("before")); err != nil {
				t.Fatal(err)
			}
		}
	}

	const frozen = 1
	c.Masters[frozen].Freeze()
	tallies, finish := hammer(s, keys)
	finish() // a budget: until the frozen master's first requests fail
	c.Masters[frozen].Thaw()

	for i, tl := range tallies {
		t.Logf("master %d%s: %v", i, map[bool]string{true: " (frozen)"}[i == frozen], tl)
		if i == frozen {
			if tl.ok != 0 || tl.slowest > budget+slack {
				t.Errorf("the frozen master's requests: %v; want every one to fail within %v", tl, budget+slack)
			}
			continue
		}
		if len(tl.errs) != 0 || tl.ok == 0 {
			t.Errorf("master %d: %v; want its requests to succeed while another master is frozen", i, tl)
		}
		if tl.slowest >= budget/2 {
			t.Errorf("master %d: a request took %v; none should wait on the frozen master", i, tl.slowest)
		}
	}

	// The frozen master's keys work again once it is thawed.
	thawed := time.Now()
	for _, k := range keys[frozen] {
		for {
			_, err := request(s, k, []byte("after"))
			if err == nil {
				break
			}
			if time.Since(thawed) > time.Second+slack {
				t.Fatalf("%s still fails %v after the thaw: %v", k, time.Since(thawed), err)
			}
		}
	}
	t.Logf("the frozen master's keys served again %v after the thaw", time.Since(thawed).Round(time.Millisecond))
}

// TestClusterDown freezes one master of a three-master cluster whose node
// timeout is 500 ms until the other two mark it failed. With Redis's
// default cluster-require-full-coverage yes, the whole cluster then
// refuses every key (CLUSTERDOWN) and every request fails, also those for
// the healthy masters' keys; with cluster-require-full-coverage no, the
// healthy masters keep serving their slots and only the failed master's
// sessions are unavailable. Either way each request ends within its
// budget, and the cluster serves every key again after the thaw.
func TestClusterDown(t *testing.T) {
	for _, fullCoverage := range []string{"yes", "no"} {
		t.Run("FullCoverage="+fullCoverage, func(t *testing.T) {
			t.Parallel()
			c := testserver.RedisCluster(t, 3, 0, "--cluster-node-timeout", "500",
				"--cluster-require-full-coverage", fullCoverage)
			s, err := redis.Open(clusterURL(c))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			keys := keysByMaster(t, c, s, 4)
			const frozen = 1
			healthy := newAdmin(t, c.Masters[0].Addr)
			frozenID := nodeID(t, c.Masters[frozen])
			c.Masters[frozen].Freeze()
			waitUntil(t, "master 0 marks the frozen master failed", 15*time.Second, func() string {
				nodes, err := healthy.ClusterNodes(context.Background()).Result()
				if err != nil {
					return err.Error()
				}
				for line := range strings.SplitSeq(nodes, "\n") {
					if strings.HasPrefix(line, frozenID+" ") && strings.Contains(strings.Fields(line)[2], "fail") &&
						!strings.Contains(strings.Fields(line)[2], "fail?") {
						return ""
					}
				}
				return nodes
			})
			if fullCoverage == "yes" {
				waitUntil(t, "cluster_state:fail on master 0", 15*time.Second, func() string {
					info, _ := healthy.ClusterInfo(context.Background()).Result()
					if strings.Contains(info, "cluster_state:fail") {
						return ""
					}
					return info
				})
			}
			tallies, finish := hammer(s, keys)
			finish()
			c.Masters[frozen].Thaw()
			for i, tl := range tallies {
				t.Logf("master %d%s: %v", i, map[bool]string{true: " (frozen)"}[i == frozen], tl)
				if tl.slowest > budget+slack {
					t.Errorf("master %d: a request took %v, over the budget", i, tl.slowest)
				}
				switch {
				case i == frozen || fullCoverage == "yes":
					if tl.ok != 0 {
						t.Errorf("master %d: %v; want every request to fail", i, tl)
					}
					if i != frozen && tl.errs["CLUSTERDOWN"] == 0 {
						t.Errorf("master %d: %v; want CLUSTERDOWN", i, tl)
					}
				default:
					if len(tl.errs) != 0 || tl.ok == 0 {
						t.Errorf("master %d: %v; want its requests to succeed", i, tl)
					}
				}
			}
			for _, ks := range keys {
				for _, k := range ks {
					waitUntil(t, "the cluster serves "+k+" after the thaw", 15*time.Second, func() string {
						if _, err := request(s, k, []byte("after")); err != nil {
							return err.Error()
						}
						return ""
					})
				}
			}
		})
	}
}

// newAdmin returns a plain client of one node, closed at the end of the
// test.
func newAdmin(t *testing.T, addr string) *goredis.Client {
	return newClient(t, addr, func(o *goredis.Options) { o.ReadTimeout = 2 * time.Second; o.MaxRetries = -1 })
}

// nodeID returns the cluster node ID of s.
func nodeID(t *testing.T, s *testserver.Server) string {
	t.Helper()
	id, err := newAdmin(t, s.Addr).Do(context.Background(), "CLUSTER", "MYID").Text()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// waitUntil polls cond every 20 ms until it returns "" or limit passes,
// then fails the test with what cond said last.
func waitUntil(t *testing.T, what string, limit time.Duration, cond func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %s", what, limit, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
