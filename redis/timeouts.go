package redis

import (
	"errors"
	"net/url"
	"time"
)

// Timeouts that Open gives go-redis when the URL does not set them. The
// request's budget, the deadline of the context the middleware passes,
// bounds every call first (2 s by default); these bound each attempt
// beneath it, and every call of a program that passes a context without
// a deadline. A command on a healthy server answers in a millisecond or
// two, so 1 s means a server in trouble.
const (
	// openDialTimeout bounds a connect (go-redis's default: 5 s).
	openDialTimeout = time.Second
	// openReadTimeout bounds the wait for each reply, and a write
	// (go-redis's default: 5 s). It must exceed the wait timeout
	// (DefaultWaitTimeout, 500 ms) by a margin.
	openReadTimeout = time.Second
	// openPoolTimeout bounds the wait for a connection when the pool's
	// are all busy, as when they are all stuck on a frozen server
	// (go-redis's default: the read timeout plus 1 s).
	openPoolTimeout = time.Second
)

// errContextTimeouts refuses context_timeout_enabled=false.
var errContextTimeouts = errors.New("context_timeout_enabled other than true is refused: without it go-redis ignores the request's deadline " +
	"for socket reads and writes, and a hung server holds each request for go-redis's own timeouts and retries")

// timeouts makes go-redis honour the deadline of each call's context
// (ContextTimeoutEnabled), and sets the timeouts of go-redis's options
// that q leaves out to Open's defaults. A write_timeout left out follows
// read_timeout when q sets that, as in go-redis.
func timeouts(q url.Values, contextDeadlines *bool, dial, read, write, pool *time.Duration) {
	*contextDeadlines = true
	if !q.Has("dial_timeout") {
		*dial = openDialTimeout
	}
	if !q.Has("read_timeout") {
		*read = openReadTimeout
		if !q.Has("write_timeout") {
			*write = openReadTimeout
		}
	}
	if !q.Has("pool_timeout") {
		*pool = openPoolTimeout
	}
}
