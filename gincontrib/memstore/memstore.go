// Package memstore is the drop-in for gin-contrib/sessions/memstore:
// sessions live in this process's memory (this module's memory store),
// and the cookie holds a random ID.
package memstore

import (
	"io"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/gincontrib"
	"github.com/sessionware/sessions/memory"
)

// Store is a [gincontrib.Store] that keeps sessions in memory. The value
// NewStore returns is also an io.Closer: Close stops the goroutine that
// reclaims expired sessions.
type Store interface {
	gincontrib.Store
}

// NewStore returns a Store that keeps sessions in memory.New's store:
// at most memory.DefaultMaxEntries sessions, expired ones reclaimed every
// minute. keyPairs are accepted and not used: the cookie holds a random
// 256-bit ID, which needs no signature (the store keys sessions by its
// SHA-256), and a restart loses the sessions as it did with gin-contrib,
// so there is nothing to migrate.
func NewStore(keyPairs ...[]byte) Store {
	m := memory.New()
	return &store{
		Store:  gincontrib.NewStore(gincontrib.Backend{Open: func() sessions.Backend { return m }}),
		Closer: m,
	}
}

type store struct {
	gincontrib.Store
	io.Closer
}
