package sessions

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// idLen is the length of a session ID in the cookie: 32 random bytes
// (256 bits), base64url without padding.
const idLen = 43

const base64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// base64Index maps a base64url character to its 6-bit value, or 0xff.
var base64Index = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(base64URL); i++ {
		t[base64URL[i]] = byte(i)
	}
	return t
}()

// newID returns a fresh session ID (256 bits from crypto/rand, base64url)
// and its store key.
func newID() (id, key string) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:]), storeKey(&b)
}

// parseID decodes a session ID from a cookie. It accepts exactly what newID
// produces (43 base64url characters, canonical final character) and
// nothing else, without allocating, so malformed input never reaches a
// store.
func parseID(v string) (raw [32]byte, ok bool) {
	if len(v) != idLen {
		return raw, false
	}
	var acc uint32
	var bits uint
	n := 0
	for i := 0; i < idLen; i++ {
		d := base64Index[v[i]]
		if d == 0xff {
			return raw, false
		}
		acc = acc<<6 | uint32(d)
		bits += 6
		if bits >= 8 {
			bits -= 8
			raw[n] = byte(acc >> bits)
			n++
			acc &= 1<<bits - 1
		}
	}
	// 43 characters carry 258 bits; the 2 left over must be zero.
	return raw, acc == 0
}

// storeKey is the key a session is stored under: the SHA-256 of its raw ID,
// base64url, so that a dump of the store cannot be replayed as cookies.
func storeKey(raw *[32]byte) string {
	sum := sha256.Sum256(raw[:])
	var out [idLen]byte
	base64.RawURLEncoding.Encode(out[:], sum[:])
	return string(out[:])
}
