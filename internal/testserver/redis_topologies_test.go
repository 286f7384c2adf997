package testserver

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

func TestFreezeAndThawRedis(t *testing.T) {
	s := Redis(t)
	s.Freeze()
	// The kernel still accepts the connection; nothing answers.
	c, err := net.DialTimeout("tcp", s.Addr, time.Second)
	if err != nil {
		t.Fatalf("a frozen server refused the connection: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a frozen server answered %q (%v)", buf[:n], err)
	}
	s.Thaw()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "+PONG") {
		t.Fatalf("after Thaw: %q (%v), want the PONG of the PING sent while frozen", buf[:n], err)
	}
	s.Freeze()
	s.Stop() // kills a frozen server
	s.Start()
	if got := ask(t, s.Addr, "PING\r\n"); !strings.HasPrefix(got, "+PONG") {
		t.Fatalf("after a restart: %q", got)
	}
}

func TestRedisClusterServesEverySlot(t *testing.T) {
	c := RedisCluster(t, 3, 1)
	if len(c.Masters) != 3 || len(c.Replicas) != 1 {
		t.Fatalf("%d masters and %d replicas", len(c.Masters), len(c.Replicas))
	}
	ctx := context.Background()
	cc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: c.Addrs()})
	defer cc.Close()
	seen := map[string]bool{}
	for i := range 300 {
		key := "k" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
		if err := cc.Set(ctx, key, "v", time.Minute).Err(); err != nil {
			t.Fatalf("SET %s: %v", key, err)
		}
		m, err := cc.MasterForKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		slot, _ := cc.ClusterKeySlot(ctx, key).Result()
		if want := c.Masters[c.MasterOf(int(slot))].Addr; m.Options().Addr != want {
			t.Fatalf("slot %d is on %s, want %s", slot, m.Options().Addr, want)
		}
		seen[m.Options().Addr] = true
	}
	if len(seen) != 3 {
		t.Fatalf("300 keys went to %d masters", len(seen))
	}
	role, err := admin(t, c.Replicas[0].Addr).Do(ctx, "ROLE").Slice()
	if err != nil || role[0] != "slave" {
		t.Fatalf("the replica's ROLE = %v (%v)", role, err)
	}
}

func TestRedisSentinelNamesTheMaster(t *testing.T) {
	m := Redis(t)
	r := RedisReplica(t, m)
	s := RedisSentinel(t, "mymaster", m, []*Server{r})
	got, err := admin(t, s.Addr).Do(context.Background(), "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster").StringSlice()
	if err != nil || net.JoinHostPort(got[0], got[1]) != m.Addr {
		t.Fatalf("the sentinel names %v (%v), want %s", got, err, m.Addr)
	}
}
