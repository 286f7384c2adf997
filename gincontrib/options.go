package gincontrib

import (
	"net/http"
	"time"

	"github.com/sessionware/sessions"
)

// Options are the options of the session cookie, with gin-contrib's
// fields. [Store.Options] sets them for every session of a store; a
// session's Options sets MaxAge for that session (see [Session]).
//
// What each field does here, and where that differs from gin-contrib:
//
//   - Path: the cookie's Path. Empty means "/" (gorilla sent no Path, so
//     the browser scoped the cookie to the request's directory).
//   - Domain: the cookie's Domain. Empty: none, the cookie goes only to
//     the host that set it.
//   - MaxAge: how long a session lives, in seconds, counted again from
//     every change (as gin-contrib's Save restarted it), and enforced on
//     the server (gin-contrib's cookie store accepted a cookie for 30 days
//     whatever MaxAge said). MaxAge > 0: the cookie persists with that
//     Max-Age. MaxAge == 0: the cookie lasts until the browser closes, and
//     the session ends on the server [BrowserSessionLifetime] after its
//     last change (gin-contrib's redis store deleted such sessions at
//     every save, its memcached store kept them without end). MaxAge < 0
//     on a store is refused ([Store.Options] panics: it would delete every
//     session); on a session it destroys the session.
//   - Secure: the cookie's Secure attribute.
//   - HttpOnly: ignored: the cookie is always HttpOnly, so that no script
//     (an XSS) can read the session cookie. gin-contrib sent HttpOnly
//     only when it was set, and a program that set any Options without it
//     lost it.
//   - SameSite: the cookie's SameSite attribute. 0 and
//     http.SameSiteDefaultMode mean Lax (gorilla sent none).
type Options struct {
	Path   string
	Domain string
	// MaxAge is the session's lifetime in seconds: see [Options].
	MaxAge   int
	Secure   bool
	HttpOnly bool
	SameSite http.SameSite
}

// DefaultMaxAge is the MaxAge of a store whose Options were never set:
// 30 days, as in gin-contrib's stores.
const DefaultMaxAge = 86400 * 30

// BrowserSessionLifetime is how long a session whose MaxAge is 0 (a cookie
// that lasts until the browser closes) lives on the server after its last
// change: browsers that restore their tabs keep such cookies for days, so
// the server ends the session itself.
const BrowserSessionLifetime = 24 * time.Hour

// defaultOptions are a store's options until its Options method is called:
// gin-contrib's defaults (Path "/", MaxAge 30 days) and this library's
// HttpOnly and SameSite=Lax.
var defaultOptions = Options{Path: "/", MaxAge: DefaultMaxAge, HttpOnly: true, SameSite: http.SameSiteLaxMode}

// path is the cookie's Path.
func (o Options) path() string {
	if o.Path == "" {
		return "/"
	}
	return o.Path
}

// sameSite is the cookie's SameSite attribute.
func (o Options) sameSite() http.SameSite {
	if o.SameSite == 0 || o.SameSite == http.SameSiteDefaultMode {
		return http.SameSiteLaxMode
	}
	return o.SameSite
}

// lifetime is how long a session with this MaxAge lives after a change.
func lifetime(maxAge int) time.Duration {
	if maxAge > 0 {
		return time.Duration(maxAge) * time.Second
	}
	return BrowserSessionLifetime
}

// middleware returns the native middleware's options for a store with
// these options.
func (o Options) middleware() []sessions.Option {
	opts := []sessions.Option{
		sessions.WithPath(o.path()),
		sessions.WithSecure(o.Secure),
		sessions.WithSameSite(o.sameSite()),
		sessions.WithLifetime(lifetime(o.MaxAge)),
		sessions.WithPersist(o.MaxAge > 0),
	}
	if o.Domain != "" {
		opts = append(opts, sessions.WithDomain(o.Domain))
	}
	return opts
}
