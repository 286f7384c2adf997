package cookie_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/sessionware/sessions/cookie"
)

// Fixed keys, so that values sealed in one run can be studied in another.
// Never use them anywhere else.
var (
	fuzzKey    = []byte("\x8e\x1f\x9a\x03\xd4\x5b\x77\xc2\x10\xe9\x3a\x6d\xbb\x02\x41\xf8\x5c\x93\x27\xae\x0b\xd6\x74\x18\xc5\x66\x9f\x30\xea\x81\x4d\x12")
	fuzzOldKey = []byte("\x01\xf3\x5a\x9c\x27\x88\xd0\x4e\xb6\x13\x7f\xc9\x62\x05\xaa\x3d\xe4\x58\x91\x2b\xcf\x76\x0e\xb3\x49\xd2\x15\x8a\x6c\xf0\x37\x9e")
)

// FuzzOpen checks that Open never panics and that anything it opens is a
// value the store sealed, with the payload sealed into it. The seed corpus
// holds real cookies (as is, raw, compressed, sealed with the old key) and
// broken ones; it runs as a normal test.
func FuzzOpen(f *testing.F) {
	s, err := cookie.New(fuzzKey, cookie.WithOldKeys(fuzzOldKey))
	if err != nil {
		f.Fatal(err)
	}
	old, err := cookie.New(fuzzOldKey)
	if err != nil {
		f.Fatal(err)
	}
	// Sealing draws random nonces, so the values differ between the
	// processes of a fuzzing run, but the keys and payloads do not: what
	// opens must carry one of these payloads, for its cookie name.
	payloads := map[string][][]byte{
		"session": {{}, []byte("hello"), bytes.Repeat([]byte{0xa5, 0x5a, 0x01}, 70)},
		"s":       {[]byte(strings.Repeat(`{"cart":{"apple":2}}`, 40)), []byte("hello s")},
	}
	mine := map[string]bool{} // name + "\x00" + value sealed by this process
	for name, ps := range payloads {
		for _, p := range ps {
			for _, st := range []*cookie.Store{s, old} {
				v, err := st.Seal(name, p)
				if err != nil {
					f.Fatal(err)
				}
				mine[name+"\x00"+v] = true
				f.Add(name, v)
				f.Add(name, v[:len(v)-1])
				f.Add(name, v+"A")
				f.Add(name+"x", v)
			}
		}
	}
	for _, garbage := range []string{"", "A", "AQ", "AQA", "AQAA", strings.Repeat("A", 100), "====", "\n\r", "%00", strings.Repeat("_", 5000)} {
		f.Add("session", garbage)
	}

	f.Fuzz(func(t *testing.T, name, value string) {
		p, rotated, err := s.Open(name, value)
		if err != nil {
			if p != nil || rotated {
				t.Fatalf("Open failed with %v but returned %q, rotated %v", err, p, rotated)
			}
			if mine[name+"\x00"+value] {
				t.Fatalf("Open(%q, %q) of a value the store sealed: %v", name, value, err)
			}
			return
		}
		found := false
		for _, want := range payloads[name] {
			found = found || bytes.Equal(p, want)
		}
		if !found {
			t.Fatalf("Open(%q, %q) opened %q, which was not sealed for that name", name, value, p)
		}
		// rotated says which key sealed it.
		_, _, errOld := old.Open(name, value)
		if rotated != (errOld == nil) {
			t.Fatalf("Open(%q, %q): rotated %v, but the old key alone opens it: %v", name, value, rotated, errOld == nil)
		}
	})
}

// FuzzSealOpen checks that whatever Seal accepts, Open gives back, for
// that cookie name only, and that what it refuses is ErrTooLarge.
func FuzzSealOpen(f *testing.F) {
	s, err := cookie.New(fuzzKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("session", []byte{})
	f.Add("s", []byte("hello"))
	f.Add("session", bytes.Repeat([]byte("abc"), 400))
	f.Add("session", bytes.Repeat([]byte{0}, 64<<10))
	f.Add("", make([]byte, 3000))
	f.Fuzz(func(t *testing.T, name string, payload []byte) {
		v, err := s.Seal(name, payload)
		if err != nil {
			if !errors.Is(err, cookie.ErrTooLarge) {
				t.Fatalf("Seal of %d bytes: %v, want nil or ErrTooLarge", len(payload), err)
			}
			// Compression only shrinks: what fits uncompressed must be sealed.
			if len(payload) <= 64<<10 && len(name)+1+sealedLen(len(payload)) <= 3900 {
				t.Fatalf("Seal refused %d bytes under a name of %d bytes: %v", len(payload), len(name), err)
			}
			return
		}
		if len(name)+1+len(v) > 3900 {
			t.Fatalf("name=value of %d bytes", len(name)+1+len(v))
		}
		for i := 0; i < len(v); i++ {
			if !strings.Contains(alphabet, v[i:i+1]) {
				t.Fatalf("the value holds %q, not base64url", v[i])
			}
		}
		p, rotated, err := s.Open(name, v)
		if err != nil || rotated || !bytes.Equal(p, payload) {
			t.Fatalf("Open = %d bytes (equal %v), rotated %v, err %v", len(p), bytes.Equal(p, payload), rotated, err)
		}
		if _, _, err := s.Open(name+"x", v); err == nil {
			t.Fatal("the value opened under another cookie name")
		}
	})
}
