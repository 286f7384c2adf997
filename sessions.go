// Package sessions gives every Gin request a session: a small map of values
// that survives across a browser's requests, kept by a pluggable Store
// (packages memory, cookie, memcached, redis; package backends picks one from a
// URL).
//
// The session loads on first use, so a handler that never touches it costs
// nothing, and saves by itself just before the response header goes out,
// only when something changed: there is no Save to forget and no Modified
// flag, and a map changed in place is seen. Concurrent requests of one
// session lose no update on stores with compare-and-swap, session IDs are
// 256 random bits that the store never sees in the clear, and a store that
// fails gives the client an error, never an empty session that would
// overwrite the real one.
package sessions

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// contextKey is where the middleware puts the session in the gin.Context;
// Default finds the first session middleware's there.
const contextKey = "github.com/sessionware/sessions"

// ErrHeaderWritten is recorded (with c.Error) when a handler changes a
// session in a way that needs a new cookie after the response header
// has already gone out; the change is not saved.
var ErrHeaderWritten = errors.New("sessions: session changed after the response header was written")

// manager is one installed middleware: its store and settings.
type manager struct {
	name    string
	ctxKey  any // contextKey + "/" + name, boxed once
	store   Store
	sealer  Sealer
	toucher Toucher
	cfg     config
}

// Sessions returns the middleware that gives every request a session kept
// in store under the cookie called name. Several middlewares with different
// names may be installed; Named finds each, Default the first. Install
// gin.Recovery (or your own recovery) before it, as gin.Default does: a
// panic below the middleware then saves nothing, whereas a recovery below
// it turns the panic into a normal response, which commits. It panics if
// name is not a valid cookie name or store is nil: both are programming
// errors, caught at start-up.
func Sessions(name string, backend Backend, opts ...Option) gin.HandlerFunc {
	if !validCookieName(name) {
		panic(fmt.Sprintf("sessions: %q is not a valid cookie name", name))
	}
	if backend == nil {
		panic("sessions: nil Backend")
	}
	m := &manager{name: name, ctxKey: any(contextKey + "/" + name), cfg: defaultConfig()}
	m.store, _ = backend.(Store)
	m.sealer, _ = backend.(Sealer)
	m.toucher, _ = backend.(Toucher)
	if m.store == nil && m.sealer == nil {
		panic(fmt.Sprintf("sessions: %T is neither a Store nor a Sealer", backend))
	}
	for _, o := range opts {
		o(&m.cfg)
	}
	if m.cfg.lifetime <= 0 {
		panic("sessions: the lifetime must be positive")
	}
	return m.handle
}

func (m *manager) handle(c *gin.Context) {
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
	defer s.done()
	c.Next()
	s.finish()
}

// done restores Gin's writer. After a panic in the chain (finish did not
// run) it makes sure nothing is saved.
func (s *Session) done() {
	if !s.finished {
		s.state = failed
	}
	s.c.Writer = s.w.ResponseWriter
}

// finish commits whatever the handler changed after the response header
// went out, or everything if the handler wrote no response.
func (s *Session) finish() {
	s.finished = true
	if s.saveFailed && !s.headerSent && !s.dropWrites {
		s.beforeWrite()
		return
	}
	if s.state != loaded || s.dropWrites {
		return
	}
	if !s.headerSent && !s.w.ResponseWriter.Written() {
		s.beforeWrite()
		return
	}
	if err := s.commit(); err != nil {
		_ = s.c.Error(err)
	}
}

// fail answers the request with the error handler.
func (s *Session) fail(err error) {
	s.errHandled = true
	s.state = failed
	if s.err == nil {
		s.err = err
	}
	_ = s.c.Error(err)
	if s.w.ResponseWriter.Written() {
		s.c.Abort()
		return
	}
	// The error handler answers instead of the handler: drop what described
	// the handler's response, and our own cookie.
	h := s.w.ResponseWriter.Header()
	for _, k := range droppedHeaders {
		h.Del(k)
	}
	s.dropCookie(h)
	s.inHandler = true
	s.m.cfg.errorHandler(s.c, err)
	if !s.w.ResponseWriter.Written() && s.w.ResponseWriter.Status() < 400 {
		// An error handler that answered nothing, or a success: never let
		// a failed session reach the client as a success.
		s.w.ResponseWriter.WriteHeader(http.StatusInternalServerError)
	}
	s.inHandler = false
	s.dropWrites = true
	s.c.Abort()
}

// beforeWrite runs before anything of the response goes out: it commits
// the session, or answers with the error handler if that fails. It reports
// whether the write may go on.
func (s *Session) beforeWrite() bool {
	if s.inHandler {
		return true
	}
	if s.dropWrites {
		return false
	}
	if s.saveFailed && !s.headerSent && s.w.ResponseWriter.Status() < 400 {
		s.fail(s.err)
		return false
	}
	if !s.headerSent {
		if err := s.commit(); err != nil {
			s.fail(err)
			return false
		}
		s.headerSent = true
	}
	return true
}

// alive reports whether a loaded record is within its lifetime and idle
// timeout.
func (m *manager) alive(r *record, touched time.Time, now time.Time) bool {
	if !now.Before(r.created.Add(m.cfg.lifetime)) {
		return false
	}
	if idle := m.cfg.idleTimeout; idle > 0 {
		last := r.refreshed
		if touched.After(last) {
			last = touched
		}
		return now.Before(last.Add(idle))
	}
	return true
}

// ttl is how long a store keeps a record saved or touched now: the rest of
// its lifetime, or the idle timeout if that is shorter.
func (m *manager) ttl(r *record, now time.Time) time.Duration {
	ttl := r.created.Add(m.cfg.lifetime).Sub(now)
	if idle := m.cfg.idleTimeout; idle > 0 && idle < ttl {
		ttl = idle
	}
	return max(ttl, time.Second)
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

// cookieValue returns the value of the first cookie called name, without
// parsing the other cookies.
func cookieValue(r *http.Request, name string) string {
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = textproto.TrimString(part)
			k, v, ok := strings.Cut(part, "=")
			if !ok || k != name {
				continue
			}
			if len(v) > 1 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v
		}
	}
	return ""
}

// setCookie sets the session cookie, replacing one set earlier in the same
// response; maxAge < 0 deletes it.
func (s *Session) setCookie(value string, maxAge int) error {
	if s.headerSent || s.w.ResponseWriter.Written() {
		return ErrHeaderWritten
	}
	cfg := &s.m.cfg
	var b strings.Builder
	b.Grow(len(s.m.name) + len(value) + 96)
	b.WriteString(s.m.name)
	b.WriteByte('=')
	b.WriteString(value)
	b.WriteString("; Path=")
	b.WriteString(cfg.path)
	if cfg.domain != "" {
		b.WriteString("; Domain=")
		b.WriteString(cfg.domain)
	}
	if maxAge < 0 {
		b.WriteString("; Max-Age=0")
	} else {
		b.WriteString("; Max-Age=")
		b.WriteString(strconv.Itoa(maxAge))
	}
	b.WriteString("; HttpOnly")
	if cfg.secure {
		b.WriteString("; Secure")
	}
	switch cfg.sameSite {
	case http.SameSiteLaxMode:
		b.WriteString("; SameSite=Lax")
	case http.SameSiteStrictMode:
		b.WriteString("; SameSite=Strict")
	case http.SameSiteNoneMode:
		b.WriteString("; SameSite=None")
	}
	h := s.w.ResponseWriter.Header()
	s.dropCookie(h)
	h.Add("Set-Cookie", b.String())
	s.cookieSet = true
	keepSetCookieOutOfCaches(h)
	return nil
}

// droppedHeaders describe a response that the error handler replaces.
var droppedHeaders = []string{
	"Content-Type", "Content-Length", "Content-Encoding", "Content-Range", "Content-Disposition",
	"Etag", "Last-Modified", "Location",
}

// dropCookie removes the Set-Cookie lines of this session's cookie.
func (s *Session) dropCookie(h http.Header) {
	prefix := s.m.name + "="
	if old := h["Set-Cookie"]; len(old) > 0 {
		h["Set-Cookie"] = slices.DeleteFunc(old, func(v string) bool { return strings.HasPrefix(v, prefix) })
		if len(h["Set-Cookie"]) == 0 {
			delete(h, "Set-Cookie")
		}
	}
}

// keepSetCookieOutOfCaches makes sure no shared cache stores the
// Set-Cookie header: it adds no-cache="Set-Cookie" to Cache-Control unless
// the handler already forbade caching (no-store, private, no-cache).
func keepSetCookieOutOfCaches(h http.Header) {
	cc := h.Get("Cache-Control")
	switch {
	case cc == "":
		h.Set("Cache-Control", `no-cache="Set-Cookie"`)
	case strings.Contains(cc, "no-store") || strings.Contains(cc, "private") || strings.Contains(cc, "no-cache"):
	default:
		h.Set("Cache-Control", cc+`, no-cache="Set-Cookie"`)
	}
}

// validCookieName reports whether name is an RFC 6265 cookie name (a token).
func validCookieName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// responseWriter commits the session just before the response header goes
// out.
type responseWriter struct {
	gin.ResponseWriter
	s *Session
}

func (w *responseWriter) WriteHeader(code int) {
	if w.s.dropWrites && !w.s.inHandler {
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) WriteHeaderNow() {
	if w.s.beforeWrite() {
		w.ResponseWriter.WriteHeaderNow()
	}
}

// ErrAnswered is returned to a handler's writes after the session's error
// handler has answered the request (a load or save failed): the handler's
// own response is dropped. Gin records it in c.Errors, beside the cause.
var ErrAnswered = errors.New("sessions: the session error handler already answered this request")

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.s.beforeWrite() {
		return 0, ErrAnswered
	}
	return w.ResponseWriter.Write(b)
}

func (w *responseWriter) WriteString(str string) (int, error) {
	if !w.s.beforeWrite() {
		return 0, ErrAnswered
	}
	return w.ResponseWriter.WriteString(str)
}

func (w *responseWriter) Flush() {
	if w.s.beforeWrite() {
		w.ResponseWriter.Flush()
	}
}

func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if !w.s.beforeWrite() {
		return nil, nil, ErrAnswered
	}
	return w.ResponseWriter.Hijack()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
