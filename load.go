package sessions

import (
	"errors"
	"fmt"
	"time"
)

// errNoSession is what a persister's open returns when the cookie names no
// session: a malformed value, a record that is gone, a seal that does not
// open. The request then starts a new session; nothing reaches a store.
var errNoSession = errors.New("sessions: no session")

// use loads the session for a handler's call and reports whether it can be
// used. A load failure that the handler did not ask for with Load goes to
// the error handler.
func (s *Session) use() bool {
	s.load()
	switch s.data {
	case loaded:
		return true
	case loadFailed:
		if !s.errHandled {
			s.fail(s.err)
		}
	}
	return false
}

// maxSameName bounds how many cookies of the session's name a request's
// load tries: a cookie planted for a parent domain or path comes before
// ours in the header, and one that names no session must not hide ours.
const maxSameName = 3

// load reads the session the first time it is needed: unloaded becomes
// loaded or loadFailed, here and nowhere else. Of several cookies of the
// session's name, the first that names a live session wins.
func (s *Session) load() {
	if s.data != unloaded {
		return
	}
	addVaryCookie(s.w.ResponseWriter.Header())
	now := s.m.cfg.now()
	s.data = loaded
	found, tries := false, 0
	s.eachValue(func(value string) bool {
		s.clientCookie = true
		rec, err := s.m.persist.open(s, value)
		switch {
		case err == nil && s.m.alive(&rec, s.touched, now):
			s.rec, found = rec, true
			return false
		case err == nil, errors.Is(err, errNoSession):
		case errors.Is(err, ErrMalformed), errors.Is(err, ErrCorrupt):
			_ = s.c.Error(fmt.Errorf("sessions: discarding an unreadable session: %w", err))
		default:
			s.data, s.err = loadFailed, &StoreError{Op: "load", Err: err}
			s.event(EventLoadError)
			return false
		}
		tries++
		return tries < maxSameName
	})
	s.endStoreCalls()
	if s.data == loaded && !found {
		s.startNew(now)
		if s.m.cfg.migrator != nil {
			s.migrate(now)
		}
	}
}

// startNew makes the session a new, empty one created at now.
func (s *Session) startNew(now time.Time) {
	s.isNew = true
	s.id, s.key, s.version, s.versionKnown, s.touched = "", "", 0, true, time.Time{}
	s.ops &^= opReseal
	s.rec = record{created: now, refreshed: now}
}
