package sessions

import (
	"bytes"
	"encoding/binary"
	"slices"
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
// It walks the whole record before it allocates: the number of keys is
// trusted only once that many keys and values were read, an empty value
// or a key that comes twice (which the encoder never writes) is an error,
// and then the slots take exactly their number.
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
	n64, err := d.uvarint()
	if err != nil || n64 > uint64(len(d.buf))/3 { // a key takes a byte, a value two at least
		return r, ErrMalformed
	}
	n := int(n64)
	// All keys come first, then all values.
	region := d.buf
	for range n {
		if _, err := d.bytes(); err != nil {
			return r, err
		}
	}
	keyBytes := region[:len(region)-len(d.buf)]
	for range n {
		v, err := d.bytes()
		if err != nil || len(v) == 0 {
			return r, ErrMalformed
		}
	}
	if len(d.buf) != 0 || duplicateKeys(keyBytes, n) {
		return r, ErrMalformed
	}
	r.created = time.UnixMilli(created)
	r.refreshed = time.UnixMilli(refreshed)
	if len(id) > 0 {
		r.id = string(id)
	}
	// One string holds every key: one allocation whatever their number.
	keys := string(keyBytes)
	r.slots = make([]slot, n)
	off := 0
	for i := range r.slots {
		l, w := binary.Uvarint(keyBytes[off:]) // checked above
		off += w
		r.slots[i] = slot{key: keys[off : off+int(l)], present: true}
		off += int(l)
	}
	d = decoder{buf: region[len(keyBytes):]}
	for i := range r.slots {
		r.slots[i].enc, _ = d.bytes() // checked above
	}
	return r, nil
}

// duplicateKeys reports whether the n length-prefixed keys in b (checked)
// hold one twice. It compares each pair, which allocates nothing and is
// quick for the few keys a session has; beyond 64 keys it sorts a list of
// offsets instead.
func duplicateKeys(b []byte, n int) bool {
	key := func(off int) ([]byte, int) {
		l, w := binary.Uvarint(b[off:])
		return b[off+w : off+w+int(l)], off + w + int(l)
	}
	if n > 64 {
		offs := make([]int32, 0, n)
		for off := 0; off < len(b); {
			offs = append(offs, int32(off))
			_, off = key(off)
		}
		slices.SortFunc(offs, func(x, y int32) int {
			kx, _ := key(int(x))
			ky, _ := key(int(y))
			return bytes.Compare(kx, ky)
		})
		for i := 1; i < len(offs); i++ {
			kx, _ := key(int(offs[i-1]))
			ky, _ := key(int(offs[i]))
			if bytes.Equal(kx, ky) {
				return true
			}
		}
		return false
	}
	for i := 0; i < len(b); {
		ki, next := key(i)
		for j := next; j < len(b); {
			var kj []byte
			kj, j = key(j)
			if bytes.Equal(ki, kj) {
				return true
			}
		}
		i = next
	}
	return false
}
