package sessions

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"time"
)

// Codec turns one session value into bytes and back. The middleware stores
// each key's value as the Codec encoded it, and compares encodings to see
// what a request changed, so Marshal must be deterministic: equal values
// give equal bytes.
type Codec interface {
	Marshal(v any) ([]byte, error)
	// Unmarshal must return an error, never panic, on bytes that Marshal
	// did not produce.
	Unmarshal(data []byte) (any, error)
}

// IntoUnmarshaler is an optional Codec feature: decode straight into the
// value ptr points to. Get[T] uses it for values that Unmarshal cannot
// return as a T, such as structs kept as JSON.
type IntoUnmarshaler interface {
	UnmarshalInto(data []byte, ptr any) error
}

// DefaultCodec is the codec used unless WithCodec says otherwise. Values
// keep their Go types without any registration: nil, bool, every int,
// uint and float type, string, []byte, time.Time, time.Duration, and slices
// and maps built from these (such as []string, map[string]int,
// map[string]any and []any, nested to any depth). Anything else that
// encoding/json can marshal, such as a struct, is kept as JSON: Get returns
// it as JSON's generic value and Get[T] decodes it into T.
var DefaultCodec Codec = binaryCodec{}

// ErrMalformed is returned by the default codec for bytes it did not make.
var ErrMalformed = errors.New("sessions: malformed encoded value")

// Type tags of the default codec. A value is a type descriptor followed by
// the payload; slice and map descriptors nest their element descriptors.
const (
	tNil byte = iota + 1
	tBool
	tInt
	tInt8
	tInt16
	tInt32
	tInt64
	tUint
	tUint8
	tUint16
	tUint32
	tUint64
	tFloat32
	tFloat64
	tString
	tBytes
	tTime
	tDuration
	tAny   // interface value: descriptor and payload follow
	tSlice // element descriptor follows
	tMap   // key and element descriptors follow
	tJSON  // length-prefixed JSON
)

// maxDepth bounds the nesting of descriptors and values, so a crafted
// input cannot exhaust the stack.
const maxDepth = 64

var (
	typeBytes    = reflect.TypeFor[[]byte]()
	typeTime     = reflect.TypeFor[time.Time]()
	typeDuration = reflect.TypeFor[time.Duration]()
	typeAny      = reflect.TypeFor[any]()
)

// scalarTypes maps the tags of plain types to their Go types.
var scalarTypes = [...]reflect.Type{
	tBool:     reflect.TypeFor[bool](),
	tInt:      reflect.TypeFor[int](),
	tInt8:     reflect.TypeFor[int8](),
	tInt16:    reflect.TypeFor[int16](),
	tInt32:    reflect.TypeFor[int32](),
	tInt64:    reflect.TypeFor[int64](),
	tUint:     reflect.TypeFor[uint](),
	tUint8:    reflect.TypeFor[uint8](),
	tUint16:   reflect.TypeFor[uint16](),
	tUint32:   reflect.TypeFor[uint32](),
	tUint64:   reflect.TypeFor[uint64](),
	tFloat32:  reflect.TypeFor[float32](),
	tFloat64:  reflect.TypeFor[float64](),
	tString:   reflect.TypeFor[string](),
	tBytes:    typeBytes,
	tTime:     typeTime,
	tDuration: typeDuration,
}

type binaryCodec struct{}

func (binaryCodec) Marshal(v any) ([]byte, error) {
	return appendValue(make([]byte, 0, 32), v)
}

// Unmarshal checks data whole before it allocates anything (see
// codec_decode.go).
func (binaryCodec) Unmarshal(data []byte) (any, error) {
	d := decoder{buf: data}
	if err := d.checkAny(0); err != nil || len(d.buf) != 0 {
		return nil, ErrMalformed
	}
	d = decoder{buf: data}
	return d.anyValue(0)
}

func (binaryCodec) UnmarshalInto(data []byte, ptr any) error {
	if len(data) > 0 && data[0] == tJSON {
		d := decoder{buf: data[1:]}
		raw, err := d.bytes()
		if err != nil || len(d.buf) != 0 {
			return ErrMalformed
		}
		return json.Unmarshal(raw, ptr)
	}
	return errNotInto
}

var errNotInto = errors.New("sessions: value cannot be decoded into that type")

// appendValue appends v with its descriptor. Common types take a fast path
// without reflection.
func appendValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, tNil), nil
	case string:
		return appendString(append(b, tString), x), nil
	case int:
		return binary.AppendVarint(append(b, tInt), int64(x)), nil
	case int64:
		return binary.AppendVarint(append(b, tInt64), x), nil
	case bool:
		return appendBool(append(b, tBool), x), nil
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, tFloat64), math.Float64bits(x)), nil
	case []byte:
		if x == nil {
			return append(b, tBytes, 0), nil
		}
		return appendString(append(b, tBytes, 1), string(x)), nil
	case time.Time:
		return appendTime(append(b, tTime), x)
	}
	rv := reflect.ValueOf(v)
	b, ok := appendDescriptor(b, rv.Type(), 0)
	if !ok {
		return appendJSON(b, v)
	}
	return appendPayload(b, rv, 0)
}

func appendJSON(b []byte, v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("sessions: cannot encode a %T: %w", v, err)
	}
	return appendString(append(b, tJSON), string(j)), nil
}

func appendBool(b []byte, x bool) []byte {
	if x {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendTime(b []byte, t time.Time) ([]byte, error) {
	m, err := t.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("sessions: cannot encode time: %w", err)
	}
	return appendString(b, string(m)), nil
}

// appendDescriptor appends the descriptor of t, or reports false when t is
// not one the binary format carries (the value then goes as JSON).
func appendDescriptor(b []byte, t reflect.Type, depth int) ([]byte, bool) {
	if depth > maxDepth {
		return b, false
	}
	switch t {
	case typeBytes:
		return append(b, tBytes), true
	case typeTime:
		return append(b, tTime), true
	case typeDuration:
		return append(b, tDuration), true
	case typeAny:
		return append(b, tAny), true
	}
	if tag := scalarTag(t); tag != 0 {
		return append(b, tag), true
	}
	if t.Name() != "" {
		return b, false // named composite types: keep them as JSON
	}
	switch t.Kind() {
	case reflect.Slice:
		return appendDescriptor(append(b, tSlice), t.Elem(), depth+1)
	case reflect.Map:
		if scalarTag(t.Key()) == 0 {
			return b, false
		}
		b = append(b, tMap, scalarTag(t.Key()))
		return appendDescriptor(b, t.Elem(), depth+1)
	}
	return b, false
}

// scalarTag is the tag of an unnamed scalar type, or 0.
func scalarTag(t reflect.Type) byte {
	for tag := tBool; tag <= tString; tag++ {
		if scalarTypes[tag] == t {
			return tag
		}
	}
	return 0
}

func appendPayload(b []byte, v reflect.Value, depth int) ([]byte, error) {
	if depth > maxDepth {
		return nil, errors.New("sessions: value nested too deeply")
	}
	t := v.Type()
	switch t {
	case typeBytes:
		if v.IsNil() {
			return append(b, 0), nil
		}
		return appendString(binary.AppendUvarint(b, 1), string(v.Bytes())), nil
	case typeTime:
		return appendTime(b, v.Interface().(time.Time))
	case typeDuration:
		return binary.AppendVarint(b, v.Int()), nil
	case typeAny:
		if v.IsNil() {
			return append(b, tNil), nil
		}
		e := v.Elem()
		nb, ok := appendDescriptor(b, e.Type(), depth+1)
		if !ok {
			return appendJSON(b, e.Interface())
		}
		return appendPayload(nb, e, depth+1)
	}
	switch t.Kind() {
	case reflect.Bool:
		return appendBool(b, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return binary.AppendVarint(b, v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return binary.AppendUvarint(b, v.Uint()), nil
	case reflect.Float32:
		return binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v.Float()))), nil
	case reflect.Float64:
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Float())), nil
	case reflect.String:
		return appendString(b, v.String()), nil
	case reflect.Slice:
		if v.IsNil() {
			return append(b, 0), nil
		}
		b = binary.AppendUvarint(b, uint64(v.Len())+1)
		var err error
		for i := 0; i < v.Len(); i++ {
			if b, err = appendPayload(b, v.Index(i), depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	case reflect.Map:
		if v.IsNil() {
			return append(b, 0), nil
		}
		b = binary.AppendUvarint(b, uint64(v.Len())+1)
		// Sorted keys make the encoding deterministic, which change
		// detection relies on.
		pairs := make([]pair, 0, v.Len())
		for it := v.MapRange(); it.Next(); {
			k := it.Key()
			if (k.Kind() == reflect.Float32 || k.Kind() == reflect.Float64) && math.IsNaN(k.Float()) {
				return nil, errors.New("sessions: cannot encode a map with a NaN key")
			}
			pairs = append(pairs, pair{k, it.Value()})
		}
		sortPairs(pairs)
		var err error
		for _, p := range pairs {
			if b, err = appendPayload(b, p.k, depth+1); err != nil {
				return nil, err
			}
			if b, err = appendPayload(b, p.v, depth+1); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return nil, fmt.Errorf("sessions: cannot encode a %s", t)
}

// pair is one map entry.
type pair struct{ k, v reflect.Value }

// sortPairs orders map entries by key (of a scalar type, NaN excluded) so
// that encodings are deterministic.
func sortPairs(ps []pair) {
	if len(ps) < 2 {
		return
	}
	switch ps[0].k.Kind() {
	case reflect.String:
		slices.SortFunc(ps, func(a, b pair) int { return cmp.Compare(a.k.String(), b.k.String()) })
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		slices.SortFunc(ps, func(a, b pair) int { return cmp.Compare(a.k.Int(), b.k.Int()) })
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		slices.SortFunc(ps, func(a, b pair) int { return cmp.Compare(a.k.Uint(), b.k.Uint()) })
	case reflect.Float32, reflect.Float64:
		slices.SortFunc(ps, func(a, b pair) int { return cmp.Compare(a.k.Float(), b.k.Float()) })
	case reflect.Bool:
		slices.SortFunc(ps, func(a, b pair) int {
			if a.k.Bool() == b.k.Bool() {
				return 0
			} else if b.k.Bool() {
				return -1
			}
			return 1
		})
	}
}

// readOnlyView reports whether codec decodes enc into a generic view of
// the value rather than the value itself (the default codec's structs,
// kept as JSON): encoding such a view again would not give the stored bytes
// back, so a view handed to a handler is read-only.
func readOnlyView(codec Codec, enc []byte) bool {
	_, ok := codec.(binaryCodec)
	return ok && len(enc) > 0 && enc[0] == tJSON
}
