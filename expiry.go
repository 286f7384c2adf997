package sessions

import (
	"math"
	"time"
)

// alive reports whether a loaded record is within its absolute lifetime
// and its idle timeout at now. touched is the store's last Touch time.
func (m *manager) alive(r *record, touched time.Time, now time.Time) bool {
	if !now.Before(m.expires(r)) {
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
// its lifetime, or the idle timeout if that is shorter, and at least a
// second.
func (m *manager) ttl(r *record, now time.Time) time.Duration {
	ttl := m.expires(r).Sub(now)
	if idle := m.cfg.idleTimeout; idle > 0 && idle < ttl {
		ttl = idle
	}
	return max(ttl, time.Second)
}

// refreshInterval is how often the idle deadline is pushed forward: a
// quarter of the idle timeout, at most a minute.
func refreshInterval(idle time.Duration) time.Duration {
	return min(idle/4, time.Minute)
}

// maxAge is the cookie's Max-Age in seconds: the rest of the lifetime,
// rounded up, at least 1; or 0 for a cookie that lasts the browser session
// (see persists).
func (m *manager) maxAge(r *record, now time.Time) int {
	if !m.persists(r) {
		return 0
	}
	d := m.expires(r).Sub(now)
	secs := int64(d / time.Second) // rounded up, without overflowing
	if d%time.Second > 0 {
		secs++
	}
	return int(max(min(secs, math.MaxInt32), 1))
}
