package sessions

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	"time"
)

// Decoding untrusted bytes (a record from a store someone else can write,
// a sealed cookie whose key leaked) takes two passes. The first, check,
// walks the whole value and allocates nothing: lengths and counts must
// fit in the bytes that follow, scalars must be in range, nesting is
// bounded. Only then does the second pass build the value, with slices of
// exactly the size the first pass saw (a count is trusted once its
// elements were read) and maps that grow as their keys come (a duplicate
// key, which the encoder never writes, is an error). So garbage costs no
// allocation, and a valid value costs what its Go form costs.
//
// Go keeps every type that reflect makes for good, so descriptors may
// only name a bounded set of types: exact types for up to maxTyped levels
// of slices and maps over the scalars (map[string][]int, [][]string); a
// container deeper than that comes back as []any or map[K]any, holding
// exact values of the levels inside.

// maxTyped is how many levels of slices and maps a decoded value keeps as
// exact Go types.
const maxTyped = 2

var (
	typeSliceAny = reflect.TypeFor[[]any]()
	mapAnyTypes  [tString + 1]reflect.Type // map[K]any for each key tag
)

func init() {
	for tag := tBool; tag <= tString; tag++ {
		mapAnyTypes[tag] = reflect.MapOf(scalarTypes[tag], typeAny)
	}
}

// decoder reads the default codec's format. Every read checks bounds and
// every length is checked against the bytes left, so garbage yields
// ErrMalformed and never a panic.
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

// descriptor reads a descriptor and returns its bytes, which the other
// functions interpret: a scalar tag or tAny; tSlice and the element's
// descriptor; tMap, the key's scalar tag and the element's descriptor.
func (d *decoder) descriptor(depth int) ([]byte, error) {
	start := d.buf
	for ; ; depth++ {
		if depth > maxDepth {
			return nil, ErrMalformed
		}
		tag, err := d.byte()
		if err != nil {
			return nil, err
		}
		switch {
		case tag >= tBool && tag <= tDuration, tag == tAny:
			return start[:len(start)-len(d.buf)], nil
		case tag == tSlice:
		case tag == tMap:
			if k, err := d.byte(); err != nil || k < tBool || k > tString {
				return nil, ErrMalformed
			}
		default:
			return nil, ErrMalformed
		}
	}
}

// elem returns the element descriptor of a slice or map descriptor.
func elem(desc []byte) []byte {
	if desc[0] == tMap {
		return desc[2:]
	}
	return desc[1:]
}

// typeOf returns the Go type that values of the (checked) descriptor desc
// decode to, and how many levels of exact slices and maps it has.
func typeOf(desc []byte) (reflect.Type, int) {
	switch desc[0] {
	case tAny:
		return typeAny, 0
	case tSlice, tMap:
		e, levels := typeOf(elem(desc))
		if levels >= maxTyped {
			if desc[0] == tSlice {
				return typeSliceAny, 0
			}
			return mapAnyTypes[desc[1]], 0
		}
		if desc[0] == tSlice {
			return reflect.SliceOf(e), levels + 1
		}
		return reflect.MapOf(scalarTypes[desc[1]], e), levels + 1
	}
	return scalarTypes[desc[0]], 0
}

// anyValue reads a descriptor and the payload it describes; the bytes have
// been checked.
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
	desc, err := d.descriptor(depth)
	if err != nil {
		return nil, err
	}
	t, _ := typeOf(desc)
	v := reflect.New(t).Elem()
	if err := d.payload(desc, v, depth); err != nil {
		return nil, err
	}
	return v.Interface(), nil
}

// payload decodes a payload of the descriptor desc into v, whose type is
// typeOf(desc).
func (d *decoder) payload(desc []byte, v reflect.Value, depth int) error {
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
		if desc[0] != tAny { // a container too deep for an exact type
			et, _ := typeOf(desc)
			e := reflect.New(et).Elem()
			if err := d.payload(desc, e, depth); err != nil {
				return err
			}
			v.Set(e)
			return nil
		}
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
		s := reflect.MakeSlice(t, n, n) // n elements were read by check
		for i := range n {
			if err := d.payload(elem(desc), s.Index(i), depth+1); err != nil {
				return err
			}
		}
		v.Set(s)
	case reflect.Map:
		n, isNil, err := d.count()
		if err != nil || isNil {
			return err
		}
		m := reflect.MakeMap(t) // it grows as keys come: duplicates would not
		for range n {
			k := reflect.New(t.Key()).Elem()
			if err := d.payload(desc[1:2], k, depth+1); err != nil {
				return err
			}
			if m.MapIndex(k).IsValid() {
				return ErrMalformed // the encoder never writes a key twice
			}
			e := reflect.New(t.Elem()).Elem()
			if err := d.payload(elem(desc), e, depth+1); err != nil {
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
