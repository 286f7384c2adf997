package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// ErrNotReplicated is wrapped by the error of a Save or Touch of a store
// made with WithWait (or the URL option wait) when fewer replicas than
// asked acknowledged the write before the wait timeout. The write was
// made on the master: it may survive, or be lost if the master fails over
// now. The middleware answers 503, as for any store error.
var ErrNotReplicated = errors.New("redis: write not acknowledged by enough replicas")

// waitPolicy is how many replicas each write waits for, and how long.
type waitPolicy struct {
	replicas int           // 0: no waiting
	timeout  time.Duration // WAIT's timeout, before the context's deadline bounds it
}

// maxWaitReplicas bounds WithWait's replicas and the URL option wait.
const maxWaitReplicas = 100

// waitMargin is kept of the context's time after WAIT's timeout, for the
// reply to come back before the deadline closes the connection: Redis
// ends a blocked command's timeout in its event loop, up to 100 ms late
// at its default hz of 10.
const waitMargin = 150 * time.Millisecond

// check validates the policy for client: the client must let the store
// pin the write and WAIT on one connection, and WAIT's timeout must end
// before the client's read timeout would.
func (w *waitPolicy) check(client goredis.UniversalClient) error {
	if w.replicas == 0 {
		return nil
	}
	if w.replicas < 0 || w.replicas > maxWaitReplicas {
		return fmt.Errorf("redis: wait for %d replicas: want 0 (no waiting) to %d", w.replicas, maxWaitReplicas)
	}
	if w.timeout == 0 {
		w.timeout = DefaultWaitTimeout
	}
	if w.timeout < time.Millisecond {
		return fmt.Errorf("redis: wait timeout %v: want at least 1ms (0 for the default, %v)", w.timeout, DefaultWaitTimeout)
	}
	var read time.Duration
	switch c := client.(type) {
	case *goredis.Client:
		read = c.Options().ReadTimeout
	case *goredis.ClusterClient:
		read = c.Options().ReadTimeout
	default:
		return fmt.Errorf("redis: waiting for replicas needs a *redis.Client (one server or Sentinel) or a *redis.ClusterClient, not a %T: "+
			"WAIT must follow the write on its connection", client)
	}
	if read > 0 && w.timeout+waitMargin > read {
		return fmt.Errorf("redis: wait timeout %v: want it at least %v shorter than the client's read timeout, %v", w.timeout, waitMargin, read)
	}
	return nil
}

// master returns the client of the server that holds key: the store's
// own client, or on a cluster the client of the key's master, so that a
// pipeline sent to it goes on one connection.
func (s *Store) master(ctx context.Context, key string) (*goredis.Client, error) {
	if c, ok := s.client.(*goredis.ClusterClient); ok {
		return c.MasterForKey(ctx, key)
	}
	return s.client.(*goredis.Client), nil // checked by newStore
}

// waitTimeout returns WAIT's timeout for a write under ctx: the policy's,
// cut to what the context's deadline leaves after waitMargin, and never
// less than a millisecond (WAIT 0 would block for good).
func (s *Store) waitTimeout(ctx context.Context) time.Duration {
	d := s.wait.timeout
	if deadline, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(deadline)-waitMargin)
	}
	return max(d, time.Millisecond)
}

// runWaiting runs script on key, then WAIT on the same connection, in one
// pipeline (a server that does not know the script yet costs a second
// one, with EVAL), and returns the script's reply. When the script wrote
// (it returned 1), too few acknowledgements is an error wrapping
// ErrNotReplicated.
//
// WAIT counts the replicas that have acknowledged the last write of its
// own connection. A pipeline that go-redis sends again on a new
// connection (after a lost reply) runs the script again, which finds its
// own write and writes again (see saveScript), so WAIT still covers it.
func (s *Store) runWaiting(ctx context.Context, script *goredis.Script, key string, args ...any) (int64, error) {
	c, err := s.master(ctx, key)
	if err != nil {
		return 0, err
	}
	timeout := s.waitTimeout(ctx)
	keys := []string{key}
	var run *goredis.Cmd
	var acks *goredis.IntCmd
	send := func(eval func(p goredis.Pipeliner) *goredis.Cmd) {
		_, _ = c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			run = eval(p)
			acks = goredis.NewIntCmd(ctx, "wait", s.wait.replicas, timeout.Milliseconds())
			_ = p.Process(ctx, acks)
			return nil
		})
	}
	send(func(p goredis.Pipeliner) *goredis.Cmd { return script.EvalSha(ctx, p, keys, args...) })
	if goredis.HasErrorPrefix(run.Err(), "NOSCRIPT") {
		send(func(p goredis.Pipeliner) *goredis.Cmd { return script.Eval(ctx, p, keys, args...) })
	}
	n, err := run.Int64()
	if err != nil || n != 1 {
		return n, err // an error, or nothing written: nothing to wait for
	}
	got, err := acks.Result()
	if err != nil {
		return 0, fmt.Errorf("redis: WAIT after the write: %w", err)
	}
	if got < int64(s.wait.replicas) {
		return n, fmt.Errorf("%w: %d of %d within %v", ErrNotReplicated, got, s.wait.replicas, timeout)
	}
	return n, nil
}
