package sessions

import (
	"context"
	"net/http"
	"time"
)

// Migrator finds, in a request that brings no session of this library, a
// session that another library wrote, so that switching to this library
// logs nobody out (package migrate/gincontrib reads gin-contrib/sessions'
// cookie, redis and memcached stores). Install one with [WithMigration].
// Implementations must be safe for concurrent use.
type Migrator interface {
	// Find returns the legacy session that r carries, or nil and no error
	// when it carries none (no cookie, or one that does not verify with the
	// migrator's keys, or whose record is gone). An error means a legacy
	// session is there but could not be read (its store failed, or a value
	// cannot be decoded): the request then starts an empty session and the
	// error goes to c.Error.
	Find(ctx context.Context, r *http.Request) (*Legacy, error)
	// End ends the legacy session on the legacy side, where it has one
	// (deleting its record): the middleware calls it when the session
	// migrated from l is destroyed, so that a logout is not undone by the
	// legacy cookie. The middleware expires the legacy cookie itself.
	End(ctx context.Context, l *Legacy) error
}

// Legacy is a session that another library wrote, as a [Migrator] found
// it.
type Legacy struct {
	// ID identifies the legacy session among all of its migrator's,
	// the same on every request that carries it: the legacy store's
	// session ID, or a digest of a cookie that holds the whole session.
	// The middleware remembers it (hashed, in its Store, until Expires) so
	// that a legacy session is migrated once.
	ID string
	// Cookie, Path and Domain name the legacy cookie, which Destroy
	// expires (and, with ExpireCookie, the migration itself).
	Cookie, Path, Domain string
	// ExpireCookie asks the middleware to expire the legacy cookie as soon
	// as the session is migrated. Leave it false during a rolling deploy,
	// while instances of the old program still read the legacy cookie.
	ExpireCookie bool
	// Expires is when the legacy session would have ended; zero: unknown
	// (the middleware's lifetime applies).
	Expires time.Time
	// Values are the legacy session's values under string keys.
	Values map[string]any
	// Flashes are its flash messages by category ("" for the default
	// one), which Flashes returns as if AddFlash had added them.
	Flashes map[string][]any
}

// WithMigration has the middleware carry a session that another library
// wrote over into a new session of its own, with m finding it: a request
// that brings no live session of ours but a legacy session that m finds
// gets the legacy values, stored (or sealed) under our cookie at commit.
// The legacy cookie and record are left as they are, so that instances
// of the old program keep working during a rolling deploy.
//
// With a Store, a legacy session is migrated once: the first request that
// sees it records that in the Store (until the legacy session would have
// expired), and no later request migrates it again, whoever sends the
// legacy cookie. Destroy of the migrated session also ends the legacy one
// (Migrator.End deletes its record, where it has one) and expires the
// legacy cookie in the browser.
//
// With a Sealer (cookie://) nothing is kept on the server, so nothing can
// record a migration: a request that brings a valid legacy cookie and none
// of ours is migrated again, and after a logout (which expires both
// cookies in the browser, and ends a legacy record where there is one) a
// copy of a legacy cookie that is still valid is migrated again, as a copy
// of a sealed cookie stays valid until it expires. Where that matters,
// lower the legacy cookies' maximum age after the switch (the migrator's
// option), or keep the migration for a server-side store. Default none.
func WithMigration(m Migrator) Option { return func(c *config) { c.migrator = m } }
