package sessions

import (
	"fmt"

	"github.com/gin-gonic/gin"
)

// contextKey is where the middleware puts the session in the gin.Context;
// Default finds the first session middleware's there.
const contextKey = "github.com/sessionware/sessions"

// manager is one installed middleware: its backend and settings.
type manager struct {
	name    string
	ctxKey  any // contextKey + "/" + name, boxed once
	persist persister
	cfg     config
}

// Sessions returns the middleware that gives every request a session kept
// in backend (a [Store] or a [Sealer]) under the cookie called name.
// Several middlewares with different names may be installed; [Named] finds
// each, [Default] the first. Install gin.Recovery (or your own recovery)
// before it, as gin.Default does: a panic below the middleware then saves
// nothing, whereas a recovery below it turns the panic into a normal
// response, which commits. It panics if name is not a valid cookie name,
// backend is neither a Store nor a Sealer, or an option is invalid: all
// programming errors, caught at start-up.
func Sessions(name string, backend Backend, opts ...Option) gin.HandlerFunc {
	return newManager(name, backend, opts).handle
}

// SessionsAround is Sessions for a library that gives a request several
// sessions from one middleware (gincontrib.SessionsMany): the function it
// returns does for the request what the middleware does, around next
// instead of the rest of the handler chain, so that calls can nest. It
// panics as Sessions does.
func SessionsAround(name string, backend Backend, opts ...Option) func(c *gin.Context, next func()) {
	return newManager(name, backend, opts).serve
}

func newManager(name string, backend Backend, opts []Option) *manager {
	if !validCookieName(name) {
		panic(fmt.Sprintf("sessions: %q is not a valid cookie name", name))
	}
	m := &manager{name: name, ctxKey: any(contextKey + "/" + name), cfg: defaultConfig()}
	for _, o := range opts {
		o(&m.cfg)
	}
	switch b := backend.(type) {
	case Sealer:
		m.persist = sealed{sealer: b}
	case Store:
		if m.cfg.observer != nil {
			b = observe(b, m.cfg.observer)
		}
		m.persist = newServerSide(b)
	default:
		panic(fmt.Sprintf("sessions: the backend (%T) is neither a Store nor a Sealer", backend))
	}
	if m.cfg.lifetime <= 0 {
		panic("sessions: the lifetime must be positive")
	}
	if err := m.cfg.checkCookie(name); err != nil {
		panic(err.Error())
	}
	return m
}

func (m *manager) handle(c *gin.Context) { m.serve(c, nil) }

// serve gives the request its session around next, or the rest of the
// chain when next is nil.
func (m *manager) serve(c *gin.Context, next func()) {
	s := &Session{m: m, c: c}
	s.w = responseWriter{ResponseWriter: c.Writer, s: s}
	c.Writer = &s.w
	// The first middleware's session goes under contextKey, where Default
	// and Named find it with one lookup; others under their own key.
	if _, ok := c.Get(contextKey); ok {
		c.Set(m.ctxKey, s)
	} else {
		c.Set(contextKey, s)
	}
	returned := false
	defer s.done(&returned)
	if next == nil {
		c.Next()
	} else {
		next()
	}
	returned = true
	s.finish()
}

// Default returns the session of the first Sessions middleware on the
// route. It panics if there is none, a programming error.
func Default(c *gin.Context) *Session {
	return lookup(c, contextKey)
}

// Named returns the session of the Sessions middleware whose cookie is
// called name. It panics if there is none, a programming error.
func Named(c *gin.Context, name string) *Session {
	if v, ok := c.Get(contextKey); ok && v.(*Session).m.name == name {
		return v.(*Session)
	}
	return lookup(c, contextKey+"/"+name)
}

func lookup(c *gin.Context, key string) *Session {
	v, ok := c.Get(key)
	if !ok {
		panic("sessions: no Sessions middleware installed for this route (" + key + ")")
	}
	return v.(*Session)
}
