package gincontrib

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/sessionware/sessions"
)

// TestFindCarriesEveryValue logs in on a real gin-contrib program with
// each of its stores, then reads the session with this package's reader
// from a request that carries the program's cookie: every value under a
// string key comes back with its Go type (the gob-registered struct as
// the struct), default-category flashes as flashes, another category's
// as the plain value gorilla keeps, and the value under an int key is
// left out.
func TestFindCarriesEveryValue(t *testing.T) {
	s := startServers(t)
	for _, k := range kinds(s) {
		t.Run(k.name, func(t *testing.T) {
			app := legacyApp(k.store(t, hashA, blockA))
			before := time.Now().Truncate(time.Second)
			c := login(t, app)
			after := time.Now()
			if got := whoami(t, app, c); got != "alice" {
				t.Fatalf("the legacy app itself reads user %q, want alice", got)
			}
			l, err := k.reader(pairs(hashA, blockA)).Find(t.Context(), request(c))
			if err != nil || l == nil {
				t.Fatalf("Find = %v, %v; want the legacy session", l, err)
			}
			checkLegacy(t, l)
			if l.Cookie != cookieName || l.Path != "/" || l.Domain != "" || l.ExpireCookie {
				t.Errorf("cookie %q path %q domain %q expire %v; want %q, /, none, false", l.Cookie, l.Path, l.Domain, l.ExpireCookie, cookieName)
			}
			// Saved between before and after, refused 30 days later.
			if l.Expires.Before(before.Add(DefaultMaxAge)) || l.Expires.After(after.Add(DefaultMaxAge)) {
				t.Errorf("Expires %v, want 30 days after the login (%v .. %v)", l.Expires, before, after)
			}
			if k.name == "cookie" {
				sum := sha256.Sum256([]byte(c.Value))
				if l.ID != hex.EncodeToString(sum[:]) {
					t.Errorf("ID %q, want the SHA-256 of the cookie value", l.ID)
				}
			} else if key, ok := k.record(t, l.ID); !ok {
				t.Errorf("ID %q: no record %q in the legacy store", l.ID, key)
			}
			// The same cookie gives the same ID, the one the middleware
			// remembers.
			again, err := k.reader(pairs(hashA, blockA)).Find(t.Context(), request(c))
			if err != nil || again == nil || again.ID != l.ID {
				t.Fatalf("second Find = %v, %v; want the same ID %q", again, err, l.ID)
			}
		})
	}
}

// TestFlashCategories: with WithFlashCategories("error"), the messages
// that gin-contrib's AddFlash(v, "error") kept under "error" become
// flashes of that category; the default category's stay flashes too.
func TestFlashCategories(t *testing.T) {
	s := startServers(t)
	for _, k := range kinds(s) {
		t.Run(k.name, func(t *testing.T) {
			c := login(t, legacyApp(k.store(t, hashA)))
			l, err := k.reader(pairs(hashA), WithFlashCategories("error", "info")).Find(t.Context(), request(c))
			if err != nil || l == nil {
				t.Fatalf("Find = %v, %v", l, err)
			}
			want := map[string][]any{"": {"welcome", 2}, "error": {"bad password once"}}
			if !reflect.DeepEqual(l.Flashes, want) {
				t.Errorf("flashes %#v, want %#v", l.Flashes, want)
			}
			if v, ok := l.Values["error"]; ok {
				t.Errorf("the error category also stays a value: %#v", v)
			}
			if len(l.Values) != len(wantValues())-1 {
				t.Errorf("values %#v", l.Values)
			}
		})
	}
}

// checkLegacy checks the values and flashes of a session that login wrote.
func checkLegacy(t *testing.T, l *sessions.Legacy) {
	t.Helper()
	want := wantValues()
	if len(l.Values) != len(want) {
		t.Errorf("values %#v, want exactly %#v (the int key left out, _flash as flashes)", l.Values, want)
	}
	for k, w := range want {
		if got, ok := l.Values[k]; !ok || !reflect.DeepEqual(got, w) {
			t.Errorf("value %q = %#v (%T), want %#v (%T)", k, got, got, w, w)
		}
	}
	if !reflect.DeepEqual(l.Flashes, wantFlashes()) {
		t.Errorf("flashes %#v, want %#v", l.Flashes, wantFlashes())
	}
}

// TestFindRefusesWhatDoesNotVerify: a request without the cookie, a
// cookie signed with other keys, tampered, cut, too long, or presented
// under another name is no legacy session (nil, nil), for every store.
func TestFindRefusesWhatDoesNotVerify(t *testing.T) {
	s := startServers(t)
	for _, k := range kinds(s) {
		t.Run(k.name, func(t *testing.T) {
			app := legacyApp(k.store(t, hashA))
			c := login(t, app)
			right := k.reader(pairs(hashA))
			if l, err := right.Find(t.Context(), request(c)); err != nil || l == nil {
				t.Fatalf("with the right key: Find = %v, %v", l, err)
			}
			tampered := []byte(c.Value)
			tampered[len(tampered)/2] ^= 0x01
			if tampered[len(tampered)/2] == '=' || tampered[len(tampered)/2] == '<' {
				tampered[len(tampered)/2] = 'A'
			}
			for _, tc := range []struct {
				name    string
				m       sessions.Migrator
				cookies []*http.Cookie
			}{
				{"no cookie", right, nil},
				{"other cookie", right, []*http.Cookie{{Name: "other", Value: c.Value}}},
				{"wrong key", k.reader(pairs(hashX)), []*http.Cookie{c}},
				{"wrong key with encryption", k.reader(pairs(hashX, blockA)), []*http.Cookie{c}},
				{"tampered", right, []*http.Cookie{{Name: cookieName, Value: string(tampered)}}},
				{"cut", right, []*http.Cookie{{Name: cookieName, Value: c.Value[:len(c.Value)-4]}}},
				{"empty", right, []*http.Cookie{{Name: cookieName, Value: ""}}},
				{"too long", right, []*http.Cookie{{Name: cookieName, Value: c.Value + strings.Repeat("A", maxCookieLength)}}},
				// Signed with the right key but longer than gorilla
				// accepts: the legacy program never read it either.
				{"valid but too long", right, []*http.Cookie{{Name: cookieName, Value: oversized(t)}}},
				// The MAC covers the cookie name: the same value under
				// another name, read by a reader of that name, fails.
				{"moved to another name", renamed(k, "othersession", pairs(hashA)), []*http.Cookie{{Name: "othersession", Value: c.Value}}},
			} {
				l, err := tc.m.Find(t.Context(), request(tc.cookies...))
				if l != nil || err != nil {
					t.Errorf("%s: Find = %+v, %v; want nil, nil", tc.name, l, err)
				}
			}
		})
	}
}

// oversized is a cookie value signed with hashA, holding a session with
// a 4000-byte value: longer than gorilla/securecookie's 4096 bytes.
func oversized(t *testing.T) string {
	t.Helper()
	v, err := securecookie.New(hashA, nil).MaxLength(0).Encode(cookieName, map[any]any{"pad": strings.Repeat("x", 4000)})
	if err != nil {
		t.Fatal(err)
	}
	if len(v) <= maxCookieLength {
		t.Fatalf("the oversized cookie is %d bytes", len(v))
	}
	return v
}

// renamed is k's reader for another cookie name.
func renamed(k kind, name string, kp [][]byte) sessions.Migrator {
	switch m := k.reader(kp).(type) {
	case *cookieReader:
		return CookieWith(name, kp)
	case *redisReader:
		return RedisWith(name, m.client, kp)
	case *memcachedReader:
		return MemcachedWith(name, m.client, m.prefix, kp)
	}
	panic("unknown reader")
}

// TestWrongEncryptionKeyIsAnError: with the right hash key but another
// block key the cookie verifies and decrypts to garbage; Find says so
// rather than treating a misconfiguration as "no session".
func TestWrongEncryptionKeyIsAnError(t *testing.T) {
	s := startServers(t)
	for _, k := range kinds(s) {
		t.Run(k.name, func(t *testing.T) {
			c := login(t, legacyApp(k.store(t, hashA, blockA)))
			l, err := k.reader(pairs(hashA, blockB[:16])).Find(t.Context(), request(c))
			if l != nil || !errors.Is(err, ErrUndecodable) {
				t.Fatalf("Find = %v, %v; want an error wrapping ErrUndecodable", l, err)
			}
		})
	}
}

// TestKeyRotation: the reader takes the pairs in gin-contrib's order and
// tries each, so a cookie the old program signed with its previous pair
// (now second) still verifies, encrypted or not; a reader that lacks the
// pair refuses it.
func TestKeyRotation(t *testing.T) {
	s := startServers(t)
	for _, k := range kinds(s) {
		t.Run(k.name, func(t *testing.T) {
			for _, tc := range []struct {
				name     string
				app, old [][]byte // the legacy program's pairs; the reader's are new + old
			}{
				{"authenticated", pairs(hashA), pairs(hashA)},
				{"encrypted", pairs(hashA, blockA), pairs(hashA, blockA)},
			} {
				c := login(t, legacyApp(k.store(t, tc.app...)))
				rotated := k.reader(append(pairs(hashB, blockB), tc.old...))
				l, err := rotated.Find(t.Context(), request(c))
				if err != nil || l == nil {
					t.Fatalf("%s: old pair second: Find = %v, %v; want the session", tc.name, l, err)
				}
				checkLegacy(t, l)
				if l, err := k.reader(pairs(hashB, blockB)).Find(t.Context(), request(c)); l != nil || err != nil {
					t.Errorf("%s: new pair only: Find = %v, %v; want nil, nil", tc.name, l, err)
				}
			}
			// A program that already rotated signs with its first pair.
			c := login(t, legacyApp(k.store(t, hashB, blockB, hashA, blockA)))
			if l, err := k.reader(pairs(hashB, blockB, hashA, blockA)).Find(t.Context(), request(c)); err != nil || l == nil {
				t.Fatalf("new pair first: Find = %v, %v", l, err)
			}
			if l, err := k.reader(pairs(hashA, blockA)).Find(t.Context(), request(c)); l != nil || err != nil {
				t.Errorf("old pair only: Find = %v, %v; want nil, nil", l, err)
			}
		})
	}
}
