package sessions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// flashKey holds the flash messages. Keys starting with a NUL byte are the
// middleware's own and never listed by Keys.
const flashKey = "\x00flash"

// maxSaveAttempts bounds how often a commit that keeps losing
// compare-and-swap races reloads and retries before it gives up.
const maxSaveAttempts = 100

// Session is one browser's session within one request. Get it with Default
// or Named. It is loaded on first use and saved by itself just before the
// response header is written, only if something changed. A Session belongs
// to its request: do not use it from other goroutines or after the
// handler returns.
type Session struct {
	m *manager
	c *gin.Context
	w responseWriter

	state      loadState
	err        error // why loading failed
	errHandled bool  // the handler saw the error (Load) or the error handler ran
	saveFailed bool  // Save returned an error: a success status must not go out

	id, key      string // the session's ID and store key; empty until needed for a new session
	oldKey       string // a stored session to delete at the next commit (Renew, Destroy)
	isNew        bool   // not loaded from a cookie or the store
	version      uint64 // the stored record's version, for compare-and-swap
	versionKnown bool   // false after a store's Save could not tell the new version
	touched      time.Time
	rec          record
	cleared      bool // Clear was called: keys added concurrently go too
	renewed      bool // Renew was called: the record moves to a new key
	destroyed    bool // Destroy was called: the cookie must go unless new values come
	reseal       bool // a cookie session opened with an old key
	hadCookie    bool // the request carried a cookie of this name
	cookieSet    bool // this response sets the cookie (an earlier Save)

	finished   bool // the handler chain returned without a panic
	headerSent bool // the response header went out: no more Set-Cookie
	dropWrites bool // a commit failed and the error handler answered
	inHandler  bool // the error handler is writing
}

type loadState uint8

const (
	unloaded loadState = iota
	loaded
	failed
)

// slot is one key of the session.
type slot struct {
	key      string
	enc      []byte // the encoding as last loaded or saved; nil if never stored
	val      any
	decoded  bool // val holds the value
	present  bool // the key has a value (false: deleted)
	exposed  bool // a mutable value was handed out: compare its encoding at commit
	jsonView bool // val is JSON's generic view of a value stored as JSON
	set      bool // replaced or deleted since the last save, not only through Update
	updates  []func(any) any

	changed bool   // scratch of commit: differs from enc
	newEnc  []byte // scratch of commit: the new encoding
}

// load reads the session the first time it is needed.
func (s *Session) load() error {
	switch s.state {
	case loaded:
		return nil
	case failed:
		return s.err
	}
	s.state = loaded
	addVaryCookie(s.w.ResponseWriter.Header())
	now := s.m.cfg.now()
	value := cookieValue(s.c.Request, s.m.name)
	s.hadCookie = value != ""
	if value == "" {
		s.startNew(now)
		return nil
	}
	var data []byte
	if s.m.sealer != nil {
		payload, rotated, err := s.m.sealer.Open(s.m.name, value)
		if err != nil {
			s.startNew(now)
			return nil
		}
		data, s.reseal = payload, rotated
	} else {
		raw, ok := parseID(value)
		if !ok {
			s.startNew(now)
			return nil
		}
		key := storeKey(&raw)
		r, err := s.m.store.Load(s.ctx(), key)
		if errors.Is(err, ErrNotFound) {
			s.startNew(now)
			return nil
		}
		if err != nil {
			s.state, s.err = failed, &StoreError{Op: "load", Err: err}
			return s.err
		}
		s.id, s.key, s.version, s.versionKnown, s.touched = value, key, r.Version, true, r.Touched
		data = r.Data
	}
	rec, err := decodeRecord(data)
	if err != nil {
		_ = s.c.Error(fmt.Errorf("sessions: discarding an undecodable session: %w", err))
		s.startNew(now)
		return nil
	}
	if !s.m.alive(&rec, s.touched, now) {
		s.startNew(now)
		return nil
	}
	if s.m.sealer != nil {
		if len(rec.id) != idLen {
			s.startNew(now)
			return nil
		}
		s.id = rec.id
	}
	s.rec = rec
	return nil
}

// varyCookie is shared by responses; its capacity makes an append copy it.
var varyCookie = []string{"Cookie"}

// addVaryCookie adds "Vary: Cookie" without allocating in the common case.
func addVaryCookie(h http.Header) {
	if v, ok := h["Vary"]; ok {
		h["Vary"] = append(v, "Cookie")
		return
	}
	h["Vary"] = varyCookie[:1:1]
}

func (s *Session) startNew(now time.Time) {
	s.isNew = true
	s.id, s.key, s.version, s.versionKnown, s.touched = "", "", 0, true, time.Time{}
	s.reseal = false
	s.rec = record{created: now, refreshed: now}
}

func (s *Session) ctx() context.Context { return s.c.Request.Context() }

// use loads the session for a handler's call and reports whether it can be
// used. A load failure that the handler did not ask for with Load goes to
// the error handler.
func (s *Session) use() bool {
	err := s.load()
	if err == nil {
		return true
	}
	if !s.errHandled {
		s.fail(err)
	}
	return false
}

func (s *Session) find(key string) *slot {
	for i := range s.rec.slots {
		if s.rec.slots[i].key == key {
			return &s.rec.slots[i]
		}
	}
	return nil
}

func (s *Session) findOrAdd(key string) *slot {
	if sl := s.find(key); sl != nil {
		return sl
	}
	s.rec.slots = append(s.rec.slots, slot{key: key})
	return &s.rec.slots[len(s.rec.slots)-1]
}

// value decodes a slot's value on first use.
func (s *Session) value(sl *slot) any {
	if !sl.present {
		return nil
	}
	if !sl.decoded {
		v, err := s.m.cfg.codec.Unmarshal(sl.enc)
		if err != nil {
			_ = s.c.Error(fmt.Errorf("sessions: cannot decode key %q: %w", sl.key, err))
		}
		sl.val, sl.decoded = v, true
		_, binary := s.m.cfg.codec.(binaryCodec)
		sl.jsonView = binary && len(sl.enc) > 0 && sl.enc[0] == tJSON
	}
	return sl.val
}

// expose notes that v, the value of sl, was handed to the handler: if it
// can be changed in place, the commit compares its encoding. JSON's generic
// view of a struct is read-only (change it with Set), since encoding it
// again would not give the struct's JSON back.
func (sl *slot) expose(v any) {
	if !sl.jsonView && mutable(v) {
		sl.exposed = true
	}
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

// IsNew reports whether the request brought no live session.
func (s *Session) IsNew() bool {
	if !s.use() {
		return false
	}
	return s.isNew
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

// Get returns the value under key as a T. It reports false when the key is
// missing or its value is not a T. Values kept as JSON (structs, by the
// default codec) are decoded into T; values of another type with the same
// underlying kind (a map[string]int for a named map type) are converted.
func Get[T any](s *Session, key string) (T, bool) {
	var zero T
	if !s.use() {
		return zero, false
	}
	sl := s.find(key)
	if sl == nil || !sl.present {
		return zero, false
	}
	v := s.value(sl)
	if t, ok := v.(T); ok {
		sl.expose(t)
		return t, true
	}
	// Kept as JSON (a struct): decode the stored bytes into T, unless the
	// value was replaced in this request.
	if into, ok := s.m.cfg.codec.(IntoUnmarshaler); ok && sl.enc != nil && !sl.set && sl.updates == nil {
		var t T
		if into.UnmarshalInto(sl.enc, &t) == nil {
			sl.val, sl.jsonView = t, false
			sl.expose(t)
			return t, true
		}
	}
	// Same underlying kind, another type: convert (a named map type).
	rv := reflect.ValueOf(v)
	tt := reflect.TypeFor[T]()
	if rv.IsValid() && rv.Kind() == tt.Kind() && rv.Type().ConvertibleTo(tt) {
		// The slot keeps its own type; the conversion shares its storage,
		// so a change in place is still seen.
		t := rv.Convert(tt).Interface().(T)
		sl.expose(v)
		return t, true
	}
	return zero, false
}

// Set stores v under key. The session is saved by itself before the
// response header goes out.
func (s *Session) Set(key string, v any) {
	if !s.use() {
		return
	}
	sl := s.findOrAdd(key)
	sl.val, sl.decoded, sl.present, sl.set, sl.updates, sl.jsonView = v, true, true, true, nil, false
	sl.exposed = mutable(v)
}

// Delete removes key.
func (s *Session) Delete(key string) {
	if !s.use() {
		return
	}
	if sl := s.find(key); sl != nil {
		sl.val, sl.decoded, sl.present, sl.set, sl.updates, sl.exposed = nil, true, false, true, nil, false
	}
}

// Update replaces the value under key with fn(old), where old is the
// current value or nil. It applies fn at once, so later reads in the
// request see the result. Use it for values that other requests of the same
// session may change at the same time (a counter, a cart): if another
// request saves first, the commit reloads the session and runs fn again on
// the fresh value, so no update is lost. fn must therefore be a pure
// function of old, and must not keep old.
func (s *Session) Update(key string, fn func(old any) any) {
	if !s.use() {
		return
	}
	sl := s.findOrAdd(key)
	v := fn(s.value(sl))
	sl.val, sl.decoded, sl.present, sl.jsonView = v, true, true, false
	sl.updates = append(sl.updates, fn)
	sl.exposed = mutable(v)
}

// Clear removes every value. The session keeps its ID.
func (s *Session) Clear() {
	if !s.use() {
		return
	}
	for i := range s.rec.slots {
		sl := &s.rec.slots[i]
		sl.val, sl.decoded, sl.present, sl.set, sl.updates, sl.exposed = nil, true, false, true, nil, false
	}
	s.cleared = true
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
// request.
func (s *Session) AddFlash(v any) {
	s.Update(flashKey, func(old any) any {
		list, _ := old.([]any)
		return append(slices.Clip(list), v)
	})
}

// Flashes returns the flash messages and removes them from the session.
func (s *Session) Flashes() []any {
	if !s.use() {
		return nil
	}
	sl := s.find(flashKey)
	if sl == nil || !sl.present {
		return nil
	}
	list, _ := s.value(sl).([]any)
	s.Delete(flashKey)
	return list
}

// Renew gives the session a new ID, keeping its values; the old ID is
// deleted from the store when the session is saved. Call it whenever the
// privilege level changes, such as at login, against session fixation.
func (s *Session) Renew() {
	if !s.use() {
		return
	}
	if !s.isNew && s.oldKey == "" {
		s.oldKey = s.key
	}
	s.id, s.key = newID()
	s.version, s.versionKnown = 0, true
	s.renewed = true
	if s.m.sealer != nil {
		s.rec.id = s.id
	}
}

// Destroy deletes the session from the store and expires its cookie, such
// as at logout. Values set afterwards in the same request start a new
// session with a new ID.
func (s *Session) Destroy() {
	if !s.use() {
		return
	}
	if !s.isNew && s.oldKey == "" {
		s.oldKey = s.key
	}
	s.startNew(s.m.cfg.now())
	s.renewed, s.cleared, s.reseal = false, false, false
	s.destroyed = true
}

// Load loads the session now and returns the error that loading met. A
// handler that calls Load first handles that error itself: the error
// handler does not run, and the session stays empty and is never saved, so
// the stored one is not overwritten.
func (s *Session) Load() error {
	err := s.load()
	if err != nil {
		s.errHandled = true
	}
	return err
}

// Save saves the session now, if it changed, and returns the error. It is
// never needed: the middleware saves before the response header goes out.
// After a failed Save nothing more is saved in this request (a save that
// failed on the network may still have landed, and saving again could apply
// an Update twice). The handler may answer with an error status of its
// own; if it answers with a success status, the error handler answers
// instead, so a failed save never reaches the client as a success.
func (s *Session) Save() error {
	if s.state == failed {
		return s.err
	}
	err := s.commit()
	if err != nil {
		s.state, s.err, s.saveFailed, s.errHandled = failed, err, true, true
	}
	return err
}

// mutable reports whether v may be changed in place by whoever holds it.
func mutable(v any) bool {
	switch v.(type) {
	case nil, string, bool, int, int64, int32, float64, time.Time, time.Duration, uint64:
		return false
	}
	switch reflect.TypeOf(v).Kind() {
	case reflect.Map, reflect.Slice, reflect.Pointer, reflect.Struct, reflect.Array, reflect.Interface:
		return true
	}
	return false
}

// commit saves what changed. It is called before the response header goes
// out, when the handler returns, and by Save.
func (s *Session) commit() error {
	if s.state != loaded {
		return nil
	}
	m := s.m
	changed, err := s.diff()
	if err != nil {
		return err
	}
	write := changed || s.renewed || s.reseal
	if !write && s.oldKey == "" && !s.destroyed && (s.isNew || m.cfg.idleTimeout <= 0) {
		return nil // the common read: nothing to do, not even a clock read
	}
	now := m.cfg.now()
	hasValues := s.hasValues()
	if !s.isNew && !write && s.refreshDue(now) {
		if m.toucher != nil && m.sealer == nil {
			err := m.toucher.Touch(s.ctx(), s.key, m.ttl(&s.rec, now), now)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return &StoreError{Op: "touch", Err: err}
			}
			s.touched = now
			return nil
		}
		write = true
	}
	if s.isNew && !hasValues {
		write = false // never store an empty anonymous session
	}
	if write {
		if err := s.write(now); err != nil {
			return err
		}
	}
	if s.oldKey != "" && m.sealer == nil {
		if err := m.store.Delete(s.ctx(), s.oldKey); err != nil {
			return &StoreError{Op: "delete", Err: err}
		}
		s.oldKey = ""
	}
	if s.destroyed && s.isNew && (s.hadCookie || s.cookieSet) {
		if err := s.setCookie("", -1); err != nil {
			return err
		}
	}
	s.destroyed = false
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

// write stores the whole record: sealed into the cookie, or saved under the
// session's key with compare-and-swap, reloading and re-applying this
// request's changes when another request saved first.
func (s *Session) write(now time.Time) error {
	m := s.m
	if (m.sealer != nil || s.isNew || s.renewed) && (s.headerSent || s.w.ResponseWriter.Written()) {
		return ErrHeaderWritten // it would need a cookie: do not store what no cookie points to
	}
	s.ensureID()
	if m.sealer != nil {
		s.rec.id = s.id
	}
	if m.sealer == nil && !s.versionKnown {
		if err := s.reload(); err != nil || s.isNew {
			return err
		}
		if _, err := s.diff(); err != nil {
			return err
		}
	}
	buf := recordBuffers.Get().(*[]byte)
	defer putRecordBuffer(buf)
	for attempt := 1; ; attempt++ {
		s.rec.refreshed = now
		data := s.rec.appendTo((*buf)[:0])
		*buf = data
		if m.sealer != nil {
			value, err := m.sealer.Seal(m.name, data)
			if err != nil {
				return err
			}
			if err := s.setCookie(value, maxAge(&s.rec, m.cfg.lifetime, now)); err != nil {
				return err
			}
			break
		}
		version, err := m.store.Save(s.ctx(), s.key, data, s.version, m.ttl(&s.rec, now))
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
		if err := s.reload(); err != nil {
			return err
		}
		if s.isNew { // destroyed by a concurrent request
			return nil
		}
		if _, err := s.diff(); err != nil {
			return err
		}
	}
	if m.sealer == nil && (s.isNew || s.renewed) {
		if err := s.setCookie(s.id, maxAge(&s.rec, m.cfg.lifetime, now)); err != nil {
			return err
		}
	}
	s.settle()
	s.isNew, s.renewed, s.reseal, s.cleared = false, false, false, false
	return nil
}

// reload fetches the stored record after a lost compare-and-swap and
// re-applies this request's changes to it, key by key: values that were
// set or deleted win; values changed only through Update get their
// functions run again on the fresh value. When the record is gone (a
// concurrent Destroy, or expiry), the changes are dropped and the session
// is new and empty: a logout in another tab wins.
func (s *Session) reload() error {
	r, err := s.m.store.Load(s.ctx(), s.key)
	if errors.Is(err, ErrNotFound) {
		s.startNew(s.m.cfg.now())
		s.destroyed = true
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
		if !sl.changed && !sl.set && sl.updates == nil {
			continue
		}
		f := s.findOrAdd(sl.key)
		if sl.set || sl.updates == nil {
			f.val, f.decoded, f.present, f.set, f.exposed, f.jsonView = sl.val, true, sl.present, true, sl.exposed, false
			continue
		}
		v := s.value(f)
		for _, fn := range sl.updates {
			v = fn(v)
		}
		f.val, f.decoded, f.present, f.updates, f.exposed, f.jsonView = v, true, true, sl.updates, mutable(v), false
	}
	if s.cleared {
		for i := range s.rec.slots {
			if f := &s.rec.slots[i]; f.updates == nil && !f.set {
				f.val, f.decoded, f.present, f.set = nil, true, false, true
			}
		}
	}
	return nil
}

// encode builds the record with every slot's current encoding.
// recordBuffers recycle the encoded record: stores copy what Save is given
// and sealers what Seal is given, so the buffer is free once they return.
var recordBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func putRecordBuffer(b *[]byte) {
	if cap(*b) <= 64<<10 { // let a rare huge session's buffer go
		recordBuffers.Put(b)
	}
}

// settle makes the saved state the new base after a successful write.
func (s *Session) settle() {
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
}

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

// refreshInterval is how often the idle deadline is pushed forward: a
// quarter of the idle timeout, at most a minute.
func refreshInterval(idle time.Duration) time.Duration {
	return min(idle/4, time.Minute)
}

// maxAge is the cookie's Max-Age in seconds: the rest of the lifetime.
func maxAge(r *record, lifetime time.Duration, now time.Time) int {
	d := r.created.Add(lifetime).Sub(now)
	secs := int64(d / time.Second) // rounded up, without overflowing
	if d%time.Second > 0 {
		secs++
	}
	return int(max(min(secs, math.MaxInt32), 1))
}
