package backends_test

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sessionware/sessions/backends"
)

// storeTypes is the type Config.Open returns for each scheme: the
// built-in ones and those of register_test.go ("test-neither" never
// opens).
var storeTypes = map[string]string{
	"test+mem":        "*backends_test.testStore",
	"memory":          "*memory.Store",
	"cookie":          "*cookie.Store",
	"memcached":       "*memcached.Store",
	"redis":           "*redis.Store",
	"rediss":          "*redis.Store",
	"unix":            "*redis.Store",
	"redis+cluster":   "*redis.Store",
	"rediss+cluster":  "*redis.Store",
	"redis+sentinel":  "*redis.Store",
	"rediss+sentinel": "*redis.Store",
}

// FuzzConfigOpen opens any store URL with any SESSION_KEYS. Open never
// panics. A store it opens is of the URL's scheme, and never one of a URL
// with a "/", "?" or "#" before its last "@" or, for the built-in schemes,
// with a control character (other than spaces). An error wraps ErrConfig,
// holds no control character, and shows no password of the URL and no
// key; neither do Redact and Config.String. The seed corpus
// (testdata/fuzz) holds every URL of the package's tests and URLs with
// passwords in every place.
func FuzzConfigOpen(f *testing.F) {
	const key = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80="
	f.Add("memory://?max_entries=10&cleanup=1s", "")
	f.Add("cookie://", key)
	f.Add("memcached://127.0.0.1:11211,[::1]?prefix=p:&timeout=1s&max_idle=2", "")
	f.Add("redis://user:hunter2-Pa55@127.0.0.1:6379/0?bogus=1", "")
	f.Add("redis+sentinel://:hunter2-Pa55@h:26379/0?master_name=m&sentinel_password=s3cr3t-Pw", "")
	f.Fuzz(func(t *testing.T, raw, keys string) {
		if actsAtOpen(raw) {
			t.Skip("go-redis dials at construction for min_idle_conns, and allocates pool_size up front")
		}
		raw = unchecked(raw)
		c := backends.Config{Store: raw, Keys: backends.SplitKeys(keys)}
		twin, pieces := secretPieces(c)
		// shows fails when out, said of c, shows a piece of a secret
		// that twinOut, said of twin, does not.
		shows := func(what, out, twinOut string) {
			t.Helper()
			for _, p := range pieces {
				if strings.Contains(out, p) && !strings.Contains(twinOut, p) {
					t.Fatalf("%s of %q (keys %q) shows %q of a secret: %s", what, raw, keys, p, out)
				}
			}
		}
		shows("Redact", backends.Redact(raw), backends.Redact(twin.Store))
		shows("String", c.String(), twin.String())

		s, err := c.Open()
		msg := fmt.Sprint(err)
		if err == nil {
			typ := fmt.Sprintf("%T", s)
			if cl, ok := s.(io.Closer); ok {
				_ = cl.Close()
			}
			u := strings.TrimSpace(raw)
			if u == "" {
				u = backends.DefaultURL
			}
			scheme, rest, _ := strings.Cut(u, "://")
			if want := storeTypes[strings.ToLower(scheme)]; typ != want {
				t.Fatalf("Open(%q) = a %s, want a %q for the scheme %q", raw, typ, want, scheme)
			}
			if at := strings.LastIndex(rest, "@"); at >= 0 && strings.ContainsAny(rest[:at], "/?#") {
				t.Fatalf("Open(%q) accepts a \"/\", \"?\" or \"#\" before the last \"@\"", raw)
			}
			if i := strings.IndexFunc(raw, isControl); i >= 0 && !strings.HasPrefix(typ, "*backends_test.") {
				t.Fatalf("Open(%q) accepts the control character %q", raw, raw[i])
			}
			return
		}
		if s != nil {
			t.Fatalf("Open(%q) returned a %T and the error %v", raw, s, err)
		}
		if !errors.Is(err, backends.ErrConfig) && !strings.Contains(msg, "neither a sessions.Store nor a sessions.Sealer") {
			t.Fatalf("Open(%q): %v, which does not wrap ErrConfig", raw, err)
		}
		if i := strings.IndexFunc(msg, func(r rune) bool { return r < ' ' || r == 0x7f }); i >= 0 {
			t.Fatalf("Open(%q): the error holds the control character %q: %s", raw, msg[i], msg)
		}
		ts, twinErr := twin.Open()
		if cl, ok := ts.(io.Closer); ok {
			_ = cl.Close()
		}
		shows("Open's error", msg, fmt.Sprint(twinErr))
	})
}

// secretPieces returns c's twin, c with every letter and digit of its
// passwords and keys changed, and the pieces of its secrets: every two
// characters of a password (a parser that cuts a password in two shows a
// part), written and decoded, and every key whole (a key decides which
// error Open gives, so the twin's may differ). A piece that the twin's URL
// holds, or that rotate leaves as it is, is left out: an error may show it
// for another reason. A piece that an error shows for c but not for the
// twin comes from the secret, not from the rest of the URL or the
// error's own words.
func secretPieces(c backends.Config) (twin backends.Config, pieces []string) {
	twin = backends.Config{Store: c.Store, Keys: make([]string, len(c.Keys))}
	for i, k := range c.Keys {
		twin.Keys[i] = rotate(k)
	}
	var pws []string
	for _, pw := range passwords(c.Store) {
		if strings.Count(c.Store, pw) == 1 { // else the URL shows it elsewhere
			twin.Store = strings.ReplaceAll(twin.Store, pw, rotate(pw))
			pws = append(pws, pw)
		}
	}
	for _, pw := range append(pws, decoded(pws)...) {
		n := min(len(pw), 2)
		for i := 0; i+n <= len(pw); i++ {
			pieces = append(pieces, pw[i:i+n])
		}
	}
	pieces = append(pieces, c.Keys...)
	return twin, slices.DeleteFunc(pieces, func(p string) bool { return p == rotate(p) || strings.Contains(twin.Store, p) })
}

// isControl reports a control character other than white space, which
// the parsers trim.
func isControl(r rune) bool {
	return r < ' ' && !strings.ContainsRune("\t\n\v\f\r", r) || r == 0x7f
}

// passwords returns the passwords of rawURL as the package documentation
// defines them, as written: what follows the first ":" of the user info
// (up to the last "@" after "://"), and the values of the options whose
// name holds "password".
func passwords(rawURL string) []string {
	_, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		rest = rawURL
	}
	var out []string
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if _, pw, ok := strings.Cut(rest[:at], ":"); ok && pw != "" {
			out = append(out, pw)
		}
	}
	if _, query, ok := strings.Cut(rest, "?"); ok {
		query, _, _ = strings.Cut(query, "#")
		for pair := range strings.SplitSeq(query, "&") {
			k, v, _ := strings.Cut(pair, "=")
			if dk, err := url.QueryUnescape(k); err == nil {
				k = dk
			}
			if strings.Contains(strings.ToLower(k), "password") && v != "" {
				out = append(out, v)
			}
		}
	}
	return out
}

// decoded returns the percent-decoded forms of secrets that have one.
func decoded(secrets []string) []string {
	var out []string
	for _, s := range secrets {
		for _, unescape := range []func(string) (string, error){url.PathUnescape, url.QueryUnescape} {
			if d, err := unescape(s); err == nil && d != s {
				out = append(out, d)
			}
		}
	}
	return out
}

// rotate changes every letter and digit of s to another of its kind,
// keeping hex digits hex (so that a %XX escape stays one) and everything
// else as it is, so that a URL parses the same with either.
func rotate(s string) string {
	next := func(r, lo, hi rune) rune { return lo + (r-lo+1)%(hi-lo+1) }
	return strings.Map(func(r rune) rune {
		switch {
		case '0' <= r && r <= '9':
			return next(r, '0', '9')
		case 'a' <= r && r <= 'f':
			return next(r, 'a', 'f')
		case 'g' <= r && r <= 'z':
			return next(r, 'g', 'z')
		case 'A' <= r && r <= 'F':
			return next(r, 'A', 'F')
		case 'G' <= r && r <= 'Z':
			return next(r, 'G', 'Z')
		}
		return r
	}, s)
}

// actsAtOpen reports a Redis URL that go-redis acts on at construction,
// which the fuzzer must not open: min_idle_conns dials the server at once,
// and pool_size and its kin allocate that many slots, which for a large
// number exhausts the fuzzer's memory.
func actsAtOpen(rawURL string) bool {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(rawURL), "://")
	if scheme = strings.ToLower(scheme); scheme != "unix" && !strings.HasPrefix(scheme, "redis") {
		return false
	}
	_, query, _ := strings.Cut(rest, "?")
	query, _, _ = strings.Cut(query, "#")
	q, _ := url.ParseQuery(query) // the options that parse, as url.URL.Query
	for k, vs := range q {
		sized := strings.HasSuffix(k, "pool_size") || strings.HasSuffix(k, "_conns") || strings.HasSuffix(k, "_dials")
		for _, v := range vs {
			n, err := strconv.Atoi(v)
			if k == "min_idle_conns" && (err != nil || n != 0) || sized && err == nil && n > 10_000 {
				return true
			}
		}
	}
	return false
}

// unchecked adds check=false to the options of a Redis or memcached URL,
// last (the last value of an option counts), so that Open skips its
// start-up check: the fuzzer must not connect to, or look up, the hosts it
// makes up.
func unchecked(rawURL string) string {
	rawURL = strings.TrimSpace(rawURL) // as Open does
	scheme, _, ok := strings.Cut(rawURL, "://")
	if scheme = strings.ToLower(scheme); !ok || scheme != "unix" && scheme != "memcached" && !strings.HasPrefix(scheme, "redis") {
		return rawURL
	}
	end := len(rawURL)
	if i := strings.Index(rawURL, "#"); i >= 0 {
		end = i
	}
	sep := "?"
	if strings.Contains(rawURL[:end], "?") {
		sep = "&"
	}
	return rawURL[:end] + sep + "check=false" + rawURL[end:]
}

// What the fuzzer found: memcached URLs with a control character, a byte
// beyond ASCII or a signed port opened a store that failed only when it
// dialled.
func TestOpenMemcachedRefusesUnprintableAddresses(t *testing.T) {
	for _, u := range []string{"memcached://\x00", "meMCAChed://\x00", "memcached:///\x00", "memcached://h\xff", "memcached://h:+1", "memcached://h\t:11211"} {
		if s, err := backends.Open(u); err == nil || !errors.Is(err, backends.ErrConfig) {
			t.Errorf("Open(%q) = %T, %v; want an ErrConfig", u, s, err)
		}
	}
}
