package sessions

import (
	"context"
	"errors"
	"time"
)

// Backend is where the Sessions middleware keeps sessions: a [Store], which
// keeps them on the server under a key that the cookie points to, or a
// [Sealer], which seals them into the cookie itself. Every store of this
// module and every value that backends.Open returns is one of the two.
// Sessions panics, at start-up, when given a value that is neither.
type Backend any

// Store keeps sessions on the server, each under a key that the middleware
// derives from the session ID (the store never sees the raw ID).
// Implementations must be safe for concurrent use. Package storetest holds
// the conformance suite that every Store must pass; docs/store-contract.md
// explains the design.
//
// Versions. Every stored record has a version, which Save compares and
// changes. A version is never 0: 0 means "no record" as Save's version
// argument, and "stored, but the new version is not known" as Save's
// result (the middleware then loads the record again before it saves the
// same session a second time). A store must give each saved state of a key
// a version that no earlier state of that key had (a random number or a
// counter), so that a request holding an old version can never overwrite a
// newer record.
//
// Data. A store treats Record.Data as opaque bytes and must not keep the
// slice Save is given (copy it): the middleware reuses it. The middleware
// never modifies the Data slice a store returns.
//
// Time. A store keeps the clock it needs for its own expiry: a record saved
// or touched with ttl is gone ttl later, by the store's clock, rounded up to
// the store's resolution (never down, and never to "forever"). The
// middleware decides everything else (lifetime, idle timeout) with its own
// clock, and hands the store the time it decided with where the store must
// record it ([Toucher]). The middleware saves records with TTLs as short as
// a few seconds (the markers that a renewed or destroyed session leaves
// behind), so a store must honour short TTLs.
type Store interface {
	// Load returns the record stored under key, or ErrNotFound when there
	// is none or it has expired. A record that exists but cannot be read
	// (wrong type, bad framing) is an error, not ErrNotFound.
	Load(ctx context.Context, key string) (Record, error)

	// Save stores data under key for ttl (ttl > 0), compare-and-swap style:
	// with version 0 it succeeds only if nothing is stored under key; with
	// any other version only if the stored record still has that version.
	// Otherwise it returns ErrConflict and changes nothing. It returns the
	// new record's version, or 0 when the store cannot tell without another
	// round trip. A record saved again starts Touched afresh (zero).
	Save(ctx context.Context, key string, data []byte, version uint64, ttl time.Duration) (uint64, error)

	// Delete removes the record under key, whatever its version. Deleting
	// a key that does not exist is not an error.
	Delete(ctx context.Context, key string) error
}

// Record is one stored session as a Store returns it.
type Record struct {
	// Data is the encoded session, as Save was given it. Treat it as
	// read-only.
	Data []byte
	// Version identifies this state of the record for Save's
	// compare-and-swap. It is never 0.
	Version uint64
	// Touched is the time of the last [Toucher.Touch] since the record
	// was saved, or the zero time if there was none (or the store does not
	// implement Toucher).
	Touched time.Time
}

// Toucher is an optional interface for stores that can extend a record's
// time to live without rewriting it. The middleware uses it to slide the
// idle timeout of a session that was read but not changed, at most once per
// refresh interval (see [WithIdleTimeout]); without it, such a refresh is a
// Save of the unchanged data.
type Toucher interface {
	// Touch sets the time to live of the record under key to ttl and
	// records at, the middleware's time, as the record's Touched time. It
	// may change the record's version (a store that must rewrite the
	// record to touch it does). It returns ErrNotFound when there is no
	// such record.
	Touch(ctx context.Context, key string, ttl time.Duration, at time.Time) error
}

// Sealer is a [Backend] that keeps the whole session in the cookie instead
// of on the server (package cookie). The middleware seals the encoded
// session into the cookie value and opens it on the next request.
type Sealer interface {
	// Seal encrypts and authenticates payload for the cookie called name
	// and returns the cookie value. It must not keep payload, which the
	// middleware reuses.
	Seal(name string, payload []byte) (string, error)
	// Open reverses Seal. Any value that Seal did not produce for name,
	// with one of the sealer's keys, is an error. rotated reports that an
	// older key opened it, so the middleware seals it again with the
	// current key before the response.
	Open(name, value string) (payload []byte, rotated bool, err error)
}

// Errors that stores return and the middleware understands.
var (
	// ErrNotFound is returned by Load and Touch when no record is stored
	// under the key.
	ErrNotFound = errors.New("sessions: not found")
	// ErrConflict is returned by Save when its compare-and-swap lost to a
	// concurrent change.
	ErrConflict = errors.New("sessions: conflicting concurrent update")
	// ErrCorrupt is returned (wrapped) by Load when a record exists under
	// the key but cannot be read: wrong framing or type, no version, or
	// over the store's size limit. The middleware treats it as it treats a
	// record it cannot decode: it records the error with c.Error and starts
	// a new session under a new ID, so a corrupt record never locks a user
	// out until it expires. A reply cut off in transit, or one for another
	// key, is a transport error, not ErrCorrupt: it says nothing about the
	// record asked for.
	ErrCorrupt = errors.New("sessions: corrupt record")
	// ErrTooLarge is returned when the session is larger than the store
	// (or a cookie) can hold. Backends wrap it in their own errors;
	// [DefaultErrorHandler] answers 500 for it, not 503, since retrying
	// cannot help.
	ErrTooLarge = errors.New("sessions: session too large for the store")
)

// StoreError wraps an error that a Store returned while loading or saving,
// so that an error handler can tell a backend failure (503 by default) from
// an error of the session's content (500 by default).
type StoreError struct {
	Op  string // "load", "save", "touch" or "delete"
	Err error
}

// Error describes the failed operation and the store's error.
func (e *StoreError) Error() string { return "sessions: store " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the store's error.
func (e *StoreError) Unwrap() error { return e.Err }
