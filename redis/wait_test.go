package redis_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/redis"
)

// waitWrites checks a store that waits for one replica, whose replica
// the test can freeze: a save and a touch reach the replica before they
// return; with the replica frozen they fail with ErrNotReplicated, within
// the wait timeout (and within a shorter budget, which cuts WAIT's
// timeout), while loads, conflicts and touches of missing keys answer as
// always.
func waitWrites(t *testing.T, s *redis.Store, prefix string, replica *testserver.Server, onReplica func(key string) (string, error)) {
	t.Helper()
	ctx := context.Background()
	v, err := s.Save(ctx, "k", []byte("one"), 0, time.Minute)
	if err != nil {
		t.Fatalf("a save with the replica up: %v", err)
	}
	// WAIT returned: the replica has the save already.
	if got, err := onReplica(prefix + "k"); err != nil || got != strconv.FormatUint(v, 10) {
		t.Fatalf("right after the save, the replica holds version %q (%v), want %d", got, err, v)
	}
	at := time.Now()
	if err := s.Touch(ctx, "k", time.Hour, at); err != nil {
		t.Fatalf("a touch with the replica up: %v", err)
	}

	replica.Freeze()
	defer replica.Thaw()
	start := time.Now()
	bctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	_, err = s.Save(bctx, "k", []byte("two"), v, time.Minute)
	took := time.Since(start)
	if !errors.Is(err, redis.ErrNotReplicated) || !strings.Contains(err.Error(), "0 of 1") {
		t.Fatalf("a save with the replica frozen: %v, want ErrNotReplicated, 0 of 1", err)
	}
	t.Logf("a save with the replica frozen failed after %v: %v", took.Round(time.Millisecond), err)
	if took > redis.DefaultWaitTimeout+slack {
		t.Errorf("it took %v, over the wait timeout", took)
	}
	if errors.Is(err, sessions.ErrConflict) {
		t.Errorf("ErrNotReplicated reads as a conflict: %v", err)
	}
	if err := s.Touch(bctx, "k", time.Hour, at); !errors.Is(err, redis.ErrNotReplicated) {
		t.Fatalf("a touch with the replica frozen: %v, want ErrNotReplicated", err)
	}

	// A budget shorter than the wait timeout cuts it: WAIT still answers
	// before the deadline, with too few replicas, rather than the
	// connection timing out.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	r, err := s.Load(short, "k")
	if err != nil {
		t.Fatalf("a load with the replica frozen: %v", err)
	}
	if _, err := s.Save(short, "k", []byte("three"), r.Version, time.Minute); !errors.Is(err, redis.ErrNotReplicated) {
		t.Fatalf("a save under a 300ms budget: %v, want ErrNotReplicated", err)
	}
	// Nothing written, nothing to wait for.
	if _, err := s.Save(ctx, "k", []byte("stale"), v, time.Minute); !errors.Is(err, sessions.ErrConflict) {
		t.Fatalf("a stale save with the replica frozen: %v, want ErrConflict", err)
	}
	if err := s.Touch(ctx, "missing", time.Hour, at); !errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("a touch of a missing key with the replica frozen: %v, want ErrNotFound", err)
	}
	replica.Thaw()
	waitUntil(t, "a save after the thaw", 5*time.Second, func() string {
		r, err := s.Load(ctx, "k")
		if err == nil {
			_, err = s.Save(ctx, "k", []byte("four"), r.Version, time.Minute)
		}
		if err != nil {
			return err.Error()
		}
		return ""
	})
}

// TestWait checks wait=1 on one server with one replica, by URL and with
// WithWait, and over HTTP: a write answers 503 when the replica does not
// acknowledge it, and a read does not wait.
func TestWait(t *testing.T) {
	t.Parallel()
	master := testserver.Redis(t)
	replica := testserver.RedisReplica(t, master)
	rc := newClient(t, replica.Addr)
	onReplica := func(key string) (string, error) { return rc.HGet(context.Background(), key, "v").Result() }

	t.Run("URL", func(t *testing.T) {
		p := uniquePrefix()
		s := openURL(t, "redis://"+master.Addr+"?wait=1&prefix="+p)
		waitWrites(t, s, p, replica, onReplica)
	})
	t.Run("WithWait", func(t *testing.T) {
		p := uniquePrefix()
		s := redis.New(newClient(t, master.Addr, func(o *goredis.Options) { o.ContextTimeoutEnabled = true }),
			redis.WithWait(1, 0), redis.WithPrefix(p))
		waitWrites(t, s, p, replica, onReplica)
	})
	t.Run("HTTP", func(t *testing.T) {
		a := newApp(t, openURL(t, "redis://"+master.Addr+"?wait=1&wait_timeout=200ms&prefix="+uniquePrefix()), nil)
		a.Expect("POST", "/set/user/alice", 200, "ok")
		replica.Freeze()
		defer replica.Thaw()
		if resp, body := a.Do("POST", "/set/user/bob"); resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("a write with the replica frozen = %d %q, want 503", resp.StatusCode, body)
		}
		if errs := strings.Join(a.Errors(), "\n"); !strings.Contains(errs, redis.ErrNotReplicated.Error()) {
			t.Errorf("the 503's cause: %q, want ErrNotReplicated", errs)
		}
		// The write landed on the master all the same: WAIT does not undo it.
		a.Expect("GET", "/get/user", 200, "bob")
	})
	t.Run("NoReplicas", func(t *testing.T) {
		alone := testserver.Redis(t)
		s := openURL(t, "redis://"+alone.Addr+"?wait=1&wait_timeout=100ms")
		if _, err := s.Save(context.Background(), "k", []byte("x"), 0, time.Minute); !errors.Is(err, redis.ErrNotReplicated) {
			t.Fatalf("a save on a server without replicas: %v, want ErrNotReplicated", err)
		}
	})
}

// TestWaitCluster checks wait=1 on a cluster of one master and its
// replica: the store sends the write and WAIT to the key's master.
func TestWaitCluster(t *testing.T) {
	t.Parallel()
	c := testserver.RedisCluster(t, 1, 1)
	s := openURL(t, clusterURL(c, "wait=1"))
	rc := newClient(t, c.Replicas[0].Addr)
	onReplica := func(key string) (string, error) {
		// A cluster replica answers reads of its slots after READONLY.
		pipe := rc.Pipeline()
		pipe.ReadOnly(context.Background())
		v := pipe.HGet(context.Background(), key, "v")
		_, _ = pipe.Exec(context.Background())
		return v.Result()
	}
	waitWrites(t, s, redis.DefaultPrefix, c.Replicas[0], onReplica)
}

// TestWaitNeedsAPinnableClient: New refuses WithWait for a client whose
// commands it cannot pin to one connection, and a wait timeout that the
// client's read timeout would cut.
func TestWaitNeedsAPinnableClient(t *testing.T) {
	for name, fn := range map[string]func(){
		"a ring": func() {
			redis.New(goredis.NewRing(&goredis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}}), redis.WithWait(1, 0))
		},
		"a timeout past the read timeout": func() {
			redis.New(goredis.NewClient(&goredis.Options{ReadTimeout: time.Second}), redis.WithWait(1, time.Second))
		},
		"a negative count": func() { redis.New(goredis.NewClient(&goredis.Options{}), redis.WithWait(-1, 0)) },
		"a tiny timeout":   func() { redis.New(goredis.NewClient(&goredis.Options{}), redis.WithWait(1, time.Microsecond)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New with WithWait and %s did not panic", name)
				}
			}()
			fn()
		}()
	}
	redis.New(goredis.NewClient(&goredis.Options{ReadTimeout: time.Second}), redis.WithWait(1, 850*time.Millisecond))
	redis.New(goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}}), redis.WithWait(2, 0))
}
