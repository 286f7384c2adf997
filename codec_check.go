package sessions

import (
	"encoding/json"
	"reflect"
)

// The first pass of decoding (see codec_decode.go): it walks a value and
// allocates nothing.

// checkAny walks a value with its descriptor (or nil, or JSON) without
// allocating.
func (d *decoder) checkAny(depth int) error {
	if depth > maxDepth {
		return ErrMalformed
	}
	if len(d.buf) > 0 {
		switch d.buf[0] {
		case tNil:
			d.buf = d.buf[1:]
			return nil
		case tJSON:
			d.buf = d.buf[1:]
			raw, err := d.bytes()
			if err != nil || !json.Valid(raw) {
				return ErrMalformed
			}
			return nil
		}
	}
	desc, err := d.descriptor(depth)
	if err != nil {
		return err
	}
	return d.checkPayload(desc, depth)
}

// checkPayload walks a payload of the descriptor desc without allocating.
func (d *decoder) checkPayload(desc []byte, depth int) error {
	if depth > maxDepth {
		return ErrMalformed
	}
	var err error
	switch tag := desc[0]; tag {
	case tAny:
		return d.checkAny(depth + 1)
	case tBool:
		var c byte
		if c, err = d.byte(); err == nil && c > 1 {
			err = ErrMalformed
		}
	case tInt, tInt8, tInt16, tInt32, tInt64, tDuration:
		var x int64
		if x, err = d.varint(); err == nil && reflect.Zero(scalarTypes[tag]).OverflowInt(x) {
			err = ErrMalformed
		}
	case tUint, tUint8, tUint16, tUint32, tUint64:
		var x uint64
		if x, err = d.uvarint(); err == nil && reflect.Zero(scalarTypes[tag]).OverflowUint(x) {
			err = ErrMalformed
		}
	case tFloat32:
		_, err = d.fixed(4)
	case tFloat64:
		_, err = d.fixed(8)
	case tString, tTime:
		_, err = d.bytes()
	case tBytes:
		var set byte
		if set, err = d.byte(); err == nil {
			switch set {
			case 0:
			case 1:
				_, err = d.bytes()
			default:
				err = ErrMalformed
			}
		}
	case tSlice, tMap:
		n, _, err := d.count()
		if err != nil {
			return err
		}
		for range n {
			if tag == tMap {
				if err := d.checkPayload(desc[1:2], depth+1); err != nil {
					return err
				}
			}
			if err := d.checkPayload(elem(desc), depth+1); err != nil {
				return err
			}
		}
	default:
		err = ErrMalformed
	}
	return err
}
