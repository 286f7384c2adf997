package gincontrib

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"

	"github.com/gorilla/securecookie"
)

// verifier checks values that gorilla/securecookie encoded, with the key
// pairs of the old program: base64url("date|value|mac"), where mac is
// HMAC-SHA256 over "name|date|value" with a pair's first key and value is
// base64url of the serialized payload, AES-CTR encrypted with the pair's
// second key when it has one. The pairs are tried in order, as
// securecookie.DecodeMulti does.
//
// securecookie verifies and decrypts; the payload comes back as raw
// bytes (its NopEncoder), so that the caller decodes it with bounds and
// tells a payload that does not decode from a value that does not verify.
// The age check is ours too (the codecs have no MaxAge), so that it runs
// on the verifier's clock.
type verifier struct {
	codecs []securecookie.Codec
	maxAge time.Duration
	now    func() time.Time
}

// newVerifier panics on key pairs that securecookie cannot use: none, an
// empty hash key, or an encryption key that is not 16, 24 or 32 bytes
// (gin-contrib would have failed every request with them).
func newVerifier(keyPairs [][]byte, c config) verifier {
	if len(keyPairs) == 0 {
		panic("gincontrib: no key pairs: give the old program's keys, in its order")
	}
	codecs := securecookie.CodecsFromPairs(keyPairs...)
	for i, codec := range codecs {
		sc := codec.(*securecookie.SecureCookie)
		sc.SetSerializer(securecookie.NopEncoder{}).MaxAge(0).MaxLength(0)
		// Encode reports the key errors that New and BlockFunc recorded.
		if _, err := sc.Encode("k", []byte{}); err != nil {
			panic(fmt.Sprintf("gincontrib: key pair %d: %v", i+1, err))
		}
	}
	return verifier{codecs: codecs, maxAge: c.maxAge, now: c.now}
}

// opened is a verified value: its payload and when it was encoded.
type opened struct {
	payload []byte
	written time.Time
}

// verdict is what open found a value to be.
type verdict int

const (
	// valid: it verifies with a key pair and is within the maximum age.
	valid verdict = iota
	// unverified: no key pair verifies it, or it is longer than allowed.
	unverified
	// expired: it verifies but is older than the maximum age.
	expired
)

// open verifies value as encoded under name, at most maxLen bytes long.
// The opened value is set only when the verdict is valid.
func (v verifier) open(name, value string, maxLen int) (opened, verdict) {
	if len(value) > maxLen {
		return opened{}, unverified
	}
	var payload []byte
	err := securecookie.DecodeMulti(name, value, &payload, v.codecs...)
	if err != nil {
		return opened{}, unverified
	}
	// Verified, so its date field is the old program's and parses.
	raw, err := base64.URLEncoding.DecodeString(value)
	if err != nil {
		return opened{}, unverified
	}
	date, _, _ := bytes.Cut(raw, []byte("|"))
	ts, err := strconv.ParseInt(string(date), 10, 64)
	if err != nil {
		return opened{}, unverified
	}
	written := time.Unix(ts, 0)
	if v.maxAge > 0 && v.now().After(written.Add(v.maxAge)) {
		return opened{}, expired
	}
	return opened{payload: payload, written: written}, valid
}

// expires is when a value written at t stops verifying; zero without a
// maximum age.
func (v verifier) expires(t time.Time) time.Time {
	if v.maxAge == 0 {
		return time.Time{}
	}
	return t.Add(v.maxAge)
}
