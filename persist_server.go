package sessions

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// maxSaveAttempts bounds how often a commit that keeps losing
// compare-and-swap races reloads and retries before it gives up.
const maxSaveAttempts = 100

// serverSide keeps sessions in a Store, under the SHA-256 of the ID that
// the cookie holds, and saves them with compare-and-swap: a save that
// loses to a concurrent one reloads the record and re-applies this
// request's changes (see reload).
type serverSide struct {
	store   Store
	toucher Toucher // nil when the store cannot touch
}

func (p serverSide) open(s *Session, value string) (record, error) {
	raw, ok := parseID(value)
	if !ok {
		return record{}, errNoSession
	}
	key := storeKey(&raw)
	r, err := p.store.Load(s.ctx(), key)
	if errors.Is(err, ErrNotFound) {
		return record{}, errNoSession
	}
	if err != nil {
		return record{}, err
	}
	rec, err := decodeRecord(r.Data)
	if err != nil {
		return record{}, err
	}
	s.id, s.key, s.version, s.versionKnown, s.touched = value, key, r.Version, true, r.Touched
	return rec, nil
}

// save stores the record under the session's key with compare-and-swap,
// reloading and re-applying this request's changes when another request
// saved first. A new or renewed session gets its cookie afterwards.
func (p serverSide) save(s *Session, now time.Time) error {
	needsCookie := s.isNew || s.ops&opRenew != 0
	if needsCookie && !s.canSetCookie() {
		return ErrHeaderWritten // do not store what no cookie points to
	}
	s.ensureID()
	if !s.versionKnown {
		if err := p.reload(s); err != nil || s.isNew {
			return err
		}
	}
	buf := recordBuffers.Get().(*[]byte)
	defer putRecordBuffer(buf)
	for attempt := 1; ; attempt++ {
		s.rec.refreshed = now
		*buf = s.rec.appendTo((*buf)[:0])
		version, err := p.store.Save(s.ctx(), s.key, *buf, s.version, s.m.ttl(&s.rec, now))
		if err == nil {
			s.version, s.versionKnown = version, version != 0
			break
		}
		if !errors.Is(err, ErrConflict) || s.version == 0 {
			return &StoreError{Op: "save", Err: err}
		}
		if attempt >= maxSaveAttempts {
			return &StoreError{Op: "save", Err: fmt.Errorf("gave up after %d attempts: %w", attempt, err)}
		}
		if err := backoff(s.ctx(), attempt); err != nil {
			return &StoreError{Op: "save", Err: err}
		}
		if err := p.reload(s); err != nil || s.isNew {
			return err
		}
	}
	if needsCookie {
		if err := s.setCookie(s.id, maxAge(&s.rec, s.m.cfg.lifetime, now)); err != nil {
			return err
		}
	}
	s.saved()
	return nil
}

// reload fetches the stored record after a lost compare-and-swap (or when
// the version is unknown) and re-applies this request's changes to it, key
// by key: values that were set or deleted win; values changed only through
// Update get their functions run again on the fresh value; after Clear,
// keys that only the other request has go too. When the record is gone (a
// concurrent Destroy, or expiry), the changes are dropped and the session
// is new, empty and destroyed: a logout in another tab wins.
func (p serverSide) reload(s *Session) error {
	r, err := p.store.Load(s.ctx(), s.key)
	if errors.Is(err, ErrNotFound) {
		s.startNew(s.m.cfg.now())
		s.ops = opDestroy
		return nil
	}
	if err != nil {
		return &StoreError{Op: "load", Err: err}
	}
	fresh, err := decodeRecord(r.Data)
	if err != nil {
		return &StoreError{Op: "load", Err: err}
	}
	mine := s.rec.slots
	s.rec.created, s.rec.slots = fresh.created, fresh.slots
	s.version, s.versionKnown, s.touched = r.Version, true, r.Touched
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
			if f := &s.rec.slots[i]; !f.touchedByHandler() {
				f.remove()
			}
		}
	}
	_, err = s.diff()
	return err
}

func (p serverSide) touch(s *Session, now time.Time) (bool, error) {
	if p.toucher == nil {
		return false, nil
	}
	err := p.toucher.Touch(s.ctx(), s.key, s.m.ttl(&s.rec, now), now)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return true, &StoreError{Op: "touch", Err: err}
	}
	s.touched = now
	return true, nil
}

func (p serverSide) discard(s *Session) error {
	if s.oldKey == "" {
		return nil
	}
	if err := p.store.Delete(s.ctx(), s.oldKey); err != nil {
		return &StoreError{Op: "delete", Err: err}
	}
	s.oldKey = ""
	return nil
}

func (s *Session) ctx() context.Context { return s.c.Request.Context() }

// backoff waits a little, more after each lost race, so that requests
// racing for one session spread out.
func backoff(ctx context.Context, attempt int) error {
	if attempt < 3 {
		return ctx.Err()
	}
	d := time.Duration(rand.Int64N(int64(min(attempt, 20)) * int64(100*time.Microsecond)))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
