package cookie_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/cookie"
	"github.com/sessionware/sessions/storetest"
)

// newKey returns 32 random bytes.
func newKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, cookie.KeySize)
	_, _ = rand.Read(k)
	return k
}

func newStore(t testing.TB, key []byte, opts ...cookie.Option) *cookie.Store {
	t.Helper()
	s, err := cookie.New(key, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// randomBytes returns n bytes that do not compress.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// decode returns the bytes a cookie value carries.
func decode(t testing.TB, value string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.Strict().DecodeString(value)
	if err != nil {
		t.Fatalf("a sealed value is not base64url: %v", err)
	}
	return b
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) sessions.Backend { return newStore(t, newKey(t)) })
}

func TestNewRejectsBadKeys(t *testing.T) {
	good := newKey(t)
	printable := []byte("correct horse battery staple!!!!")
	hexKey := []byte(hex.EncodeToString(good[:16]))
	b64Key := []byte(base64.StdEncoding.EncodeToString(good))
	tests := []struct {
		name    string
		key     []byte
		old     [][]byte
		wantErr string // "" for success
		is      error  // the sentinel the error wraps
	}{
		{"random", good, nil, "", nil},
		{"nil", nil, nil, "exactly 32 random bytes, not 0", cookie.ErrKeySize},
		{"empty", []byte{}, nil, "not 0", cookie.ErrKeySize},
		{"short", good[:16], nil, "not 16", cookie.ErrKeySize},
		{"31 bytes", good[:31], nil, "not 31", cookie.ErrKeySize},
		{"33 bytes", append(append([]byte{}, good...), 1), nil, "not 33", cookie.ErrKeySize},
		{"base64 text", b64Key, nil, "looks like base64 or hex text", cookie.ErrKeySize},
		{"hex text of 64", []byte(hex.EncodeToString(good)), nil, "looks like base64 or hex text", cookie.ErrKeySize},
		{"all zero", make([]byte, 32), nil, "not random", cookie.ErrWeakKey},
		{"all 0xff", bytes.Repeat([]byte{0xff}, 32), nil, "not random", cookie.ErrWeakKey},
		{"password", printable, nil, "printable text", cookie.ErrWeakKey},
		{"hex of 16 bytes", hexKey, nil, "printable text", cookie.ErrWeakKey},
		{"good old keys", good, [][]byte{newKey(t), newKey(t)}, "", nil},
		{"old key duplicates the key", good, [][]byte{good}, "", nil},
		{"short old key", good, [][]byte{newKey(t), good[:8]}, "old key 2: cookie: the key must be exactly 32 random bytes, not 8", cookie.ErrKeySize},
		{"nil old key", good, [][]byte{nil}, "old key 1", cookie.ErrKeySize},
		{"zero old key", good, [][]byte{make([]byte, 32)}, "old key 1: cookie: the key is not random: it is 32 copies of one byte", cookie.ErrWeakKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := cookie.New(tt.key, cookie.WithOldKeys(tt.old...))
			if tt.wantErr == "" {
				if err != nil || s == nil {
					t.Fatalf("New = %v, %v; want a store", s, err)
				}
				return
			}
			if err == nil || s != nil {
				t.Fatalf("New = %v, %v; want an error", s, err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New: error %q does not say %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), "openssl rand -base64 32") {
				t.Fatalf("New: error %q does not say how to make a key", err)
			}
			// Every refusal is one of the two sentinels, which callers
			// such as package backends test with errors.Is.
			if !errors.Is(err, tt.is) {
				t.Fatalf("New: error %q does not wrap %v", err, tt.is)
			}
		})
	}
}

func TestNewCopiesKeys(t *testing.T) {
	key, old := newKey(t), newKey(t)
	oldStore := newStore(t, old)
	oldValue, err := oldStore.Seal("s", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	s := newStore(t, key, cookie.WithOldKeys(old))
	v, err := s.Seal("s", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	clear(key)
	clear(old)
	if p, _, err := s.Open("s", v); err != nil || string(p) != "x" {
		t.Fatalf("after the caller cleared its key: Open = %q, %v", p, err)
	}
	if p, rotated, err := s.Open("s", oldValue); err != nil || string(p) != "x" || !rotated {
		t.Fatalf("after the caller cleared its old key: Open = %q, %v, %v", p, rotated, err)
	}
}

func TestIsOnlyASealer(t *testing.T) {
	var b sessions.Backend = newStore(t, newKey(t))
	if _, ok := b.(sessions.Store); ok {
		t.Error("*cookie.Store is a sessions.Store: the middleware would have two ways to keep its sessions")
	}
	if _, ok := b.(io.Closer); ok {
		t.Error("*cookie.Store has a Close method, but holds nothing to close")
	}
}

// sealedLen is the length of the value of an uncompressed payload of n
// bytes: format, key ID, nonce, flag, payload, tag, in base64url.
func sealedLen(n int) int { return base64.RawURLEncoding.EncodedLen(2 + 12 + 1 + n + 16) }

func TestSealOpenRoundTrip(t *testing.T) {
	s := newStore(t, newKey(t))
	text := func(n int) []byte { return bytes.Repeat([]byte("session value "), n/14+1)[:n] }
	tests := []struct {
		name       string
		payload    []byte
		compressed bool // the value must be shorter than uncompressed
	}{
		{"empty", []byte{}, false},
		{"one byte", []byte{0}, false},
		{"typical", randomBytes(200), false},
		{"compressible, fits", text(2800), false},
		{"incompressible, fits", randomBytes(2800), false},
		{"compressible, does not fit plain", text(3000), true},
		{"compressible, large", text(20000), true},
		{"compressible, largest", text(64 << 10), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := s.Seal("session", tt.payload)
			if err != nil {
				t.Fatalf("Seal: %v", err)
			}
			if compressed := len(v) < sealedLen(len(tt.payload)); compressed != tt.compressed {
				t.Fatalf("value of %d bytes for a payload of %d: compressed = %v, want %v", len(v), len(tt.payload), compressed, tt.compressed)
			}
			if !tt.compressed && len(v) != sealedLen(len(tt.payload)) {
				t.Fatalf("value of %d bytes for a payload of %d, want %d", len(v), len(tt.payload), sealedLen(len(tt.payload)))
			}
			p, rotated, err := s.Open("session", v)
			if err != nil || rotated || !bytes.Equal(p, tt.payload) {
				t.Fatalf("Open = %d bytes (equal %v), rotated %v, err %v", len(p), bytes.Equal(p, tt.payload), rotated, err)
			}
			if strings.Contains(v, "session value") {
				t.Fatal("the value shows the payload")
			}
		})
	}
}

func TestSealDrawsAFreshNonce(t *testing.T) {
	s := newStore(t, newKey(t))
	payload := []byte("same payload")
	seen := map[string]bool{}
	nonces := map[string]bool{}
	for range 1000 {
		v, err := s.Seal("s", payload)
		if err != nil {
			t.Fatal(err)
		}
		if seen[v] {
			t.Fatal("Seal gave the same value twice")
		}
		seen[v] = true
		nonces[string(decode(t, v)[2:14])] = true
	}
	if len(nonces) != 1000 {
		t.Fatalf("1000 seals used %d distinct nonces", len(nonces))
	}
}

func TestSealDoesNotKeepThePayload(t *testing.T) {
	s := newStore(t, newKey(t))
	payload := []byte("original")
	v, err := s.Seal("s", payload)
	if err != nil {
		t.Fatal(err)
	}
	copy(payload, "mutated!")
	p, _, err := s.Open("s", v)
	if err != nil || string(p) != "original" {
		t.Fatalf("Open = %q, %v", p, err)
	}
	copy(p, "changed!")
	if p2, _, _ := s.Open("s", v); string(p2) != "original" {
		t.Fatalf("Open after changing an earlier payload = %q", p2)
	}
}

func TestOpenRejects(t *testing.T) {
	key := newKey(t)
	s := newStore(t, key)
	v, err := s.Seal("session", []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := newStore(t, newKey(t)).Seal("session", []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	otherName, err := s.Seal("session2", []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	raw := decode(t, v)
	withFormat := func(f byte) string {
		b := bytes.Clone(raw)
		b[0] = f
		return base64.RawURLEncoding.EncodeToString(b)
	}
	stdEncoded := base64.StdEncoding.EncodeToString(raw)
	tests := []struct{ name, value string }{
		{"empty", ""},
		{"one character", "A"},
		{"shortest minus one", strings.Repeat("A", sealedLen(0)-1)},
		{"shortest, zeros", strings.Repeat("A", sealedLen(0))},
		{"huge", strings.Repeat("A", 1<<20)},
		{"just over the limit", strings.Repeat("A", 3901)},
		{"another key", other},
		{"another cookie name", otherName},
		{"padded", v + strings.Repeat("=", (4-len(v)%4)%4+4)},
		{"with a newline", v[:10] + "\n" + v[10:]},
		{"with CRLF at the end", v + "\r\n"},
		{"with a space", v[:10] + " " + v[10:]},
		{"quoted", `"` + v + `"`},
		{"standard base64", stdEncoded},
		{"URL-escaped", strings.ReplaceAll(v, "-", "%2D") + "%2D"},
		{"another format", withFormat(2)},
		{"format zero", withFormat(0)},
		{"doubled", v + v},
		{"upper-cased", strings.ToUpper(v)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.value == v {
				t.Fatal("the test case is the valid value")
			}
			if p, _, err := s.Open("session", tt.value); err == nil {
				t.Fatalf("Open(%.40q) = %q, want an error", tt.value, p)
			}
		})
	}
	// Control: the valid value opens.
	if _, _, err := s.Open("session", v); err != nil {
		t.Fatalf("the valid value: %v", err)
	}
	if _, _, err := s.Open("session2", otherName); err != nil {
		t.Fatalf("the value of the other name under its name: %v", err)
	}
}

func TestRotation(t *testing.T) {
	k1, k2, k3 := newKey(t), newKey(t), newKey(t)
	v1, _ := newStore(t, k1).Seal("s", []byte("one"))
	v2, _ := newStore(t, k2).Seal("s", []byte("two"))
	v3, _ := newStore(t, k3).Seal("s", []byte("three"))
	s := newStore(t, k3, cookie.WithOldKeys(k2, k1))
	tests := []struct {
		value, want string
		rotated     bool
	}{
		{v3, "three", false},
		{v2, "two", true},
		{v1, "one", true},
	}
	for _, tt := range tests {
		p, rotated, err := s.Open("s", tt.value)
		if err != nil || string(p) != tt.want || rotated != tt.rotated {
			t.Errorf("Open = %q, rotated %v, err %v; want %q, rotated %v", p, rotated, err, tt.want, tt.rotated)
		}
	}
	// The new key seals, so the old stores cannot open it.
	v, err := s.Seal("s", []byte("new"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range [][]byte{k1, k2} {
		if _, _, err := newStore(t, k).Open("s", v); err == nil {
			t.Error("a store with only an old key opened a value sealed after rotation")
		}
	}
	if p, rotated, err := newStore(t, k3).Open("s", v); err != nil || rotated || string(p) != "new" {
		t.Errorf("the new key alone: Open = %q, %v, %v", p, rotated, err)
	}
	// A key that was dropped no longer opens.
	if _, _, err := newStore(t, k3, cookie.WithOldKeys(k2)).Open("s", v1); err == nil {
		t.Error("a value of a dropped key opened")
	}
}

// TestKeysWithTheSameID checks that keys whose key ID byte collides (one
// pair in 256) all open their cookies.
func TestKeysWithTheSameID(t *testing.T) {
	k1 := newKey(t)
	v1, _ := newStore(t, k1).Seal("s", []byte("one"))
	var k2 []byte
	var v2 string
	for i := 0; ; i++ {
		if i == 100000 {
			t.Fatal("no key with the same key ID in 100000 tries")
		}
		k2 = newKey(t)
		v2, _ = newStore(t, k2).Seal("s", []byte("two"))
		if decode(t, v2)[1] == decode(t, v1)[1] {
			break
		}
	}
	for _, s := range []*cookie.Store{
		newStore(t, k1, cookie.WithOldKeys(k2)),
		newStore(t, k2, cookie.WithOldKeys(k1)),
	} {
		p1, _, err1 := s.Open("s", v1)
		p2, _, err2 := s.Open("s", v2)
		if err1 != nil || err2 != nil || string(p1) != "one" || string(p2) != "two" {
			t.Fatalf("keys with one key ID: Open = %q %v, %q %v", p1, err1, p2, err2)
		}
	}
}

func TestSizeLimit(t *testing.T) {
	s := newStore(t, newKey(t))
	for _, name := range []string{"s", "session", strings.Repeat("n", 100)} {
		// The largest incompressible payload whose name=value fits in 3900.
		n := 0
		for len(name)+1+sealedLen(n+1) <= 3900 {
			n++
		}
		v, err := s.Seal(name, randomBytes(n))
		if err != nil {
			t.Fatalf("%s: Seal of %d bytes: %v", name, n, err)
		}
		if size := len(name) + 1 + len(v); size > 3900 || size < 3897 {
			t.Fatalf("%s: the largest cookie is %d bytes", name, size)
		}
		_, err = s.Seal(name, randomBytes(n+1))
		if !errors.Is(err, cookie.ErrTooLarge) {
			t.Fatalf("%s: Seal of %d bytes: %v, want ErrTooLarge", name, n+1, err)
		}
		if !strings.Contains(err.Error(), "at most 3900") {
			t.Fatalf("the error does not give the sizes: %v", err)
		}
		if name == "s" && (n < 2800 || n > 2900) {
			t.Fatalf("%d bytes fit; the package documentation says about 2,830 after the record's own 60", n)
		}
	}
	// Over 64 KiB, even what compresses to almost nothing is refused.
	if _, err := s.Seal("s", make([]byte, 64<<10+1)); !errors.Is(err, cookie.ErrTooLarge) {
		t.Fatalf("Seal of 64 KiB + 1 of zeros: %v, want ErrTooLarge", err)
	}
	if _, err := s.Seal("s", make([]byte, 64<<10)); err != nil {
		t.Fatalf("Seal of 64 KiB of zeros: %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	oldValue, _ := newStore(t, k1).Seal("s", []byte("old"))
	s := newStore(t, k2, cookie.WithOldKeys(k1))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				payload := bytes.Repeat([]byte{byte(g), byte(i)}, 100*(i%8))
				v, err := s.Seal("s", payload)
				if err != nil {
					errs <- err
					return
				}
				p, _, err := s.Open("s", v)
				if err != nil || !bytes.Equal(p, payload) {
					errs <- errors.New("a concurrent round trip failed")
					return
				}
				if p, rotated, err := s.Open("s", oldValue); err != nil || !rotated || string(p) != "old" {
					errs <- errors.New("a concurrent open with the old key failed")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestZeroStoreAndNilOption(t *testing.T) {
	var zero cookie.Store
	if v, err := zero.Seal("s", []byte("x")); err == nil {
		t.Fatalf("Seal of a zero Store = %q, want an error", v)
	}
	v, err := newStore(t, newKey(t), nil).Seal("s", []byte("x"))
	if err != nil {
		t.Fatalf("New with a nil Option: %v", err)
	}
	if p, _, err := zero.Open("s", v); err == nil {
		t.Fatalf("Open of a zero Store = %q, want an error", p)
	}
}

func TestWithCompressionFalse(t *testing.T) {
	key := newKey(t)
	payload := bytes.Repeat([]byte("compressible "), 400) // 5,200 bytes: fits only compressed
	plain := newStore(t, key, cookie.WithCompression(false))
	if _, err := plain.Seal("s", payload); !errors.Is(err, cookie.ErrTooLarge) {
		t.Fatalf("WithCompression(false): Seal of %d bytes: %v, want ErrTooLarge", len(payload), err)
	}
	compressed, err := newStore(t, key, cookie.WithCompression(true)).Seal("s", payload)
	if err != nil {
		t.Fatalf("WithCompression(true): %v", err)
	}
	if len(compressed) >= sealedLen(len(payload)) {
		t.Fatalf("WithCompression(true): a value of %d bytes, not compressed", len(compressed))
	}
	// A store without compression still opens compressed cookies.
	if p, _, err := plain.Open("s", compressed); err != nil || !bytes.Equal(p, payload) {
		t.Fatalf("Open: %v", err)
	}
}
