package sessions

import (
	"context"
	"errors"
	"time"
)

// Store keeps sessions on the server side, each under a key that the
// middleware derives from the session ID (the store never sees the raw ID).
// Implementations must be safe for concurrent use. Package storetest holds
// the conformance suite that every Store must pass.
//
// A store treats Record.Data as opaque bytes and must not keep a reference
// to the slice Save is given (copy it): the middleware reuses it. The
// middleware never modifies the Data slice a store returns.
type Store interface {
	// Load returns the record stored under key, or ErrNotFound when there
	// is none or it has expired.
	Load(ctx context.Context, key string) (Record, error)

	// Save stores data under key for ttl (ttl > 0), compare-and-swap style:
	// with version 0 it succeeds only if nothing is stored under key; with
	// any other version only if the stored record still has that version.
	// Otherwise it returns ErrConflict and changes nothing.
	//
	// It returns the new record's version, or 0 when the store cannot tell
	// without another round trip; the middleware then reloads before any
	// further save of the same session.
	Save(ctx context.Context, key string, data []byte, version uint64, ttl time.Duration) (uint64, error)

	// Delete removes the record under key. Deleting a key that does not
	// exist is not an error.
	Delete(ctx context.Context, key string) error
}

// Record is one stored session as a Store returns it.
type Record struct {
	// Data is the encoded session. Treat it as read-only.
	Data []byte
	// Version identifies this state of the record for Save's
	// compare-and-swap. It is never 0 for a stored record.
	Version uint64
	// Touched is when Toucher.Touch last pushed the record's expiry, or the
	// zero time if it never did (or the store does not implement Toucher).
	Touched time.Time
	// Compact asks the middleware to refresh the record by saving it again
	// rather than by touching it, when a refresh is next due (a store whose
	// touches make the record grow sets it).
	Compact bool
}

// Toucher is implemented by stores that can extend a record's time to live
// without rewriting it. The middleware uses it to slide the idle timeout of
// a session that was read but not changed, at most once per refresh
// interval (see WithIdleTimeout); without it, such a refresh is a Save of
// the unchanged data. The Touched time comes from the store's clock, so a
// test that sets the middleware's clock (WithClock) should set the store's
// too.
type Toucher interface {
	// Touch sets the time to live of the record under key to ttl and
	// records the current time as the record's Touched time. It returns
	// ErrNotFound when there is no such record.
	Touch(ctx context.Context, key string, ttl time.Duration) error
}

// Sealer is implemented by stores that keep the whole session in the cookie
// instead of on the server (package cookie). For such a store the middleware
// seals the encoded session into the cookie value and opens it on the next
// request; it never calls Load, Save or Delete.
type Sealer interface {
	// Seal encrypts and authenticates payload for the cookie called name
	// and returns the cookie value. It must not keep payload, which the
	// middleware reuses.
	Seal(name string, payload []byte) (string, error)
	// Open reverses Seal. Any value that Seal did not produce for name,
	// with one of the store's keys, is an error. rotated reports that an
	// older key opened it, so the middleware seals it again with the
	// current key before the response.
	Open(name, value string) (payload []byte, rotated bool, err error)
}

// Errors that stores return and the middleware understands.
var (
	// ErrNotFound: no record is stored under the key.
	ErrNotFound = errors.New("sessions: not found")
	// ErrConflict: a compare-and-swap Save lost to a concurrent change.
	ErrConflict = errors.New("sessions: conflicting concurrent update")
	// ErrTooLarge: the session is larger than the store (or a cookie) can
	// hold. Backends wrap it in their own errors; DefaultErrorHandler
	// answers 500 for it, not 503, since retrying cannot help.
	ErrTooLarge = errors.New("sessions: session too large for the store")
)

// StoreError wraps an error that a Store returned while loading or saving,
// so that an error handler can tell a backend failure (503 by default) from
// an error of the session's content (500 by default).
type StoreError struct {
	Op  string // "load", "save", "touch" or "delete"
	Err error
}

func (e *StoreError) Error() string { return "sessions: store " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the store's error.
func (e *StoreError) Unwrap() error { return e.Err }
