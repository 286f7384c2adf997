package backends_test

import (
	"io"
	"strings"
	"testing"

	"github.com/sessionware/sessions/backends"
	"github.com/sessionware/sessions/cookie"
)

// Test keys: random, so not secret in any way that matters; they stand for
// secrets, which no error may show.
const (
	key1       = "05VnOwArLX8EFBuqlkIyX+0zVK3KybN+mz5VJ6uHuSM="
	key2       = "ybJPQXrOfi0PBm1auYfQS4DXyEpNpR8KSRC2DgZnN0A="
	key3URL    = "9U9sntS0762MFkDjqqSkT9I5Dg1MkhXWXlcVN8lWozU" // URL-safe, unpadded
	key16Bytes = "FRIU6ai6odF9PHDlS/CfHQ=="
	keyText    = "Y29ycmVjdCBob3JzZSBiYXR0ZXJ5IHN0YXBsZSAxMjM=" // "correct horse battery staple 123"
	keySame    = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=" // 32 times 0x07
)

var allKeys = []string{key1, key2, key3URL, key16Bytes, keyText, keySame}

func TestOpenCookie(t *testing.T) {
	const typ = "*cookie.Store"
	runOpenCases(t, []openCase{
		{name: "OneKey", url: "cookie://", keys: []string{key1}, wantType: typ},
		{name: "Rotation", url: "cookie://", keys: []string{key1, key2, key3URL}, wantType: typ},
		{name: "URLSafeUnpadded", url: "COOKIE:///", keys: []string{key3URL}, wantType: typ},
		{name: "Spaces", url: "cookie://", keys: []string{" " + key1 + " "}, wantType: typ},

		{name: "NoKeys", url: "cookie://", wantErr: []string{"no keys", "SESSION_KEYS", "Config.Keys", "base64 32-byte keys", "head -c 32 /dev/urandom | base64"}},
		{name: "NotBase64", url: "cookie://", keys: []string{key1, "not base64!"}, wantErr: []string{"key 2 of 2 is not base64", "32 random bytes"}},
		{name: "EmptyKey", url: "cookie://", keys: []string{key1, ""}, wantErr: []string{"key 2 of 2 is empty"}},
		{name: "ShortKey", url: "cookie://", keys: []string{key16Bytes}, wantErr: []string{"key 1 of 1 decodes to 16 bytes", "exactly 32"}},
		{name: "RawPassword", url: "cookie://", keys: []string{"correct horse battery staple"}, wantErr: []string{"key 1 of 1"}},
		{name: "PrintableKey", url: "cookie://", keys: []string{key2, keyText}, wantErr: []string{"key 2 of 2", "printable text"}},
		{name: "AllBytesEqual", url: "cookie://", keys: []string{keySame}, wantErr: []string{"key 1 of 1", "not random"}},
		{name: "Duplicate", url: "cookie://", keys: []string{key1, key2, key1}, wantErr: []string{"key 3 of 3 is the same as key 1"}},
		{name: "KeyInURL", url: "cookie://?keys=" + key1, keys: []string{key1}, wantErr: []string{"keys do not go in the URL", "SESSION_KEYS"}},
		{name: "Option", url: "cookie://?secure=1", keys: []string{key1}, wantErr: []string{"takes no URL options"}},
		{name: "Host", url: "cookie://" + key1, keys: []string{key1}, wantErr: []string{"nothing may follow"}},
	})
}

// TestCookieErrorsHideKeys checks every key error for any part of a key.
func TestCookieErrorsHideKeys(t *testing.T) {
	for _, keys := range [][]string{
		{"not base64!" + key1}, {key16Bytes}, {keyText}, {keySame}, {key1, key1}, {key1, keySame}, {key2, "%%%" + key2},
	} {
		_, err := backends.Config{Store: "cookie://", Keys: keys}.Open()
		if err == nil {
			t.Fatalf("keys %q: no error", keys)
		}
		for _, k := range allKeys {
			for i := 0; i+8 <= len(k); i += 4 {
				if strings.Contains(err.Error(), k[i:i+8]) {
					t.Errorf("error %q shows part of a key", err)
				}
			}
		}
		for _, s := range []string{"0x07", "correct horse", "horse"} {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error %q describes a key's content (%q)", err, s)
			}
		}
	}
}

func TestOpenCookieFromEnv(t *testing.T) {
	t.Setenv(backends.EnvKeys, key2+","+key1)
	s, err := backends.Open("cookie://")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*cookie.Store); !ok {
		t.Fatalf("cookie:// gave a %T, not a *cookie.Store", s)
	}
	if _, ok := s.(io.Closer); ok {
		t.Errorf("cookie:// gave a %T, which has a Close method that would do nothing", s)
	}
	roundTrip(t, s)

	t.Setenv(backends.EnvKeys, "")
	if _, err := backends.Open("cookie://"); err == nil {
		t.Errorf("cookie:// with SESSION_KEYS empty: no error")
	} else {
		checkConfigErr(t, err, "no keys")
	}
}
