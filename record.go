package sessions

import (
	"encoding/binary"
	"time"
)

// recordFormat is the first byte of every encoded session.
const recordFormat = 1

// record is a session as it is stored: metadata and each key's value as
// the Codec encoded it.
//
// Encoding: the format byte; created and refreshed as varint Unix
// milliseconds; the session ID (kept only by cookie sessions, empty
// otherwise); the number of entries; then every key, then every value, in
// the same order. Strings and values are uvarint-length-prefixed.
type record struct {
	created   time.Time // start of the absolute lifetime
	refreshed time.Time // when the idle deadline was last pushed by a save
	id        string
	slots     []slot
}

func (r *record) appendTo(b []byte) []byte {
	b = append(b, recordFormat)
	b = binary.AppendVarint(b, r.created.UnixMilli())
	b = binary.AppendVarint(b, r.refreshed.UnixMilli())
	b = appendString(b, r.id)
	n := 0
	for i := range r.slots {
		if r.slots[i].present {
			n++
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	for i := range r.slots {
		if s := &r.slots[i]; s.present {
			b = appendString(b, s.key)
		}
	}
	for i := range r.slots {
		if s := &r.slots[i]; s.present {
			enc := s.enc
			if s.changed {
				enc = s.newEnc
			}
			b = binary.AppendUvarint(b, uint64(len(enc)))
			b = append(b, enc...)
		}
	}
	return b
}

// decodeRecord parses data. The slots' encodings alias data, which must
// not change afterwards; values are decoded only when a handler reads them.
func decodeRecord(data []byte) (record, error) {
	var r record
	d := decoder{buf: data}
	if f, err := d.byte(); err != nil || f != recordFormat {
		return r, ErrMalformed
	}
	created, err := d.varint()
	if err != nil {
		return r, err
	}
	refreshed, err := d.varint()
	if err != nil {
		return r, err
	}
	id, err := d.bytes()
	if err != nil {
		return r, err
	}
	n, err := d.uvarint()
	if err != nil || n > uint64(len(d.buf))/2 {
		return r, ErrMalformed
	}
	r.created = time.UnixMilli(created)
	r.refreshed = time.UnixMilli(refreshed)
	if len(id) > 0 {
		r.id = string(id)
	}
	r.slots = make([]slot, n)
	// All keys come first, so that one string holds them all: one
	// allocation whatever their number.
	region := d.buf
	for range r.slots {
		if _, err := d.bytes(); err != nil {
			return r, err
		}
	}
	keys := string(region[:len(region)-len(d.buf)])
	off := 0
	for i := range r.slots {
		l, n := binary.Uvarint(region[off:]) // checked by the loop above
		off += n
		r.slots[i] = slot{key: keys[off : off+int(l)], present: true}
		off += int(l)
	}
	for i := range r.slots {
		v, err := d.bytes()
		if err != nil {
			return r, err
		}
		r.slots[i].enc = v
	}
	if len(d.buf) != 0 {
		return r, ErrMalformed
	}
	return r, nil
}
