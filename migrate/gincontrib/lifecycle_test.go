package gincontrib

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/boj/redistore"
	"github.com/bradfitz/gomemcache/memcache"
	ginsessions "github.com/gin-contrib/sessions"
	ginredis "github.com/gin-contrib/sessions/redis"
	"github.com/gin-gonic/gin"
)

// TestMaxAge: a cookie is refused once it is older than the maximum age
// (30 days by default, as gorilla/securecookie), counted from the legacy
// program's last save, on the reader's clock; WithMaxAge changes it and 0
// lifts it.
func TestMaxAge(t *testing.T) {
	s := startServers(t)
	for _, k := range kinds(s) {
		t.Run(k.name, func(t *testing.T) {
			c := login(t, legacyApp(k.store(t, hashA)))
			saved := time.Now()
			var now time.Time
			clock := withClock(func() time.Time { return now })
			find := func(opts ...Option) bool {
				t.Helper()
				l, err := k.reader(pairs(hashA), append(opts, clock)...).Find(t.Context(), request(c))
				if err != nil {
					t.Fatalf("at %v: Find: %v", now.Sub(saved), err)
				}
				return l != nil
			}
			now = saved.Add(DefaultMaxAge - 2*time.Second)
			if !find() {
				t.Error("refused just before 30 days")
			}
			now = saved.Add(DefaultMaxAge + 2*time.Second)
			if find() {
				t.Error("accepted just after 30 days")
			}
			now = saved.Add(2 * time.Hour)
			if find(WithMaxAge(time.Hour)) {
				t.Error("WithMaxAge(1h): accepted after 2 hours")
			}
			if !find(WithMaxAge(3 * time.Hour)) {
				t.Error("WithMaxAge(3h): refused after 2 hours")
			}
			if k.name == "cookie" {
				// The others would find their record gone by then.
				now = saved.Add(10 * 365 * 24 * time.Hour)
				if !find(WithMaxAge(0)) {
					t.Error("WithMaxAge(0): refused after 10 years")
				}
				l, _ := k.reader(pairs(hashA), WithMaxAge(0)).Find(t.Context(), request(c))
				if l == nil || !l.Expires.IsZero() {
					t.Errorf("WithMaxAge(0): Expires %v, want zero (unknown)", l.Expires)
				}
			}
		})
	}
}

// TestRedisExpiresWithItsRecord: redistore's record lives Options.MaxAge
// (here one hour) while its cookie codecs keep 30 days; the legacy
// session ends with its record.
func TestRedisExpiresWithItsRecord(t *testing.T) {
	s := startServers(t)
	store, err := ginredis.NewStore(4, "tcp", s.redis.Addr, "", "", hashA)
	if err != nil {
		t.Fatal(err)
	}
	store.Options(ginsessions.Options{Path: "/", MaxAge: 3600})
	before := time.Now()
	c := login(t, legacyApp(store))
	l, err := Redis(cookieName, s.rdb, hashA).Find(t.Context(), request(c))
	after := time.Now()
	if err != nil || l == nil {
		t.Fatalf("Find = %v, %v", l, err)
	}
	// PTTL is read after the login, in whole milliseconds.
	if l.Expires.Before(before.Add(time.Hour-time.Second)) || l.Expires.After(after.Add(time.Hour)) {
		t.Errorf("Expires in %v, want the record's hour", l.Expires.Sub(after))
	}
}

// TestRecordGone: when the legacy program logged out (redistore deletes
// the record) or the record was evicted, the cookie still verifies but
// there is no legacy session.
func TestRecordGone(t *testing.T) {
	s := startServers(t)
	for _, k := range kinds(s)[1:] {
		t.Run(k.name, func(t *testing.T) {
			app := legacyApp(k.store(t, hashA))
			c := login(t, app)
			m := k.reader(pairs(hashA))
			l, err := m.Find(t.Context(), request(c))
			if err != nil || l == nil {
				t.Fatalf("Find = %v, %v", l, err)
			}
			key, _ := k.record(t, l.ID)
			if k.name == "redis" {
				do(t, app, "POST", "/logout", c) // redistore deletes the record
			} else if err := s.mc.Delete(key); err != nil {
				t.Fatal(err)
			}
			if _, ok := k.record(t, l.ID); ok {
				t.Fatalf("record %q still there", key)
			}
			if l, err := m.Find(t.Context(), request(c)); l != nil || err != nil {
				t.Errorf("record gone: Find = %v, %v; want nil, nil", l, err)
			}
		})
	}
}

// TestEndDeletesTheRecord: End deletes the legacy record, so the legacy
// program (during a rolling deploy) and the reader no longer find the
// session: a logout is not undone by the legacy cookie. Ending twice is
// no error. The cookie store has nothing to delete.
func TestEndDeletesTheRecord(t *testing.T) {
	s := startServers(t)
	for _, k := range kinds(s) {
		t.Run(k.name, func(t *testing.T) {
			app := legacyApp(k.store(t, hashA))
			c := login(t, app)
			other := login(t, app) // another user, left alone
			m := k.reader(pairs(hashA))
			l, err := m.Find(t.Context(), request(c))
			if err != nil || l == nil {
				t.Fatalf("Find = %v, %v", l, err)
			}
			if err := m.End(t.Context(), l); err != nil {
				t.Fatalf("End: %v", err)
			}
			if err := m.End(t.Context(), l); err != nil {
				t.Fatalf("End again: %v", err)
			}
			if k.name == "cookie" {
				return
			}
			if key, ok := k.record(t, l.ID); ok {
				t.Fatalf("record %q still there after End", key)
			}
			if got := whoami(t, app, c); got != "" {
				t.Errorf("the legacy program still knows the session: user %q", got)
			}
			if l, err := m.Find(t.Context(), request(c)); l != nil || err != nil {
				t.Errorf("after End: Find = %v, %v; want nil, nil", l, err)
			}
			if got := whoami(t, app, other); got != "alice" {
				t.Errorf("another session lost its user: %q", got)
			}
		})
	}
}

// TestBackendFailureIsAnError: with the legacy store down, Find and End
// return an error; the cookie verifies, so there may be a session, and
// "none" would log its user out silently.
func TestBackendFailureIsAnError(t *testing.T) {
	s := startServers(t)
	for _, k := range kinds(s)[1:] {
		t.Run(k.name, func(t *testing.T) {
			c := login(t, legacyApp(k.store(t, hashA)))
			m := k.reader(pairs(hashA))
			l, err := m.Find(t.Context(), request(c))
			if err != nil || l == nil {
				t.Fatalf("Find = %v, %v", l, err)
			}
			srv := s.redis
			if k.name == "memcached" {
				srv = s.memcache
			}
			srv.Stop()
			defer srv.Start()
			got, err := m.Find(t.Context(), request(c))
			if got != nil || err == nil {
				t.Fatalf("store down: Find = %v, %v; want an error", got, err)
			}
			endErr := m.End(t.Context(), l)
			if endErr == nil {
				t.Fatal("store down: End returned no error")
			}
			// The errors go to logs: they name the record, not the
			// whole session ID.
			for _, err := range []error{err, endErr} {
				if strings.Contains(err.Error(), l.ID) || !strings.Contains(err.Error(), l.ID[:6]) {
					t.Errorf("error %q: want the ID's first characters, not all of %q", err, l.ID)
				}
			}
		})
	}
}

// TestRecordTooLarge: a record beyond the maximum record size is an error
// wrapping ErrTooLarge; the reader decodes none of it (redis sends at most
// that many bytes of it).
func TestRecordTooLarge(t *testing.T) {
	s := startServers(t, "-I", "4m")
	big := strings.Repeat("x", DefaultMaxRecordSize+1)
	for _, k := range kinds(s)[1:] {
		t.Run(k.name, func(t *testing.T) {
			c := login(t, legacyApp(k.store(t, hashA)))
			m := k.reader(pairs(hashA))
			l, err := m.Find(t.Context(), request(c))
			if err != nil || l == nil {
				t.Fatalf("Find = %v, %v", l, err)
			}
			key, _ := k.record(t, l.ID)
			if k.name == "redis" {
				err = s.rdb.Set(t.Context(), key, big, time.Hour).Err()
			} else {
				err = s.mc.Set(&memcache.Item{Key: key, Value: []byte(big), Expiration: 3600})
			}
			if err != nil {
				t.Fatal(err)
			}
			if l, err := m.Find(t.Context(), request(c)); l != nil || !errors.Is(err, ErrTooLarge) {
				t.Errorf("Find = %v, %v; want ErrTooLarge", l, err)
			}
			// Under a larger bound the same record is read, and is no
			// session.
			l, err = k.reader(pairs(hashA), WithMaxRecordSize(2*DefaultMaxRecordSize)).Find(t.Context(), request(c))
			if l != nil || !errors.Is(err, ErrUndecodable) {
				t.Errorf("WithMaxRecordSize(2 MiB): Find = %v, %v; want ErrUndecodable", l, err)
			}
		})
	}
}

// TestCorruptRecordIsAnError: a record that is not what the store writes
// (garbage under the key) is an error, not "no session".
func TestCorruptRecordIsAnError(t *testing.T) {
	s := startServers(t)
	for _, k := range kinds(s)[1:] {
		t.Run(k.name, func(t *testing.T) {
			c := login(t, legacyApp(k.store(t, hashA)))
			m := k.reader(pairs(hashA))
			l, _ := m.Find(t.Context(), request(c))
			if l == nil {
				t.Fatal("no session")
			}
			key, _ := k.record(t, l.ID)
			var err error
			if k.name == "redis" {
				err = s.rdb.Set(t.Context(), key, "garbage", time.Hour).Err()
			} else {
				err = s.mc.Set(&memcache.Item{Key: key, Value: []byte("garbage"), Expiration: 3600})
			}
			if err != nil {
				t.Fatal(err)
			}
			if l, err := m.Find(t.Context(), request(c)); l != nil || !errors.Is(err, ErrUndecodable) {
				t.Errorf("Find = %v, %v; want ErrUndecodable", l, err)
			}
			if k.name == "redis" {
				// A key of another type: the server's error.
				s.rdb.Del(t.Context(), key)
				s.rdb.HSet(t.Context(), key, "f", "v")
				if l, err := m.Find(t.Context(), request(c)); l != nil || err == nil || !strings.Contains(err.Error(), "WRONGTYPE") {
					t.Errorf("hash under the key: Find = %v, %v; want WRONGTYPE", l, err)
				}
			}
		})
	}
}

// TestRedisKeyPrefixAndJSON: a program that set gin-contrib's
// redis.SetKeyPrefix is read WithKeyPrefix (and not without it); one that
// gave redistore its JSON serializer is read WithJSONSerializer, its
// values typed as JSON decodes them, as the old program saw them.
func TestRedisKeyPrefixAndJSON(t *testing.T) {
	s := startServers(t)
	store, err := ginredis.NewStore(4, "tcp", s.redis.Addr, "", "", hashA)
	if err != nil {
		t.Fatal(err)
	}
	if err := ginredis.SetKeyPrefix(store, "app1_"); err != nil {
		t.Fatal(err)
	}
	c := login(t, legacyApp(store))
	if l, err := Redis(cookieName, s.rdb, hashA).Find(t.Context(), request(c)); l != nil || err != nil {
		t.Errorf("default prefix: Find = %v, %v; want nil, nil (no session_ record)", l, err)
	}
	l, err := RedisWith(cookieName, s.rdb, pairs(hashA), WithKeyPrefix("app1_")).Find(t.Context(), request(c))
	if err != nil || l == nil {
		t.Fatalf("WithKeyPrefix: Find = %v, %v", l, err)
	}
	checkLegacy(t, l)
	if n, _ := s.rdb.Exists(t.Context(), "app1_"+l.ID).Result(); n != 1 {
		t.Errorf("ID %q names no app1_ record", l.ID)
	}

	jstore, err := ginredis.NewStore(4, "tcp", s.redis.Addr, "", "", hashA)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ginredis.GetRedisStore(jstore)
	if err != nil {
		t.Fatal(err)
	}
	rs.SetSerializer(redistore.JSONSerializer{})
	app := gin.New()
	app.Use(ginsessions.Sessions(cookieName, jstore))
	app.POST("/login", func(c *gin.Context) {
		s := ginsessions.Default(c)
		s.Set("user", "alice")
		s.Set("uid", 42)
		s.AddFlash("welcome")
		if err := s.Save(); err != nil {
			c.String(500, err.Error())
		}
	})
	c = login(t, app)
	l, err = RedisWith(cookieName, s.rdb, pairs(hashA), WithJSONSerializer()).Find(t.Context(), request(c))
	if err != nil || l == nil {
		t.Fatalf("WithJSONSerializer: Find = %v, %v", l, err)
	}
	want := map[string]any{"user": "alice", "uid": float64(42)}
	if !reflect.DeepEqual(l.Values, want) || !reflect.DeepEqual(l.Flashes, map[string][]any{"": {"welcome"}}) {
		t.Errorf("values %#v flashes %#v; want %#v and the welcome flash", l.Values, l.Flashes, want)
	}
	if l, err := Redis(cookieName, s.rdb, hashA).Find(t.Context(), request(c)); l != nil || !errors.Is(err, ErrUndecodable) {
		t.Errorf("JSON record read as gob: Find = %v, %v; want ErrUndecodable", l, err)
	}
}

// TestOptionsReachTheLegacy: WithPath, WithDomain and WithExpireCookie go
// into the Legacy for the middleware.
func TestOptionsReachTheLegacy(t *testing.T) {
	s := startServers(t)
	for _, k := range kinds(s) {
		t.Run(k.name, func(t *testing.T) {
			c := login(t, legacyApp(k.store(t, hashA)))
			l, err := k.reader(pairs(hashA), WithPath("/app"), WithDomain("example.test"), WithExpireCookie()).Find(t.Context(), request(c))
			if err != nil || l == nil {
				t.Fatalf("Find = %v, %v", l, err)
			}
			if l.Path != "/app" || l.Domain != "example.test" || !l.ExpireCookie {
				t.Errorf("path %q domain %q expire %v; want /app, example.test, true", l.Path, l.Domain, l.ExpireCookie)
			}
		})
	}
}

// TestConcurrentFind: one reader serves concurrent requests (run with
// -race).
func TestConcurrentFind(t *testing.T) {
	s := startServers(t)
	for _, k := range kinds(s) {
		t.Run(k.name, func(t *testing.T) {
			app := legacyApp(k.store(t, hashA, blockA))
			m := k.reader(pairs(hashB, blockB, hashA, blockA))
			var cookies []*http.Cookie
			for range 4 {
				cookies = append(cookies, login(t, app))
			}
			var wg sync.WaitGroup
			errs := make(chan error, 4*25)
			for _, c := range cookies {
				wg.Go(func() {
					for range 25 {
						l, err := m.Find(t.Context(), request(c))
						if err == nil && l == nil {
							err = errors.New("no session")
						}
						if err != nil {
							errs <- err
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}
