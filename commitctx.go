package sessions

import (
	"context"
	"sync"
	"time"
)

// commitContext is the context of the store calls one commit makes:
// detached from the request's cancellation, so that a logout whose client
// hung up still lands, and bounded by the commit timeout
// ([WithCommitTimeout]). It lives inside the Session, and makes its Done
// channel and timer only when a store asks for them (a network client
// does; the memory store only asks Err), so a commit on the memory store
// allocates nothing for it.
type commitContext struct {
	parent   context.Context // the request's: for Value only
	deadline time.Time

	mu    sync.Mutex
	done  chan struct{}
	timer *time.Timer
}

var _ context.Context = (*commitContext)(nil)

func (c *commitContext) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *commitContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if d := time.Until(c.deadline); d <= 0 {
			close(c.done)
		} else {
			done := c.done
			c.timer = time.AfterFunc(d, func() { close(done) })
		}
	}
	return c.done
}

func (c *commitContext) Err() error {
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *commitContext) Value(key any) any { return c.parent.Value(key) }

// end stops the timer, if Done made one. The context must not be used
// afterwards.
func (c *commitContext) end() {
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
	}
	c.parent, c.done, c.timer = nil, nil, nil
	c.mu.Unlock()
}

// storeCtx is the context of the store calls the commit under way makes
// (see commitContext). It starts at the first store call of the commit and
// ends with it.
func (s *Session) storeCtx() context.Context {
	if s.cctx.parent == nil {
		s.cctx.parent = s.ctx()
		s.cctx.deadline = time.Now().Add(s.m.cfg.commitTimeout)
	}
	return &s.cctx
}
