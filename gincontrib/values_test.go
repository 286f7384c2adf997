package gincontrib

import (
	"bytes"
	"encoding/gob"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/sessionware/sessions"
)

type point struct{ X, Y int }

type label string

type named map[string]int

func init() {
	gob.Register(point{})
	gob.Register(label(""))
	gob.Register(named{})
	gob.Register(map[string]any{})
	gob.Register([]any{})
	// As a gin-contrib program had to: gob names the types behind
	// interfaces.
	gob.Register([][][]int{})
	gob.Register(map[string][][]int{})
	gob.Register([]point{})
	gob.Register(map[string]point{})
}

// valueCorpus holds values of the kinds sessions keep, the codec's exact
// types and those it is not exact for.
func valueCorpus() []any {
	when := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	return []any{
		nil, true, 1, int8(-2), int16(3), int32(-4), int64(5), uint(6), uint8(7), uint16(8), uint32(9), uint64(10),
		float32(1.5), 2.5, math.Inf(1), "s", "", when, time.Duration(7),
		[]string{"a"}, []int(nil), []int{}, map[string]int{"a": 1}, map[int]string{1: "a"}, map[bool]bool{true: false},
		map[string][]int{"a": {1}}, [][]string{{"a"}}, []map[string]int{{"a": 1}},
		[]any{1, "a", nil, []int{1}}, map[string]any{"a": 1, "b": []string{"x"}, "c": map[string]any{"d": 1}},
		[][]byte{{1}}, map[string][]byte{"a": nil},
		map[float64]int{1.5: 1},
		// Not exact: three levels, named types, structs, pointers, other
		// interfaces, NaN keys.
		[][][]int{{{1}}}, map[string][][]int{"a": {{1}}}, []any{[][][]int{{{1}}}},
		point{1, 2}, &point{3, 4}, label("x"), named{"a": 1}, []point{{1, 2}}, map[string]point{"a": {1, 2}},
		[]any{point{1, 2}}, map[string]any{"p": point{1, 2}}, map[float64]int{math.NaN(): 1},
	}
}

// equal compares a value and what came back, times by Equal.
func equal(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return reflect.DeepEqual(a, b)
}

// TestNativeIsWhatTheCodecKeeps: native reports exactly the values that
// sessions.DefaultCodec gives back with their type and value, []byte
// aside (always enveloped).
func TestNativeIsWhatTheCodecKeeps(t *testing.T) {
	for _, v := range valueCorpus() {
		enc, err := sessions.DefaultCodec.Marshal(v)
		exact := false
		if err == nil {
			back, err := sessions.DefaultCodec.Unmarshal(enc)
			exact = err == nil && equal(v, back)
		}
		if got := native(v); got != exact {
			t.Errorf("native(%#v) = %v; the codec gives it back exactly: %v", v, got, exact)
		}
	}
	if native([]byte("x")) {
		t.Error("a []byte is kept as itself: it would read as an envelope")
	}
}

// signing are the two forms of envelopes: unsigned (memory, sealed
// cookies) and signed (redis, memcached), with a key rotated in front.
var signing = map[string]valueKeys{
	"unsigned": nil,
	"signed":   {[]byte("new key, 32 bytes, for the test!"), []byte("old key, 32 bytes, for the test!")},
}

// TestEnvelopesGiveBackTheValue: every value that is not native comes back
// from its envelope with its Go type (pointers flattened, as gob does,
// and as gin-contrib gave them back); a signed envelope also opens with
// a store whose keys were rotated, the signing key kept among the old.
func TestEnvelopesGiveBackTheValue(t *testing.T) {
	for name, k := range signing {
		for _, v := range append(valueCorpus(), []byte("raw"), []byte(nil)) {
			if native(v) {
				continue
			}
			if f, ok := v.(map[float64]int); ok && len(f) == 1 {
				continue // a NaN key: no map compares equal to it
			}
			b, err := k.envelope(v)
			if err != nil {
				t.Errorf("%s: envelope(%#v): %v", name, v, err)
				continue
			}
			want := v
			if p, ok := v.(*point); ok {
				want = *p
			}
			if back, err := k.open(b); err != nil || !equal(want, back) {
				t.Errorf("%s: open(envelope(%#v)) = %#v, %v", name, v, back, err)
			}
			if k != nil {
				rotated := valueKeys{[]byte("newer key, 32 bytes, for a test!"), k[1], k[0]}
				if back, err := rotated.open(b); err != nil || !equal(want, back) {
					t.Errorf("after a rotation: open(envelope(%#v)) = %#v, %v", v, back, err)
				}
			}
		}
	}
}

// TestOpenRefusesWhatItDidNotWrite: bytes that are not an envelope of the
// store's form, a truncated one, one with bytes after the value, one of a
// type not registered, and in a store with keys one that no key verifies
// (or unsigned, or signed elsewhere) are ErrUndecodable, never a panic.
func TestOpenRefusesWhatItDidNotWrite(t *testing.T) {
	unsigned, signed := signing["unsigned"], signing["signed"]
	good, err := unsigned.envelope(point{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	goodSigned, err := signed.envelope(point{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	var other bytes.Buffer
	other.WriteByte(envelopeGob)
	type local struct{ A int }
	gob.RegisterName("gincontrib.test.local", local{})
	var v any = local{1}
	if err := gob.NewEncoder(&other).Encode(&v); err != nil {
		t.Fatal(err)
	}
	renamed := bytes.Replace(other.Bytes(), []byte("gincontrib.test.local"), []byte("gincontrib.test.LOCAL"), 1)
	flipped := bytes.Clone(goodSigned)
	flipped[len(flipped)-1] ^= 1
	elsewhere, err := valueKeys{[]byte("another store's key, 32 bytes..")}.envelope(point{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		k    valueKeys
		b    []byte
	}{
		{"empty", unsigned, []byte{}},
		{"another tag", unsigned, append([]byte{3}, good[1:]...)},
		{"signed, to a store without keys", unsigned, goodSigned},
		{"truncated", unsigned, good[:len(good)-1]},
		{"trailing", unsigned, append(bytes.Clone(good), 0)},
		{"garbage", unsigned, []byte{envelopeGob, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"unregistered", unsigned, renamed},
		{"huge length", unsigned, []byte{envelopeGob, 0xf8, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"only the type", unsigned, good[:len(good)/2]},
		{"unsigned, to a store with keys", signed, good},
		{"a bit flipped", signed, flipped},
		{"signed by another store", signed, elsewhere},
		{"no room for the MAC", signed, goodSigned[:20]},
	} {
		if v, err := tc.k.open(tc.b); !errors.Is(err, ErrUndecodable) {
			t.Errorf("%s: open = %#v, %v; want ErrUndecodable", tc.name, v, err)
		}
	}
}

// FuzzOpen: open never panics and never returns a value with an error,
// in either form.
func FuzzOpen(f *testing.F) {
	for _, v := range valueCorpus() {
		if b, err := signing["unsigned"].envelope(v); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, k := range signing {
			if v, err := k.open(b); err != nil && v != nil {
				t.Errorf("open returned %#v with %v", v, err)
			}
		}
	})
}
