// Package redis is the drop-in for gin-contrib/sessions/redis: sessions
// live in Redis (this module's redis store, on go-redis), and the cookie
// holds a random ID.
package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/gincontrib"
	migrate "github.com/sessionware/sessions/migrate/gincontrib"
	"github.com/sessionware/sessions/redis"
)

// Store is a [gincontrib.Store] that keeps sessions in Redis. The value
// NewStore and NewStoreWithDB return is also an io.Closer, which closes
// the client they made.
type Store interface {
	gincontrib.Store
}

// pingTimeout bounds the PING with which the constructors check the
// server, as gin-contrib's did.
const pingTimeout = 5 * time.Second

// NewStore returns a Store on the Redis server at address (network "tcp"
// or "unix"), logging in with username and password if not empty, with
// at most size idle connections (0: go-redis's default). It returns an
// error if the server does not answer a PING. keyPairs are the key pairs
// the program gave gin-contrib: this library's cookie holds a random
// 256-bit ID that needs no signature, and the keys serve to read the
// sessions gin-contrib wrote.
func NewStore(size int, network, address, username, password string, keyPairs ...[]byte) (Store, error) {
	return NewStoreWithDB(size, network, address, username, password, "0", keyPairs...)
}

// NewStoreWithDB is NewStore on the database db, a number ("" is 0).
func NewStoreWithDB(size int, network, address, username, password, db string, keyPairs ...[]byte) (Store, error) {
	n := 0
	if db != "" {
		var err error
		if n, err = strconv.Atoi(db); err != nil {
			return nil, fmt.Errorf("gincontrib/redis: database %q is not a number", db)
		}
	}
	client := goredis.NewClient(&goredis.Options{
		Network: network, Addr: address, Username: username, Password: password, DB: n,
		MaxIdleConns: max(size, 0),
	})
	s, err := newStore(client, keyPairs)
	if err != nil {
		client.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// NewStoreWithClient returns a Store on client, which the program keeps
// owning: a *goredis.Client, *goredis.ClusterClient, a failover client or
// any UniversalClient (it replaces gin-contrib's NewStoreWithPool, which
// took a redigo pool). It returns an error if the server does not answer
// a PING.
func NewStoreWithClient(client goredis.UniversalClient, keyPairs ...[]byte) (Store, error) {
	if client == nil {
		return nil, errors.New("gincontrib/redis: nil client")
	}
	return newStore(client, keyPairs)
}

func newStore(client goredis.UniversalClient, keyPairs [][]byte) (*store, error) {
	if len(keyPairs) == 0 || len(keyPairs[0]) == 0 {
		return nil, errors.New("gincontrib/redis: no key pairs: give the ones the program gave gin-contrib")
	}
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("gincontrib/redis: %w", err)
	}
	s := &store{client: client, keyPairs: append([][]byte(nil), keyPairs...)}
	s.Store = gincontrib.NewStore(gincontrib.Backend{Open: s.open, Legacy: s.legacy, KeyPairs: s.keyPairs})
	return s, nil
}

type store struct {
	gincontrib.Store
	client   goredis.UniversalClient
	keyPairs [][]byte
	owned    bool // the constructor made the client: Close closes it

	mu     sync.Mutex
	prefix string // SetKeyPrefix's; empty: the defaults
	opened bool
}

// open makes the native store, with SetKeyPrefix's prefix if any.
func (s *store) open() sessions.Backend {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opened = true
	var opts []redis.Option
	if s.prefix != "" {
		opts = append(opts, redis.WithPrefix(s.prefix))
	}
	return redis.New(s.client, opts...)
}

// legacy reads the sessions gin-contrib's redis store (redistore) wrote
// under the cookie name, with the same key pairs and prefix.
func (s *store) legacy(name string, o gincontrib.Options) sessions.Migrator {
	s.mu.Lock()
	prefix := s.prefix
	s.mu.Unlock()
	opts := []migrate.Option{migrate.WithPath(cmp.Or(o.Path, "/")), migrate.WithDomain(o.Domain)}
	if prefix != "" {
		opts = append(opts, migrate.WithKeyPrefix(prefix))
	}
	return migrate.RedisWith(name, s.client, s.keyPairs, opts...)
}

// Close closes the client that NewStore or NewStoreWithDB made; it does
// nothing for NewStoreWithClient's.
func (s *store) Close() error {
	if s.owned {
		return s.client.Close()
	}
	return nil
}

// SetKeyPrefix sets the prefix of the keys the store writes in Redis
// (default redis.DefaultPrefix, "session:"), and of those where it reads
// the sessions gin-contrib wrote (default "session_", redistore's): give
// it what the program gave gin-contrib's SetKeyPrefix. The two kinds of
// keys cannot meet: ours end in 43 characters of base64url, redistore's
// in 52 of base32. Call it before
// Sessions, as with gin-contrib: it returns an error once a middleware
// uses the store, and for a Store not made by this package. An empty
// prefix means the default.
func SetKeyPrefix(s Store, prefix string) error {
	st, ok := s.(*store)
	if !ok {
		return errors.New("gincontrib/redis: SetKeyPrefix: the Store was not made by this package")
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.opened {
		return errors.New("gincontrib/redis: SetKeyPrefix after a middleware started using the store: call it before Sessions")
	}
	st.prefix = prefix
	return nil
}
