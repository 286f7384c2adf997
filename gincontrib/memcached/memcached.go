// Package memcached is the drop-in for gin-contrib/sessions/memcached:
// sessions live in memcached (this module's memcached store, with
// compare-and-swap), and the cookie holds a random ID.
package memcached

import (
	"cmp"
	"github.com/bradfitz/gomemcache/memcache"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/gincontrib"
	"github.com/sessionware/sessions/memcached"
	migrate "github.com/sessionware/sessions/migrate/gincontrib"
)

// Store is a [gincontrib.Store] that keeps sessions in memcached.
type Store interface {
	gincontrib.Store
}

// NewStore returns a Store on client, every key starting with keyPrefix
// (empty: memcached.New's default, "session:"). The client's settings
// (servers, timeout, idle connections) are used as they are. keyPairs are
// the key pairs the program gave gin-contrib: this library's cookie holds
// a random 256-bit ID that needs no signature, and the keys serve to read
// the sessions gin-contrib wrote under keyPrefix (package
// migrate/gincontrib), which are carried over, so switching logs nobody
// out. It panics if client is nil or keyPrefix
// cannot start a memcached key (a space or control character), as
// memcached.New does.
func NewStore(client *memcache.Client, keyPrefix string, keyPairs ...[]byte) Store {
	var opts []memcached.Option
	if keyPrefix != "" {
		opts = append(opts, memcached.WithPrefix(keyPrefix))
	}
	m := memcached.New(client, opts...)
	if len(keyPairs) == 0 || len(keyPairs[0]) == 0 {
		panic("gincontrib/memcached: no key pairs: give the ones the program gave gin-contrib")
	}
	pairs := append([][]byte(nil), keyPairs...)
	return gincontrib.NewStore(gincontrib.Backend{
		Open:     func() sessions.Backend { return m },
		KeyPairs: pairs,
		Legacy: func(name string, o gincontrib.Options) sessions.Migrator {
			return migrate.MemcachedWith(name, client, keyPrefix, pairs, migrate.WithPath(cmp.Or(o.Path, "/")), migrate.WithDomain(o.Domain))
		},
	})
}
