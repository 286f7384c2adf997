package sessions

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// metaLegacy names the legacy session a session was migrated from: its
// ID, cookie name, path and domain, joined by NUL bytes. Destroy ends the
// legacy session too (Migrator.End, and the legacy cookie expires).
const metaLegacy = "\x00legacy"

// clearable reports whether Clear removes the slot under key: every value
// and flash, not the link to a legacy session, which a later Destroy
// needs to end that session too (a logout is often Clear, then Destroy).
func clearable(key string) bool { return key != metaLegacy }

// legacyClaimTTL is how long the mark that a legacy session was migrated
// is kept when the Migrator does not know when the legacy session ends:
// gin-contrib/sessions' default MaxAge, 30 days.
const legacyClaimTTL = 30 * 24 * time.Hour

// migrate runs when the request brought no live session: it asks the
// Migrator for a legacy session and, the first time one is seen, makes its
// values those of the new session. It is part of the load: a store that
// fails to record the migration fails the load (the legacy session is
// then migrated by a later request, not lost).
func (s *Session) migrate(now time.Time) {
	mg := s.m.cfg.migrator
	l, err := mg.Find(s.storeCtx(), s.c.Request)
	if err != nil {
		s.endStoreCalls()
		_ = s.c.Error(fmt.Errorf("sessions: not migrating a legacy session: %w", err))
		return
	}
	if l == nil {
		s.endStoreCalls()
		return
	}
	ttl := legacyClaimTTL
	if !l.Expires.IsZero() {
		if ttl = l.Expires.Sub(now); ttl <= 0 {
			s.endStoreCalls()
			return // expired
		}
	}
	first, err := s.m.persist.claim(s, legacyKey(l.ID), ttl)
	s.endStoreCalls()
	if err != nil {
		s.data, s.err = loadFailed, &StoreError{Op: "load", Err: fmt.Errorf("recording a migration: %w", err)}
		s.event(EventLoadError)
		return
	}
	if !first {
		return // migrated before, or destroyed: never again
	}
	for k, v := range l.Values {
		if k != "" && !strings.HasPrefix(k, "\x00") && v != nil {
			s.findOrAdd(k).replace(v)
		}
	}
	for category, list := range l.Flashes {
		if len(list) > 0 {
			s.findOrAdd(flashKeyOf([]string{category})).replace(append([]any(nil), list...))
		}
	}
	s.setMeta(metaLegacy, strings.Join([]string{l.ID, l.Cookie, l.Path, l.Domain}, "\x00"))
	if !l.Expires.IsZero() {
		s.setMeta(metaExpires, strconv.FormatInt(l.Expires.UnixMilli(), 10))
	}
	if l.ExpireCookie {
		s.expireLegacyCookie(l)
	}
}

// legacyKey is the store key under which the middleware marks a legacy
// session as migrated: shaped like a session's key, and no session's.
func legacyKey(id string) string {
	raw := sha256.Sum256([]byte("sessionware/migrated\x00" + id))
	return storeKey(&raw)
}

// legacy returns the legacy session this session was migrated from, or
// nil.
func (s *Session) legacy() *Legacy {
	v, ok := s.m.metaString(&s.rec, metaLegacy)
	if !ok {
		return nil
	}
	parts := strings.Split(v, "\x00")
	if len(parts) != 4 {
		return nil
	}
	return &Legacy{ID: parts[0], Cookie: parts[1], Path: parts[2], Domain: parts[3]}
}

// endLegacy ends the legacy session l that a destroyed session was
// migrated from: on the legacy side (Migrator.End) and in the browser.
func (s *Session) endLegacy(l *Legacy) error {
	if err := s.m.cfg.migrator.End(s.storeCtx(), l); err != nil {
		return &StoreError{Op: "delete", Err: fmt.Errorf("ending the legacy session: %w", err)}
	}
	s.expireLegacyCookie(l)
	return nil
}

// expireLegacyCookie has the browser forget the legacy cookie, if the
// response can still say so.
func (s *Session) expireLegacyCookie(l *Legacy) {
	if l.Cookie == "" || l.Cookie == s.m.name || !s.canSetCookie() {
		return // the same name: our own cookie replaces it
	}
	c := http.Cookie{Name: l.Cookie, Path: l.Path, Domain: l.Domain, MaxAge: -1, HttpOnly: true}
	if v := c.String(); v != "" {
		s.w.ResponseWriter.Header().Add("Set-Cookie", v)
	}
}

// claim records, for a server-side store, that the legacy session under
// key was migrated: it adds a "destroyed" tombstone there, which only the
// first request can. It reports whether this request was first.
func (p serverSide) claim(s *Session, key string, ttl time.Duration) (bool, error) {
	tomb := tombstone{}.appendTo(make([]byte, 0, 2))
	_, err := p.store.Save(s.storeCtx(), key, tomb, 0, ttl)
	if errors.Is(err, ErrConflict) {
		return false, nil
	}
	return err == nil, err
}

// claim, for sealed sessions, has nowhere to record a migration: the
// sealed cookie that the migration gives the browser is the record (it
// lives as long as the legacy session; see WithMigration).
func (sealed) claim(*Session, string, time.Duration) (bool, error) { return true, nil }
