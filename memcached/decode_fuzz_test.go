package memcached

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/sessionware/sessions"
)

// FuzzDecode feeds decode any item a server could return: it never panics,
// what it accepts is split consistently within the maximum record size, and
// what it refuses for its framing or size is sessions.ErrCorrupt.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("session"), uint32(7), uint64(1))
	f.Add(binary.BigEndian.AppendUint64([]byte("data"), 1_700_000_000_000), uint32(4), uint64(9))
	f.Add([]byte{}, uint32(1), uint64(1))
	f.Fuzz(func(t *testing.T, value []byte, flags uint32, cas uint64) {
		const maxRecord = 64
		r, err := decode(&memcache.Item{Key: "k", Value: value, Flags: flags, CasID: cas}, maxRecord)
		if err != nil {
			if cas != 0 && !errors.Is(err, sessions.ErrCorrupt) {
				t.Fatalf("decode(%d bytes, flags %d) = %v, want sessions.ErrCorrupt", len(value), flags, err)
			}
			return
		}
		if len(r.Data) > maxRecord || uint32(len(r.Data)) != flags || r.Version != cas || (len(value)-len(r.Data))%stampLen != 0 {
			t.Fatalf("decode(%d bytes, flags %d) = %d bytes of data, version %d", len(value), flags, len(r.Data), r.Version)
		}
		if r.Touched.IsZero() != (len(value) == len(r.Data)) {
			t.Fatalf("Touched %v with %d stamp bytes", r.Touched, len(value)-len(r.Data))
		}
	})
}
