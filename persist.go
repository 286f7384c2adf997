package sessions

import (
	"sync"
	"time"
)

// persister is how a session reaches its Backend: one implementation for
// server-side stores (serverSide: the cookie holds an ID, the record is in
// a Store, saved with compare-and-swap) and one for sealed sessions
// (sealed: the cookie holds the record itself). The rest of the core does
// not know which it has.
type persister interface {
	// open returns the session that the cookie value names and sets the
	// session's ID and, for a store, its key, version and touch time. It
	// returns errNoSession for a value that names no session, ErrMalformed
	// for a record that cannot be decoded, and any other error when the
	// store failed.
	open(s *Session, value string) (record, error)

	// save writes the session's record, sets the cookie when it must
	// change, and then calls s.saved. The record's refreshed time is now.
	// A server-side save that finds the session destroyed by a concurrent
	// request leaves it new and empty instead, and saves nothing.
	save(s *Session, now time.Time) error

	// touch pushes the idle deadline of a session that did not change. It
	// reports false when only a save can do that.
	touch(s *Session, now time.Time) (bool, error)

	// discard removes the record of an ID that Renew or Destroy ended
	// (s.oldKey); a no-op where there is nothing on the server.
	discard(s *Session) error

	// claim records that the legacy session marked by key was migrated
	// and reports whether this request is the first to claim it (see
	// migrate).
	claim(s *Session, key string, ttl time.Duration) (bool, error)

	// enroll puts a session just saved in its owner's index (SetOwner), or
	// moves its entry to its new key (Renew); see owners.go.
	enroll(s *Session, now time.Time) error
}

// sealed keeps the whole session in the cookie, sealed by a Sealer. Writes
// are last-writer-wins: there is nothing to compare and swap.
type sealed struct{ sealer Sealer }

func (p sealed) open(s *Session, value string) (record, error) {
	payload, rotated, err := p.sealer.Open(s.m.name, value)
	if err != nil {
		return record{}, errNoSession
	}
	rec, err := decodeRecord(payload)
	if err != nil {
		return record{}, err
	}
	if len(rec.id) != idLen {
		return record{}, errNoSession
	}
	s.id = rec.id
	if rotated {
		s.ops |= opReseal
	}
	return rec, nil
}

func (p sealed) save(s *Session, now time.Time) error {
	if !s.canSetCookie() {
		return ErrHeaderWritten
	}
	s.ensureID()
	s.rec.id = s.id
	buf := recordBuffers.Get().(*[]byte)
	defer putRecordBuffer(buf)
	s.rec.refreshed = now
	*buf = s.rec.appendTo((*buf)[:0])
	value, err := p.sealer.Seal(s.m.name, *buf)
	if err != nil {
		return err
	}
	if err := s.setCookie(value, s.m.maxAge(&s.rec, now)); err != nil {
		return err
	}
	s.saved()
	return nil
}

func (sealed) touch(*Session, time.Time) (bool, error) { return false, nil }

func (sealed) discard(*Session) error { return nil }

func (sealed) enroll(*Session, time.Time) error { return nil }

// recordBuffers recycle the encoded record: stores copy what Save is given
// and sealers what Seal is given, so the buffer is free once they return.
var recordBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func putRecordBuffer(b *[]byte) {
	if cap(*b) <= 64<<10 { // let a rare huge session's buffer go
		recordBuffers.Put(b)
	}
}
