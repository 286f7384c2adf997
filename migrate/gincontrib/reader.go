package gincontrib

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sessionware/sessions"
)

// reader is what the three readers share: the legacy cookie and its
// verifier.
type reader struct {
	name         string
	path, domain string
	expireCookie bool
	categories   []string
	verifier
}

// newReader checks the name, the options and the key pairs; it panics on
// any that gin-contrib could not have used or that do not apply to the
// store (store names it in the message).
func newReader(store, name string, keyPairs [][]byte, c config, redis, records bool) reader {
	if !validCookieName(name) {
		panic(fmt.Sprintf("gincontrib: %s: invalid cookie name %q", store, name))
	}
	if !redis && len(c.redisOnly) > 0 {
		panic(fmt.Sprintf("gincontrib: %s: %s applies to the redis store only", store, c.redisOnly[0]))
	}
	if !records && len(c.recordOnly) > 0 {
		panic(fmt.Sprintf("gincontrib: %s: %s applies to the redis and memcached stores only", store, c.recordOnly[0]))
	}
	if !strings.HasPrefix(c.path, "/") || !cookieAttrSafe(c.path) {
		panic(fmt.Sprintf("gincontrib: %s: WithPath(%q): must start with / and hold no ; or control character", store, c.path))
	}
	if !cookieAttrSafe(c.domain) {
		panic(fmt.Sprintf("gincontrib: %s: WithDomain(%q): must hold no ; or control character", store, c.domain))
	}
	return reader{
		name:         name,
		path:         c.path,
		domain:       c.domain,
		expireCookie: c.expireCookie,
		categories:   c.flashCategories,
		verifier:     newVerifier(keyPairs, c),
	}
}

// cookie returns the value of the legacy cookie, if r has one.
func (r *reader) cookie(req *http.Request) (string, bool) {
	c, err := req.Cookie(r.name)
	if err != nil {
		return "", false
	}
	return c.Value, true
}

// legacy returns a Legacy for the session id, with values m, that stops
// verifying at expires.
func (r *reader) legacy(id string, expires time.Time, m map[any]any) *sessions.Legacy {
	values, flashes := split(m, r.categories)
	return &sessions.Legacy{
		ID:           id,
		Cookie:       r.name,
		Path:         r.path,
		Domain:       r.domain,
		ExpireCookie: r.expireCookie,
		Expires:      expires,
		Values:       values,
		Flashes:      flashes,
	}
}

// validCookieName reports whether name is a cookie name (an RFC 7230
// token), as gorilla/sessions requires.
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

// cookieAttrSafe reports whether s can be a cookie attribute's value.
func cookieAttrSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c == 0x7f || c == ';' {
			return false
		}
	}
	return true
}

// recordName names a legacy record in an error without its whole session
// ID: the prefix and the ID's first six characters, enough to tell records
// apart in a log, too few to stand for the session.
func recordName(prefix, id string) string {
	if len(id) > 6 {
		id = id[:6] + "…"
	}
	return prefix + id
}

// earliest returns the earlier of two deadlines, zero meaning none.
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

// verified returns the value of the request's legacy cookie and what it
// opens to, or false when it has none that verifies with the key pairs.
func (r *reader) verified(req *http.Request) (string, opened, bool) {
	value, ok := r.cookie(req)
	if !ok {
		return "", opened{}, false
	}
	o, v := r.open(r.name, value, maxCookieLength)
	return value, o, v == valid
}

// recordID returns the ID of the legacy record that the request's cookie
// names for a server-side legacy store (what: "redis store", "memcached
// store", for errors), or "" when there is none: no cookie that verifies,
// or one that names no record.
func (r *reader) recordID(req *http.Request, what string) (string, opened, error) {
	_, o, ok := r.verified(req)
	if !ok {
		return "", o, nil
	}
	id, err := gobID(o.payload)
	if err != nil {
		return "", o, undecodable(fmt.Sprintf("%s, cookie %q", what, r.name), err)
	}
	return id, o, nil // "": the store never names a record so
}
