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

// load reads the session the first time it is needed: unloaded becomes
// loaded or loadFailed, here and nowhere else.
func (s *Session) load() {
	if s.data != unloaded {
		return
	}
	addVaryCookie(s.w.ResponseWriter.Header())
	now := s.m.cfg.now()
	value := cookieValue(s.c.Request, s.m.name)
	s.clientCookie = value != ""
	if value == "" {
		s.data = loaded
		s.startNew(now)
		return
	}
	rec, err := s.m.persist.open(s, value)
	switch {
	case err == nil && s.m.alive(&rec, s.touched, now):
		s.data, s.rec = loaded, rec
	case err == nil, errors.Is(err, errNoSession):
		s.data = loaded
		s.startNew(now)
	case errors.Is(err, ErrMalformed):
		_ = s.c.Error(fmt.Errorf("sessions: discarding an undecodable session: %w", err))
		s.data = loaded
		s.startNew(now)
	default:
		s.data, s.err = loadFailed, &StoreError{Op: "load", Err: err}
	}
}

// startNew makes the session a new, empty one created at now.
func (s *Session) startNew(now time.Time) {
	s.isNew = true
	s.id, s.key, s.version, s.versionKnown, s.touched = "", "", 0, true, time.Time{}
	s.ops &^= opReseal
	s.rec = record{created: now, refreshed: now}
}
