package sessions

import (
	"bytes"
	"fmt"
	"time"
)

// commit saves what the handler changed, through the persister. It runs
// before the response header goes out, when the handler returns, and in
// Save. It decides what the request needs:
//
//   - nothing, for the common read (no change, no idle timeout to slide);
//   - a touch, when only the idle deadline is due to move;
//   - a save, when a value changed, or for Renew and a re-seal;
//   - the removal of a record that Renew or Destroy ended;
//   - an expired cookie after Destroy, when the browser holds one.
//
// A new session with no values is never stored.
func (s *Session) commit() error {
	if s.data != loaded {
		return nil
	}
	err := s.commitChanges()
	s.endStoreCalls()
	if err != nil {
		s.event(EventSaveError)
	}
	return err
}

func (s *Session) commitChanges() error {
	m := s.m
	changed, err := s.diff()
	if err != nil {
		return err
	}
	write := changed || s.ops&(opRenew|opReseal) != 0
	if !write && s.oldKey == "" && s.ops&opDestroy == 0 && (s.isNew || m.cfg.idleTimeout <= 0) {
		return nil // the common read: nothing to do, not even a clock read
	}
	now := m.cfg.now()
	if !s.isNew && !write && s.refreshDue(now) {
		touched, err := m.persist.touch(s, now)
		if touched || err != nil {
			return err
		}
		write = true
	}
	if s.isNew && !s.hasValues() {
		write = false // never store an empty new session
	}
	if write {
		enroll := s.ops&(opEnroll|opRenew) != 0
		if err := m.persist.save(s, now); err != nil {
			return err
		}
		if enroll {
			if err := m.persist.enroll(s, now); err != nil {
				return err
			}
		}
	}
	// A Destroy ended a session if a stored record was named, or the
	// browser held a sealed one (a second logout ends nothing).
	_, isSealed := m.persist.(sealed)
	ended := s.ops&opDestroy != 0 && (s.oldKey != "" || isSealed && s.clientCookie)
	if err := m.persist.discard(s); err != nil {
		return err
	}
	if s.endingLegacy != nil {
		if err := s.endLegacy(s.endingLegacy); err != nil {
			return err
		}
		s.endingLegacy = nil
	}
	if s.ops&opDestroy != 0 && s.isNew && s.clientCookie {
		if err := s.setCookie("", -1); err != nil {
			return err
		}
	}
	if ended {
		s.event(EventDestroyed)
	}
	s.ops &^= opDestroy
	return nil
}

// diff encodes the slots that may have changed and marks those that did.
func (s *Session) diff() (bool, error) {
	changed := false
	for i := range s.rec.slots {
		sl := &s.rec.slots[i]
		sl.changed, sl.newEnc = false, nil
		switch {
		case !sl.present:
			sl.changed = sl.enc != nil
		case sl.set || sl.updates != nil || sl.exposed || sl.enc == nil:
			enc, err := s.m.cfg.codec.Marshal(sl.val)
			if err != nil {
				return false, fmt.Errorf("sessions: key %q: %w", sl.key, err)
			}
			if sl.enc == nil || !bytes.Equal(enc, sl.enc) {
				sl.changed, sl.newEnc = true, enc
			}
		}
		changed = changed || sl.changed
	}
	return changed, nil
}

func (s *Session) hasValues() bool {
	for i := range s.rec.slots {
		if s.rec.slots[i].present {
			return true
		}
	}
	return false
}

// saved makes the written record the new base: the encodings that went
// out become the slots' stored ones, deleted slots go, and the session is
// no longer new.
func (s *Session) saved() {
	slots := s.rec.slots[:0]
	for _, sl := range s.rec.slots {
		if !sl.present {
			continue
		}
		if sl.changed {
			sl.enc = sl.newEnc
		}
		sl.changed, sl.newEnc, sl.set, sl.updates = false, nil, false, nil
		slots = append(slots, sl)
	}
	clear(s.rec.slots[len(slots):])
	s.rec.slots = slots
	if s.m.cfg.observer != nil {
		switch {
		case s.isNew:
			s.event(EventCreated)
		case s.ops&opRenew != 0:
			s.event(EventRenewed)
		}
	}
	s.isNew = false
	s.ops &^= opRenew | opReseal | opClear | opResend | opEnroll
}

// refreshDue reports whether the idle deadline should be pushed forward.
func (s *Session) refreshDue(now time.Time) bool {
	idle := s.m.cfg.idleTimeout
	if idle <= 0 {
		return false
	}
	last := s.rec.refreshed
	if s.touched.After(last) {
		last = s.touched
	}
	return now.Sub(last) >= refreshInterval(idle)
}
