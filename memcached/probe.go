package memcached

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// purgeBatch is how many remembered keys bringBack takes at a time.
const purgeBatch = 1024

// watch probes ejected server i every retry interval until it answers and
// bringBack returns it, or the pool closes.
func (p *pool) watch(i int) {
	defer p.wg.Done()
	sv := &p.servers[i]
	t := time.NewTicker(p.retry)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		case <-sv.kick:
		}
		if err := p.ping(context.Background(), i); err != nil {
			continue
		}
		if p.bringBack(i) {
			return
		}
	}
}

// ping asks server i for its version on a connection of its own, dialled
// as the client dials, within the client's timeout.
func (p *pool) ping(ctx context.Context, i int) error {
	addr := p.servers[i].addr
	ctx, cancel := context.WithTimeout(ctx, p.timeout())
	defer cancel()
	dial := p.client.DialContext
	if dial == nil {
		var d net.Dialer
		dial = d.DialContext
	}
	c, err := dial(ctx, addr.Network(), addr.String())
	if err != nil {
		return err
	}
	defer c.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(deadline)
	}
	if _, err := io.WriteString(c, "version\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(io.LimitReader(c, 256)).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "VERSION ") {
		return fmt.Errorf("memcached: %s answered %q to \"version\"", addr, line)
	}
	return nil
}

// timeout is the client's timeout of a connect, read or write.
func (p *pool) timeout() time.Duration {
	if p.client.Timeout > 0 {
		return p.client.Timeout
	}
	return memcache.DefaultTimeout
}

// bringBack returns server i, which answered a probe, to rotation: it
// deletes every key remembered while i was ejected from i (a record there
// predates what was written or destroyed meanwhile) and then from every
// other server up (the copy written to its fallback), each key going home
// once deleted from i. Keys it does not remember go home at once. It
// reports false, leaving i ejected, if i fails again meanwhile (or the
// pool closes).
func (p *pool) bringBack(i int) bool {
	sv := &p.servers[i]
	p.mu.Lock()
	if p.closed || state(sv.state.Load()) != ejected {
		p.mu.Unlock()
		return false
	}
	sv.state.Store(int32(returning))
	p.mu.Unlock()

	direct := make([]*memcache.Client, len(p.servers)) // made when first needed
	defer func() {
		for _, c := range direct {
			if c != nil {
				_ = c.Close()
			}
		}
	}()
	on := func(j int) *memcache.Client {
		if direct[j] == nil {
			direct[j] = p.direct(j)
		}
		return direct[j]
	}
	purged := 0
	for {
		p.mu.Lock()
		if p.closed || state(sv.state.Load()) != returning {
			p.mu.Unlock()
			return false
		}
		if len(sv.moved) == 0 {
			sv.state.Store(int32(up))
			sv.fails.Store(0)
			sv.moved = nil
			p.notUp.Add(-1)
			p.mu.Unlock()
			p.log(slog.LevelInfo, "memcached: server back in rotation", "server", sv.addr.String(), "deleted", purged)
			return true
		}
		batch := make([]string, 0, min(len(sv.moved), purgeBatch))
		for k := range sv.moved {
			if batch = append(batch, k); len(batch) == cap(batch) {
				break
			}
		}
		p.mu.Unlock()
		for _, k := range batch {
			if err := deleteKey(on(i), k); err != nil {
				p.eject(i, "failed again while coming back", err)
				return false
			}
			p.mu.Lock()
			delete(sv.moved, k)
			p.mu.Unlock()
			for j := range p.servers {
				if j != i && state(p.servers[j].state.Load()) == up {
					_ = deleteKey(on(j), k) // best effort: the fallback TTL bounds a copy left behind
				}
			}
			purged++
		}
	}
}

// direct returns a client of server i alone, which dials as the pool's
// client does.
func (p *pool) direct(i int) *memcache.Client {
	c := memcache.NewFromSelector(one{p.servers[i].addr})
	c.Timeout, c.DialContext = p.client.Timeout, p.client.DialContext
	return c
}

// one is a memcache.ServerSelector of one server.
type one struct{ addr net.Addr }

func (o one) PickServer(string) (net.Addr, error) { return o.addr, nil }
func (o one) Each(f func(net.Addr) error) error   { return f(o.addr) }
func deleteKey(c *memcache.Client, k string) error {
	if err := c.Delete(k); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		return err
	}
	return nil
}

// check pings every server at once. If none answers, it returns an error
// naming each with its cause; otherwise it ejects each that does not
// answer (or, with ejection off, logs a warning naming it).
func (p *pool) check(ctx context.Context) error {
	errs := make([]error, len(p.servers))
	var wg sync.WaitGroup
	for i := range p.servers {
		wg.Go(func() { errs[i] = p.ping(ctx, i) })
	}
	wg.Wait()
	var failed []string
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", p.servers[i].addr, err))
		}
	}
	if len(failed) == len(p.servers) {
		return fmt.Errorf("%w: %s", ErrUnreachable, strings.Join(failed, "; "))
	}
	for i, err := range errs {
		switch {
		case err == nil:
		case p.ejectAfter > 0:
			p.eject(i, "no answer at start-up", err)
		default:
			p.log(slog.LevelWarn, "memcached: server does not answer; requests for the sessions it holds fail until it does (ejection is off)", "server", p.servers[i].addr.String(), "error", err.Error())
		}
	}
	return nil
}
