package sessions

import (
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
)

// varyCookie is shared by responses; its capacity makes an append copy it.
var varyCookie = []string{"Cookie"}

// addVaryCookie adds "Vary: Cookie" without allocating in the common case.
func addVaryCookie(h http.Header) {
	if v, ok := h["Vary"]; ok {
		h["Vary"] = append(v, "Cookie")
		return
	}
	h["Vary"] = varyCookie[:1:1]
}

// canSetCookie reports whether the response can still carry a Set-Cookie
// header: nothing of it has gone out.
func (s *Session) canSetCookie() bool {
	return s.resp == open && !s.w.ResponseWriter.Written()
}

// eachCookie calls yield with the value of each cookie called name, in the
// order of the request's Cookie header, until yield returns false. It
// parses no other cookie and allocates nothing.
func eachCookie(r *http.Request, name string, yield func(value string) bool) {
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
			if v != "" && !yield(v) {
				return
			}
		}
	}
}

// eachValue calls yield with each value that may name the request's
// session: WithHeader's header when the request has it (then the cookies
// do not count), otherwise each cookie of the session's name.
func (s *Session) eachValue(yield func(value string) bool) {
	if h := s.m.cfg.header; h != "" {
		addVary(s.w.ResponseWriter.Header(), h)
		if vs, ok := s.c.Request.Header[h]; ok {
			s.viaHeader = true
			if len(vs) > 0 && vs[0] != "" {
				yield(vs[0])
			}
			return
		}
	}
	eachCookie(s.c.Request, s.m.name, yield)
}

// addVary adds name to the Vary header.
func addVary(h http.Header, name string) {
	h["Vary"] = append(h["Vary"], name)
}

// setCookie sets the session cookie, replacing one set earlier in the same
// response; maxAge < 0 deletes it, 0 makes it last the browser session (no
// Max-Age).
func (s *Session) setCookie(value string, maxAge int) error {
	if !s.canSetCookie() {
		return ErrHeaderWritten
	}
	cfg := &s.m.cfg
	if s.viaHeader {
		h := s.w.ResponseWriter.Header()
		if maxAge < 0 {
			value = ""
		}
		h.Set(cfg.header, value)
		keepOutOfCaches(h, cfg.header)
		s.clientCookie = maxAge >= 0
		return nil
	}
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
	} else if maxAge > 0 {
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
	s.clientCookie = maxAge >= 0
	keepOutOfCaches(h, "Set-Cookie")
	return nil
}

// droppedHeaders describe a response that the error handler replaces.
var droppedHeaders = []string{
	"Content-Type", "Content-Length", "Content-Encoding", "Content-Range", "Content-Disposition",
	"Etag", "Last-Modified", "Location",
}

// dropCookie removes the Set-Cookie lines of this session's cookie.
func (s *Session) dropCookie(h http.Header) {
	if s.viaHeader {
		h.Del(s.m.cfg.header)
		return
	}
	prefix := s.m.name + "="
	if old := h["Set-Cookie"]; len(old) > 0 {
		h["Set-Cookie"] = slices.DeleteFunc(old, func(v string) bool { return strings.HasPrefix(v, prefix) })
		if len(h["Set-Cookie"]) == 0 {
			delete(h, "Set-Cookie")
		}
	}
}

// keepOutOfCaches makes sure no shared cache stores the header called
// name (Set-Cookie, or WithHeader's): it adds no-cache="<name>" to
// Cache-Control unless the handler already forbade caching (no-store,
// private, no-cache).
func keepOutOfCaches(h http.Header, name string) {
	cc := h.Get("Cache-Control")
	switch {
	case cc == "" && name == "Set-Cookie":
		h.Set("Cache-Control", `no-cache="Set-Cookie"`) // a constant: no allocation
	case cc == "":
		h.Set("Cache-Control", `no-cache="`+name+`"`)
	case strings.Contains(cc, "no-store") || strings.Contains(cc, "private") || strings.Contains(cc, "no-cache"):
	default:
		h.Set("Cache-Control", cc+`, no-cache="`+name+`"`)
	}
}

// checkCookie reports what makes the cookie attributes unfit for a
// Set-Cookie header, where a ";" or a control character would let a value
// add attributes of its own, and what the name's prefix demands: a
// "__Secure-" cookie must be Secure; a "__Host-" cookie must be Secure,
// with Path=/ and no Domain (browsers refuse it otherwise).
func (c *config) checkCookie(name string) error {
	if c.path == "" || c.path[0] != '/' || !cookieText(c.path) {
		return fmt.Errorf("sessions: WithPath(%q): a cookie path starts with / and has no ; or control character", c.path)
	}
	if c.domain != "" && !cookieDomain(c.domain) {
		return fmt.Errorf("sessions: WithDomain(%q) is not a host name or an IP address", c.domain)
	}
	switch {
	case strings.HasPrefix(name, "__Host-") && (!c.secure || c.path != "/" || c.domain != ""):
		return fmt.Errorf("sessions: a cookie called %q needs WithSecure(true), the path / and no domain", name)
	case strings.HasPrefix(name, "__Secure-") && !c.secure:
		return fmt.Errorf("sessions: a cookie called %q needs WithSecure(true)", name)
	}
	return nil
}

// cookieText reports whether s can stand in a cookie attribute: printable
// ASCII without ";".
func cookieText(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f || s[i] == ';' {
			return false
		}
	}
	return true
}

// cookieDomain reports whether d is a host name (letters, digits, hyphens
// and dots, an optional leading dot) or an IP address.
func cookieDomain(d string) bool {
	if net.ParseIP(d) != nil {
		return true
	}
	d = strings.TrimPrefix(d, ".")
	if d == "" || len(d) > 253 {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
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
