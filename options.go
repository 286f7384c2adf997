package sessions

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// Option configures the Sessions middleware.
type Option func(*config)

type config struct {
	idleTimeout  time.Duration
	lifetime     time.Duration
	path         string
	domain       string
	secure       bool
	sameSite     http.SameSite
	errorHandler func(*gin.Context, error)
	codec        Codec
	now          func() time.Time
	storeTimeout time.Duration
	observer     Observer
	migrator     Migrator
	persist      bool
	header       string // WithHeader's canonical name; empty: cookies only
}

func defaultConfig() config {
	return config{
		lifetime:     24 * time.Hour,
		path:         "/",
		sameSite:     http.SameSiteLaxMode,
		errorHandler: DefaultErrorHandler,
		codec:        DefaultCodec,
		now:          time.Now,
		storeTimeout: 2 * time.Second,
		persist:      true,
	}
}

// WithLifetime sets the absolute lifetime of a session, counted from its
// creation and enforced on the server whatever the browser keeps. Default
// 24 hours. Renew does not restart it.
func WithLifetime(d time.Duration) Option { return func(c *config) { c.lifetime = d } }

// WithPersist decides whether session cookies persist: true (the default)
// gives them a Max-Age, the rest of the session's lifetime, so they outlive
// the browser session; false makes them last until the browser closes (no
// Max-Age, no Expires), unless a session's RememberMe(true) says otherwise.
// Either way the session ends on the server at its lifetime.
func WithPersist(persist bool) Option { return func(c *config) { c.persist = persist } }

// WithHeader lets clients that do not keep cookies (APIs, mobile apps)
// carry the session in the request header called name instead: a request
// that has that header, even empty, uses its value as the session's cookie
// value would be used, and ignores the cookie; a response that changes it
// (a new or renewed session, and with a Sealer every write, since the
// sealed value is the token) sends the new value in the same header and
// sets no cookie; Destroy answers with the header empty. Responses vary
// on the header. Requests without the header keep using the cookie.
// Default: cookies only. It panics if name is not a valid header name.
func WithHeader(name string) Option {
	if !validCookieName(name) { // the same token rule as a header name
		panic(fmt.Sprintf("sessions: %q is not a valid header name", name))
	}
	return func(c *config) { c.header = http.CanonicalHeaderKey(name) }
}

// WithIdleTimeout ends a session that has not been used for d. Default 0:
// no idle timeout. The idle deadline slides forward without writing the
// session on every request: it is pushed at most once per refresh interval
// (a quarter of d, at most one minute), by Toucher.Touch where the store
// has it, so a session dies between d minus that interval and d after its
// last use.
func WithIdleTimeout(d time.Duration) Option { return func(c *config) { c.idleTimeout = d } }

// WithPath sets the cookie's Path attribute. Default "/". Sessions panics
// on a path that does not start with "/" or holds a ";" or a control
// character (it would add attributes to the Set-Cookie header).
func WithPath(p string) Option { return func(c *config) { c.path = p } }

// WithDomain sets the cookie's Domain attribute. Default empty: the cookie
// goes only to the host that set it. Sessions panics on a value that is
// not a host name or an IP address.
func WithDomain(d string) Option { return func(c *config) { c.domain = d } }

// WithSecure sets the cookie's Secure attribute, so browsers send it only
// over HTTPS. Default false, so that plain-HTTP development works; set it
// in production, and there prefer a cookie name starting with "__Host-"
// (Sessions("__Host-session", …)): browsers then refuse such a cookie set
// by a sibling domain or for another path, so nobody can plant one.
func WithSecure(b bool) Option { return func(c *config) { c.secure = b } }

// WithSameSite sets the cookie's SameSite attribute. Default Lax.
func WithSameSite(s http.SameSite) Option { return func(c *config) { c.sameSite = s } }

// WithErrorHandler sets what answers a request whose session could not be
// loaded or saved. Default DefaultErrorHandler. The middleware has already
// recorded the error with c.Error and aborts the chain after h returns.
func WithErrorHandler(h func(*gin.Context, error)) Option {
	return func(c *config) { c.errorHandler = h }
}

// WithStoreTimeout bounds the time one request spends in store calls: its
// load and its commit (saves, touches, the tombstones of Renew and Destroy,
// and the reads they need) share d, so a hung store costs a request about d
// in all, however many calls it makes; the handler's own time between the
// load and the commit does not count. The calls run detached from the
// request's cancellation, so a logout lands even if the client hung up.
// Default 2 seconds. It panics if d is not positive.
func WithStoreTimeout(d time.Duration) Option {
	if d <= 0 {
		panic("sessions: the store timeout must be positive")
	}
	return func(c *config) { c.storeTimeout = d }
}

// WithCodec sets how values are encoded. Default DefaultCodec.
func WithCodec(codec Codec) Option { return func(c *config) { c.codec = codec } }

// WithClock sets the function that tells the time, for tests of expiry.
// Default time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// DefaultErrorHandler answers 503 Service Unavailable when the store failed
// (a *StoreError) and 500 Internal Server Error for anything else, such as
// a value the codec cannot encode or a session too large for its store
// (ErrTooLarge), with a small JSON body. It never reveals the error to the
// client.
func DefaultErrorHandler(c *gin.Context, err error) {
	status, msg := http.StatusInternalServerError, "session error"
	var se *StoreError
	if errors.As(err, &se) && !errors.Is(err, ErrTooLarge) {
		status, msg = http.StatusServiceUnavailable, "session store unavailable"
	}
	c.AbortWithStatusJSON(status, gin.H{"error": msg})
}
