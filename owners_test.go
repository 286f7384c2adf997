package sessions

import (
	"slices"
	"testing"
)

func FuzzDecodeOwnerIndex(f *testing.F) {
	x := ownerIndex{devices: []device{{handle: "h1", key: "k1", created: 1, expires: 2}, {handle: "h2", key: "k2", created: -3, expires: 1 << 40}}}
	f.Add(x.appendTo(nil))
	f.Add([]byte{ownerIndexFormat, 0})
	f.Add([]byte{ownerIndexFormat, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := decodeOwnerIndex(data)
		if err != nil {
			return
		}
		if len(x.devices) > len(data)/4 {
			t.Fatalf("%d devices from %d bytes", len(x.devices), len(data))
		}
		again, err := decodeOwnerIndex(x.appendTo(nil))
		if err != nil || !slices.Equal(again.devices, x.devices) {
			t.Fatalf("an index does not survive a round trip: %v\n%+v\n%+v", err, x, again)
		}
	})
}
