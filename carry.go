package sessions

import (
	"fmt"
	"slices"
)

// combinable reports whether s's commit, queued in a lane, can ride on
// another request's: a plain save of a stored session.
func (s *Session) combinable() bool {
	return s.data == loaded && !s.isNew && s.oldKey == "" && s.ops&(opRenew|opDestroy|opResend|opEnroll) == 0
}

// carry applies the changes of the queued requests riders to s's record,
// in the order they queued, as if each had committed after s: values they
// set or deleted win, their Update functions run on the value as it is by
// then, and a Clear removes the keys they did not set. It reads the riders'
// sessions, whose goroutines wait for the outcome, and changes only s.
func (s *Session) carry(riders []*waiter) error {
	for _, w := range riders {
		if w.told {
			continue // dropped in an earlier round: its function panicked
		}
		before := slices.Clone(s.rec.slots)
		if r := s.carryOne(w.s); r != nil {
			// Its own Update function panicked: the panic is its own,
			// raised again in its goroutine; the others go on.
			s.rec.slots = before
			w.done <- outcome{panicked: r}
			w.told = true
		}
	}
	_, err := s.diff()
	return err
}

// carryOne applies g's changes to s's record; it returns what g's Update
// function panicked with, if it did.
func (s *Session) carryOne(g *Session) (panicked any) {
	defer func() {
		if r := recover(); r != nil {
			panicked = r
		}
	}()
	for i := range g.rec.slots {
		gs := &g.rec.slots[i]
		if !gs.touchedByHandler() {
			continue
		}
		f := s.findOrAdd(gs.key)
		switch {
		case !gs.present:
			f.remove()
		case gs.set || gs.updates == nil:
			enc := gs.enc
			if gs.changed {
				enc = gs.newEnc
			}
			f.setEncoded(enc)
		default:
			// The function gets a copy of its own, as it would in its
			// own request: it may change it in place.
			v := s.value(f)
			if mutable(v) {
				enc, err := s.m.cfg.codec.Marshal(v)
				if err == nil {
					v, err = s.m.cfg.codec.Unmarshal(enc)
				}
				if err != nil {
					panic(fmt.Errorf("sessions: key %q: %w", gs.key, err))
				}
			}
			for _, fn := range gs.updates {
				v = fn(v)
			}
			f.replace(v)
		}
	}
	if g.ops&opClear != 0 {
		for i := range s.rec.slots {
			if gf := g.find(s.rec.slots[i].key); (gf == nil || !gf.touchedByHandler()) && clearable(s.rec.slots[i].key) {
				s.rec.slots[i].remove()
			}
		}
	}
	return nil
}

// rode finishes a commit that another request carried: out says what
// became of it.
func (s *Session) rode(out *outcome) error {
	switch {
	case out.panicked != nil:
		panic(out.panicked)
	case out.err != nil:
		if _, ok := out.err.(*StoreError); ok {
			return out.err
		}
		return &StoreError{Op: "save", Err: out.err}
	case out.destroyed, out.gone:
		s.startNew(s.m.cfg.now())
		s.ops = 0
		if out.destroyed {
			s.ops = opDestroy
		}
		return nil
	}
	// Stored, with the others' changes: this request's record is not
	// what the store holds, so a later save in it reloads first.
	s.key = out.key
	s.saved()
	s.versionKnown = false
	return nil
}
