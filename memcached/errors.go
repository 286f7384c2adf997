package memcached

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/bradfitz/gomemcache/memcache"
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

// ErrUnreachable is wrapped by Check's error: no server answers (with a
// store made by New: one of the client's servers does not).
var ErrUnreachable = errors.New("memcached: no server answers")

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

// retryable reacts to err from a command: if a connection broke in use, or
// answered for another key (see sameKey), it drops the client's idle
// connections, which may be just as stale or out of step, and reports
// true: the command may be sent once more on a fresh connection (see
// exec).
func (s *Store) retryable(err error) bool {
	if err == nil || !brokenConn(err) && !errors.Is(err, errOtherKey) {
		return false
	}
	_ = s.client.Close() // closes idle connections only; the client stays usable
	return true
}

// answered reports whether err is memcached's answer to a command (a miss,
// a lost compare-and-swap, an item refused for its size): the server is
// up.
func answered(err error) bool {
	return errors.Is(err, memcache.ErrCacheMiss) || errors.Is(err, memcache.ErrNotStored) ||
		errors.Is(err, memcache.ErrCASConflict) || tooLarge(err) || outOfMemory(err)
}

// unreachable reports whether err means that the server could not be
// reached or did not answer in time: a connect refused or timed out, a
// name that does not resolve, a read or write that timed out, a connection
// that broke in use, a reply for another key. These count towards the
// server's ejection; the end of the caller's context does not.
func unreachable(err error) bool {
	if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	var cte *memcache.ConnectTimeoutError
	return errors.As(err, &ne) || errors.As(err, &cte) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errOtherKey)
}
