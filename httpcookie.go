package sessions

import (
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
	if !s.canSetCookie() {
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
	s.clientCookie = maxAge >= 0
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
