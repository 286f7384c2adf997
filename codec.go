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

func (binaryCodec) Unmarshal(data []byte) (any, error) {
	d := decoder{buf: data}
	v, err := d.anyValue(0)
	if err == nil && len(d.buf) != 0 {
		err = ErrMalformed
	}
	return v, err
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

// decoder reads the default codec's format. Every read checks bounds and
// every length is checked against the bytes left, so garbage yields
// ErrMalformed and never a panic or a huge allocation.
type decoder struct{ buf []byte }

func (d *decoder) byte() (byte, error) {
	if len(d.buf) == 0 {
		return 0, ErrMalformed
	}
	c := d.buf[0]
	d.buf = d.buf[1:]
	return c, nil
}

func (d *decoder) uvarint() (uint64, error) {
	x, n := binary.Uvarint(d.buf)
	if n <= 0 {
		return 0, ErrMalformed
	}
	d.buf = d.buf[n:]
	return x, nil
}

func (d *decoder) varint() (int64, error) {
	x, n := binary.Varint(d.buf)
	if n <= 0 {
		return 0, ErrMalformed
	}
	d.buf = d.buf[n:]
	return x, nil
}

func (d *decoder) bytes() ([]byte, error) {
	n, err := d.uvarint()
	if err != nil || n > uint64(len(d.buf)) {
		return nil, ErrMalformed
	}
	s := d.buf[:n:n]
	d.buf = d.buf[n:]
	return s, nil
}

func (d *decoder) fixed(n int) ([]byte, error) {
	if len(d.buf) < n {
		return nil, ErrMalformed
	}
	s := d.buf[:n]
	d.buf = d.buf[n:]
	return s, nil
}

// count reads a slice or map length stored as n+1 (0 is nil). Every
// element takes at least one byte, so a count beyond the bytes left is
// malformed.
func (d *decoder) count() (n int, isNil bool, err error) {
	c, err := d.uvarint()
	if err != nil || c > uint64(len(d.buf))+1 {
		return 0, false, ErrMalformed
	}
	if c == 0 {
		return 0, true, nil
	}
	return int(c - 1), false, nil
}

// anyValue reads a descriptor and the payload it describes.
func (d *decoder) anyValue(depth int) (any, error) {
	if len(d.buf) > 0 {
		// Fast paths for the common scalars.
		switch d.buf[0] {
		case tNil:
			d.buf = d.buf[1:]
			return nil, nil
		case tString:
			d.buf = d.buf[1:]
			s, err := d.bytes()
			return string(s), err
		case tInt:
			d.buf = d.buf[1:]
			x, err := d.varint()
			return int(x), err
		case tJSON:
			d.buf = d.buf[1:]
			raw, err := d.bytes()
			if err != nil {
				return nil, err
			}
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, ErrMalformed
			}
			return v, nil
		}
	}
	t, err := d.descriptor(depth)
	if err != nil {
		return nil, err
	}
	v := reflect.New(t).Elem()
	if err := d.payload(v, depth); err != nil {
		return nil, err
	}
	return v.Interface(), nil
}

func (d *decoder) descriptor(depth int) (reflect.Type, error) {
	if depth > maxDepth {
		return nil, ErrMalformed
	}
	tag, err := d.byte()
	if err != nil {
		return nil, err
	}
	switch {
	case tag >= tBool && tag <= tDuration:
		return scalarTypes[tag], nil
	case tag == tAny:
		return typeAny, nil
	case tag == tSlice:
		e, err := d.descriptor(depth + 1)
		if err != nil {
			return nil, err
		}
		return reflect.SliceOf(e), nil
	case tag == tMap:
		k, err := d.byte()
		if err != nil || k < tBool || k > tString {
			return nil, ErrMalformed
		}
		e, err := d.descriptor(depth + 1)
		if err != nil {
			return nil, err
		}
		return reflect.MapOf(scalarTypes[k], e), nil
	}
	return nil, ErrMalformed
}

// payload decodes into v, whose type came from descriptor.
func (d *decoder) payload(v reflect.Value, depth int) error {
	if depth > maxDepth {
		return ErrMalformed
	}
	t := v.Type()
	switch t {
	case typeBytes:
		isSet, err := d.byte()
		if err != nil || isSet > 1 {
			return ErrMalformed
		}
		if isSet == 1 {
			s, err := d.bytes()
			if err != nil {
				return err
			}
			v.SetBytes(append([]byte{}, s...))
		}
		return nil
	case typeTime:
		s, err := d.bytes()
		if err != nil {
			return err
		}
		var tm time.Time
		if tm.UnmarshalBinary(s) != nil {
			return ErrMalformed
		}
		v.Set(reflect.ValueOf(tm))
		return nil
	case typeAny:
		x, err := d.anyValue(depth + 1)
		if err != nil {
			return err
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Bool:
		c, err := d.byte()
		if err != nil || c > 1 {
			return ErrMalformed
		}
		v.SetBool(c == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		x, err := d.varint()
		if err != nil || v.OverflowInt(x) {
			return ErrMalformed
		}
		v.SetInt(x)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		x, err := d.uvarint()
		if err != nil || v.OverflowUint(x) {
			return ErrMalformed
		}
		v.SetUint(x)
	case reflect.Float32:
		s, err := d.fixed(4)
		if err != nil {
			return err
		}
		v.SetFloat(float64(math.Float32frombits(binary.LittleEndian.Uint32(s))))
	case reflect.Float64:
		s, err := d.fixed(8)
		if err != nil {
			return err
		}
		v.SetFloat(math.Float64frombits(binary.LittleEndian.Uint64(s)))
	case reflect.String:
		s, err := d.bytes()
		if err != nil {
			return err
		}
		v.SetString(string(s))
	case reflect.Slice:
		n, isNil, err := d.count()
		if err != nil || isNil {
			return err
		}
		s := reflect.MakeSlice(t, n, n)
		for i := 0; i < n; i++ {
			if err := d.payload(s.Index(i), depth+1); err != nil {
				return err
			}
		}
		v.Set(s)
	case reflect.Map:
		n, isNil, err := d.count()
		if err != nil || isNil {
			return err
		}
		m := reflect.MakeMapWithSize(t, n)
		for i := 0; i < n; i++ {
			k := reflect.New(t.Key()).Elem()
			if err := d.payload(k, depth+1); err != nil {
				return err
			}
			e := reflect.New(t.Elem()).Elem()
			if err := d.payload(e, depth+1); err != nil {
				return err
			}
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	default:
		return ErrMalformed
	}
	return nil
}
