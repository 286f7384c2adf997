package sessions

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"reflect"
	"time"
)

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
