package memcached

import (
	"github.com/bradfitz/gomemcache/memcache"
)

// Open returns a store on the memcached servers at addrs (host:port, or a
// Unix socket path), with a client tuned for session traffic: keys spread
// by rendezvous hashing (as RendezvousSelector), DefaultMaxIdleConns (64)
// idle connections per server instead of gomemcache's 2, and a
// DefaultTimeout (500 ms) bound on each connect, read and write; see
// WithMaxIdleConns and WithTimeout. With several servers, one that fails
// DefaultEjectAfter (3) times in a row is ejected: its sessions go to the
// other servers until it answers a probe again (WithEjectAfter,
// WithRetryInterval, WithFallbackTTL; docs/memcached.md says what happens
// to its sessions). Open does not connect: Check does; a server down
// fails the requests that need it until it is ejected or back. An empty or
// unparsable address list is an error.
func Open(addrs []string, opts ...Option) (*Store, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := checkPrefix(o.prefix); err != nil {
		return nil, err
	}
	p, err := newPool(addrs, &o)
	if err != nil {
		return nil, err
	}
	client := memcache.NewFromSelector(p)
	o.apply(client)
	p.client = client
	s := New(client, opts...)
	s.pool = p
	return s, nil
}
