package testserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// setupTimeout bounds each wait of a topology's set-up.
const setupTimeout = 15 * time.Second

// admin returns a go-redis client of addr for a topology's set-up,
// closed when the test ends.
func admin(tb testing.TB, addr string) *goredis.Client {
	c := goredis.NewClient(&goredis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: 2 * time.Second, MaxRetries: -1})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// waitFor polls cond every 20 ms until it returns "" (done) or
// setupTimeout passes, then fails the test with what cond said last.
func waitFor(tb testing.TB, what string, cond func() string) {
	tb.Helper()
	deadline := time.Now().Add(setupTimeout)
	for {
		why := cond()
		if why == "" {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: not done within %v: %s", what, setupTimeout, why)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// infoField returns the value of field in the INFO section of addr.
func infoField(ctx context.Context, c *goredis.Client, section, field string) (string, error) {
	info, err := c.Info(ctx, section).Result()
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return v, nil
		}
	}
	return "", fmt.Errorf("no %s in INFO %s", field, section)
}

// RedisReplica starts a redis-server that replicates master (replicaof)
// and waits until it has synchronised, with extra arguments appended. So
// that a synchronisation starts at once, not 5 s later, it sets master's
// repl-diskless-sync-delay to 0, and the replica's (for when a failover
// makes it a master).
func RedisReplica(tb testing.TB, master *Server, extra ...string) *Server {
	tb.Helper()
	if err := admin(tb, master.Addr).ConfigSet(context.Background(), "repl-diskless-sync-delay", "0").Err(); err != nil {
		tb.Fatalf("CONFIG SET repl-diskless-sync-delay on %s: %v", master.Addr, err)
	}
	host, port, _ := net.SplitHostPort(master.Addr)
	r := Redis(tb, append([]string{"--replicaof", host, port, "--dir", tb.TempDir(), "--repl-diskless-sync-delay", "0"}, extra...)...)
	c := admin(tb, r.Addr)
	waitFor(tb, "the replica "+r.Addr+" of "+master.Addr, func() string {
		v, err := infoField(context.Background(), c, "replication", "master_link_status")
		if err != nil || v != "up" {
			return fmt.Sprintf("master_link_status %q (%v)", v, err)
		}
		return ""
	})
	return r
}

// RedisSentinel starts a Sentinel (redis-server --sentinel) on a free
// loopback port that monitors master under name with a quorum of 1,
// deciding that a master is down after 1 s without an answer and giving
// a failover 5 s; conf lines (whole "sentinel …" lines of sentinel.conf)
// are added after those. It waits until the Sentinel names the master and
// knows of the replicas given, so that a failover can pick one.
func RedisSentinel(tb testing.TB, name string, master *Server, replicas []*Server, conf ...string) *Server {
	tb.Helper()
	host, port, _ := net.SplitHostPort(master.Addr)
	file := filepath.Join(tb.TempDir(), "sentinel.conf")
	s := start(tb, "redis-server", func(p int) []string {
		lines := append([]string{
			"port " + strconv.Itoa(p),
			"bind 127.0.0.1",
			"sentinel monitor " + name + " " + host + " " + port + " 1",
			"sentinel down-after-milliseconds " + name + " 1000",
			"sentinel failover-timeout " + name + " 5000",
		}, conf...)
		// Sentinel rewrites its configuration file: it must be writable.
		if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			tb.Fatalf("write %s: %v", file, err)
		}
		return []string{file, "--sentinel"}
	})
	c := admin(tb, s.Addr)
	ctx := context.Background()
	waitFor(tb, "the sentinel "+s.Addr+" of "+name, func() string {
		got, err := c.Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", name).StringSlice()
		if err != nil || len(got) != 2 {
			return fmt.Sprintf("GET-MASTER-ADDR-BY-NAME = %q (%v)", got, err)
		}
		if len(replicas) == 0 {
			return ""
		}
		known, err := c.Do(ctx, "SENTINEL", "REPLICAS", name).Slice()
		if err != nil {
			return err.Error()
		}
		for _, r := range replicas {
			if !sentinelKnowsReplica(known, r.Addr) {
				return "the sentinel does not know the replica " + r.Addr + " yet"
			}
		}
		return ""
	})
	return s
}

// sentinelKnowsReplica reports whether the SENTINEL REPLICAS reply lists
// addr as a replica that is up.
func sentinelKnowsReplica(reply []any, addr string) bool {
	for _, r := range reply {
		fields := map[string]string{}
		switch r := r.(type) {
		case []any: // RESP2: a flat list of names and values
			for i := 0; i+1 < len(r); i += 2 {
				fields[fmt.Sprint(r[i])] = fmt.Sprint(r[i+1])
			}
		case map[any]any: // RESP3
			for k, v := range r {
				fields[fmt.Sprint(k)] = fmt.Sprint(v)
			}
		}
		if net.JoinHostPort(fields["ip"], fields["port"]) == addr &&
			!strings.Contains(fields["flags"], "down") && !strings.Contains(fields["flags"], "disconnected") {
			return true
		}
	}
	return false
}

// Cluster is a Redis Cluster on loopback: masters that own equal ranges
// of the 16384 slots, in order, and optional replicas.
type Cluster struct {
	Masters  []*Server
	Replicas []*Server // Replicas[i] replicates Masters[i % len(Masters)]
	ranges   [][2]int  // the slots of each master
}

// RedisCluster starts a Redis Cluster of masters redis-servers (one or
// more), each owning an equal range of slots, and replicas replicas given
// to the masters in turn; extra arguments go to every node (for instance
// "--cluster-node-timeout", "500" or "--cluster-require-full-coverage",
// "no"). It waits until every node reports cluster_state:ok and knows every
// other node, and every replica has synchronised. The cluster bus of each
// node listens on a free port of its own.
func RedisCluster(tb testing.TB, masters, replicas int, extra ...string) *Cluster {
	tb.Helper()
	if masters < 1 {
		tb.Fatalf("a cluster needs a master, not %d", masters)
	}
	ctx := context.Background()
	c := &Cluster{}
	var all []*Server
	busPorts := map[*Server]int{}
	node := func() *Server {
		dir := tb.TempDir()
		bus := FreePort(tb)
		s := Redis(tb, append([]string{"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--dir", dir,
			"--cluster-port", strconv.Itoa(bus), "--repl-diskless-sync-delay", "0"}, extra...)...)
		busPorts[s] = bus
		all = append(all, s)
		return s
	}
	per := 16384 / masters
	for i := range masters {
		m := node()
		lo, hi := i*per, (i+1)*per-1
		if i == masters-1 {
			hi = 16383
		}
		if err := admin(tb, m.Addr).Do(ctx, "CLUSTER", "ADDSLOTSRANGE", lo, hi).Err(); err != nil {
			tb.Fatalf("CLUSTER ADDSLOTSRANGE %d %d on %s: %v", lo, hi, m.Addr, err)
		}
		c.Masters = append(c.Masters, m)
		c.ranges = append(c.ranges, [2]int{lo, hi})
	}
	for range replicas {
		c.Replicas = append(c.Replicas, node())
	}
	first := admin(tb, all[0].Addr)
	for _, s := range all[1:] {
		host, port, _ := net.SplitHostPort(s.Addr)
		if err := first.Do(ctx, "CLUSTER", "MEET", host, port, busPorts[s]).Err(); err != nil {
			tb.Fatalf("CLUSTER MEET %s: %v", s.Addr, err)
		}
	}
	for _, s := range all {
		a := admin(tb, s.Addr)
		waitFor(tb, "the cluster node "+s.Addr, func() string {
			info, err := a.ClusterInfo(ctx).Result()
			if err != nil {
				return err.Error()
			}
			if !strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(len(all))+"\r\n") {
				return "not every node is known yet: " + info
			}
			if !strings.Contains(info, "cluster_state:ok") && len(c.Replicas) == 0 {
				return "cluster_state is not ok: " + info
			}
			return ""
		})
	}
	for i, r := range c.Replicas {
		m := c.Masters[i%len(c.Masters)]
		id, err := admin(tb, m.Addr).Do(ctx, "CLUSTER", "MYID").Text()
		if err != nil {
			tb.Fatalf("CLUSTER MYID on %s: %v", m.Addr, err)
		}
		a := admin(tb, r.Addr)
		waitFor(tb, "the cluster replica "+r.Addr+" of "+m.Addr, func() string {
			if err := a.Do(ctx, "CLUSTER", "REPLICATE", id).Err(); err != nil {
				return err.Error() // the node may not know the master yet
			}
			return ""
		})
		waitFor(tb, "the cluster replica "+r.Addr+" synchronising", func() string {
			v, err := infoField(ctx, a, "replication", "master_link_status")
			if err != nil || v != "up" {
				return fmt.Sprintf("master_link_status %q (%v)", v, err)
			}
			return ""
		})
	}
	for _, s := range all {
		a := admin(tb, s.Addr)
		waitFor(tb, "cluster_state:ok on "+s.Addr, func() string {
			info, err := a.ClusterInfo(ctx).Result()
			if err != nil {
				return err.Error()
			}
			if !strings.Contains(info, "cluster_state:ok") {
				return info
			}
			return ""
		})
	}
	return c
}

// Addrs returns the addresses of every node, masters first.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, s := range append(append([]*Server(nil), c.Masters...), c.Replicas...) {
		out = append(out, s.Addr)
	}
	return out
}

// MasterOf returns the index in Masters of the master that was given slot
// at the start.
func (c *Cluster) MasterOf(slot int) int {
	for i, r := range c.ranges {
		if r[0] <= slot && slot <= r[1] {
			return i
		}
	}
	return -1
}
