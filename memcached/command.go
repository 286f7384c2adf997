package memcached

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
)

// verb is a memcached command that the store sends.
type verb uint8

const (
	verbGets verb = iota
	verbGAT
	verbAdd
	verbCAS
	verbAppend
	verbDelete
	verbTouch
)

var verbNames = [...]string{verbGets: "gets", verbGAT: "gat", verbAdd: "add", verbCAS: "cas", verbAppend: "append", verbDelete: "delete", verbTouch: "touch"}

// command is one memcached command, as data, so that exec can route it,
// bound it by a context and, when the context's deadline is near, send it
// from another goroutine without a closure on the common path.
type command struct {
	verb verb
	key  string         // with the prefix
	item *memcache.Item // add, cas, append: the item sent; gets, gat: the item read
	ttl  time.Duration  // add, cas, gat, touch: the record's time to live
	exp  int32          // gat, touch: the expiration that exec derives from ttl

	fallback bool // set by exec: the key went to a fallback server
}

// expires reports whether the command sets an expiration.
func (c *command) expires() bool {
	return c.verb == verbAdd || c.verb == verbCAS || c.verb == verbGAT || c.verb == verbTouch
}

// exec sends c to the server its key goes to, within ctx (see send), and
// sends it once more on a fresh connection if a connection broke in use or
// answered for another key, except "cas": a lost reply to it cannot be
// told from a conflict. Sent to a fallback server (its own is ejected), a
// record's TTL is at most the fallback TTL. The outcome counts once
// towards the server's ejection (see pool.report).
func (s *Store) exec(ctx context.Context, c *command) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	srv := -1
	ttl := c.ttl
	if s.pool != nil {
		home, used, err := s.pool.pick(c.key)
		if err != nil {
			return err
		}
		if used != home {
			ttl = min(ttl, s.pool.fallbackTTL)
			c.fallback = true
		}
		srv = used
	}
	if c.expires() {
		exp := expiration(ttl, time.Now())
		if c.item == nil {
			c.exp = exp
		} else {
			c.item.Expiration = exp
		}
	}
	err := s.send(ctx, c, srv)
	if c.verb == verbCAS {
		s.retryable(err) // never retried
	} else if s.retryable(err) {
		if err = ctx.Err(); err == nil {
			err = s.send(ctx, c, srv)
		}
	}
	s.pool.report(srv, err)
	return err
}

// send sends c once. gomemcache takes no context: each connect, read and
// write is bounded by the client's timeout, so a command to a server that
// does not answer takes up to about twice that (a connect, then a read).
// When ctx's deadline comes sooner, the command goes from a goroutine of
// its own and send returns at the deadline with an error wrapping ctx's;
// the command runs on to its own timeout, and its outcome then counts for
// its server. Cancellation without a deadline is seen between commands.
func (s *Store) send(ctx context.Context, c *command, srv int) error {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < 2*s.timeout() {
		return s.sendBefore(ctx, c, srv)
	}
	return s.run(c)
}

// A command sent from a goroutine of its own ends in one of two ways:
// the goroutine finishes first and hands its outcome over, or the caller
// gives up first and the goroutine reports the outcome itself.
const (
	sending int32 = iota
	handedOver
	abandoned
)

// sendBefore is send for a deadline that may come before the client's
// timeout does.
func (s *Store) sendBefore(ctx context.Context, c *command, srv int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var (
		bg   = *c // the goroutine's own copy: c is never touched once abandoned
		err  error
		end  atomic.Int32
		done = make(chan struct{})
	)
	go func() {
		e := s.run(&bg)
		if end.CompareAndSwap(sending, handedOver) {
			err = e
			close(done)
			return
		}
		s.pool.report(srv, e)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		if end.CompareAndSwap(sending, abandoned) {
			to := ""
			if srv >= 0 {
				to = " to " + s.pool.servers[srv].addr.String()
			}
			return fmt.Errorf("memcached: %s%s: no answer before the deadline: %w", verbNames[c.verb], to, ctx.Err())
		}
		<-done // handed over just now
	}
	c.item = bg.item
	return err
}

// timeout is the client's bound on each connect, read and write.
func (s *Store) timeout() time.Duration {
	if s.client.Timeout > 0 {
		return s.client.Timeout
	}
	return memcache.DefaultTimeout
}

// run sends c with the client, and keeps the item read.
func (s *Store) run(c *command) (err error) {
	k, exp, it := c.key, c.exp, c.item
	switch c.verb {
	case verbGets:
		if it, err = s.client.Get(k); err == nil {
			err = sameKey(it, k)
		}
	case verbGAT:
		if it, err = s.client.GetAndTouch(k, exp); err == nil {
			err = sameKey(it, k)
		}
	case verbAdd:
		err = s.client.Add(it)
	case verbCAS:
		err = s.client.CompareAndSwap(it)
	case verbAppend:
		err = s.client.Append(it)
	case verbDelete:
		err = s.client.Delete(k)
	case verbTouch:
		err = s.client.Touch(k, exp)
	}
	c.item = it
	return err
}
