// Package cookie is the drop-in for gin-contrib/sessions/cookie: the whole
// session lives in the cookie, sealed with AES-256-GCM by this module's
// cookie package (gin-contrib signed it, and encrypted it only when a
// pair had a second key).
package cookie

import (
	"cmp"
	"log/slog"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/cookie"
	"github.com/sessionware/sessions/gincontrib"
	"github.com/sessionware/sessions/gincontrib/internal/keys"
	migrate "github.com/sessionware/sessions/migrate/gincontrib"
)

// Store is a [gincontrib.Store] that keeps sessions in the cookie.
type Store interface {
	gincontrib.Store
}

// NewStore returns a Store that seals sessions into the cookie with keys
// derived from keyPairs, gin-contrib's key pairs (hashKey, blockKey, ...),
// in the same order: the first pair seals, every pair opens, so rotation
// works as in gin-contrib. The sessions gin-contrib sealed with the same
// key pairs are read and carried over (package migrate/gincontrib), so
// switching logs nobody out. Each pair becomes one 32-byte AES key by
// HKDF-SHA-256 over both of its keys (see [Keys]); a key is as hard to
// guess as the pair it comes from, so give 32 random bytes or more, not a
// password (NewStore logs a warning for a hash key shorter than 32 bytes).
//
// It panics if keyPairs is empty or a pair has no hash key, as gin-contrib
// failed every request then; Sessions panics if a block key is not 16, 24
// or 32 bytes long (gorilla/securecookie's rule, for reading gin-contrib's
// cookies).
func NewStore(keyPairs ...[]byte) Store {
	derived := Keys(keyPairs...)
	sealer, err := cookie.New(derived[0], cookie.WithOldKeys(derived[1:]...))
	if err != nil {
		panic("gincontrib/cookie: " + err.Error()) // a derived key is 32 random-looking bytes
	}
	pairs := append([][]byte(nil), keyPairs...)
	return gincontrib.NewStore(gincontrib.Backend{
		Open: func() sessions.Backend { return sealer },
		Legacy: func(name string, o gincontrib.Options) sessions.Migrator {
			return migrate.CookieWith(name, pairs, migrate.WithPath(cmp.Or(o.Path, "/")), migrate.WithDomain(o.Domain))
		},
	})
}

// Keys returns the keys that NewStore seals and opens cookies with, one
// per pair of keyPairs (hashKey, blockKey; the last pair may lack its
// blockKey): HKDF-SHA-256 (RFC 5869) with no salt, the info
// "sessionware/gincontrib cookie key v1", and as input keying material
// both keys of the pair, each preceded by its length as a uvarint. It
// panics if keyPairs is empty or a pair has no hash key.
func Keys(keyPairs ...[]byte) [][]byte {
	derived, err := keys.Derive("sessionware/gincontrib cookie key v1", keyPairs)
	if err != nil {
		panic("gincontrib/cookie: " + err.Error())
	}
	if short := keys.ShortHashKeys(keyPairs); len(short) > 0 {
		slog.Warn("gincontrib/cookie: a hash key shorter than 32 bytes: sealed cookies are only as safe as it is hard to guess",
			"pairs", short)
	}
	return derived
}
