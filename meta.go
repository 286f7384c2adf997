package sessions

import (
	"strconv"
	"time"
)

// The middleware keeps what it knows of a session beyond its values in
// keys of its own (starting with a NUL byte, never listed by Keys), as
// strings through the Codec like any value: they are saved, merged after a
// lost compare-and-swap and carried along like values, and a program of an
// earlier release reads such a record as before (it ignores them).
const (
	// metaExpires is the session's absolute expiry, set by SetLifetime:
	// Unix milliseconds in decimal. Without it, the session expires at
	// created + WithLifetime.
	metaExpires = "\x00expires"
	// metaPersist is "1" when RememberMe(true) made the cookie persist,
	// "0" when RememberMe(false) made it last the browser session. Without
	// it, WithPersist decides.
	metaPersist = "\x00persist"
)

// metaString returns the middleware's own value under key in r.
func (m *manager) metaString(r *record, key string) (string, bool) {
	for i := range r.slots {
		sl := &r.slots[i]
		if sl.key != key {
			continue
		}
		if !sl.present {
			return "", false
		}
		v := sl.val
		if !sl.decoded {
			var err error
			if v, err = m.cfg.codec.Unmarshal(sl.enc); err != nil {
				return "", false
			}
		}
		str, ok := v.(string)
		return str, ok
	}
	return "", false
}

// setMeta sets the middleware's own value under key.
func (s *Session) setMeta(key, value string) {
	s.findOrAdd(key).replace(value)
}

// expires is when r's session ends whatever its use: SetLifetime's expiry,
// or its creation plus WithLifetime.
func (m *manager) expires(r *record) time.Time {
	if v, ok := m.metaString(r, metaExpires); ok {
		if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
			return time.UnixMilli(ms)
		}
	}
	return r.created.Add(m.cfg.lifetime)
}

// persists reports whether r's cookie outlives the browser session.
func (m *manager) persists(r *record) bool {
	if v, ok := m.metaString(r, metaPersist); ok {
		return v == "1"
	}
	return m.cfg.persist
}

// SetLifetime sets this session's absolute expiry to now + d, replacing
// WithLifetime's for it (a "remember me for 30 days" at login, or a short
// one for a sensitive session). The expiry is enforced on the server and
// inside a sealed cookie; the store's TTL and the cookie's Max-Age follow
// it. It holds across Renew. It panics if d is not positive.
func (s *Session) SetLifetime(d time.Duration) {
	if d <= 0 {
		panic("sessions: SetLifetime needs a positive duration")
	}
	if !s.use() {
		return
	}
	at := s.m.cfg.now().Add(d)
	s.setMeta(metaExpires, strconv.FormatInt(at.UnixMilli(), 10))
	s.ops |= opResend
}

// RememberMe decides whether this session's cookie persists (true: it has
// Max-Age, and outlives the browser session) or lasts until the browser
// closes (false: no Max-Age, no Expires), whatever WithPersist says. The
// session's expiry on the server is unchanged (see SetLifetime).
func (s *Session) RememberMe(persist bool) {
	if !s.use() {
		return
	}
	v := "0"
	if persist {
		v = "1"
	}
	s.setMeta(metaPersist, v)
	s.ops |= opResend
}
