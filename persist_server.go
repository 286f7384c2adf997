package sessions

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"
)

// maxSaveAttempts bounds how often a commit that keeps losing
// compare-and-swap races reloads and retries before it gives up.
const maxSaveAttempts = 100

// serverSide keeps sessions in a Store, under the SHA-256 of the ID that
// the cookie holds, and changes them only with compare-and-swap at the
// version the request loaded: a save, a Renew (the record moves to a new
// key and leaves a "moved" tombstone) and a Destroy (it leaves a
// "destroyed" tombstone). A write that loses to a concurrent one reloads
// the record and re-applies this request's changes (see reload).
type serverSide struct {
	store   Store
	toucher Toucher // nil when the store cannot touch
	lanes   *lanes
	commits *atomic.Uint64 // successful commits so far (see Session.loadSeq)
}

func newServerSide(store Store) serverSide {
	t, _ := store.(Toucher)
	return serverSide{store: store, toucher: t, lanes: newLanes(), commits: new(atomic.Uint64)}
}

func (p serverSide) open(s *Session, value string) (record, error) {
	raw, ok := parseID(value)
	if !ok {
		return record{}, errNoSession
	}
	s.key = storeKey(&raw) // kept when the load fails, so that Destroy can still end it
	s.loadSeq = p.commits.Load()
	r, err := p.store.Load(s.storeCtx(), s.key)
	if errors.Is(err, ErrNotFound) {
		return record{}, errNoSession
	}
	if err != nil {
		return record{}, err
	}
	if _, ok, err := decodeTombstone(r.Data); ok {
		// Renewed or destroyed: a request that presents the old ID gets
		// no session (only one that loaded it before may follow a move).
		if err != nil {
			return record{}, err
		}
		return record{}, errNoSession
	}
	rec, err := decodeRecord(r.Data)
	if err != nil {
		return record{}, err
	}
	if owner, handle, ok := s.m.ownerOf(&rec); ok {
		// Signed out from another device, or its owner's index is gone.
		if listed, err := p.listed(s.storeCtx(), owner, handle); err != nil || !listed {
			if err == nil {
				err = errNoSession
			}
			return record{}, err
		}
	}
	s.id, s.version, s.versionKnown, s.touched = value, r.Version, true, r.Touched
	return rec, nil
}

// renewing reports whether this save moves a stored session to a new key.
func (s *Session) renewing() bool { return s.ops&opRenew != 0 && !s.isNew && s.oldKey != "" }

// save stores the record with compare-and-swap, reloading and re-applying
// this request's changes when another request wrote first. Within this
// process, the commits of one session take turns in a lane, and the one
// whose turn it is carries the queued ones' changes too (see lanes). A new
// or renewed session gets its cookie afterwards; one whose Renew lost to a
// concurrent Renew lives on under the other request's ID, which that
// request's response gives the browser, so this one leaves the cookie
// alone.
func (p serverSide) save(s *Session, now time.Time) (err error) {
	if (s.isNew || s.ops&opRenew != 0) && !s.canSetCookie() {
		return ErrHeaderWritten // do not store what no cookie points to
	}
	s.ensureID()
	ctx := s.storeCtx()
	if s.isNew { // a new session's random key races with nobody
		return p.saveTurn(ctx, s, nil, now)
	}
	base := s.key
	if s.renewing() {
		base = s.oldKey
	}
	ln, out := p.lanes.acquire(ctx, base, s)
	for out != nil && out.retry {
		ln, out = p.lanes.acquire(ctx, base, s)
	}
	if out != nil {
		return s.rode(out)
	}
	defer p.lanes.release(base, ln)
	if err := p.catchUp(s, ln); err != nil {
		return err
	}
	return p.saveTurn(ctx, s, ln, now)
}

// saveTurn is save with the turn held (ln; nil for a new session): it
// takes the queued commits along, and tells them the outcome before the
// turn passes on, whatever happens (a panic in an Update function
// included).
func (p serverSide) saveTurn(ctx context.Context, s *Session, ln *lane, now time.Time) (err error) {
	if (s.renewing() && s.oldVersion == 0) || (!s.renewing() && !s.versionKnown) {
		if err := p.reload(ctx, s); err != nil || s.isNew {
			return err
		}
	}
	var riders []*waiter
	var own []slot
	if ln != nil {
		if riders = ln.take(); len(riders) > 0 {
			own = slices.Clone(s.rec.slots)
			defer func() {
				out := outcome{err: err, key: s.key, destroyed: s.isNew && s.ops&opDestroy != 0, gone: s.isNew && s.ops&opDestroy == 0}
				if r := recover(); r != nil {
					out = outcome{retry: true} // the riders try again without this request
					defer panic(r)
				}
				for _, w := range riders {
					if !w.told { // told already: its own function panicked
						w.done <- out
					}
				}
			}()
			if err := s.carry(riders); err != nil {
				return err
			}
		}
	}
	buf := recordBuffers.Get().(*[]byte)
	defer putRecordBuffer(buf)
	for attempt := 1; ; attempt++ {
		s.rec.refreshed = now
		*buf = s.rec.appendTo((*buf)[:0])
		renewing := s.renewing()
		err := p.write(ctx, s, *buf, now)
		if err == nil {
			if ln != nil {
				if renewing { // the lane's key now holds a tombstone
					ln.committed(0, nil, p.commits.Add(1))
				} else {
					ln.committed(s.version, *buf, p.commits.Add(1))
				}
			}
			break
		}
		if !errors.Is(err, ErrConflict) {
			if s.keepCookie {
				_ = s.setCookie(s.id, s.m.maxAge(&s.rec, now))
			}
			return &StoreError{Op: "save", Err: err}
		}
		s.event(EventConflict)
		if attempt >= maxSaveAttempts {
			return &StoreError{Op: "save", Err: fmt.Errorf("gave up after %d attempts: %w", attempt, err)}
		}
		if err := backoff(ctx, attempt); err != nil {
			return &StoreError{Op: "save", Err: err}
		}
		if own != nil {
			s.rec.slots = slices.Clone(own) // this request's own changes, to replay
		}
		if err := p.reload(ctx, s); err != nil || s.isNew {
			return err
		}
		if err := s.carry(riders); err != nil {
			return err
		}
	}
	if s.isNew || s.ops&(opRenew|opResend) != 0 {
		if err := s.setCookie(s.id, s.m.maxAge(&s.rec, now)); err != nil {
			return err
		}
	}
	s.saved()
	return nil
}

// write makes one attempt at storing data: a compare-and-swap at the
// session's key, or for a Renew, an add under the new key followed by a
// compare-and-swap of the old record into a "moved" tombstone (undone,
// by deleting the new record, if that loses). Each step names one key, so
// it works on Redis Cluster, where the two keys live in different slots.
func (p serverSide) write(ctx context.Context, s *Session, data []byte, now time.Time) error {
	ttl := s.m.ttl(&s.rec, now)
	if !s.renewing() {
		version, err := p.store.Save(ctx, s.key, data, s.version, ttl)
		if err != nil {
			if errors.Is(err, ErrConflict) && s.version == 0 {
				return fmt.Errorf("a new session's random key is taken: %w", err) // not a race to replay
			}
			return err
		}
		s.version, s.versionKnown = version, version != 0
		return nil
	}
	version, err := p.store.Save(ctx, s.key, data, 0, ttl)
	if err != nil {
		if errors.Is(err, ErrConflict) {
			return fmt.Errorf("a renewed session's random key is taken: %w", err)
		}
		return err
	}
	tomb := tombstone{movedTo: s.key}.appendTo(make([]byte, 0, 48))
	if _, err := p.store.Save(ctx, s.oldKey, tomb, s.oldVersion, min(ttl, tombstoneTTL)); err != nil {
		if !errors.Is(err, ErrConflict) {
			// The swap may have landed (a timeout, a reply lost, too few
			// replicas): then the old ID reads as no session. Keep the new
			// record, and give the browser its ID with the error answer,
			// so that it holds a live session whichever way it went.
			s.keepCookie = true
			return err
		}
		if derr := p.store.Delete(ctx, s.key); derr != nil {
			return fmt.Errorf("%w (and the new record could not be removed: %v)", err, derr)
		}
		return err
	}
	s.version, s.versionKnown = version, version != 0
	s.oldKey, s.oldVersion = "", 0
	return nil
}

func (p serverSide) touch(s *Session, now time.Time) (bool, error) {
	if p.toucher == nil {
		return false, nil
	}
	err := p.toucher.Touch(s.storeCtx(), s.key, s.m.ttl(&s.rec, now), now)
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrCorrupt) {
		return true, &StoreError{Op: "touch", Err: err}
	}
	s.touched = now
	return true, nil
}

// discard ends the record that Destroy ended: it swaps it, at the version
// the request loaded, into a "destroyed" tombstone, so that a request that
// loaded it before and commits later drops its changes instead of bringing
// the session back. It follows "moved" tombstones (a Renew that committed
// first) and destroys the session where it lives now. When the request
// could not load the session (the store failed at first), it reads it now.
func (p serverSide) discard(s *Session) error {
	if s.oldKey == "" {
		return nil
	}
	ctx := s.storeCtx()
	key, version := s.oldKey, s.oldVersion
	ln, out := p.lanes.acquire(ctx, key, s) // never carried: a Destroy is not a plain save
	if out != nil {
		return &StoreError{Op: "delete", Err: out.err}
	}
	defer p.lanes.release(key, ln)
	if ln.seq > s.loadSeq && (ln.version == 0 || ln.version != version) {
		version = 0 // changed since this request loaded it: read it again
	}
	tomb := tombstone{}.appendTo(make([]byte, 0, 2))
	for attempt, hops := 1, 0; ; attempt++ {
		if version == 0 {
			r, err := p.store.Load(ctx, key)
			if errors.Is(err, ErrNotFound) {
				break
			}
			if errors.Is(err, ErrCorrupt) { // unreadable, so nothing to come back: remove it
				if err := p.store.Delete(ctx, key); err != nil {
					return &StoreError{Op: "delete", Err: err}
				}
				break
			}
			if err != nil {
				return &StoreError{Op: "load", Err: err}
			}
			t, isTomb, err := decodeTombstone(r.Data)
			switch {
			case err != nil:
				return &StoreError{Op: "load", Err: err}
			case isTomb && t.movedTo == "":
				s.oldKey = ""
				return nil // destroyed already
			case isTomb:
				if hops++; hops > maxHops {
					return &StoreError{Op: "delete", Err: fmt.Errorf("more than %d renewals while this request ran", maxHops)}
				}
				key = t.movedTo
				continue
			}
			version = r.Version
		}
		_, err := p.store.Save(ctx, key, tomb, version, tombstoneTTL)
		if err == nil {
			ln.committed(0, nil, p.commits.Add(1))
			break
		}
		if !errors.Is(err, ErrConflict) {
			return &StoreError{Op: "delete", Err: err}
		}
		s.event(EventConflict)
		if attempt >= maxSaveAttempts {
			return &StoreError{Op: "delete", Err: fmt.Errorf("gave up after %d attempts: %w", attempt, err)}
		}
		version = 0
	}
	s.oldKey, s.oldVersion = "", 0
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
