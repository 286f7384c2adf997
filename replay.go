package sessions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// reload fetches the record this request's changes are based on (the old
// key while a Renew is pending), after a lost compare-and-swap or when its
// version is not known, and re-applies this request's changes to it, key
// by key: values that were set or deleted win; values changed only through
// Update get their functions run again on the fresh value; after Clear,
// keys that only the other request has go too. It follows "moved"
// tombstones: the session lives on at the key it moved to (a Renew that
// loses to a concurrent Renew is dropped). A "destroyed" tombstone means a
// logout won: the changes are dropped, and the session is new and
// destroyed (its cookie expires). A record that is gone altogether
// (expired) leaves the session new, with the cookie alone.
func (p serverSide) reload(ctx context.Context, s *Session) error {
	renewing := s.renewing()
	key := s.key
	if renewing {
		key = s.oldKey
	}
	for hop := 0; ; hop++ {
		s.loadSeq = p.commits.Load()
		r, err := p.store.Load(ctx, key)
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrCorrupt) {
			s.startNew(s.m.cfg.now())
			s.ops, s.oldKey = 0, ""
			return nil
		}
		if err != nil {
			return &StoreError{Op: "load", Err: err}
		}
		tomb, isTomb, err := decodeTombstone(r.Data)
		if err != nil {
			return &StoreError{Op: "load", Err: err}
		}
		if !isTomb {
			fresh, err := decodeRecord(r.Data)
			if err != nil {
				return &StoreError{Op: "load", Err: err}
			}
			if renewing {
				s.oldKey, s.oldVersion = key, r.Version
			} else {
				s.key, s.version, s.versionKnown = key, r.Version, true
			}
			s.touched = r.Touched
			return s.replay(fresh)
		}
		if tomb.movedTo == "" {
			s.startNew(s.m.cfg.now())
			s.ops, s.oldKey = opDestroy, ""
			return nil
		}
		if hop >= maxHops {
			return &StoreError{Op: "load", Err: fmt.Errorf("more than %d renewals while this request ran", maxHops)}
		}
		if renewing { // another Renew won: live on under its key
			renewing = false
			s.ops &^= opRenew
			s.oldKey, s.oldVersion = "", 0
		}
		key = tomb.movedTo
	}
}

// catchUp starts the request from what the request ahead of it in the
// lane stored, when that is not what this request loaded, instead of
// letting it lose a compare-and-swap and reload. When the lane knows that
// a commit came after this request's load but not its version (memcached),
// it marks the version unknown, so that the save reloads first rather than
// try a compare-and-swap bound to fail.
func (p serverSide) catchUp(s *Session, ln *lane) error {
	version := s.version
	if s.renewing() {
		version = s.oldVersion
	}
	switch {
	case ln.version != 0 && ln.version != version:
		fresh, err := decodeRecord(bytes.Clone(ln.data)) // the lane's buffer is reused
		if err != nil {
			return &StoreError{Op: "load", Err: err}
		}
		if s.renewing() {
			s.oldVersion = ln.version
		} else {
			s.version, s.versionKnown = ln.version, true
		}
		return s.replay(fresh)
	case ln.version == 0 && ln.seq > s.loadSeq:
		if s.renewing() {
			s.oldVersion = 0
		} else {
			s.versionKnown = false
		}
	}
	return nil
}

// replay makes fresh the session's record and re-applies this request's
// changes to it (see reload).
func (s *Session) replay(fresh record) error {
	mine := s.rec.slots
	s.rec.created, s.rec.slots = fresh.created, fresh.slots
	for i := range mine {
		sl := &mine[i]
		if !sl.touchedByHandler() {
			continue
		}
		f := s.findOrAdd(sl.key)
		if sl.set || sl.updates == nil {
			if sl.present {
				f.replace(sl.val)
			} else {
				f.remove()
			}
			continue
		}
		v := s.value(f)
		for _, fn := range sl.updates {
			v = fn(v)
		}
		f.updated(sl.updates, v)
	}
	if s.ops&opClear != 0 {
		for i := range s.rec.slots {
			if f := &s.rec.slots[i]; !f.touchedByHandler() && clearable(f.key) {
				f.remove()
			}
		}
	}
	_, err := s.diff()
	return err
}
