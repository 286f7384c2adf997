// Package backends picks a session store by configuration, so that a
// program switches between the memory, cookie, memcached and Redis
// backends by changing one environment variable or one line of a config
// file, without touching handler code.
//
// A store is named by a URL:
//
//	memory://[?max_entries=N&cleanup=DURATION]
//	cookie://
//	memcached://host1:11211[,host2:11211…][?prefix=P&timeout=DURATION&max_idle=N&max_record=BYTES&eject_after=N&retry=DURATION&fallback_ttl=DURATION&check=BOOL]
//	redis://[user:password@]host:6379[/db][?prefix=P&max_record=BYTES&go-redis options]
//	rediss://…, unix://…, redis+cluster://…, rediss+cluster://…,
//	redis+sentinel://…, rediss+sentinel://…
//
// and any scheme that another package adds with [Register].
//
// # memory://
//
// Sessions in this process (package [memory]): for development, tests and
// a single instance. Options: max_entries bounds the number of sessions
// (default 100000, [memory.DefaultMaxEntries]; 0 for no bound; see [memory.WithMaxEntries]); cleanup is how often
// expired sessions are reclaimed, as a Go duration such as 30s or 5m
// (default 1m; 0 disables the cleanup goroutine; see
// [memory.WithCleanupInterval]). Nothing may follow "memory://" but options.
//
// # cookie://
//
// Sessions sealed with AES-GCM into the cookie itself (package [cookie]).
// The keys never go in the URL, where they would end up in logs: they come
// from [Config].Keys, or for [Open] and [FromEnv] from the SESSION_KEYS
// environment variable. Each key is 32 random bytes in standard or URL-safe base64
// (padded or not); SESSION_KEYS holds several separated by commas, newest
// first. The first key seals, every key opens, so a new key goes in front
// and an old one is removed once the sessions it sealed have expired. Make
// a key with
//
//	head -c 32 /dev/urandom | base64
//
// The cookie URL takes no options.
//
// # memcached://
//
// Sessions in one or several memcached servers (package [memcached]), as
// host:port separated by commas (the port defaults to 11211; an IPv6
// address goes in brackets; a host name is resolved each time the server is
// dialled), or in the one memcached listening on the Unix
// socket memcached:///path/to/memcached.sock. Options: prefix is put before
// every key (default "session:"; give each application sharing the
// servers its own); timeout bounds each connect, read and write, a Go
// duration from 1ms to 1m (default 500ms); max_idle is the number of idle
// connections kept per server, 1 to 10000 (default 64); max_record is the
// largest session in bytes, 1 to 1073741824 (default 1048576, memcached's
// default item size limit; see [memcached.WithMaxRecordSize]); eject_after
// is how many failures in a row take a server out of rotation, 0 to 1000
// (default 3; 0: never); retry is how often an ejected server is probed,
// 10ms to 1h (default 1s); fallback_ttl is the longest life of a session
// written to another server while its own is out, 1s to 24h (default 5m;
// see [memcached.WithEjectAfter] and docs/memcached.md); check=false skips
// the start-up check (below).
//
// # redis:// and its relatives
//
// Sessions in Redis (package [redis]). The URL is handed to [redis.Open], which
// accepts go-redis's URL syntax and query options (dial_timeout,
// read_timeout, pool_size, max_retries, …) plus prefix (default
// "session:") and max_record, the largest session in bytes, 1 to
// 536870912 (default 1048576; see [redis.WithMaxRecordSize]):
//
//	redis://[user:password@]host[:6379][/db][?options]            one server
//	rediss://…                                                    the same over TLS
//	unix://[user:password@]/path/to/redis.sock[?db=N&…]           a Unix socket
//	redis+cluster://[user:password@]host:port[?addr=host2:port&addr=…]
//	rediss+cluster://…                                            Redis Cluster (TLS)
//	redis+sentinel://[user:password@]sentinel:26379[/db]?master_name=NAME[&addr=sentinel2:26379]
//	rediss+sentinel://…                                           Sentinel (TLS)
//
// For Sentinel, the URL's user and password are the Sentinels' own; the
// master's go in the username and password query options.
//
// # Other backends
//
// A store of another package adds its scheme with [Register], the way
// database/sql drivers do, usually from an init function; a program that
// imports the package opens it by URL like the ones above.
//
// # Errors, secrets and closing
//
// A URL or option that is wrong is an error at start-up that names the
// problem and lists what is accepted; it wraps [ErrConfig]. There is no
// silent fallback to another backend and no panic. Errors never contain a
// secret: not the cookie keys, not a Redis password.
//
// Opening a memcached:// URL asks every server for its version (at once,
// each within the timeout): none answering is an error naming each; one
// of several not answering is ejected with a logged warning, and its
// sessions go to the others until it answers (check=false skips this, for
// a program that must start before its cache). Opening a Redis URL sends a
// PING (within 2 s): a server that cannot be reached or refuses the
// credentials is an error wrapping ErrConfig and redis.ErrCheck, which
// never shows the password (check=false skips it). With check=false, a
// server that is down gives 503 responses until it is back, and the
// program recovers by itself. Host names are resolved each time a server
// is dialled.
//
// Open returns a [sessions.Backend], whatever the URL: the backend
// packages' own types (*memory.Store, *cookie.Store, *memcached.Store,
// *redis.Store), which [sessions.Sessions] takes as they are. The server
// stores implement io.Closer: close the backend when the program ends, to
// stop the memory store's cleanup goroutine and close network connections.
// The cookie store holds nothing to close, so close what Open returned
// with
//
//	if c, ok := backend.(io.Closer); ok {
//		c.Close()
//	}
package backends

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/cookie"
	"github.com/sessionware/sessions/internal/urlsecret"
)

// Environment variables read by FromEnv (and by Open, for the cookie keys).
const (
	// EnvStore names the variable holding the store URL.
	EnvStore = "SESSION_STORE"
	// EnvKeys names the variable holding the cookie keys: comma-separated
	// base64 32-byte keys, newest first.
	EnvKeys = "SESSION_KEYS"
)

// DefaultURL is the store used when the configuration names none.
const DefaultURL = "memory://"

// KeySize is the length in bytes of a cookie key, after base64 decoding:
// [cookie.KeySize].
const KeySize = cookie.KeySize

// ErrConfig is wrapped by every error that Open returns for a wrong URL,
// option or key.
var ErrConfig = errors.New("backends: invalid session store configuration")

// Config selects and configures a store. Its zero value opens DefaultURL.
// It is plain data with JSON and YAML field tags, for programs that read a
// config file:
//
//	{"store": "cookie://", "keys": ["q1w2…=", "e3r4…="]}
//
//	store: memcached://cache1:11211,cache2:11211?prefix=shop:
//
// String, GoString and LogValue redact the secrets, so a Config can be
// printed or logged; encoding/json does not (it writes the keys), as a
// config file needs them.
type Config struct {
	// Store is the URL of the store (see the package documentation).
	// Default DefaultURL.
	Store string `json:"store,omitempty" yaml:"store,omitempty"`

	// Keys are the cookie backend's keys, newest first, each 32 bytes in
	// base64. The first one seals, all of them open. Only cookie:// uses
	// them; any other store ignores them.
	Keys []string `json:"keys,omitempty" yaml:"keys,omitempty"`
}

// FromEnv returns the Config that the environment describes: the store URL
// from SESSION_STORE (DefaultURL when unset or empty) and the keys from
// SESSION_KEYS (comma-separated). It does not validate anything; Open on
// the result does.
func FromEnv() Config {
	return Config{Store: os.Getenv(EnvStore), Keys: SplitKeys(os.Getenv(EnvKeys))}
}

// SplitKeys splits a comma-separated list of keys, as SESSION_KEYS holds
// it, dropping spaces around each key and empty entries.
func SplitKeys(s string) []string {
	var keys []string
	for k := range strings.SplitSeq(s, ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// Open opens the store that rawURL names (see the package documentation),
// taking the cookie keys from the SESSION_KEYS environment variable. It is
// Config{Store: rawURL, Keys: SplitKeys(os.Getenv("SESSION_KEYS"))}.Open(),
// except that an empty rawURL is an error rather than DefaultURL. Close
// the backend it returns if it implements io.Closer (see the package
// documentation).
func Open(rawURL string) (sessions.Backend, error) {
	if strings.TrimSpace(rawURL) == "" {
		return nil, configErr("the store URL is empty; accepted: %s", acceptedSchemes())
	}
	return Config{Store: rawURL, Keys: SplitKeys(os.Getenv(EnvKeys))}.Open()
}

// Open opens the store c names. Close the backend it returns if it
// implements io.Closer (every one but the cookie store does). A wrong URL,
// option or key is an error wrapping ErrConfig that says what is accepted.
func (c Config) Open() (sessions.Backend, error) {
	raw := strings.TrimSpace(c.Store)
	if raw == "" {
		raw = DefaultURL
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || scheme == "" {
		return nil, configErr("the store URL must start with a scheme followed by \"://\"; accepted: %s", acceptedSchemes())
	}
	scheme = strings.ToLower(scheme)
	open := lookup(scheme)
	if open == nil {
		return nil, configErr("unknown store scheme %q; accepted: %s", printable(scheme), acceptedSchemes())
	}
	if urlsecret.AmbiguousUserInfo(raw) {
		return nil, configErr("%s://: the user info (before the last \"@\") holds an unescaped \"?\", \"#\" or \"/\"; percent-encode it (%%3F, %%23, %%2F) so that the password is not read as options or a host", scheme)
	}
	raw = scheme + "://" + rest
	b, err := open(Config{Store: raw, Keys: c.Keys})
	if err != nil {
		if !errors.Is(err, ErrConfig) {
			// A registered backend's own error: mark it, and make sure
			// that it shows no password of the URL.
			err = configErr("%s://: %s", scheme, printable(urlsecret.Scrub(err.Error(), raw)))
		}
		return nil, err
	}
	switch b.(type) {
	case sessions.Store, sessions.Sealer:
		return b, nil
	}
	if c, ok := b.(io.Closer); ok {
		_ = c.Close()
	}
	return nil, fmt.Errorf("backends: the %s:// backend opened a %T, which is neither a sessions.Store nor a sessions.Sealer", scheme, b)
}

// cutScheme splits a URL that Config.Open hands to a backend into its
// scheme and what follows "://".
func cutScheme(raw string) (scheme, rest string) {
	scheme, rest, _ = strings.Cut(raw, "://")
	return scheme, rest
}

// Scheme returns the scheme of c's store URL, lower-cased ("memory" for an
// empty URL), or "" when the URL has none. A program uses it to treat a
// backend specially, such as making a temporary key for cookie:// when
// none is configured.
func (c Config) Scheme() string {
	raw := strings.TrimSpace(c.Store)
	if raw == "" {
		raw = DefaultURL
	}
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok {
		return ""
	}
	return strings.ToLower(scheme)
}

// String returns c with its secrets hidden: the store URL without user
// info or options, and the number of keys.
func (c Config) String() string {
	s := "store=" + Redact(c.Store)
	if len(c.Keys) > 0 {
		s += " keys=" + strconv.Itoa(len(c.Keys)) + " (hidden)"
	}
	return s
}

// GoString is String, so that %#v hides the secrets too.
func (c Config) GoString() string { return "backends.Config{" + c.String() + "}" }

// LogValue makes log/slog log c without its secrets.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("store", Redact(c.Store)), slog.Int("keys", len(c.Keys)))
}

// Redact returns rawURL fit for logs and error messages: its scheme, hosts
// and path, without user info (where passwords live) or options (where
// password options live). An empty URL gives DefaultURL; a URL that does
// not parse gives "(unparsable URL)".
func Redact(rawURL string) string {
	raw := strings.TrimSpace(rawURL)
	if raw == "" {
		return DefaultURL
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "(unparsable URL)"
	}
	if urlsecret.AmbiguousUserInfo(raw) {
		return printable(strings.ToLower(scheme)) + "://(redacted)"
	}
	rest, _, _ = strings.Cut(rest, "?")
	rest, _, _ = strings.Cut(rest, "#")
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = rest[at+1:]
	}
	return printable(strings.ToLower(scheme)) + "://" + printable(rest)
}

// printable replaces control characters, so that an error message cannot
// be made to forge log lines.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

func configErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

// option is one accepted query option of a URL.
type option struct {
	name, accepts string
	set           func(v string) error
}

// parseOptions applies query to opts, refusing unknown and repeated
// options and values that do not parse.
func parseOptions(scheme, query string, opts []option) error {
	q, err := url.ParseQuery(query)
	if err != nil {
		return configErr("%s://: malformed options (%s); accepted: %s", scheme, printable(err.Error()), optionList(opts))
	}
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		i := slices.IndexFunc(opts, func(o option) bool { return o.name == k })
		if i < 0 {
			return configErr("%s://: unknown option %q; accepted: %s", scheme, printable(k), optionList(opts))
		}
		o := opts[i]
		if len(q[k]) > 1 {
			return configErr("%s://: option %s is given %d times; give it once", scheme, k, len(q[k]))
		}
		if err := o.set(q[k][0]); err != nil {
			return configErr("%s://: option %s=%q: %v; accepted: %s", scheme, k, printable(q[k][0]), err, o.accepts)
		}
	}
	return nil
}

func optionList(opts []option) string {
	if len(opts) == 0 {
		return "none"
	}
	parts := make([]string, len(opts))
	for i, o := range opts {
		parts[i] = o.name + " (" + o.accepts + ")"
	}
	return strings.Join(parts, ", ")
}

// intOption parses a decimal integer in [lo, hi].
func intOption(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errors.New("not an integer")
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("out of range")
	}
	return n, nil
}

// durationOption parses a Go duration in [lo, hi]; a bare "0" is 0.
func durationOption(v string, lo, hi time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, errors.New("not a duration")
	}
	if d < lo || d > hi {
		return 0, errors.New("out of range")
	}
	return d, nil
}

// splitRest splits what follows "scheme://" into the authority-and-path
// part and the query, refusing fragments.
func splitRest(scheme, rest string) (string, string, error) {
	if strings.Contains(rest, "#") {
		return "", "", configErr("%s://: the URL must not have a #fragment", scheme)
	}
	head, query, _ := strings.Cut(rest, "?")
	return head, query, nil
}

var errEmpty = errors.New("empty")
