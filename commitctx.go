package sessions

import (
	"context"
	"sync"
	"time"
)

// storeContext is the context of the store calls a request makes: its
// load, then its commit (and any Save). They share one budget
// ([WithStoreTimeout]): each phase's deadline is the start of the phase
// plus what the earlier phases left, so a hung store costs a request the
// budget once, not once per call; the handler's own time between the
// phases does not count. The calls run detached from the request's
// cancellation, so that a logout whose client hung up still lands. It
// lives inside the Session, and makes its Done channel and timer only when
// a store asks for them (a network client does; the memory store only
// asks Err), so a request on the memory store allocates nothing for it.
type storeContext struct {
	parent   context.Context // the request's: for Value only; nil between phases
	started  time.Time       // the phase's start
	deadline time.Time
	spent    time.Duration // by the phases that ended

	mu    sync.Mutex
	done  chan struct{}
	timer *time.Timer
}

var _ context.Context = (*storeContext)(nil)

func (c *storeContext) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *storeContext) Done() <-chan struct{} {
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

func (c *storeContext) Err() error {
	if !time.Now().Before(c.deadline) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *storeContext) Value(key any) any { return c.parent.Value(key) }

// end ends the phase: what it took counts against the budget, and the
// timer stops, if Done made one. The context must not be used afterwards.
func (c *storeContext) end() {
	c.spent += time.Since(c.started)
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
	}
	c.parent, c.done, c.timer = nil, nil, nil
	c.mu.Unlock()
}

// storeCtx is the context of the store calls of the phase under way, the
// load or a commit (see storeContext). It starts at the phase's first
// store call; the phase ends it with endStoreCalls.
func (s *Session) storeCtx() context.Context {
	if s.sctx.parent == nil {
		s.sctx.parent = s.ctx()
		s.sctx.started = time.Now()
		s.sctx.deadline = s.sctx.started.Add(s.m.cfg.storeTimeout - s.sctx.spent)
	}
	return &s.sctx
}

// endStoreCalls ends the phase's store context, if it started.
func (s *Session) endStoreCalls() {
	if s.sctx.parent != nil {
		s.sctx.end()
	}
}
