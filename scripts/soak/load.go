package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// requestsPerCycle is what one client's cycle sends: log in, read, two
// adds, read, two adds, read, log out.
const requestsPerCycle = 9

// items are the names the carts hold (the example keeps at most 50).
var items = []string{"apple", "pear", "plum", "fig", "kiwi"}

// loadResult is what a load run measured and found.
type loadResult struct {
	requests int64
	elapsed  time.Duration
	latency  []time.Duration // every request's, sorted
	adds     int64           // cart adds acknowledged (200) and then found
	problems *problems
}

// problems counts what went wrong and keeps the first few descriptions.
type problems struct {
	mu    sync.Mutex
	n     int
	first []string
}

func (p *problems) add(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if len(p.first) < 10 {
		p.first = append(p.first, fmt.Sprintf(format, args...))
	}
}

// runLoad sends at least total requests to the example app at base from
// clients clients, each cycling through a user's visit (requestsPerCycle
// requests), and checks every answer: status 200, and the session the
// example shows equal to what the client's acknowledged requests made it.
// With parallel, a client sends the two adds of a pair at once (two tabs),
// so that a cart add that loses a compare-and-swap must be replayed; a
// cookie store keeps no concurrent updates, and gets them one by one.
func runLoad(base string, clients int, total int64, parallel bool) loadResult {
	tr := &http.Transport{MaxIdleConns: 4 * clients, MaxIdleConnsPerHost: 4 * clients, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	var (
		sent  atomic.Int64
		adds  atomic.Int64
		probs = &problems{}
		lat   = make([][]time.Duration, clients)
		wg    sync.WaitGroup
	)
	start := time.Now()
	for i := range clients {
		jar, _ := cookiejar.New(nil)
		c := &client{
			id: i, base: base, parallel: parallel, probs: probs,
			http: &http.Client{Transport: tr, Jar: jar, Timeout: 30 * time.Second},
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for cycle := 0; sent.Add(requestsPerCycle) <= total+requestsPerCycle-1; cycle++ {
				c.visit(cycle)
			}
			lat[i] = c.lat
			adds.Add(c.adds)
		}()
	}
	wg.Wait()
	r := loadResult{elapsed: time.Since(start), adds: adds.Load(), problems: probs}
	for _, l := range lat {
		r.latency = append(r.latency, l...)
	}
	slices.Sort(r.latency)
	r.requests = int64(len(r.latency))
	return r
}

// client is one browser of the load.
type client struct {
	id       int
	base     string
	parallel bool
	http     *http.Client
	probs    *problems
	mu       sync.Mutex
	lat      []time.Duration
	adds     int64
}

// view is the example's GET /api/session answer.
type view struct {
	User    *string        `json:"user"`
	Cart    map[string]int `json:"cart"`
	Flashes []string       `json:"flashes"`
}

// visit is one cycle: a user logs in, reads, adds two pairs of items
// (reading after each pair: the cart must hold exactly the adds answered
// 200), and logs out.
func (c *client) visit(cycle int) {
	user := fmt.Sprintf("c%02d-%d", c.id, cycle)
	var in struct {
		User string `json:"user"`
	}
	if c.call("POST", "/api/login", map[string]any{"username": user}, &in) && in.User != user {
		c.probs.add("login as %s answered user %q", user, in.User)
	}
	want := map[string]int{}
	c.read(user, want, []string{"Welcome, " + user + "!"})
	for pair := range 2 {
		adds := [2]struct {
			item string
			qty  int
		}{}
		for k := range adds {
			adds[k].item = items[(cycle+2*pair+k)%len(items)]
			adds[k].qty = 1 + (c.id+cycle+k)%3
		}
		ok := [2]bool{}
		add := func(k int) {
			var out struct {
				Cart map[string]int `json:"cart"`
			}
			ok[k] = c.call("POST", "/api/cart", map[string]any{"item": adds[k].item, "qty": adds[k].qty}, &out)
			if ok[k] && out.Cart[adds[k].item] < adds[k].qty {
				c.probs.add("%s: the cart after adding %d %s is %v", user, adds[k].qty, adds[k].item, out.Cart)
			}
		}
		if c.parallel {
			var wg sync.WaitGroup
			for k := range adds {
				wg.Add(1)
				go func() { defer wg.Done(); add(k) }()
			}
			wg.Wait()
		} else {
			for k := range adds {
				add(k)
			}
		}
		for k, a := range adds {
			if ok[k] {
				want[a.item] += a.qty
			}
		}
		if c.read(user, want, []string{}) {
			c.adds += int64(len(adds))
		}
	}
	var out map[string]any
	if c.call("POST", "/api/logout", nil, &out) && len(out) != 0 {
		c.probs.add("%s: logout answered %v", user, out)
	}
}

// read checks that the session shows user, exactly the cart want and the
// flashes, and reports whether it did.
func (c *client) read(user string, want map[string]int, flashes []string) bool {
	var v view
	if !c.call("GET", "/api/session", nil, &v) {
		return false
	}
	if v.User == nil || *v.User != user || !maps.Equal(v.Cart, want) || !slices.Equal(v.Flashes, flashes) {
		got, _ := json.Marshal(v)
		c.probs.add("%s: the session is %s, want user %q, cart %v (every acknowledged add), flashes %q", user, got, user, want, flashes)
		return false
	}
	return true
}

// call sends a request with a JSON body (nil for none), times it, and
// decodes a 200 answer into out. Any other status, or a failure, is a
// problem.
func (c *client) call(method, path string, body, out any) bool {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.probs.add("%s %s: %v", method, path, err)
		return false
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	var data []byte
	if err == nil {
		data, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	took := time.Since(start)
	c.mu.Lock()
	c.lat = append(c.lat, took)
	c.mu.Unlock()
	switch {
	case err != nil:
		c.probs.add("%s %s: %v", method, path, err)
		return false
	case resp.StatusCode != http.StatusOK:
		c.probs.add("%s %s = %d %s", method, path, resp.StatusCode, bytes.TrimSpace(data))
		return false
	}
	if err := json.Unmarshal(data, out); err != nil {
		c.probs.add("%s %s: %q: %v", method, path, data, err)
		return false
	}
	return true
}

// percentile returns the p-th percentile (0 to 100) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*p/100))]
}
