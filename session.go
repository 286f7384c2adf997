package sessions

import (
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// A Session's life within one request is three small states, each changed
// in one place.
//
// What the request knows of the stored session (dataState; load and
// failSave change it):
//
//	unloaded   --load-->           loaded      the store answered, or there was no session: a new one
//	unloaded   --load-->           loadFailed  the store failed: the session is empty and never saved
//	loaded     --a commit fails--> saveFailed  nothing more is saved; a success status is replaced
//
// Where the response is (respState; only response.go changes it):
//
//	open       --first write, commit succeeded--> committed  the header is out: no more Set-Cookie
//	open       --commit or unhandled load failed--> answering  the error handler writes
//	answering  --error handler returned-->        answered   the handler's writes are dropped
//
// What the handler asked for beyond changed values (ops, a set; the API
// adds, a successful write removes):
//
//	opRenew    Renew: the record moves to a new ID
//	opDestroy  Destroy: the stored record goes; the cookie expires unless new values come
//	opClear    Clear: keys another request added concurrently go too
//	opReseal   a sealed cookie opened with an old key: seal it again
//	opResend   SetLifetime or RememberMe changed the cookie's Max-Age: send it again
//	opEnroll   SetOwner: list the session in its owner's index once it is saved
type dataState uint8

const (
	unloaded dataState = iota
	loaded
	loadFailed
	saveFailed
)

type respState uint8

const (
	open respState = iota
	committed
	answering
	answered
)

type ops uint8

const (
	opRenew ops = 1 << iota
	opDestroy
	opClear
	opReseal
	opResend
	opEnroll
)

// flashKey holds the flash messages. Keys starting with a NUL byte are the
// middleware's own and never listed by Keys.
const flashKey = "\x00flash"

// Session is one browser's session within one request. Get it with
// [Default] or [Named]. It is loaded on first use and saved by itself just
// before the response header is written, only if something changed. A
// Session belongs to its request: do not use it from other goroutines or
// after the handler returns.
type Session struct {
	m *manager
	c *gin.Context
	w responseWriter

	data       dataState
	resp       respState
	ops        ops
	err        error // why the load or a save failed
	errHandled bool  // err went to the handler (Load, Save) or to the error handler

	id, key      string // the session's ID and store key; empty until needed for a new session
	oldKey       string // a stored record that Renew or Destroy ended, swapped for a tombstone at commit
	oldVersion   uint64 // its version as loaded; 0: not known (read at commit)
	isNew        bool   // not loaded from a cookie or the store, or destroyed
	version      uint64 // the stored record's version, for compare-and-swap; 0: none
	loadSeq      uint64 // the commit count when the record was loaded (see lane)
	versionKnown bool   // false after a store's Save could not tell the new version
	touched      time.Time
	clientCookie bool // the browser holds this session's cookie, or will after this response
	viaHeader    bool // the request carried the session in WithHeader's header: answer there
	keepCookie   bool // a Renew whose outcome is unknown: the error answer keeps the new cookie
	rec          record
	endingLegacy *Legacy // the legacy session a destroyed session was migrated from, ended at commit

	sctx storeContext // the store calls of the load or commit under way (storeCtx)
}

// ID returns the session's ID, the value of its cookie for server-side
// stores. A new session gets its ID here or when it is first saved.
func (s *Session) ID() string {
	if !s.use() {
		return ""
	}
	s.ensureID()
	return s.id
}

func (s *Session) ensureID() {
	if s.id == "" {
		s.id, s.key = newID()
	}
}

// IsNew reports whether the request brought no live session (or Destroy
// ended it).
func (s *Session) IsNew() bool {
	return s.use() && s.isNew
}

// Get returns the value stored under key, or nil. A map or slice it
// returns may be changed in place: the change is saved.
func (s *Session) Get(key string) any {
	if !s.use() {
		return nil
	}
	sl := s.find(key)
	if sl == nil {
		return nil
	}
	v := s.value(sl)
	sl.expose(v)
	return v
}

// Set stores v under key. The session is saved by itself before the
// response header goes out.
func (s *Session) Set(key string, v any) {
	if s.use() {
		s.findOrAdd(key).replace(v)
	}
}

// Delete removes key.
func (s *Session) Delete(key string) {
	if !s.use() {
		return
	}
	if sl := s.find(key); sl != nil {
		sl.remove()
	}
}

// Update replaces the value under key with fn(old), where old is the
// current value or nil, and applies it at once, so later reads in the
// request see the result. Use it for values that other requests of the
// same session may change at the same time (a counter, a cart): if another
// request saves first, the commit reloads the session and runs fn again on
// the fresh value, so no update is lost.
//
// old belongs to this request (a copy decoded for it), so fn may change it
// in place and return it. Since fn may run again, it must not have other
// effects, and a check that decides the result (a cart's size limit)
// belongs inside fn, where it sees the fresh value.
func (s *Session) Update(key string, fn func(old any) any) {
	if !s.use() {
		return
	}
	sl := s.findOrAdd(key)
	sl.update(fn, fn(s.value(sl)))
}

// Clear removes every value and flash, and what SetLifetime, RememberMe
// and SetOwner set for this session (it starts over, as at its creation).
// The session keeps its ID, and the link to a legacy session it was
// migrated from (so that a later Destroy ends that one too). Keys that a
// concurrent request adds before this one commits are removed too.
func (s *Session) Clear() {
	if !s.use() {
		return
	}
	for i := range s.rec.slots {
		if clearable(s.rec.slots[i].key) {
			s.rec.slots[i].remove()
		}
	}
	s.ops |= opClear
}

// Keys returns the keys that hold a value, sorted.
func (s *Session) Keys() []string {
	if !s.use() {
		return nil
	}
	keys := make([]string, 0, len(s.rec.slots))
	for i := range s.rec.slots {
		if sl := &s.rec.slots[i]; sl.present && !strings.HasPrefix(sl.key, "\x00") {
			keys = append(keys, sl.key)
		}
	}
	slices.Sort(keys)
	return keys
}

// AddFlash adds a message that Flashes returns once, on this or a later
// request. A category, if given (only the first counts), files it apart:
// Flashes("error") returns only the messages added with "error", and
// Flashes() those added without a category. The signatures are
// gin-contrib/sessions'.
func (s *Session) AddFlash(v any, category ...string) {
	s.Update(flashKeyOf(category), func(old any) any {
		list, _ := old.([]any)
		return append(slices.Clip(list), v)
	})
}

// Flashes returns the flash messages of a category (only the first given
// counts; none: the default category) and removes them from the session.
func (s *Session) Flashes(category ...string) []any {
	if !s.use() {
		return nil
	}
	sl := s.find(flashKeyOf(category))
	if sl == nil || !sl.present {
		return nil
	}
	list, _ := s.value(sl).([]any)
	sl.remove()
	return list
}

// flashKeyOf is the key that holds the flashes of a category.
func flashKeyOf(category []string) string {
	if len(category) == 0 || category[0] == "" {
		return flashKey
	}
	return flashKey + ":" + category[0]
}

// Renew gives the session a new ID, keeping its values. Call it whenever
// the privilege level changes, such as at login, against session fixation.
// When the session is saved, the record under the old ID is replaced by a
// short-lived tombstone: the old ID then reads as no session, but a
// request of this session that loaded it before, in another tab, still
// commits its changes to the renewed session (and leaves the browser's new
// cookie alone). Of two concurrent Renews one wins, and the browser ends up
// with its ID.
func (s *Session) Renew() {
	if !s.use() {
		return
	}
	s.endStoredID()
	s.id, s.key = newID()
	s.version, s.versionKnown = 0, true
	s.ops |= opRenew
}

// Destroy ends the session, such as at logout: at commit its record is
// replaced by a short-lived "destroyed" tombstone and its cookie expires.
// A request of the same session that loaded it before and commits later
// drops its changes: the logout wins, under the old ID and any ID a
// concurrent Renew moved the session to. The commit runs even if the
// client has gone, and even if the session could not be loaded (it reads
// the record then). Values set afterwards in the same request start a new
// session with a new ID. With a sealed (cookie) backend there is nothing
// on the server to end: a copy of the cookie taken before stays valid
// until it expires.
func (s *Session) Destroy() {
	s.load()
	if s.data == loadFailed && s.key != "" {
		// The store failed to load what the cookie names: end it at
		// commit, reading it then.
		s.data, s.err = loaded, nil
		s.oldKey, s.oldVersion = s.key, 0
	} else if !s.use() {
		return
	}
	s.endStoredID()
	if s.m.cfg.migrator != nil && s.endingLegacy == nil {
		s.endingLegacy = s.legacy()
	}
	s.startNew(s.m.cfg.now())
	s.ops = opDestroy
}

// endStoredID notes that the stored record of the session's current ID is
// to be ended at commit (the first of several Renew and Destroy calls names
// the record that exists).
func (s *Session) endStoredID() {
	if !s.isNew && s.oldKey == "" {
		s.oldKey = s.key
		if s.versionKnown {
			s.oldVersion = s.version
		}
	}
}

// Load loads the session now and returns the error that loading met. A
// handler that calls Load first handles that error itself: the error
// handler does not run, and the session stays empty and is never saved, so
// the stored one is not overwritten.
func (s *Session) Load() error {
	s.load()
	if s.data == loadFailed {
		s.errHandled = true
		return s.err
	}
	return nil
}

// Save saves the session now, if it changed, and returns the error. It is
// never needed: the middleware saves before the response header goes out.
// After a failed Save nothing more is saved in this request (a save that
// failed on the network may still have landed, and saving again could apply
// an Update twice). The handler may answer with an error status of its
// own; if it answers with a success status, the error handler answers
// instead, so a failed save never reaches the client as a success.
func (s *Session) Save() error {
	if s.data == loadFailed || s.data == saveFailed {
		return s.err
	}
	err := s.commit()
	if err != nil {
		s.failSave(err)
		s.errHandled = true
	}
	return err
}

// failSave records that a save failed: nothing more is saved.
func (s *Session) failSave(err error) {
	if s.data == loaded {
		s.data, s.err = saveFailed, err
	}
}
