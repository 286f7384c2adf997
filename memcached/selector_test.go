package memcached_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/memcached"
)

func TestThreeServers(t *testing.T) {
	var servers []*testserver.Server
	var addrs []string
	for range 4 {
		s := testserver.Memcached(t)
		servers = append(servers, s)
		addrs = append(addrs, s.Addr)
	}
	three, err := memcached.Open(addrs[:3])
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const n = 3000
	key := func(i int) string { return fmt.Sprintf("k%05d-%x", i, i*2654435761) }
	for i := range n {
		if _, err := three.Save(ctx, key(i), []byte("v"), 0, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	// Every server holds about a third.
	for i, s := range servers[:3] {
		raw := memcache.New(s.Addr)
		held := 0
		for j := range n {
			if _, err := raw.Get("session:" + key(j)); err == nil {
				held++
			}
		}
		if held < n*25/100 || held > n*42/100 {
			t.Errorf("server %d holds %d of %d keys", i, held, n)
		}
		t.Logf("server %d holds %d of %d keys", i, held, n)
	}
	// A fourth server: only the keys it wins move; the rest are still found.
	four, err := memcached.Open(addrs)
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for i := range n {
		if _, err := four.Load(ctx, key(i)); err == nil {
			found++
		}
	}
	moved := float64(n-found) / n
	t.Logf("adding a fourth server moved %.1f%% of the sessions (ideal 25%%)", 100*moved)
	if moved < 0.15 || moved > 0.35 {
		t.Errorf("adding a fourth server moved %.1f%% of the sessions, want about 25%%", 100*moved)
	}
}

// movedFraction reports which share of keys changes server when the
// list grows from 3 to 4 servers, under the selectors that mk returns,
// and how many of the moved keys went elsewhere than to the new server.
func movedFraction(mk func(addrs ...string) memcache.ServerSelector) (moved float64, elsewhere int) {
	addrs := []string{"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211", "10.0.0.4:11211"}
	before, after := mk(addrs[:3]...), mk(addrs...)
	const n = 5000
	count := 0
	for i := range n {
		k := fmt.Sprintf("%043d", i*2654435761)
		a, _ := before.PickServer(k)
		b, _ := after.PickServer(k)
		if a.String() != b.String() {
			count++
			if b.String() != addrs[3] {
				elsewhere++
			}
		}
	}
	return float64(count) / n, elsewhere
}

func TestSelectorMovesFewKeys(t *testing.T) {
	rv, elsewhere := movedFraction(func(addrs ...string) memcache.ServerSelector {
		s, err := memcached.NewRendezvousSelector(addrs...)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
	t.Logf("rendezvous: %.1f%% of keys move when a 4th server joins", 100*rv)
	if rv < 0.15 || rv > 0.35 || elsewhere != 0 {
		t.Errorf("rendezvous moved %.1f%% (%d not to the new server), want about 25%% (0)", 100*rv, elsewhere)
	}
	// gomemcache's ServerList (CRC32 modulo N), for comparison.
	mod, _ := movedFraction(func(addrs ...string) memcache.ServerSelector {
		var sl memcache.ServerList
		if err := sl.SetServers(addrs...); err != nil {
			t.Fatal(err)
		}
		return &sl
	})
	t.Logf("memcache.ServerList: %.1f%% of keys move", 100*mod)
	if mod < 0.5 {
		t.Errorf("ServerList moved only %.1f%%; the comparison is off", 100*mod)
	}
}

func TestSelectorSpreadsEvenly(t *testing.T) {
	sel, err := memcached.NewRendezvousSelector("10.1.0.1:11211", "10.1.0.2:11211", "10.1.0.3:11211", "10.1.0.4:11211", "10.1.0.5:11211")
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	const n = 50000
	for i := range n {
		a, _ := sel.PickServer(fmt.Sprintf("%x", i*7919))
		count[a.String()]++
	}
	var each []string
	_ = sel.Each(func(a net.Addr) error { each = append(each, a.String()); return nil })
	if len(each) != 5 || len(count) != 5 {
		t.Fatalf("Each visited %q; keys went to %v", each, count)
	}
	for a, c := range count {
		if c < n/5*85/100 || c > n/5*115/100 {
			t.Errorf("%s got %d of %d keys", a, c, n)
		}
	}
}

func TestTwoAppsShareOneServer(t *testing.T) {
	srv := testserver.Memcached(t)
	web1, web2 := app(t, open(t, srv)), app(t, open(t, srv))
	b := web1.Browser // cookies are per host, not per port: both apps see the session
	b.Expect("POST", "/incr", 200, "ok")
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		url := web1.URL
		if i%2 == 1 {
			url = web2.URL
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- b.Try("POST", url+"/incr", 200, "ok")
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	b.Expect("GET", web2.URL+"/get/n", 200, "51")
	b.Expect("GET", "/get/n", 200, "51")
}
