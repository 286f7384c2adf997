package gincontrib

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"reflect"
	"time"
)

// Values are kept in the native session in one of two forms:
//
//   - as themselves, when sessions.DefaultCodec gives them back with their
//     Go type and value (native reports which): strings, numbers, bools,
//     time.Time, time.Duration, and unnamed slices and maps of these up to
//     two levels deep ([]string, map[string]int, map[string]any holding
//     such values). Those are merged per key, changed in place and read by
//     native code exactly as values the native API set.
//   - gob-encoded, as gin-contrib kept every value, in an envelope: a
//     []byte whose first byte says its form (signed or not; see
//     valueKeys). Structs, named types,
//     pointers and []byte go this way, and come back with their Go type
//     (a type behind an interface must be registered with gob.Register, as
//     gin-contrib required).
//
// Every []byte that the drop-in finds under a key, or in a flash list, is
// an envelope: a []byte value of the program's own is enveloped too, so
// the two cannot be confused. An envelope inside a container is not
// looked into: only a key's value and a flash are.

// maxTyped mirrors the native codec: how many levels of slices and maps
// keep their exact Go types (codec_decode.go, maxTyped).
const maxTyped = 2

// maxNesting bounds the values native examines; deeper ones are
// gob-encoded (the native codec refuses values nested beyond 64 levels).
const maxNesting = 32

var (
	typeBytes    = reflect.TypeFor[[]byte]()
	typeTime     = reflect.TypeFor[time.Time]()
	typeDuration = reflect.TypeFor[time.Duration]()
	typeAny      = reflect.TypeFor[any]()
)

// native reports whether sessions.DefaultCodec gives v back with its Go
// type and value, so that it can be kept as itself. A []byte is not: it is
// always enveloped (see above).
func native(v any) bool {
	if _, ok := v.([]byte); ok {
		return false
	}
	return nativeValue(reflect.ValueOf(v), 0)
}

// nativeValue reports whether the codec keeps v, whose static type may
// hold interface values, exactly.
func nativeValue(v reflect.Value, depth int) bool {
	if !v.IsValid() {
		return true // nil
	}
	if depth > maxNesting {
		return false
	}
	levels, ok := typeLevels(v.Type())
	if !ok || levels > maxTyped {
		return false
	}
	return elementsNative(v, depth)
}

// typeLevels returns how many levels of slices and maps t has, and false
// if the codec does not keep t exactly: a named type other than time.Time
// and time.Duration, a struct, a pointer, an interface other than any, a
// map key that is not an unnamed bool, number or string.
func typeLevels(t reflect.Type) (int, bool) {
	switch t {
	case typeBytes, typeTime, typeDuration, typeAny:
		return 0, true
	}
	if scalar(t) {
		return 0, true
	}
	if t.Name() != "" {
		return 0, false
	}
	switch t.Kind() {
	case reflect.Slice:
		l, ok := typeLevels(t.Elem())
		return l + 1, ok
	case reflect.Map:
		if !scalar(t.Key()) {
			return 0, false
		}
		l, ok := typeLevels(t.Elem())
		return l + 1, ok
	}
	return 0, false
}

// scalar reports whether t is an unnamed bool, integer, float or string
// type: the codec's scalar types, the only ones it takes as map keys.
func scalar(t reflect.Type) bool {
	if t.Name() != t.Kind().String() || t.PkgPath() != "" {
		return false // named
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	}
	return false
}

// elementsNative reports whether the interface values inside v (whose
// type the codec keeps) are kept exactly too, and whether its float map
// keys are numbers (the codec refuses NaN keys).
func elementsNative(v reflect.Value, depth int) bool {
	t := v.Type()
	switch {
	case t == typeAny:
		return v.IsNil() || nativeValue(v.Elem(), depth+1)
	case t == typeBytes || t.Kind() != reflect.Slice && t.Kind() != reflect.Map:
		return true
	case !needsWalk(t):
		return true
	}
	if t.Kind() == reflect.Slice {
		for i := range v.Len() {
			if !elementsNative(v.Index(i), depth+1) {
				return false
			}
		}
		return true
	}
	for it := v.MapRange(); it.Next(); {
		if k := it.Key(); (k.Kind() == reflect.Float32 || k.Kind() == reflect.Float64) && math.IsNaN(k.Float()) {
			return false
		}
		if !elementsNative(it.Value(), depth+1) {
			return false
		}
	}
	return true
}

// needsWalk reports whether values of t (a type the codec keeps) can hold
// something the codec may not keep exactly: an interface value, or a
// float map key (NaN).
func needsWalk(t reflect.Type) bool {
	switch {
	case t == typeAny:
		return true
	case t == typeBytes:
		return false
	case t.Kind() == reflect.Map:
		return t.Key().Kind() == reflect.Float32 || t.Key().Kind() == reflect.Float64 || needsWalk(t.Elem())
	case t.Kind() == reflect.Slice:
		return needsWalk(t.Elem())
	}
	return false
}

// valueKeys authenticate the envelopes of a store that others can write
// (redis, memcached): the first key signs, every key verifies. With none
// (memory, whose values never leave the process, and sealed cookies,
// which only the server's own writes open) envelopes are not signed.
type valueKeys [][]byte

// The first byte of an envelope says its form.
const (
	// envelopeGob: the gob of the value follows.
	envelopeGob = 1
	// envelopeSigned: an HMAC-SHA-256 of the gob, then the gob.
	envelopeSigned = 2
)

// envelope gob-encodes v, as gin-contrib did, with its type, and signs it
// if the store has keys.
func (k valueKeys) envelope(v any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(envelopeGob)
	if len(k) > 0 {
		buf.Write(make([]byte, sha256.Size)) // the MAC, below
	}
	if err := gob.NewEncoder(&buf).Encode(&v); err != nil {
		return nil, fmt.Errorf("gincontrib: cannot gob-encode a %T: %w", v, err)
	}
	b := buf.Bytes()
	if len(k) > 0 {
		b[0] = envelopeSigned
		copy(b[1:], mac(k[0], b[1+sha256.Size:]))
	}
	return b, nil
}

// mac is the HMAC-SHA-256 of gob under key.
func mac(key, gob []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(gob)
	return h.Sum(nil)
}

// ErrUndecodable is wrapped by the error recorded (with c.Error) when a
// value the session holds cannot be decoded: an envelope that gob cannot
// read (usually a value of a type this program did not register with
// gob.Register), or, in a store with keys, one that no key verifies. Get
// then returns nil, as for a missing key.
var ErrUndecodable = errors.New("gincontrib: undecodable session value")

// open decodes an envelope. In a store with keys, gob decodes only what
// one of them signed: gob is not written for hostile input (a few bytes
// can make it allocate gigabytes), so it sees only the store's own
// writes. Without keys it trusts what it is given. A panic in gob is an
// error.
func (k valueKeys) open(b []byte) (v any, err error) {
	switch {
	case len(b) > 0 && b[0] == envelopeGob && len(k) == 0:
		b = b[1:]
	case len(b) > 0 && b[0] == envelopeSigned && len(k) > 0:
		if len(b) < 1+sha256.Size || !k.verify(b[1:1+sha256.Size], b[1+sha256.Size:]) {
			return nil, fmt.Errorf("%w: no key verifies it", ErrUndecodable)
		}
		b = b[1+sha256.Size:]
	default:
		return nil, fmt.Errorf("%w: not a value the drop-in wrote with this store's keys", ErrUndecodable)
	}
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("%w: gob: %v", ErrUndecodable, r)
		}
	}()
	r := bytes.NewReader(b)
	if err := gob.NewDecoder(r).Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUndecodable, err)
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the value", ErrUndecodable, r.Len())
	}
	return v, nil
}

// verify reports whether sum is the MAC of gob under one of the keys.
func (k valueKeys) verify(sum, gob []byte) bool {
	for _, key := range k {
		if hmac.Equal(sum, mac(key, gob)) {
			return true
		}
	}
	return false
}

// stored is what the drop-in puts in the native session for v: v itself,
// its envelope, or, for a value gob cannot encode, a value whose encoding
// fails with gob's error, so that the commit fails (Save returns the
// error; without Save the middleware answers 500) and nothing is saved.
func (k valueKeys) stored(v any) any {
	if native(v) {
		return v
	}
	b, err := k.envelope(v)
	if err != nil {
		return &unencodable{err}
	}
	return b
}

// unencodable stands for a value gob could not encode: the native codec
// keeps it as JSON, and its MarshalJSON fails with gob's error.
type unencodable struct{ err error }

func (u *unencodable) MarshalJSON() ([]byte, error) { return nil, u.err }

// loaded is what the program gets for v, a value the native session holds.
func (k valueKeys) loaded(v any) (any, error) {
	if b, ok := v.([]byte); ok {
		return k.open(b)
	}
	return v, nil
}
