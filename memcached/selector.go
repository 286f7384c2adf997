package memcached

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/bradfitz/gomemcache/memcache"
)

// RendezvousSelector is a memcache.ServerSelector that picks each key's
// server by rendezvous (highest random weight) hashing: every server gets
// a score from a hash of its address and the key, and the highest wins.
// Adding a server to N therefore moves only the keys it now wins, about
// 1/(N+1) of them, and removing one moves only its own keys; the CRC32
// modulo N of memcache.ServerList moves most keys either way. Scores
// depend only on the address strings as given and the key, so every app
// process with the same list agrees. It is immutable and safe for
// concurrent use.
type RendezvousSelector struct {
	addrs []net.Addr
	seeds []uint64
}

var _ memcache.ServerSelector = (*RendezvousSelector)(nil)

// NewRendezvousSelector returns a selector over addrs: host:port TCP
// addresses, or Unix socket paths (anything containing a "/"). It returns
// an error if the list is empty, has a duplicate, or an address has no
// host or a port that is neither a number nor a service name. It does no
// DNS lookup: host names are resolved each time a server is dialled, so a
// name that does not resolve yet is not an error here.
func NewRendezvousSelector(addrs ...string) (*RendezvousSelector, error) {
	list, seeds, err := parseServers(addrs)
	if err != nil {
		return nil, err
	}
	sel := &RendezvousSelector{addrs: make([]net.Addr, len(list)), seeds: seeds}
	for i, a := range list {
		sel.addrs[i] = a
	}
	return sel, nil
}

// parseServers checks addrs as NewRendezvousSelector documents and returns
// each server's address and rendezvous seed.
func parseServers(addrs []string) ([]staticAddr, []uint64, error) {
	if len(addrs) == 0 {
		return nil, nil, errors.New("memcached: no server addresses")
	}
	list, seeds := make([]staticAddr, len(addrs)), make([]uint64, len(addrs))
	seen := make(map[string]bool, len(addrs))
	for i, a := range addrs {
		a = strings.TrimSpace(a)
		if a == "" {
			return nil, nil, fmt.Errorf("memcached: empty server address at position %d", i)
		}
		if seen[a] {
			return nil, nil, fmt.Errorf("memcached: server %q listed twice", a)
		}
		seen[a] = true
		// Names are kept as written and resolved on every dial (gomemcache
		// dials addr.String()), so a server that is not resolvable yet, or
		// comes back on a new address, is reached without a restart.
		if strings.Contains(a, "/") {
			list[i] = staticAddr{network: "unix", str: a}
		} else {
			host, port, err := net.SplitHostPort(a)
			if err == nil && host == "" {
				err = errors.New("want host:port")
			}
			if err == nil {
				_, err = net.LookupPort("tcp", port) // a number or a service name; no DNS
			}
			if err != nil {
				return nil, nil, fmt.Errorf("memcached: server address %q: %w", a, err)
			}
			list[i] = staticAddr{network: "tcp", str: a}
		}
		seeds[i] = fmix64(fnv1a(a))
	}
	return list, seeds, nil
}

// staticAddr keeps an address's strings, which gomemcache asks for on
// every command.
type staticAddr struct{ network, str string }

func (a staticAddr) Network() string { return a.network }
func (a staticAddr) String() string  { return a.str }

// PickServer returns the server with the highest score for key.
func (sel *RendezvousSelector) PickServer(key string) (net.Addr, error) {
	switch len(sel.addrs) {
	case 0:
		return nil, memcache.ErrNoServers
	case 1:
		return sel.addrs[0], nil
	}
	h := fnv1a(key)
	best, bestScore := 0, uint64(0)
	for i, seed := range sel.seeds {
		if score := fmix64(h ^ seed); score > bestScore || i == 0 {
			best, bestScore = i, score
		}
	}
	return sel.addrs[best], nil
}

// Each calls f for every server, in the order given, until f fails.
func (sel *RendezvousSelector) Each(f func(net.Addr) error) error {
	for _, a := range sel.addrs {
		if err := f(a); err != nil {
			return err
		}
	}
	return nil
}

// fnv1a is the 64-bit FNV-1a hash of s.
func fnv1a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// fmix64 is MurmurHash3's 64-bit finaliser: it spreads every input bit
// over the whole output.
func fmix64(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb93e53feb5a9
	h ^= h >> 33
	return h
}
