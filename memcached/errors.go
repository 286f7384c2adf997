package memcached

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/sessionware/sessions"
)

// ErrTooLarge is returned by Save when the session is larger than the
// store's maximum record size (WithMaxRecordSize, 1 MiB by default), or
// than the server accepts as one item (memcached's -I option, 1 MiB by
// default, minus the key and a few dozen bytes of item header).
// It wraps [sessions.ErrTooLarge], so the default error handler answers 500.
var ErrTooLarge = fmt.Errorf("memcached: session too large: %w", sessions.ErrTooLarge)

// ErrNoCAS is returned by Load when the server sends no CAS unique, as
// memcached started with -C (CAS disabled) does: without it, concurrent
// requests of one session would overwrite each other's changes.
var ErrNoCAS = errors.New("memcached: the server does not support compare-and-swap (started with -C?)")

// brokenConn reports whether err means that an established connection
// broke in use (the server closed or reset it, typically because it was
// restarted), as opposed to a refused or timed-out connect, a timeout, or
// a memcached answer.
func brokenConn(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) {
		var op *net.OpError
		return !errors.As(err, &op) || op.Op != "dial"
	}
	return false
}

// retryOnce runs op, a command whose repetition is harmless, and runs it
// again if a connection broke in use or answered for another key (see
// retryable) and ctx is still live. Every command but "cas" goes through
// it.
func (s *Store) retryOnce(ctx context.Context, op func() error) error {
	err := op()
	if err != nil && s.retryable(err) {
		if err = ctx.Err(); err == nil {
			err = op()
		}
	}
	return err
}

// retryable reacts to err from a command: if a connection broke in use, or
// answered for another key (see sameKey), it drops the client's idle
// connections, which may be just as stale or out of step, and reports
// true: the command may be retried once on a fresh connection.
func (s *Store) retryable(err error) bool {
	if err == nil || !brokenConn(err) && !errors.Is(err, errOtherKey) {
		return false
	}
	_ = s.client.Close() // closes idle connections only; the client stays usable
	return true
}
