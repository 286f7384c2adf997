// This file generated the stored-format samples in memcached/testdata/format
// and redis/testdata/format with the code of commit 4998c71, through the
// middleware of that commit, against real servers. It builds against that
// commit only (a testdata directory is ignored by the go tool). To run it
// again:
//
//	git worktree add /tmp/old 4998c71 && mkdir /tmp/old/formatgen
//	cp memcached/testdata/format/generate_test.go /tmp/old/formatgen/gen_test.go
//	cd /tmp/old && OUT=$PWD/mc go test ./formatgen -run GenMemcached -v
//	OUT=$PWD/rd go test ./formatgen -run GenRedis -v
package formatgen_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/gin-gonic/gin"
	goredis "github.com/redis/go-redis/v9"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/memcached"
	"github.com/sessionware/sessions/redis"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// keyed remembers the key of the last Save.
type keyed struct {
	sessions.Store
	mu  sync.Mutex
	key string
}

func (k *keyed) Save(ctx context.Context, key string, data []byte, version uint64, ttl time.Duration) (uint64, error) {
	k.mu.Lock()
	k.key = key
	k.mu.Unlock()
	return k.Store.Save(ctx, key, data, version, ttl)
}

func (k *keyed) Touch(ctx context.Context, key string, ttl time.Duration) error {
	return k.Store.(sessions.Toucher).Touch(ctx, key, ttl)
}

// session runs a browser against the old middleware over store: one
// request that sets values, then touches refreshes (each 10 minutes of
// the clock later, idle timeout 30 minutes). It returns the store key.
func session(t *testing.T, store sessions.Store, clk *clock, touches int) string {
	gin.SetMode(gin.TestMode)
	k := &keyed{Store: store}
	r := gin.New()
	r.Use(sessions.Sessions("sid", k, sessions.WithIdleTimeout(30*time.Minute), sessions.WithLifetime(30*24*time.Hour), sessions.WithClock(clk.Now)))
	r.POST("/set", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("user", "alice")
		s.Set("n", 3)
		s.Set("cart", map[string]int{"apple": 2, "pear": 1})
		s.Set("flags", []string{"beta", "dark-mode"})
		c.Status(204)
	})
	r.GET("/get", func(c *gin.Context) {
		c.String(200, "%v", sessions.Default(c).Get("user"))
	})
	srv := httptest.NewServer(r)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	b := &http.Client{Jar: jar}
	do := func(method string, path string, want int) {
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
		}
	}
	do("POST", "/set", 204)
	for range touches {
		clk.Add(10 * time.Minute)
		do("GET", "/get", 200)
	}
	return k.key
}

// write stores a sample as indented JSON.
func write(t *testing.T, name string, sample any) {
	dir := os.Getenv("OUT")
	if dir == "" {
		t.Fatal("set OUT")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(sample, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// touchedMillis is Record.Touched in Unix milliseconds, 0 if zero.
func touchedMillis(r sessions.Record) int64 {
	if r.Touched.IsZero() {
		return 0
	}
	return r.Touched.UnixMilli()
}

func TestGenMemcached(t *testing.T) {
	if os.Getenv("OUT") == "" {
		t.Skip("set OUT")
	}
	srv := testserver.Memcached(t)
	clk := &clock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	store, err := memcached.Open([]string{srv.Addr}, memcached.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	raw := memcache.New(srv.Addr)
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		touches int // through the middleware
		direct  int // more, through Store.Touch
	}{
		{"session-no-stamps", 0, 0},
		{"session-3-stamps", 3, 0},
		{"session-64-stamps", 3, 61},
	} {
		key := session(t, store, clk, tc.touches)
		for range tc.direct {
			clk.Add(time.Second)
			if err := store.Touch(ctx, key, time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		it, err := raw.Get("session:" + key)
		if err != nil {
			t.Fatal(err)
		}
		r, err := store.Load(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if tc.name == "session-64-stamps" && !r.Compact {
			t.Fatal("64 stamps did not ask for compaction")
		}
		write(t, tc.name+".json", struct {
			About       string `json:"about"`
			Flags       uint32 `json:"flags"`
			Value       string `json:"value"`
			WantData    string `json:"want_data"`
			WantTouched int64  `json:"want_touched_ms"`
		}{
			About: fmt.Sprintf("A memcached item written by memcached.Store at commit 4998c71, through the middleware of that commit: "+
				"a session with four values, touched %d times. flags and value (hex) are the item as stored; the want_ fields are "+
				"what that commit's Load returned (Touched in Unix milliseconds, 0 for none).", tc.touches+tc.direct),
			Flags:       it.Flags,
			Value:       hex.EncodeToString(it.Value),
			WantData:    hex.EncodeToString(r.Data),
			WantTouched: touchedMillis(r),
		})
	}
}

func TestGenRedis(t *testing.T) {
	if os.Getenv("OUT") == "" {
		t.Skip("set OUT")
	}
	srv := testserver.Redis(t)
	client := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer client.Close()
	store := redis.New(client)
	clk := &clock{now: time.Now()} // the old redis Touch records the real time
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		touches int
	}{
		{"session-untouched", 0},
		{"session-touched", 2},
	} {
		key := session(t, store, clk, tc.touches)
		h, err := client.HGetAll(ctx, "session:"+key).Result()
		if err != nil {
			t.Fatal(err)
		}
		r, err := store.Load(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		fields := map[string]string{"d": hex.EncodeToString([]byte(h["d"])), "v": h["v"]}
		if tv, ok := h["t"]; ok {
			fields["t"] = tv
		}
		if len(h) != len(fields) {
			t.Fatalf("fields %v", h)
		}
		write(t, tc.name+".json", struct {
			About       string            `json:"about"`
			Fields      map[string]string `json:"fields"`
			WantData    string            `json:"want_data"`
			WantVersion uint64            `json:"want_version"`
			WantTouched int64             `json:"want_touched_ms"`
		}{
			About: fmt.Sprintf("A Redis hash written by redis.Store at commit 4998c71, through the middleware of that commit: "+
				"a session with four values, touched %d times. fields are the hash fields as stored (d in hex; t absent if never "+
				"touched); the want_ fields are what that commit's Load returned (Touched in Unix milliseconds, 0 for none).", tc.touches),
			Fields:      fields,
			WantData:    hex.EncodeToString(r.Data),
			WantVersion: r.Version,
			WantTouched: touchedMillis(r),
		})
	}
}
