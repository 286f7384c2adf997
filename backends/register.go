package backends

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/sessionware/sessions"
)

// registry maps each scheme to the function that opens its URLs.
var registry = struct {
	sync.RWMutex
	open map[string]func(Config) (sessions.Backend, error)
}{open: make(map[string]func(Config) (sessions.Backend, error))}

// Register makes a backend available to [Open] and [Config.Open] under
// scheme, the way database/sql drivers register: a package that provides
// a store calls it from an init function, and a program that imports the
// package (for its side effect alone, if need be) opens the store by URL.
// The backends of this module register the same way.
//
// open is called with the Config being opened, its Store the URL with
// spaces trimmed and the scheme in lower case (Keys are the cookie keys,
// which other backends ignore). It returns a [sessions.Store] or a
// [sessions.Sealer], implementing io.Closer if it holds anything to
// release. It may check its server, as memcached:// and redis:// do
// (with a short timeout, and an option to turn the check off for programs
// that must start before their store); otherwise it should do no I/O. An
// error it returns that does not wrap [ErrConfig]
// comes out of Open wrapped in it, without the URL's password.
//
// scheme is what precedes "://": a lower-case letter followed by
// lower-case letters, digits, "+", "-" or ".". Register panics if scheme
// is not that, is already registered, or open is nil.
func Register(scheme string, open func(c Config) (sessions.Backend, error)) {
	if !validScheme(scheme) {
		panic(fmt.Sprintf("backends: Register of scheme %q: want a lower-case letter followed by lower-case letters, digits, \"+\", \"-\" or \".\"", scheme))
	}
	if open == nil {
		panic("backends: Register of scheme " + scheme + " with a nil open function")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.open[scheme]; dup {
		panic("backends: Register called twice for scheme " + scheme)
	}
	registry.open[scheme] = open
}

// validScheme reports whether s is a URL scheme (RFC 3986) in lower case.
func validScheme(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// lookup returns the open function of scheme, or nil.
func lookup(scheme string) func(Config) (sessions.Backend, error) {
	registry.RLock()
	defer registry.RUnlock()
	return registry.open[scheme]
}

// order is the order in which the built-in schemes are listed; registered
// ones follow in alphabetical order.
var order = []string{"memory", "cookie", "memcached", "redis", "rediss", "unix", "redis+cluster", "rediss+cluster", "redis+sentinel", "rediss+sentinel"}

// acceptedSchemes lists every registered scheme, for error messages.
func acceptedSchemes() string {
	registry.RLock()
	all := make([]string, 0, len(registry.open))
	for s := range registry.open {
		all = append(all, s)
	}
	registry.RUnlock()
	rank := func(s string) int {
		if i := slices.Index(order, s); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortFunc(all, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	for i, s := range all {
		all[i] = s + "://"
	}
	return strings.Join(all, ", ")
}
