package sessions

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// idLen is the length of a session ID in the cookie: 32 random bytes
// (256 bits), base64url without padding.
const idLen = 43

// newID returns a fresh session ID (256 bits from crypto/rand, base64url)
// and its store key.
func newID() (id, key string) {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:]), storeKey(&b)
}

// strictBase64URL rejects non-canonical final characters, so each ID has
// exactly one spelling.
var strictBase64URL = base64.RawURLEncoding.Strict()

// parseID decodes a session ID from a cookie. It accepts exactly what newID
// produces (43 base64url characters, canonical final character) and
// nothing else, without allocating, so malformed input never reaches a
// store.
func parseID(v string) (raw [32]byte, ok bool) {
	if len(v) != idLen {
		return raw, false
	}
	var src [idLen]byte
	copy(src[:], v)
	n, err := strictBase64URL.Decode(raw[:], src[:])
	return raw, err == nil && n == len(raw)
}

// storeKey is the key a session is stored under: the SHA-256 of its raw ID,
// base64url, so that a dump of the store cannot be replayed as cookies.
func storeKey(raw *[32]byte) string {
	sum := sha256.Sum256(raw[:])
	var out [idLen]byte
	base64.RawURLEncoding.Encode(out[:], sum[:])
	return string(out[:])
}
