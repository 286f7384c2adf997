// Package cookie keeps the whole session in the browser's cookie, sealed
// with AES-256-GCM: a [Store] is a [sessions.Sealer], which
// [sessions.Sessions] takes as its backend. Nothing is kept on the server.
//
//	key, err := base64.StdEncoding.DecodeString(os.Getenv("SESSION_KEY"))
//	...
//	store, err := cookie.New(key) // 32 random bytes: openssl rand -base64 32
//	...
//	r.Use(sessions.Sessions("session", store, sessions.WithSecure(true)))
//
// Key rotation: pass the new key to [New] and the old ones to
// [WithOldKeys]; cookies sealed with an old key are sealed again with the
// new one on their next request, so an old key can go after one lifetime.
//
// Size: a cookie's name=value may not exceed 3900 bytes, so that browsers
// keep it; [Store.Seal] compresses a session that would not fit and
// returns [ErrTooLarge] for one that still does not (the error handler
// answers 500, no cookie is sent). That leaves about 2,800 bytes of values
// that do not compress. Keep large data on the server.
//
// No cookie backend can revoke a copied cookie before its lifetime or idle
// timeout ends, and concurrent requests of one session can overwrite each
// other's changes. The design note docs/cookie.md says why the package is
// built as it is: key checks, rotation limits, cipher, format, size and
// compression.
package cookie

import (
	"bytes"
	"compress/flate"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unsafe"

	"github.com/sessionware/sessions"
)

// KeySize is the length of a key: 32 bytes.
const KeySize = 32

const (
	formatV1 = 1 // the first byte of every sealed value

	headerLen = 2  // format byte, key ID byte
	nonceLen  = 12 // AES-GCM standard nonce, drawn by crypto/cipher
	tagLen    = 16
	flagLen   = 1 // plaintext flag: raw or deflated

	// overhead is what sealing adds to the payload, before base64.
	overhead = headerLen + nonceLen + flagLen + tagLen

	// maxNameValue bounds len(name) + len("=") + len(value) of a cookie
	// Seal produces: 4096 bytes, the browsers' limit, less 196 for the
	// attributes the middleware adds.
	maxNameValue = 3900

	// maxPayload bounds a session before compression, so that opening a
	// cookie never inflates more than this.
	maxPayload = 64 << 10

	flagRaw     = 0
	flagDeflate = 1
)

// strictBase64URL decodes only the canonical encoding: the unused bits of
// the last character must be zero.
var strictBase64URL = base64.RawURLEncoding.Strict()

// minValueLen is the length of the shortest value Seal produces: an empty
// payload.
var minValueLen = base64.RawURLEncoding.EncodedLen(overhead)

// ErrTooLarge is returned by Seal, and so by Session.Save and to the
// middleware's error handler, when the session does not fit in a cookie
// that browsers keep. It is wrapped with the sizes.
// It wraps [sessions.ErrTooLarge].
var ErrTooLarge = fmt.Errorf("cookie: session too large for a cookie: %w", sessions.ErrTooLarge)

// ErrKeySize is returned by New, wrapped with the length it was given and
// a hint, when a key is not KeySize bytes long.
var ErrKeySize = errors.New("cookie: the key must be exactly 32 random bytes")

// ErrWeakKey is returned by New, wrapped with the reason, when a key does
// not look random: all its bytes are equal, or all are printable ASCII (a
// password, or a key still in base64 or hex). It never says what the key
// holds.
var ErrWeakKey = errors.New("cookie: the key is not random")

// errOpen is Open's error for every value it does not accept. It does not
// say why: a client learns nothing from it anyway, and the middleware
// treats every such value as no session.
var errOpen = errors.New("cookie: invalid session cookie")

// errNoKey is Seal's error for a Store not made by New.
var errNoKey = errors.New("cookie: a Store must be made with New")

// Store seals sessions into their cookie: it is a [sessions.Sealer], which
// [sessions.Sessions] takes as its backend. Make it with [New] (a zero
// Store opens nothing and its Seal fails); it is safe for concurrent use.
// It holds no resources, so it has no Close method.
type Store struct {
	keys     []sealKey // keys[0] seals; all open
	compress bool
}

type sealKey struct {
	id   byte
	aead cipher.AEAD
}

var _ sessions.Sealer = (*Store)(nil)

// Option configures a Store.
type Option func(*options)

type options struct {
	oldKeys    [][]byte
	noCompress bool
}

// WithOldKeys adds keys that open cookies but never seal them: the keys
// being rotated out. Each must satisfy the same rules as New's key; their
// order does not matter, and a key given twice counts once. Default none.
// A cookie one of them opens is sealed again with New's key before the
// response.
func WithOldKeys(keys ...[]byte) Option {
	return func(o *options) { o.oldKeys = append(o.oldKeys, keys...) }
}

// WithCompression sets whether Seal compresses a session that would not
// fit in a cookie otherwise. Default true. Turn it off when a session
// keeps a secret (a CSRF token, say) next to text an attacker can choose
// and the attacker can watch the cookie's length on the wire: the length
// of a compressed cookie then leaks the secret piece by piece, as CRIME
// did (see docs/cookie.md). Open accepts compressed cookies either way.
func WithCompression(enabled bool) Option {
	return func(o *options) { o.noCompress = !enabled }
}

// New returns a Store that seals cookies with key and opens them with key
// and the keys of WithOldKeys. key must be KeySize (32) random bytes, such
// as the decoded output of `openssl rand -base64 32`; New returns an error
// for anything that does not look like that, and never panics. New keeps
// no reference to the keys' slices: the caller may clear them afterwards.
func New(key []byte, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if err := checkKey(key); err != nil {
		return nil, err
	}
	s := &Store{keys: make([]sealKey, 0, 1+len(o.oldKeys)), compress: !o.noCompress}
	seen := make([][]byte, 0, 1+len(o.oldKeys))
	for i, k := range append([][]byte{key}, o.oldKeys...) {
		if i > 0 {
			if err := checkKey(k); err != nil {
				return nil, fmt.Errorf("old key %d: %w", i, err)
			}
		}
		dup := false
		for _, other := range seen {
			dup = dup || bytes.Equal(k, other)
		}
		if dup {
			continue // harmless: the same key is already there
		}
		seen = append(seen, k)
		sk, err := newSealKey(k)
		if err != nil {
			return nil, err
		}
		s.keys = append(s.keys, sk)
	}
	return s, nil
}

// checkKey rejects keys that are not 32 random-looking bytes.
func checkKey(key []byte) error {
	const howTo = "make one with `openssl rand -base64 32` and base64-decode it"
	if len(key) != KeySize {
		hint := howTo
		if len(key) == 44 || len(key) == 64 {
			hint = "it looks like base64 or hex text: decode it to 32 bytes, or " + howTo
		}
		return fmt.Errorf("%w, not %d: %s", ErrKeySize, len(key), hint)
	}
	same, printable := true, true
	for _, b := range key {
		same = same && b == key[0]
		printable = printable && b >= 0x20 && b < 0x7f
	}
	if same {
		return fmt.Errorf("%w: it is %d copies of one byte: %s", ErrWeakKey, KeySize, howTo)
	}
	if printable {
		// 32 random bytes are all printable ASCII with probability 2⁻⁵⁶.
		return fmt.Errorf("%w: it is printable text (a password or encoded key?): %s", ErrWeakKey, howTo)
	}
	return nil
}

// newSealKey derives the AES key and the key ID from key.
func newSealKey(key []byte) (sealKey, error) {
	aesKey, err := hkdf.Key(sha256.New, key, nil, "sessionware/cookie v1 AES-256-GCM", 32)
	if err != nil {
		return sealKey{}, fmt.Errorf("cookie: deriving the key: %w", err)
	}
	id, err := hkdf.Key(sha256.New, key, nil, "sessionware/cookie v1 key ID", 1)
	if err != nil {
		return sealKey{}, fmt.Errorf("cookie: deriving the key: %w", err)
	}
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		return sealKey{}, fmt.Errorf("cookie: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return sealKey{}, fmt.Errorf("cookie: %w", err)
	}
	return sealKey{id: id[0], aead: aead}, nil
}

// Seal encrypts and authenticates payload for the cookie called name with
// the current key and returns the cookie value. A payload too large for a
// cookie is compressed, unless WithCompression(false). It returns an error
// wrapping ErrTooLarge when name=value would exceed 3900 bytes or payload
// exceeds 64 KiB. Each call
// draws a fresh random nonce, so sealing the same payload twice gives
// different values.
func (s *Store) Seal(name string, payload []byte) (string, error) {
	if len(s.keys) == 0 {
		return "", errNoKey
	}
	if len(payload) > maxPayload {
		return "", fmt.Errorf("%w: the session is %d bytes, more than the %d that a cookie store seals", ErrTooLarge, len(payload), maxPayload)
	}
	flag, body := byte(flagRaw), payload
	if s.compress && len(name)+1+base64.RawURLEncoding.EncodedLen(overhead+len(payload)) > maxNameValue {
		z := deflaters.Get().(*deflater)
		defer deflaters.Put(z)
		if c := z.compress(payload); len(c) < len(payload) {
			flag, body = flagDeflate, c
		}
	}
	binLen := overhead + len(body)
	valueLen := base64.RawURLEncoding.EncodedLen(binLen)
	if size := len(name) + 1 + valueLen; size > maxNameValue {
		return "", fmt.Errorf("%w: %s=value would be %d bytes (a session of %d bytes, %d after compression), at most %d fit",
			ErrTooLarge, name, size, len(payload), len(body), maxNameValue)
	}

	// Scratch: additional data | header | plaintext, sealed in place into
	// header | nonce | ciphertext | tag.
	k := &s.keys[0]
	adLen := headerLen + len(name)
	sc := getScratch(adLen + binLen)
	defer putScratch(sc)
	buf := *sc
	buf[0], buf[1] = formatV1, k.id
	copy(buf[headerLen:adLen], name)
	sealed := buf[adLen:]
	sealed[0], sealed[1] = formatV1, k.id
	plain := sealed[headerLen : headerLen+flagLen+len(body)]
	plain[0] = flag
	copy(plain[flagLen:], body)
	// plain[:0] has room for nonce, ciphertext and tag: Seal appends in
	// place, right after the header.
	k.aead.Seal(plain[:0], nil, plain, buf[:adLen])

	value := make([]byte, valueLen)
	base64.RawURLEncoding.Encode(value, sealed)
	// value is never written again: hand it over as a string without a copy.
	return unsafe.String(unsafe.SliceData(value), len(value)), nil
}

// Open reverses Seal: it returns the payload sealed into value for the
// cookie called name, with any of the store's keys. rotated reports that
// an old key (of WithOldKeys) opened it. Anything that Seal did not
// produce for name with one of the keys is an error: a changed, truncated
// or extended value, one sealed with another key or for another cookie
// name, the empty value, and any value longer than Seal can produce (cut
// off before decoding). The payload does not alias value.
func (s *Store) Open(name, value string) (payload []byte, rotated bool, err error) {
	if len(value) < minValueLen || len(value) > maxNameValue ||
		// encoding/base64 skips CR and LF; it rejects everything else
		// outside the alphabet.
		strings.IndexByte(value, '\n') >= 0 || strings.IndexByte(value, '\r') >= 0 {
		return nil, false, errOpen
	}
	// Scratch: additional data | sealed value.
	adLen := headerLen + len(name)
	binMax := base64.RawURLEncoding.DecodedLen(len(value))
	sc := getScratch(adLen + binMax)
	defer putScratch(sc)
	buf := *sc
	// The decoder only reads value: view it as bytes without a copy.
	src := unsafe.Slice(unsafe.StringData(value), len(value))
	n, err := strictBase64URL.Decode(buf[adLen:], src)
	if err != nil || n < overhead {
		return nil, false, errOpen
	}
	sealed := buf[adLen : adLen+n]
	if sealed[0] != formatV1 {
		return nil, false, errOpen
	}
	ad := buf[:adLen]
	ad[0], ad[1] = sealed[0], sealed[1]
	copy(ad[headerLen:], name)
	var plain []byte
	for i := range s.keys {
		k := &s.keys[i]
		if k.id != sealed[1] {
			continue
		}
		if plain == nil {
			plain = make([]byte, 0, n-headerLen-nonceLen-tagLen)
		}
		p, err := k.aead.Open(plain, nil, sealed[headerLen:], ad)
		if err == nil {
			plain, rotated = p, i > 0
			break
		}
	}
	if len(plain) < flagLen {
		return nil, false, errOpen
	}
	switch plain[0] {
	case flagRaw:
		return plain[flagLen:], rotated, nil
	case flagDeflate:
		p, err := inflate(plain[flagLen:])
		if err != nil {
			return nil, false, errOpen
		}
		return p, rotated, nil
	}
	return nil, false, errOpen
}

// scratches holds buffers for Seal and Open, of scratchSize bytes: enough
// for any cookie Seal produces with a name of up to 100 bytes.
var scratches = sync.Pool{New: func() any {
	b := make([]byte, scratchSize)
	return &b
}}

const scratchSize = 4096

// getScratch returns a buffer of n bytes, from the pool if it fits.
func getScratch(n int) *[]byte {
	if n > scratchSize {
		b := make([]byte, n)
		return &b
	}
	sc := scratches.Get().(*[]byte)
	*sc = (*sc)[:n]
	return sc
}

func putScratch(sc *[]byte) {
	if cap(*sc) == scratchSize {
		scratches.Put(sc)
	}
}

// deflater is a reusable DEFLATE compressor: flate.NewWriter allocates
// about a megabyte, and even Reset is costly, hence the pool and
// compressing only sessions that do not fit otherwise.
type deflater struct {
	buf bytes.Buffer
	w   *flate.Writer
}

var deflaters = sync.Pool{New: func() any {
	z := &deflater{}
	// BestSpeed: on session-sized input it compresses about as well as
	// the default level, in a third of the time.
	z.w, _ = flate.NewWriter(&z.buf, flate.BestSpeed) // the level is valid
	return z
}}

// compress returns p compressed; the result is valid until the next call.
func (z *deflater) compress(p []byte) []byte {
	z.buf.Reset()
	z.w.Reset(&z.buf)
	// Writes to a bytes.Buffer do not fail.
	_, _ = z.w.Write(p)
	_ = z.w.Close()
	return z.buf.Bytes()
}

// inflater is a reusable DEFLATE decompressor.
type inflater struct {
	src bytes.Reader
	r   io.ReadCloser
}

var inflaters = sync.Pool{New: func() any {
	z := &inflater{}
	z.r = flate.NewReader(&z.src)
	return z
}}

// inflate decompresses p, which a key of this store authenticated, into a
// new slice of at most maxPayload bytes.
func inflate(p []byte) ([]byte, error) {
	z := inflaters.Get().(*inflater)
	defer inflaters.Put(z)
	z.src.Reset(p)
	if err := z.r.(flate.Resetter).Reset(&z.src, nil); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(min(4*len(p), maxPayload))
	if _, err := out.ReadFrom(io.LimitReader(z.r, maxPayload+1)); err != nil {
		return nil, err
	}
	if out.Len() > maxPayload {
		return nil, ErrTooLarge
	}
	return out.Bytes(), nil
}
