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
// asks Err), and takes them from a pool (see doneTimer), so a request
// allocates nothing for it in the steady state.
type storeContext struct {
	parent   context.Context // the request's: for Value only; nil between phases
	started  time.Time       // the phase's start
	deadline time.Time
	spent    time.Duration // by the phases that ended

	mu   sync.Mutex
	done <-chan struct{}
	dt   *doneTimer // what closes done at the deadline, if Done made one
}

var _ context.Context = (*storeContext)(nil)

func (c *storeContext) Deadline() (time.Time, bool) { return c.deadline, true }

func (c *storeContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if d := time.Until(c.deadline); d <= 0 {
			c.done = closedChan
		} else {
			c.dt = getDoneTimer(d)
			c.done = c.dt.ch
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
	if c.dt != nil {
		c.dt.release()
	}
	c.parent, c.done, c.dt = nil, nil, nil
	c.mu.Unlock()
}

// closedChan is the Done channel of a context whose deadline has passed.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// doneTimer is a Done channel and the timer that closes it at a deadline.
// A store that asks Done (go-redis does, on every command) would cost a
// channel, a timer and a closure per phase; instead, a doneTimer whose
// timer was stopped before it fired (the common case: the store answered
// in time) still has an open channel and an idle timer, and goes back to
// a pool for the next phase.
type doneTimer struct {
	ch chan struct{}
	t  *time.Timer
}

var doneTimers sync.Pool

func getDoneTimer(d time.Duration) *doneTimer {
	if dt, ok := doneTimers.Get().(*doneTimer); ok {
		dt.t.Reset(d)
		return dt
	}
	dt := &doneTimer{ch: make(chan struct{})}
	dt.t = time.AfterFunc(d, dt.fire)
	return dt
}

func (dt *doneTimer) fire() { close(dt.ch) }

// release stops the timer. If it had not fired, its channel is open and
// nobody is told of it any more: it can serve again.
func (dt *doneTimer) release() {
	if dt.t.Stop() {
		doneTimers.Put(dt)
	}
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
