package memcached

import (
	"github.com/bradfitz/gomemcache/memcache"
)

// Open returns a store on the memcached servers at addrs (host:port, or a
// Unix socket path), with a client tuned for session traffic: keys spread
// by rendezvous hashing (RendezvousSelector), DefaultMaxIdleConns (64)
// idle connections per server instead of gomemcache's 2, and a
// DefaultTimeout (500 ms) bound on each connect, read and write; see
// WithMaxIdleConns and WithTimeout. It does not connect: a server that is
// down fails the requests that need it, not Open. An empty or unparsable
// address list is an error.
func Open(addrs []string, opts ...Option) (*Store, error) {
	sel, err := NewRendezvousSelector(addrs...)
	if err != nil {
		return nil, err
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := checkPrefix(o.prefix); err != nil {
		return nil, err
	}
	client := memcache.NewFromSelector(sel)
	o.apply(client)
	return New(client, opts...), nil
}
