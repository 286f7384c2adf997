package cookie_test

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sessionware/sessions/cookie"
)

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// TestTamper changes valid cookies in more than 100,000 ways, and checks
// that none of the results opens.
func TestTamper(t *testing.T) {
	key, otherKey := newKey(t), newKey(t)
	s := newStore(t, key)
	const name = "session"
	rng := rand.New(rand.NewPCG(1, 2))

	payloads := [][]byte{
		{},
		[]byte("tiny"),
		randomBytes(200),
		bytes.Repeat([]byte("compressible text "), 50), // sealed deflated
	}
	var valid []string
	for _, p := range payloads {
		v, err := s.Seal(name, p)
		if err != nil {
			t.Fatal(err)
		}
		valid = append(valid, v)
	}
	isValid := map[string]bool{}
	for _, v := range valid {
		isValid[v] = true
	}

	tried := map[string]int{}
	try := func(kind, value string) {
		t.Helper()
		if isValid[value] {
			return // a mutation that gives the value back is no mutation
		}
		tried[kind]++
		if p, _, err := s.Open(name, value); err == nil {
			t.Fatalf("%s: a tampered value opened: %.60q… gives %q", kind, value, p)
		}
	}
	enc := base64.RawURLEncoding.EncodeToString

	for _, v := range valid {
		raw := decode(t, v)
		// Every character replaced by every other character of the alphabet.
		for i := range len(v) {
			for j := range len(alphabet) {
				if alphabet[j] != v[i] {
					try("character swap", v[:i]+alphabet[j:j+1]+v[i+1:])
				}
			}
		}
		// Every bit of the sealed bytes flipped, re-encoded canonically.
		for i := range raw {
			for bit := range 8 {
				b := bytes.Clone(raw)
				b[i] ^= 1 << bit
				try("bit flip", enc(b))
			}
		}
		// Every byte dropped, every byte doubled, every pair swapped.
		for i := range raw {
			try("byte dropped", enc(append(bytes.Clone(raw[:i]), raw[i+1:]...)))
			try("byte doubled", enc(append(bytes.Clone(raw[:i+1]), raw[i:]...)))
			if i+1 < len(raw) && raw[i] != raw[i+1] {
				b := bytes.Clone(raw)
				b[i], b[i+1] = b[i+1], b[i]
				try("bytes swapped", enc(b))
			}
		}
		// Truncation to every length, of the text and of the bytes.
		for i := range len(v) {
			try("truncated text", v[:i])
			try("text cut at the front", v[i+1:])
		}
		for i := range raw {
			try("truncated bytes", enc(raw[:i]))
		}
		// Extensions: every character, every byte, random tails.
		for j := range len(alphabet) {
			try("extended text", v+alphabet[j:j+1])
			try("prefixed text", alphabet[j:j+1]+v)
		}
		for c := range 256 {
			try("extended bytes", enc(append(bytes.Clone(raw), byte(c))))
		}
		for range 500 {
			tail := make([]byte, 1+rng.IntN(64))
			for i := range tail {
				tail[i] = byte(rng.Uint32())
			}
			try("random tail", enc(append(bytes.Clone(raw), tail...)))
		}
		// Outside the alphabet, other encodings of the same bytes.
		for c := range 256 {
			if !strings.ContainsRune(alphabet, rune(c)) {
				i := rng.IntN(len(v) + 1)
				try("foreign byte", v[:i]+string(rune(c))[:1]+v[i:])
			}
		}
		try("standard base64", base64.StdEncoding.EncodeToString(raw))
		try("padded base64url", base64.URLEncoding.EncodeToString(raw))
		// Random changes of one to eight characters.
		for range 4000 {
			b := []byte(v)
			for range 1 + rng.IntN(8) {
				b[rng.IntN(len(b))] = alphabet[rng.IntN(len(alphabet))]
			}
			try("random characters", string(b))
		}
	}

	// Pieces of two valid values spliced together: a nonce with another
	// value's ciphertext, and ciphertexts with another value's tag.
	for _, a := range valid {
		for _, b := range valid {
			ra, rb := decode(t, a), decode(t, b)
			if a == b {
				continue
			}
			for cut := 1; cut < min(len(ra), len(rb)); cut++ {
				try("spliced", enc(append(bytes.Clone(ra[:cut]), rb[cut:]...)))
			}
		}
	}

	// Values sealed with another key, and for other cookie names.
	other := newStore(t, otherKey)
	withOld := newStore(t, otherKey, cookie.WithOldKeys(newKey(t)))
	for i := range 1000 {
		p := payloads[i%len(payloads)]
		v, err := other.Seal(name, p)
		if err != nil {
			t.Fatal(err)
		}
		try("another key", v)
		v, err = withOld.Seal(name, p)
		if err != nil {
			t.Fatal(err)
		}
		try("another store", v)
		for _, n := range []string{"session2", "Session", "sessio", "", name + " ", "s"} {
			v, err := s.Seal(n, p)
			if err != nil {
				t.Fatal(err)
			}
			try("another cookie name", v)
		}
	}

	// Random strings: of the alphabet, and of any bytes.
	for range 20000 {
		b := make([]byte, rng.IntN(600))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		try("random base64url", string(b))
		b = make([]byte, rng.IntN(600))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		try("random bytes", string(b))
	}
	// Random sealed-looking bytes: the right format byte and key ID.
	header := decode(t, valid[0])[:2]
	for range 5000 {
		b := make([]byte, 31+rng.IntN(300))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		copy(b, header)
		try("random with a valid header", enc(b))
	}

	total := 0
	for kind, n := range tried {
		total += n
		t.Logf("%-28s %7d", kind, n)
	}
	t.Logf("%-28s %7d", "total", total)
	if total < 100000 {
		t.Fatalf("only %d mutations, want at least 100,000", total)
	}
	// Control: the valid values still open.
	for i, v := range valid {
		if p, _, err := s.Open(name, v); err != nil || !bytes.Equal(p, payloads[i]) {
			t.Fatalf("valid value %d: Open = %q, %v", i, p, err)
		}
	}
}
