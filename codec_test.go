package sessions

import (
	"bytes"
	"math"
	"reflect"
	"testing"
	"time"
)

func TestDefaultCodecRoundTrip(t *testing.T) {
	when := time.Date(2026, 11, 25, 20, 30, 0, 123, time.FixedZone("CET", 3600))
	tests := []any{
		nil, true, false,
		0, -1, 42, math.MaxInt, math.MinInt,
		int8(-8), int16(-16), int32(-32), int64(math.MinInt64),
		uint(7), uint8(255), uint16(65535), uint32(1 << 31), uint64(math.MaxUint64),
		float32(1.5), 3.25, math.Inf(-1),
		"", "héllo", string([]byte{0, 1, 2}),
		[]byte(nil), []byte{}, []byte("raw"),
		when, time.Time{}, 90 * time.Second,
		[]string{"a", "b"}, []string(nil), []int{1, 2, 3}, [][]string{{"x"}, nil},
		map[string]int{"apple": 2, "pear": 1}, map[int]string{3: "c", 1: "a"}, map[string]int(nil),
		map[string]any{"n": 1, "s": "x", "nested": map[string]any{"list": []any{1, "two", 3.0, nil, []byte("b")}}},
		[]any{int64(1), "a", map[string][]int{"k": {1}}},
		map[bool]float64{true: 1, false: 0},
	}
	for _, v := range tests {
		b, err := DefaultCodec.Marshal(v)
		if err != nil {
			t.Fatalf("Marshal(%#v): %v", v, err)
		}
		got, err := DefaultCodec.Unmarshal(b)
		if err != nil {
			t.Fatalf("Unmarshal(Marshal(%#v)): %v", v, err)
		}
		if tm, ok := v.(time.Time); ok {
			if g, ok := got.(time.Time); !ok || !g.Equal(tm) {
				t.Fatalf("time %v came back as %#v", tm, got)
			}
			continue
		}
		if !reflect.DeepEqual(got, v) {
			t.Fatalf("%#v (%T) came back as %#v (%T)", v, v, got, got)
		}
		again, _ := DefaultCodec.Marshal(got)
		if !bytes.Equal(again, b) {
			t.Fatalf("%#v: encoding not stable", v)
		}
	}
}

func TestDefaultCodecIsDeterministic(t *testing.T) {
	m := map[string]any{}
	for i := range 100 {
		m[string(rune('a'+i%26))+string(rune('A'+i/26))] = i
	}
	first, _ := DefaultCodec.Marshal(m)
	for range 20 {
		again, _ := DefaultCodec.Marshal(m)
		if !bytes.Equal(first, again) {
			t.Fatal("two encodings of one map differ")
		}
	}
}

func TestDefaultCodecJSONFallback(t *testing.T) {
	type point struct{ X, Y int }
	b, err := DefaultCodec.Marshal(point{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	v, err := DefaultCodec.Unmarshal(b)
	if err != nil || !reflect.DeepEqual(v, map[string]any{"X": 1.0, "Y": 2.0}) {
		t.Fatalf("a struct decoded generically as %#v, %v", v, err)
	}
	var p point
	if err := DefaultCodec.(IntoUnmarshaler).UnmarshalInto(b, &p); err != nil || p != (point{1, 2}) {
		t.Fatalf("UnmarshalInto = %v, %v", p, err)
	}
	if _, err := DefaultCodec.Marshal(make(chan int)); err == nil {
		t.Fatal("a channel encoded without error")
	}
	if _, err := DefaultCodec.Marshal(map[string]any{"f": func() {}}); err == nil {
		t.Fatal("a func inside a map encoded without error")
	}
}

func TestDefaultCodecRejectsGarbage(t *testing.T) {
	good, _ := DefaultCodec.Marshal(map[string]any{"a": []string{"x", "y"}, "t": time.Unix(1, 0)})
	bad := [][]byte{
		nil, {}, {0}, {0xff}, {tString}, {tString, 5, 'a'}, {tSlice}, {tSlice, tString, 200},
		{tMap, tSlice, tString, 1}, append(good, 0), good[:len(good)-1],
		{tBool, 2}, {tInt8, 0xfe, 0x03}, {tTime, 1, 9},
		bytes.Repeat([]byte{tSlice}, 100000),
	}
	for _, b := range bad {
		if v, err := DefaultCodec.Unmarshal(b); err == nil {
			t.Fatalf("Unmarshal(%x) = %#v, want an error", b[:min(len(b), 16)], v)
		}
	}
}

func FuzzDefaultCodec(f *testing.F) {
	for _, v := range []any{nil, 1, "s", []byte("b"), time.Unix(5, 0), map[string]any{"a": []any{1, "x"}}, []map[int]bool{{1: true}}} {
		b, _ := DefaultCodec.Marshal(v)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := DefaultCodec.Unmarshal(data)
		if err != nil {
			return
		}
		// What decodes must encode again and decode to the same value.
		b, err := DefaultCodec.Marshal(v)
		if err != nil {
			t.Fatalf("decoded %#v does not encode: %v", v, err)
		}
		if _, err := DefaultCodec.Unmarshal(b); err != nil {
			t.Fatalf("re-encoded %#v does not decode: %v", v, err)
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	r := record{created: time.UnixMilli(1), refreshed: time.UnixMilli(2), id: "x", slots: []slot{{key: "k", enc: []byte{tString, 1, 'v'}, present: true}}}
	f.Add(r.appendTo(nil))
	f.Add([]byte{recordFormat})
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := decodeRecord(data)
		if err != nil {
			return
		}
		again, err := decodeRecord(rec.appendTo(nil))
		if err != nil || len(again.slots) != len(rec.slots) || again.id != rec.id {
			t.Fatalf("record does not survive a round trip: %v", err)
		}
	})
}

func TestDefaultCodecRefusesNaNMapKeys(t *testing.T) {
	if _, err := DefaultCodec.Marshal(map[float64]int{math.NaN(): 1, 1: 2}); err == nil {
		t.Fatal("a NaN map key encoded")
	}
	if _, err := DefaultCodec.Marshal(map[string]any{"m": map[float32]bool{float32(math.NaN()): true}}); err == nil {
		t.Fatal("a nested NaN map key encoded")
	}
}
