package sessions

import "time"

// tombstoneFormat is the first byte of a tombstone: the short-lived record
// that takes the place of a session that Renew moved or Destroy ended, so
// that a request which loaded the session before can still tell what
// became of it (see serverSide.reload). Encoding: the format byte, then the
// key the session moved to, uvarint-length-prefixed; empty: destroyed.
const tombstoneFormat = 2

// tombstoneTTL is how long a tombstone is kept: a request that loaded a
// session and commits later than this after a Renew or Destroy of it finds
// nothing, and its changes are dropped.
const tombstoneTTL = 10 * time.Minute

// maxHops bounds how many "moved" tombstones a commit follows (a session
// renewed again and again while a request was parked).
const maxHops = 8

// tombstone is a decoded tombstone: movedTo is the key a renewed session
// moved to, or empty for a destroyed one.
type tombstone struct{ movedTo string }

func (t tombstone) appendTo(b []byte) []byte {
	return appendString(append(b, tombstoneFormat), t.movedTo)
}

// decodeTombstone parses data if it is a tombstone; ok is false for any
// other record.
func decodeTombstone(data []byte) (t tombstone, ok bool, err error) {
	if len(data) == 0 || data[0] != tombstoneFormat {
		return t, false, nil
	}
	d := decoder{buf: data[1:]}
	to, err := d.bytes()
	if err != nil || len(d.buf) != 0 || (len(to) != 0 && len(to) != idLen) {
		return t, true, ErrMalformed
	}
	return tombstone{movedTo: string(to)}, true, nil
}
