package gincontrib

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"

	"github.com/sessionware/sessions"
)

// Cookie returns a Migrator that reads gin-contrib's cookie store
// (cookie.NewStore(keyPairs...)) under the cookie name, with its default
// options. See [CookieWith].
func Cookie(name string, keyPairs ...[]byte) sessions.Migrator {
	return CookieWith(name, keyPairs)
}

// CookieWith returns a Migrator that reads gin-contrib's cookie store: the
// whole session is in the cookie name, a gob of gorilla's Values map that
// gorilla/securecookie signed (and encrypted, if a pair has a second key)
// with keyPairs, which must be the old program's, in its order. The
// legacy session's ID is the SHA-256 of the cookie value; it expires
// the maximum age after the old program last saved it. End has nothing to
// delete.
//
// It panics on an invalid cookie name, on key pairs that securecookie
// cannot use, and on an option of the redis or memcached store.
func CookieWith(name string, keyPairs [][]byte, opts ...Option) sessions.Migrator {
	c := newConfig(opts)
	return &cookieReader{reader: newReader("Cookie", name, keyPairs, c, false, false)}
}

type cookieReader struct {
	reader
}

// Find returns the session in r's legacy cookie, or nil if it has none that
// verifies.
func (r *cookieReader) Find(_ context.Context, req *http.Request) (*sessions.Legacy, error) {
	value, o, ok := r.verified(req)
	if !ok {
		return nil, nil
	}
	m, err := gobValues(o.payload)
	if err != nil {
		return nil, undecodable(fmt.Sprintf("cookie store, cookie %q", r.name), err)
	}
	sum := sha256.Sum256([]byte(value))
	return r.legacy(hex.EncodeToString(sum[:]), r.expires(o.written), m), nil
}

// End does nothing: the cookie store keeps nothing on the server, and the
// middleware expires the cookie itself.
func (r *cookieReader) End(context.Context, *sessions.Legacy) error { return nil }
