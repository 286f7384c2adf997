package redis_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testapp"
	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/redis"
)

// corrupted is a session whose record a test has spoilt: the app that
// serves it, the session's old ID, and what its errors must say.
type corrupted struct {
	app *testapp.App
	old string
	why string
}

// expectNew checks, over HTTP, what the middleware makes of the spoilt
// session: a read presenting the old ID sees an empty session and a
// write gets a new ID, both recording the cause (sessions.ErrCorrupt and
// c.why) with c.Error; the next request works. No request answers 503.
func (c corrupted) expectNew(t *testing.T, b *testapp.Browser) {
	t.Helper()
	cause := func(what string) {
		t.Helper()
		errs := strings.Join(c.app.Errors(), "\n")
		if !strings.Contains(errs, sessions.ErrCorrupt.Error()) || !strings.Contains(errs, c.why) {
			t.Fatalf("%s: c.Errors = %q, want sessions.ErrCorrupt and %q", what, errs, c.why)
		}
	}
	c.app.Stranger().Expect("GET", c.app.URL+"/get/user", 200, "<nil>", testapp.WithCookie("sid", c.old))
	cause("a read")
	resp := b.Expect("POST", c.app.URL+"/set/user/bob", 200, "ok")
	cause("a write")
	if ck, ok := testapp.SetCookie(resp, "sid"); !ok || ck.Value == "" || ck.Value == c.old || ck.MaxAge < 0 {
		t.Fatalf("the write set %v (set: %v), want a new session ID", ck, ok)
	}
	b.Expect("GET", c.app.URL+"/get/user", 200, "bob")
	if errs := c.app.Errors(); len(errs) != 0 {
		t.Fatalf("a read of the new session recorded %q", errs)
	}
}

// TestCorruptKeyIsANewSession spoils a live session's key straight in
// Redis: the request that presents its cookie gets a new session, not a
// 503 until the key expires.
func TestCorruptKeyIsANewSession(t *testing.T) {
	srv := testserver.Redis(t)
	client := newClient(t, srv.Addr)
	log := logCommands(client)
	a := newApp(t, redis.New(client, redis.WithPrefix(uniquePrefix())), nil)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		spoil func(key string) error
		why   string
	}{
		{"String", func(k string) error { return client.Set(ctx, k, "x", time.Minute).Err() }, "another type than a hash"},
		{"List", func(k string) error {
			return errors.Join(client.Del(ctx, k).Err(), client.RPush(ctx, k, "d", "v").Err(), client.Expire(ctx, k, time.Minute).Err())
		}, "another type than a hash"},
		{"NoVersion", func(k string) error { return client.HDel(ctx, k, "v").Err() }, "without a valid version"},
		{"VersionZero", func(k string) error { return client.HSet(ctx, k, "v", "0").Err() }, "without a valid version"},
		{"VersionNotANumber", func(k string) error { return client.HSet(ctx, k, "v", "seven").Err() }, "without a valid version"},
		{"NoData", func(k string) error { return client.HDel(ctx, k, "d").Err() }, "without data"},
		{"TouchTimeNotANumber", func(k string) error { return client.HSet(ctx, k, "t", "yesterday").Err() }, "invalid touch time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := a.NewBrowser()
			b.Expect("POST", "/set/user/alice", 200, "ok")
			if err := tc.spoil(log.lastKey()); err != nil {
				t.Fatal(err)
			}
			corrupted{app: a, old: b.Cookie("sid"), why: tc.why}.expectNew(t, b)
		})
	}
}

// TestOversizedRecordIsANewSession: a session stored under a larger
// maximum record size is corrupt to a store with a smaller one (200 bytes
// of data, a limit of 100), and a save over the limit is refused (500).
func TestOversizedRecordIsANewSession(t *testing.T) {
	srv := testserver.Redis(t)
	client := newClient(t, srv.Addr)
	prefix := uniquePrefix()
	big := newApp(t, redis.New(client, redis.WithPrefix(prefix)), nil)
	small := newApp(t, redis.New(client, redis.WithPrefix(prefix), redis.WithMaxRecordSize(100)), nil)
	b := big.Browser
	long := strings.Repeat("x", 200)
	b.Expect("POST", "/set/user/"+long, 200, "ok")
	b.Expect("GET", "/get/user", 200, long) // a sound record, under the default
	corrupted{app: small, old: b.Cookie("sid"), why: "over the store's maximum record size of 100"}.expectNew(t, b)
	if resp, body := b.Do("POST", small.URL+"/set/user/"+long); resp.StatusCode != 500 {
		t.Fatalf("a save over the limit = %d %q, want 500", resp.StatusCode, body)
	}
	b.Expect("GET", small.URL+"/get/user", 200, "bob")
}

// TestMaxRecordSize checks the limit at its edge, on the store: Save
// refuses one byte more without sending anything, and Load refuses a
// stored record with one byte more.
func TestMaxRecordSize(t *testing.T) {
	srv := testserver.Redis(t)
	client := newClient(t, srv.Addr)
	log := logCommands(client)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		opt   redis.Option
		limit int
	}{
		{"Option", redis.WithMaxRecordSize(100), 100},
		{"Default", redis.WithMaxRecordSize(0), redis.DefaultMaxRecordSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := redis.New(client, redis.WithPrefix("max:"), tc.opt)
			at := bytes.Repeat([]byte("a"), tc.limit)
			if _, err := s.Save(ctx, tc.name+"at", at, 0, time.Minute); err != nil {
				t.Fatalf("Save of %d bytes: %v", tc.limit, err)
			}
			if r, err := s.Load(ctx, tc.name+"at"); err != nil || !bytes.Equal(r.Data, at) {
				t.Fatalf("Load of %d bytes: %d bytes, %v", tc.limit, len(r.Data), err)
			}
			log.take()
			over := append(at, 'b')
			_, err := s.Save(ctx, tc.name+"over", over, 0, time.Minute)
			if !errors.Is(err, redis.ErrTooLarge) || !errors.Is(err, sessions.ErrTooLarge) {
				t.Fatalf("Save of %d bytes: %v, want ErrTooLarge", len(over), err)
			}
			if sent := log.take(); len(sent) != 0 {
				t.Fatalf("Save of %d bytes sent %q, want nothing", len(over), sent)
			}
			if err := client.HSet(ctx, "max:"+tc.name+"over", "d", over, "v", "7").Err(); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Load(ctx, tc.name+"over"); !errors.Is(err, sessions.ErrCorrupt) {
				t.Fatalf("Load of a stored %d bytes: %v, want sessions.ErrCorrupt", len(over), err)
			}
		})
	}
}

// TestServerAndNetworkErrorsAreNotCorruption: a server that refuses the
// load (an ACL denies HMGET) or is gone gives a transport error, not a
// corrupt record.
func TestServerAndNetworkErrorsAreNotCorruption(t *testing.T) {
	srv := testserver.Redis(t)
	ctx := context.Background()
	if err := newClient(t, srv.Addr).Do(ctx, "ACL", "SETUSER", "nohmget", "on", ">pw", "~*", "+@all", "-hmget").Err(); err != nil {
		t.Fatal(err)
	}
	s := redis.New(newClient(t, srv.Addr, func(o *goredis.Options) {
		o.Username, o.Password, o.MaxRetries, o.DialerRetries = "nohmget", "pw", 1, 1
	}))
	if _, err := s.Save(ctx, "k", []byte("x"), 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "k"); !strings.Contains(fmt.Sprint(err), "NOPERM") || errors.Is(err, sessions.ErrCorrupt) {
		t.Fatalf("Load that the server refuses: %v, want its NOPERM error, not sessions.ErrCorrupt", err)
	}
	srv.Stop()
	if _, err := s.Load(ctx, "k"); err == nil || errors.Is(err, sessions.ErrCorrupt) || errors.Is(err, sessions.ErrNotFound) {
		t.Fatalf("Load with the server down: %v, want a transport error", err)
	}
}

// cutter makes connections to Redis that, while it is armed, end halfway
// through marker in a reply, as if the server had closed them there.
type cutter struct {
	marker []byte
	armed  atomic.Bool
}

func (c *cutter) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &cutConn{Conn: conn, c: c}, nil
}

type cutConn struct {
	net.Conn
	c    *cutter
	tail []byte // the last bytes read, in case the marker spans two reads
	dead bool
}

func (cc *cutConn) Read(b []byte) (int, error) {
	if cc.dead {
		return 0, io.EOF
	}
	n, err := cc.Conn.Read(b)
	if n == 0 || !cc.c.armed.Load() {
		return n, err
	}
	seen := append(cc.tail, b[:n]...)
	if i := bytes.Index(seen, cc.c.marker); i >= 0 {
		cc.dead = true
		cc.Conn.Close()
		return max(0, i+len(cc.c.marker)/2-len(cc.tail)), nil
	}
	cc.tail = append([]byte(nil), seen[max(0, len(seen)-len(cc.c.marker)):]...)
	return n, err
}

// TestReplyCutOffInTransit ends the connection halfway through the
// session data of a reply: a transport error (503), not a corrupt record,
// and the session is there again once replies arrive whole.
func TestReplyCutOffInTransit(t *testing.T) {
	srv := testserver.Redis(t)
	cut := &cutter{marker: []byte("alice-in-transit")}
	client := newClient(t, srv.Addr, func(o *goredis.Options) { o.Dialer = cut.dial; o.MaxRetries = 1 })
	log := logCommands(client)
	s := redis.New(client)
	a := newApp(t, s, nil)
	a.Expect("POST", "/set/user/alice-in-transit", 200, "ok")
	id, key := a.Cookie("sid"), strings.TrimPrefix(log.lastKey(), redis.DefaultPrefix)

	cut.armed.Store(true)
	_, err := s.Load(context.Background(), key)
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, sessions.ErrCorrupt) {
		t.Fatalf("Load of a cut-off reply: %v, want an unexpected EOF, not sessions.ErrCorrupt", err)
	}
	for _, req := range [][2]string{{"GET", "/get/user"}, {"POST", "/set/user/mallory"}} {
		if resp, body := a.Do(req[0], req[1]); resp.StatusCode != 503 {
			t.Fatalf("%s %s with cut-off replies = %d %q, want 503", req[0], req[1], resp.StatusCode, body)
		}
	}
	cut.armed.Store(false)
	a.Expect("GET", "/get/user", 200, "alice-in-transit")
	if a.Cookie("sid") != id {
		t.Fatal("the session ID changed")
	}
}

// TestOpenMaxRecord: the URL option max_record is applied, and Open's own
// options come after it.
func TestOpenMaxRecord(t *testing.T) {
	srv := testserver.Redis(t)
	ctx := context.Background()
	for _, tc := range []struct {
		url   string
		opts  []redis.Option
		limit int
	}{
		{"redis://" + srv.Addr + "?max_record=10", nil, 10},
		{"redis://" + srv.Addr + "?max_record=10&prefix=p:", nil, 10},
		{"redis://" + srv.Addr + "?max_record=10", []redis.Option{redis.WithMaxRecordSize(20)}, 20},
		{"redis://" + srv.Addr, nil, redis.DefaultMaxRecordSize},
	} {
		s, err := redis.Open(tc.url, tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Save(ctx, "k"+strconv.Itoa(tc.limit), make([]byte, tc.limit), 0, time.Minute); err != nil {
			t.Errorf("%s: Save of %d bytes: %v", tc.url, tc.limit, err)
		}
		if _, err := s.Save(ctx, "k", make([]byte, tc.limit+1), 0, time.Minute); !errors.Is(err, redis.ErrTooLarge) {
			t.Errorf("%s: Save of %d bytes: %v, want ErrTooLarge", tc.url, tc.limit+1, err)
		}
		_ = s.Close()
	}
	for _, v := range []string{"0", "-1", "ten", "536870913", ""} {
		s, err := redis.Open("redis://" + srv.Addr + "?max_record=" + v)
		if err == nil {
			_ = s.Close()
			t.Errorf("max_record=%q accepted", v)
		} else if !strings.Contains(err.Error(), "max_record") {
			t.Errorf("max_record=%q: %v, want an error naming max_record", v, err)
		}
	}
}
