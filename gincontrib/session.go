package gincontrib

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
)

// Session is gin-contrib's Session interface: the session of one request,
// which [Default] and [DefaultMany] return. It is a native
// *sessions.Session underneath ([Native]), which saves itself before the
// response goes out; Save is never needed, and still returns the error
// of saving early.
//
// Keys are strings, as gin-contrib programs use them (a key of a named
// string type counts as its string); Get, Set and Delete panic with any
// other key, a programming error that the first test of the handler
// finds. Values come back with the Go type they were set with, as in
// gin-contrib (a struct of a type behind an interface must be registered
// with gob.Register, as before).
type Session interface {
	// ID returns the session's ID (for a new session, the one it will be
	// saved under). It is not user data.
	ID() string
	// Get returns the value under key, or nil.
	Get(key interface{}) interface{}
	// Set stores val under key. A value kept gob-encoded (a struct, a
	// pointer, a named type, a []byte) is encoded now: change it later,
	// and Set it again.
	Set(key interface{}, val interface{})
	// Delete removes key.
	Delete(key interface{})
	// Clear removes every value and flash.
	Clear()
	// AddFlash adds a message for Flashes; vars[0], if given, is its
	// category.
	AddFlash(value interface{}, vars ...string)
	// Flashes returns and removes the messages of a category (vars[0]; none:
	// the default one).
	Flashes(vars ...string) []interface{}
	// Options applies MaxAge to this session: < 0 destroys it (logout),
	// > 0 makes it live that many seconds from each change, with a cookie
	// that persists, 0 gives it a cookie that lasts until the browser
	// closes. The other fields stay the store's (see [ErrCookieOptions]).
	Options(Options)
	// Save saves the session now, if it changed, and returns the error.
	Save() error
}

// ErrCookieOptions is recorded with c.Error when a session's Options asks
// for a Path, Domain, Secure or SameSite other than the store's: the
// middleware sets the cookie's attributes for all of its sessions, so the
// cookie keeps the store's (set them with [Store.Options]). gin-contrib
// applied them to that one response's cookie. A field left at its zero
// value asks for nothing.
var ErrCookieOptions = errors.New("gincontrib: a session's Options cannot change the cookie's attributes, only its MaxAge: set them with the Store's Options")

// maxAgeKey holds the MaxAge that a session's Options gave it (an int),
// which each later change restarts its lifetime with. Keys starting with
// a NUL byte are the middleware's own: Keys does not list them.
const maxAgeKey = "\x00gincontrib.maxage"

// session is the Session of one request: a view of the native session.
type session struct {
	c    *gin.Context
	name string
	opts Options   // the store's
	keys valueKeys // the store's
	ns   *sessions.Session

	changed bool            // this request changed the session: its lifetime restarted
	values  map[string]held // values kept gob-encoded, as decoded or set in this request
}

// held is a value the program set or read, and what the native session
// holds for it (its envelope, or an *unencodable).
type held struct {
	native any
	value  any
}

// Native returns the native session under s, for what gin-contrib's
// interface lacks: Update (a change other requests of the session may
// make at the same time, such as a counter), Renew (a new ID at login),
// sessions.Get[T]. It panics if s is not a Session of this package.
func Native(s Session) *sessions.Session {
	return s.(*session).native()
}

func (s *session) native() *sessions.Session {
	if s.ns == nil {
		s.ns = sessions.Named(s.c, s.name)
	}
	return s.ns
}

// key returns k as a session key.
func key(op string, k any) string {
	if str, ok := k.(string); ok {
		return str
	}
	if v := reflect.ValueOf(k); v.Kind() == reflect.String {
		return v.String()
	}
	panic(fmt.Sprintf("gincontrib: Session.%s: session keys are strings, not %T (%v); gin-contrib's other keys are not supported", op, k, k))
}

func (s *session) ID() string { return s.native().ID() }

func (s *session) Get(k interface{}) interface{} {
	kk := key("Get", k)
	v := s.native().Get(kk)
	if h, ok := s.values[kk]; ok && same(h.native, v) {
		return h.value
	}
	if _, ok := v.([]byte); !ok {
		return v
	}
	x, err := s.keys.loaded(v)
	if err != nil {
		_ = s.c.Error(fmt.Errorf("gincontrib: key %q: %w", kk, err))
		return nil
	}
	s.hold(kk, v, x)
	return x
}

// same reports whether a and b, values of the native session, are the
// same envelope (the same bytes in memory) or the same *unencodable.
func same(a, b any) bool {
	switch x := a.(type) {
	case []byte:
		y, ok := b.([]byte)
		return ok && len(x) == len(y) && len(x) > 0 && &x[0] == &y[0]
	case *unencodable:
		return x == b
	}
	return false
}

// hold remembers the value that the native session holds as n.
func (s *session) hold(k string, n, v any) {
	if s.values == nil {
		s.values = make(map[string]held)
	}
	s.values[k] = held{native: n, value: v}
}

func (s *session) Set(k interface{}, val interface{}) {
	kk := key("Set", k)
	n := s.keys.stored(val)
	s.change()
	s.native().Set(kk, n)
	delete(s.values, kk)
	switch n.(type) {
	case []byte, *unencodable:
		s.hold(kk, n, val)
	}
}

func (s *session) Delete(k interface{}) {
	kk := key("Delete", k)
	s.change()
	s.native().Delete(kk)
	delete(s.values, kk)
}

func (s *session) Clear() {
	s.native().Clear()
	clear(s.values)
	s.changed = false // Clear dropped the lifetime: restart it
	s.change()
}

func (s *session) AddFlash(value interface{}, vars ...string) {
	s.change()
	s.native().AddFlash(s.keys.stored(value), vars...)
}

func (s *session) Flashes(vars ...string) []interface{} {
	n := s.native()
	var out []interface{}
	for _, v := range n.Flashes(vars...) {
		x, err := s.keys.loaded(v)
		if err != nil {
			_ = s.c.Error(fmt.Errorf("gincontrib: a flash: %w", err))
			continue
		}
		out = append(out, x)
	}
	if len(vars) > 0 && vars[0] != "" {
		// gorilla kept a category's flashes as a []interface{} value under
		// the category's name: one that a migration brought over is read
		// (and removed) as flashes, before the newer ones.
		if old, ok := s.Get(vars[0]).([]any); ok {
			out = append(old, out...)
			n.Delete(vars[0])
			delete(s.values, vars[0])
		}
	}
	if len(out) == 0 {
		return nil
	}
	s.change()
	return out
}

func (s *session) Options(o Options) {
	n := s.native()
	switch {
	case o.MaxAge < 0:
		n.Destroy()
		clear(s.values)
		s.changed = true // the new session, if values come, lives the store's lifetime
	case o.MaxAge > 0:
		n.SetLifetime(lifetime(o.MaxAge))
		n.RememberMe(true)
		n.Set(maxAgeKey, o.MaxAge)
		s.changed = true
	default:
		n.SetLifetime(BrowserSessionLifetime)
		n.RememberMe(false)
		n.Set(maxAgeKey, 0)
		s.changed = true
	}
	s.checkCookieOptions(o)
}

// checkCookieOptions records ErrCookieOptions when o asks for cookie
// attributes other than the store's.
func (s *session) checkCookieOptions(o Options) {
	var asked []string
	if o.Path != "" && o.Path != s.opts.path() {
		asked = append(asked, fmt.Sprintf("Path %q (the store's: %q)", o.Path, s.opts.path()))
	}
	if o.Domain != "" && o.Domain != s.opts.Domain {
		asked = append(asked, fmt.Sprintf("Domain %q (the store's: %q)", o.Domain, s.opts.Domain))
	}
	if o.Secure && !s.opts.Secure {
		asked = append(asked, "Secure (the store's cookie is not)")
	}
	if o.SameSite != 0 && o.SameSite != http.SameSiteDefaultMode && o.SameSite != s.opts.sameSite() {
		asked = append(asked, fmt.Sprintf("SameSite %d (the store's: %d)", o.SameSite, s.opts.sameSite()))
	}
	if len(asked) > 0 {
		_ = s.c.Error(fmt.Errorf("%w: ignored %s", ErrCookieOptions, strings.Join(asked, ", ")))
	}
}

func (s *session) Save() error { return s.native().Save() }

// change notes that the request changes the session: the first time, it
// restarts the session's lifetime at its MaxAge (the one its Options gave
// it, or the store's), as gin-contrib's Save did. A new session's
// lifetime starts when it is created.
func (s *session) change() {
	if s.changed {
		return
	}
	s.changed = true
	n := s.native()
	if n.IsNew() {
		return
	}
	maxAge, ok := sessions.Get[int](n, maxAgeKey)
	if !ok {
		maxAge = s.opts.MaxAge
	}
	n.SetLifetime(lifetime(maxAge))
}
