package sessions

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// allocated returns the bytes fn allocates, on average over runs.
func allocated(runs int, fn func()) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		fn()
	}
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc-before.TotalAlloc) / float64(runs)
}

// recordOf builds a record of the given keys and raw value encodings.
func recordOf(count uint64, keys []string, values [][]byte) []byte {
	b := []byte{recordFormat}
	b = binary.AppendVarint(b, 1)
	b = binary.AppendVarint(b, 1)
	b = appendString(b, "")
	b = binary.AppendUvarint(b, count)
	for _, k := range keys {
		b = appendString(b, k)
	}
	for _, v := range values {
		b = appendString(b, string(v))
	}
	return b
}

// Hostile shapes: each is refused, and refusing it allocates (next to)
// nothing, whatever its size.
func TestHostileInputIsRefusedWithoutAllocating(t *testing.T) {
	const size = 1 << 20
	many := make([]string, size/2)
	empty := make([][]byte, size/2)
	for i := range many {
		many[i], empty[i] = "", nil
	}
	// A slice claiming as many elements as bytes follow, which fail at
	// the end; a map whose entries are fine until the last.
	sliceFailsLate := append([]byte{tSlice, tString}, binary.AppendUvarint(nil, size/2+1)...)
	sliceFailsLate = append(sliceFailsLate, make([]byte, size/2-1)...) // empty strings
	sliceFailsLate = append(sliceFailsLate, 0xff, 0xff, 0xff)          // then garbage
	mapFailsLate := append([]byte{tMap, tString, tInt}, binary.AppendUvarint(nil, size/4+1)...)
	for i := range size / 4 {
		mapFailsLate = appendString(mapFailsLate, fmt.Sprintf("%x", i%16))
		mapFailsLate = binary.AppendVarint(mapFailsLate, 1)
	}
	mapFailsLate = mapFailsLate[:len(mapFailsLate)-1]

	for _, tc := range []struct {
		name string
		data []byte
		dec  func([]byte) error
	}{
		{"record: count beyond its bytes", recordOf(size, nil, nil), decodeRec},
		{"record: many empty slots", recordOf(size/2, many, empty), decodeRec},
		{"record: a key twice", recordOf(2, []string{"a", "a"}, [][]byte{{tNil}, {tNil}}), decodeRec},
		{"codec: count beyond its bytes", append([]byte{tSlice, tString}, binary.AppendUvarint(nil, size)...), unmarshal},
		{"codec: a slice that fails at its end", sliceFailsLate, unmarshal},
		{"codec: a map that fails at its end", mapFailsLate, unmarshal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.dec(tc.data); err == nil {
				t.Fatal("accepted")
			}
			per := allocated(5, func() { _ = tc.dec(tc.data) })
			if limit := 10*float64(len(tc.data)) + 64<<10; per > limit {
				t.Fatalf("refusing %d bytes allocated %.0f bytes (%.1f×)", len(tc.data), per, per/float64(len(tc.data)))
			}
			t.Logf("refusing %d bytes allocated %.0f bytes", len(tc.data), per)
		})
	}
}

func decodeRec(b []byte) error { _, err := decodeRecord(b); return err }

func unmarshal(b []byte) error { _, err := DefaultCodec.Unmarshal(b); return err }

// A map of duplicate keys, which the encoder never writes, is refused at
// the second key: it costs what two entries cost.
func TestDuplicateMapKeysAreRefused(t *testing.T) {
	b := append([]byte{tMap, tString, tInt}, binary.AppendUvarint(nil, 1<<16+1)...)
	for range 1 << 16 {
		b = appendString(b, "same")
		b = binary.AppendVarint(b, 1)
	}
	if err := unmarshal(b); err == nil {
		t.Fatal("a map of duplicate keys was accepted")
	}
	if per := allocated(5, func() { _ = unmarshal(b) }); per > 4<<10 {
		t.Fatalf("refusing a map of duplicate keys allocated %.0f bytes", per)
	}
}

// Legitimate worst cases cost what their Go form costs: stated per shape
// (README, Design: Codec) and held here.
func TestLegitimateWorstCases(t *testing.T) {
	for _, tc := range []struct {
		name   string
		v      any
		factor float64 // bytes allocated per byte of input, at most
	}{
		{"a slice of empty strings", make([]string, 1<<18), 17},
		{"a slice of zero ints", make([]int, 1<<18), 9},
		{"a slice of nils in []any", make([]any, 1<<18), 17},
		{"a map of one-letter keys", func() map[string]int {
			m := map[string]int{}
			for i := range 1 << 14 {
				m[fmt.Sprint(i)] = i
			}
			return m
		}(), 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := DefaultCodec.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			per := allocated(5, func() {
				if _, err := DefaultCodec.Unmarshal(b); err != nil {
					t.Fatal(err)
				}
			})
			if got := per / float64(len(b)); got > tc.factor {
				t.Fatalf("%.1f bytes per input byte, want at most %.0f", got, tc.factor)
			}
			t.Logf("%.1f bytes per input byte", per/float64(len(b)))
		})
	}
	// A record of many one-letter keys with nil values (the smallest
	// slot the encoder writes: 4 bytes).
	keys := make([]string, 0, 1<<14)
	values := make([][]byte, 0, 1<<14)
	for i := range 1 << 14 {
		keys = append(keys, fmt.Sprint(i))
		values = append(values, []byte{tNil})
	}
	b := recordOf(uint64(len(keys)), keys, values)
	per := allocated(5, func() { _ = decodeRec(b) })
	if got := per / float64(len(b)); got > 30 {
		t.Fatalf("a record of tiny slots: %.1f bytes per input byte, want at most 30", got)
	}
}

// Descriptors nested deeper than maxTyped levels come back as []any and
// map[K]any, so a stream of fresh descriptors makes no new types: the heap
// stays flat.
func TestFreshDescriptorsKeepTheHeapFlat(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	decodeMany := func(n int) {
		for range n {
			var b []byte
			depth := 3 + rng.IntN(20)
			for range depth {
				if rng.IntN(2) == 0 {
					b = append(b, tSlice)
				} else {
					b = append(b, tMap, tBool+byte(rng.IntN(int(tString-tBool)+1)))
				}
			}
			b = append(b, tBool+byte(rng.IntN(int(tDuration-tBool)+1)))
			b = append(b, 0) // a nil value
			if _, err := DefaultCodec.Unmarshal(b); err != nil {
				t.Fatalf("% x: %v", b, err)
			}
		}
	}
	// The bounded set holds some 9,000 types (two levels of slices and
	// maps over 34 element types): 100,000 random descriptors make most
	// of them, once.
	decodeMany(100000)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	decodeMany(20000)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 256<<10 {
		t.Fatalf("20,000 fresh descriptors kept %d bytes", grew)
	}
	// And the values keep the types they may keep.
	v, err := DefaultCodec.Unmarshal(mustMarshal(t, [][][]int{{{1}}}))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%T", v); got != "[]interface {}" {
		t.Fatalf("[][][]int decodes as %s", got)
	}
	if inner := fmt.Sprintf("%T", v.([]any)[0]); inner != "[][]int" {
		t.Fatalf("its elements decode as %s, want [][]int", inner)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := DefaultCodec.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
