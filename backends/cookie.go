package backends

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/cookie"
)

func init() {
	Register("cookie", openCookie)
}

// keyEncodings are the base64 forms a key may be written in.
var keyEncodings = []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding}

// DecodeKeys decodes cookie keys written in base64 (standard or URL-safe,
// padded or not), each of which must be KeySize bytes. Its errors say which
// key is wrong and why, never what it holds.
func DecodeKeys(keys []string) ([][]byte, error) {
	out := make([][]byte, 0, len(keys))
	for i, k := range keys {
		k = strings.TrimSpace(k)
		var key []byte
		for _, enc := range keyEncodings {
			if b, err := enc.DecodeString(k); err == nil {
				key = b
				break
			}
		}
		where := fmt.Sprintf("key %d of %d", i+1, len(keys))
		switch {
		case k == "":
			return nil, configErr("cookie://: %s is empty; accepted: %d random bytes in base64, such as the output of: head -c 32 /dev/urandom | base64", where, KeySize)
		case key == nil:
			return nil, configErr("cookie://: %s is not base64; accepted: %d random bytes in standard or URL-safe base64, such as the output of: head -c 32 /dev/urandom | base64", where, KeySize)
		case len(key) != KeySize:
			return nil, configErr("cookie://: %s decodes to %d bytes; accepted: exactly %d random bytes in base64, such as the output of: head -c 32 /dev/urandom | base64", where, len(key), KeySize)
		}
		for j, prev := range out {
			if string(prev) == string(key) {
				return nil, configErr("cookie://: %s is the same as key %d; give each key once, newest first", where, j+1)
			}
		}
		out = append(out, key)
	}
	return out, nil
}

// openCookie opens cookie:// with c.Keys.
func openCookie(c Config) (sessions.Backend, error) {
	scheme, rest := cutScheme(c.Store)
	head, query, err := splitRest(scheme, rest)
	if err != nil {
		return nil, err
	}
	if head != "" && head != "/" {
		return nil, configErr("cookie://: nothing may follow \"cookie://\"; accepted: cookie:// with the keys in %s or Config.Keys", EnvKeys)
	}
	if query != "" {
		if strings.Contains(strings.ToLower(query), "key") {
			return nil, configErr("cookie://: keys do not go in the URL, where they would end up in logs; accepted: cookie:// with the keys in %s or Config.Keys", EnvKeys)
		}
		return nil, configErr("cookie://: the cookie store takes no URL options; accepted: cookie:// with the keys in %s or Config.Keys", EnvKeys)
	}
	if len(c.Keys) == 0 {
		return nil, configErr("cookie://: no keys; set %s (or Config.Keys) to comma-separated base64 %d-byte keys, newest first, made with: head -c 32 /dev/urandom | base64", EnvKeys, KeySize)
	}
	keys, err := DecodeKeys(c.Keys)
	if err != nil {
		return nil, err
	}
	var opts []cookie.Option
	if len(keys) > 1 {
		opts = append(opts, cookie.WithOldKeys(keys[1:]...))
	}
	s, err := cookie.New(keys[0], opts...)
	if err != nil {
		return nil, cookieKeyErr(keys, err)
	}
	return s, nil
}

// cookieKeyErr says which key cookie.New refused and why, in this
// package's words (with the base64 hint that fits SESSION_KEYS): it tells
// the reasons apart with errors.Is, never from the cookie package's text.
func cookieKeyErr(keys [][]byte, err error) error {
	const accepted = "accepted: 32 bytes from a cryptographic random source in base64, such as the output of: head -c 32 /dev/urandom | base64"
	for i, k := range keys {
		kerr := err
		if len(keys) > 1 {
			if _, kerr = cookie.New(k); kerr == nil {
				continue
			}
		}
		why := "the cookie store refuses it"
		switch {
		case errors.Is(kerr, cookie.ErrWeakKey):
			why = "it is not random: all its bytes are equal, or it is printable text (a password, or a key encoded twice?)"
		case errors.Is(kerr, cookie.ErrKeySize):
			why = fmt.Sprintf("it is not %d bytes", cookie.KeySize)
		}
		return configErr("cookie://: key %d of %d: %s; %s", i+1, len(keys), why, accepted)
	}
	return configErr("cookie://: the cookie store refuses the keys; %s", accepted)
}
