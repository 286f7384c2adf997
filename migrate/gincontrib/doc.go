// Package gincontrib reads the sessions that github.com/gin-contrib/sessions
// wrote, so that a program moving to github.com/sessionware/sessions logs
// nobody out: each constructor returns a [sessions.Migrator] for
// [sessions.WithMigration].
//
//   - [Cookie] reads its cookie store (the whole session in the cookie),
//   - [Redis] its redis store (github.com/boj/redistore: the cookie holds
//     the session ID, the record "session_"+ID holds the values),
//   - [Memcached] its memcached store
//     (github.com/bradleypeabody/gorilla-sessions-memcache: the cookie
//     holds the session ID, the record keyPrefix+ID holds the values).
//
// Each verifies the cookie with the key pairs the old program gave
// gin-contrib, in the same order (github.com/gorilla/securecookie does
// the verifying and decrypting), and refuses a cookie older than the
// stores' maximum age (30 days unless [WithMaxAge] says otherwise). A
// cookie that does not verify, or whose record is gone, is no legacy
// session; a legacy session that is there but cannot be read (its store
// failed, a value of a type not registered with gob) is an error.
//
// Values under string keys carry over with their Go types, as gob decoded
// them; default-category flashes become flashes. Values under other keys
// are left behind. docs/migration.md says what is migrated and what is
// not, and what a rolling deploy does.
package gincontrib
