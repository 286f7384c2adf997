package sessions

import (
	"fmt"
	"reflect"
	"time"
)

// slot is one key of the session: its stored encoding, its value as the
// handler sees it, and how the handler changed it.
type slot struct {
	key      string
	enc      []byte // the encoding as last loaded or saved; nil if never stored
	val      any
	decoded  bool // val holds the value
	present  bool // the key has a value (false: deleted)
	exposed  bool // a mutable value was handed out: compare its encoding at commit
	readOnly bool // val is a codec's generic view of the stored value (see readOnlyView)
	set      bool // replaced or deleted since the last save, not only through Update
	updates  []func(any) any

	changed bool   // scratch of commit: differs from enc
	newEnc  []byte // scratch of commit: the new encoding
}

// replace gives the slot a value that the handler set.
func (sl *slot) replace(v any) {
	sl.val, sl.decoded, sl.present, sl.set, sl.updates, sl.readOnly = v, true, true, true, nil, false
	sl.exposed = mutable(v)
}

// setEncoded gives the slot a value as its encoding (another request's,
// carried along): it is decoded if read, and saved as it is.
func (sl *slot) setEncoded(enc []byte) {
	sl.enc, sl.val, sl.decoded, sl.present = enc, nil, false, true
	sl.set, sl.updates, sl.exposed, sl.readOnly = false, nil, false, false
}

// remove deletes the slot's value.
func (sl *slot) remove() {
	sl.val, sl.decoded, sl.present, sl.set, sl.updates, sl.exposed = nil, true, false, true, nil, false
}

// update gives the slot v, the result of fn, and keeps fn to run again on
// a fresher value after a lost compare-and-swap.
func (sl *slot) update(fn func(any) any, v any) {
	sl.updated(append(sl.updates, fn), v)
}

// updated gives the slot v, the result of the functions fns.
func (sl *slot) updated(fns []func(any) any, v any) {
	sl.val, sl.decoded, sl.present, sl.readOnly, sl.updates = v, true, true, false, fns
	sl.exposed = mutable(v)
}

// touchedByHandler reports whether this request changed the slot.
func (sl *slot) touchedByHandler() bool { return sl.changed || sl.set || sl.updates != nil }

// expose notes that v, the value of sl, was handed to the handler: if it
// can be changed in place, the commit compares its encoding. A read-only
// view is never compared (change it with Set).
func (sl *slot) expose(v any) {
	if !sl.readOnly && mutable(v) {
		sl.exposed = true
	}
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

// value decodes a slot's value on first use. A value that cannot be
// decoded reads as nil, and the error is recorded with c.Error.
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
		sl.readOnly = readOnlyView(s.m.cfg.codec, sl.enc)
	}
	return sl.val
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
			sl.val, sl.readOnly = t, false
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
