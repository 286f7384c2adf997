package gincontrib

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"net/http/httptest"
	"testing"

	gincookie "github.com/gin-contrib/sessions/cookie"
	"github.com/gorilla/securecookie"

	"github.com/sessionware/sessions"
)

// findRaw calls m.Find on a request whose Cookie header is name=value as
// a client sent it (net/http parses it, dropping what is not a cookie
// value), and checks what Find may return for any input: no session, a
// session, or an error wrapping ErrUndecodable (a cookie store has no
// backend to fail), never both. A panic fails the fuzz run.
func findRaw(t *testing.T, m sessions.Migrator, value string) *sessions.Legacy {
	t.Helper()
	req := httptest.NewRequest("GET", "http://example.test/", nil)
	req.Header.Set("Cookie", cookieName+"="+value)
	l, err := m.Find(t.Context(), req)
	switch {
	case err != nil && l != nil:
		t.Fatalf("Find returned a session and an error: %v", err)
	case err != nil && !errors.Is(err, ErrUndecodable):
		t.Fatalf("Find: %v; want nil or ErrUndecodable", err)
	}
	return l
}

// FuzzCookieFind feeds arbitrary cookie values to the cookie store's
// reader, with and without encryption: whatever the value, Find returns
// no session, a session whose ID is the digest of the value it read, or
// an error wrapping ErrUndecodable, and never panics. Seeds: real
// gin-contrib cookies, cut and extended.
func FuzzCookieFind(f *testing.F) {
	real := map[string]bool{} // cookies that a reader must find
	for _, kp := range [][][]byte{pairs(hashA), pairs(hashA, blockA)} {
		c := login(f, legacyApp(gincookie.NewStore(kp...)))
		real[c.Value] = true
		f.Add(c.Value)
		f.Add(c.Value[:len(c.Value)/2])
		f.Add(c.Value + "AAAA")
	}
	f.Add("")
	f.Add("MTcwMDAwMDAwMHx8") // "1700000000||"
	readers := []sessions.Migrator{
		CookieWith(cookieName, pairs(hashA)),
		CookieWith(cookieName, pairs(hashA, blockA)),
	}
	f.Fuzz(func(t *testing.T, value string) {
		found := false
		for _, m := range readers {
			l := findRaw(t, m, value)
			if l == nil {
				continue
			}
			found = true
			// Found: value parsed as a cookie value unchanged.
			sum := sha256.Sum256([]byte(value))
			if l.ID != hex.EncodeToString(sum[:]) {
				t.Fatalf("ID %q is not the digest of the cookie", l.ID)
			}
		}
		if real[value] && !found {
			t.Fatal("a real gin-contrib cookie found no session")
		}
	})
}

// FuzzSignedPayload signs arbitrary payloads with the reader's key pair,
// as the legacy program would sign its gob, so that fuzzing reaches the
// gob decoding behind the MAC (the same decoding reads redis records,
// which are not signed): Find returns a session or an error wrapping
// ErrUndecodable and never panics. Payloads are bounded by the cookie
// length limit (about 2.2 KiB after encryption and two base64 passes).
// Seeds: the gob of a real session's values, and cuts of it.
func FuzzSignedPayload(f *testing.F) {
	var buf bytes.Buffer
	values := map[any]any{flashKey: []any{"welcome", 2}, 7: "int key"}
	for k, v := range wantValues() {
		values[k] = v
	}
	if err := gob.NewEncoder(&buf).Encode(values); err != nil {
		f.Fatal(err)
	}
	full := buf.Bytes()
	f.Add(full)
	f.Add(full[:len(full)/2])
	f.Add(full[:len(full)-1])
	f.Add([]byte{})
	codec := securecookie.New(hashA, blockA).SetSerializer(securecookie.NopEncoder{})
	m := CookieWith(cookieName, pairs(hashA, blockA))
	f.Fuzz(func(t *testing.T, payload []byte) {
		value, err := codec.Encode(cookieName, payload)
		if err != nil {
			return // longer than a cookie can be
		}
		l := findRaw(t, m, value)
		if l == nil {
			if bytes.Equal(payload, full) {
				t.Fatal("the gob of a real session's values found no session")
			}
			return
		}
		for k := range l.Values {
			if k == flashKey && l.Flashes != nil {
				t.Fatalf("flashes both as flashes and as the %q value", flashKey)
			}
		}
	})
}
