package rueidisstore_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/redis/rueidis"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/benchmarks/rueidisstore"
	"github.com/sessionware/sessions/internal/testapp"
	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/storetest"
)

var prefixes atomic.Int64

// newClient makes a rueidis client of addr (client-side caching on when
// cache is true) and closes it when the test ends.
func newClient(t *testing.T, addr string, cache bool) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{addr}, DisableCache: !cache, ForceSingleClient: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func prefix() string { return fmt.Sprintf("rueidis-test-%d:", prefixes.Add(1)) }

// TestConformance runs the library's conformance suite (the Store
// contract, the middleware over HTTP, and the races: updates, Renew and
// logout interleaved in a forced order, the hot session, two processes on
// one store) against the prototype, without and with the client-side
// cache.
func TestConformance(t *testing.T) {
	srv := testserver.Redis(t)
	for _, cache := range []bool{false, true} {
		t.Run("cache="+strconv.FormatBool(cache), func(t *testing.T) {
			client := newClient(t, srv.Addr, cache)
			storetest.Run(t, func(t *testing.T) sessions.Backend {
				var opts []rueidisstore.Option
				if cache {
					opts = append(opts, rueidisstore.WithClientCache(0))
				}
				return rueidisstore.New(client, append(opts, rueidisstore.WithPrefix(prefix()))...)
			})
		})
	}
}

// TestStaleCachedReadLosesNoUpdate forces the case the client-side cache
// opens: a request of process A reads a session from A's local cache after
// process B changed it on the server, before Redis's invalidation reached
// A (a proxy between A and Redis holds back what Redis sends A). A's
// increment must still land: its compare-and-swap runs on the server,
// fails against B's version, and the commit reloads and replays it.
func TestStaleCachedReadLosesNoUpdate(t *testing.T) {
	srv := testserver.Redis(t)
	proxy := newGatedProxy(t, srv.Addr)
	p := prefix()
	cached := rueidisstore.New(newClient(t, proxy.addr(), true), rueidisstore.WithClientCache(0), rueidisstore.WithPrefix(p))
	direct := rueidisstore.New(newClient(t, srv.Addr, false), rueidisstore.WithPrefix(p))
	seen := make(chan string, 1) // what A's held increment read before it changed it
	app := func(store sessions.Store) *testapp.App {
		return testapp.NewGin(t, func(r *gin.Engine) {
			r.Use(sessions.Sessions("sid", store))
			incr := func(c *gin.Context) {
				sessions.Default(c).Update("n", func(old any) any { n, _ := old.(int); return n + 1 })
			}
			r.POST("/incr", func(c *gin.Context) { incr(c); c.String(200, "ok") })
			r.POST("/read-then-incr", func(c *gin.Context) {
				seen <- fmt.Sprint(sessions.Default(c).Get("n"))
				incr(c)
				c.String(200, "ok")
			})
			r.GET("/n", func(c *gin.Context) { c.String(200, "%v", sessions.Default(c).Get("n")) })
		})
	}
	a, b := app(cached), app(direct)

	a.Expect("POST", "/incr", 200, "ok") // n = 1
	id := a.Cookie("sid")
	// The first read after A's own save goes to Redis, the second fills
	// the cache, the third is served from it.
	for range 3 {
		a.Expect("GET", "/n", 200, "1")
	}
	if cached.CacheHits() == 0 {
		t.Fatal("no read was served from the client-side cache: the test would show nothing")
	}

	proxy.hold()
	b.Stranger().Expect("POST", "/incr", 200, "ok", testapp.WithCookie("sid", id)) // n = 2 on the server
	hits := cached.CacheHits()
	done := make(chan error, 1)
	go func() {
		_, body, err := a.Send("POST", "/read-then-incr")
		if err == nil && body != "ok" {
			err = errors.New("POST /read-then-incr answered " + body)
		}
		done <- err
	}()
	if got := <-seen; got != "1" || cached.CacheHits() != hits+1 {
		t.Fatalf("A read n = %s (cache hits %d → %d); want the stale 1 from its cache", got, hits, cached.CacheHits())
	}
	proxy.release() // the invalidation, then the answer to A's save
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b.Stranger().Expect("GET", "/n", 200, "3", testapp.WithCookie("sid", id))
	if cached.Conflicts() == 0 {
		t.Fatal("A's save did not conflict: it cannot have started from the stale read")
	}
}

// gatedProxy forwards connections from loopback to a server; while held,
// it keeps what the server sends, in order, until release.
type gatedProxy struct {
	ln   net.Listener
	mu   sync.Mutex
	open chan struct{} // closed: bytes flow
}

func newGatedProxy(t *testing.T, target string) *gatedProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &gatedProxy{ln: ln, open: make(chan struct{})}
	close(p.open)
	var wg sync.WaitGroup
	var conns []net.Conn
	var connsMu sync.Mutex
	t.Cleanup(func() {
		ln.Close()
		p.release()
		connsMu.Lock()
		for _, c := range conns {
			c.Close()
		}
		connsMu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", target)
			if err != nil {
				client.Close()
				continue
			}
			connsMu.Lock()
			conns = append(conns, client, server)
			connsMu.Unlock()
			wg.Go(func() { _, _ = io.Copy(server, client); server.Close() })
			wg.Go(func() {
				defer client.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := server.Read(buf)
					if n > 0 {
						<-p.gate()
						if _, err := client.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			})
		}
	})
	return p
}

func (p *gatedProxy) addr() string { return p.ln.Addr().String() }

func (p *gatedProxy) gate() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open
}

// hold stops passing what the server sends.
func (p *gatedProxy) hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
		p.open = make(chan struct{})
	default:
	}
}

// release passes on what was held, and all that follows.
func (p *gatedProxy) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
	default:
		close(p.open)
	}
}
