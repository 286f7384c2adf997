package gincontrib

import (
	"github.com/gin-gonic/gin"
)

// DefaultKey is where the middleware keeps the request's sessions in the
// gin.Context (gin-contrib's is "github.com/gin-contrib/sessions": the two
// can run side by side).
const DefaultKey = "github.com/sessionware/sessions/gincontrib"

// Sessions returns the middleware that gives every request the session in
// the cookie called name, kept in store; [Default] returns it. It is
// sessions.Sessions underneath, with options made from the store's
// Options. It panics if name is not a valid cookie name or store is nil.
func Sessions(name string, store Store) gin.HandlerFunc {
	b := bind(name, store, false)
	return func(c *gin.Context) {
		mw := b.get()
		c.Set(DefaultKey, &session{c: c, name: name, opts: mw.opts, keys: b.st.keys})
		mw.handler(c)
	}
}

// SessionsMany returns the middleware that gives every request one session
// per name, each in its own cookie, all kept in store; [DefaultMany]
// returns each. It panics if a name is not a valid cookie name, comes
// twice, or store is nil.
func SessionsMany(names []string, store Store) gin.HandlerFunc {
	stores := make([]SessionStore, len(names))
	for i, name := range names {
		stores[i] = SessionStore{Name: name, Store: store}
	}
	return SessionsManyStores(stores)
}

// SessionStore names a store for [SessionsManyStores].
type SessionStore struct {
	Name  string
	Store Store
}

// SessionsManyStores returns the middleware that gives every request one
// session per SessionStore, each in the cookie called Name and kept in
// its Store; [DefaultMany] returns each (gin-contrib v1.1.0). It panics
// as SessionsMany does.
func SessionsManyStores(sessionStores []SessionStore) gin.HandlerFunc {
	if len(sessionStores) == 0 {
		panic("gincontrib: SessionsMany needs at least one name")
	}
	bs := make([]*binding, len(sessionStores))
	seen := make(map[string]bool, len(sessionStores))
	for i, ss := range sessionStores {
		if seen[ss.Name] {
			panic("gincontrib: the session name " + ss.Name + " is given twice")
		}
		seen[ss.Name] = true
		bs[i] = bind(ss.Name, ss.Store, true)
	}
	return func(c *gin.Context) {
		list := make(many, len(bs))
		next := c.Next
		for i := len(bs) - 1; i >= 0; i-- {
			mw := bs[i].get()
			list[i] = &session{c: c, name: bs[i].name, opts: mw.opts, keys: bs[i].st.keys}
			inner := next
			next = func() { mw.serve(c, inner) }
		}
		c.Set(DefaultKey, list)
		next()
	}
}

// many is the sessions of SessionsMany, in the order of their names.
type many []*session

// Default returns the request's session: Sessions's, or the first of
// SessionsMany's. It panics if no middleware of this package runs for the
// route, a programming error.
func Default(c *gin.Context) Session {
	switch v := c.MustGet(DefaultKey).(type) {
	case *session:
		return v
	case many:
		return v[0]
	}
	panic("gincontrib: the context holds something else under DefaultKey")
}

// DefaultMany returns the request's session called name, or nil if the
// middleware has none of that name (as gin-contrib's does). It panics if
// no middleware of this package runs for the route.
func DefaultMany(c *gin.Context, name string) Session {
	switch v := c.MustGet(DefaultKey).(type) {
	case *session:
		if v.name == name {
			return v
		}
	case many:
		for _, s := range v {
			if s.name == name {
				return s
			}
		}
	}
	return nil
}
