// Package memcached keeps sessions on one or many memcached servers, with
// github.com/bradfitz/gomemcache as the client.
//
// # Compare-and-swap
//
// A record's version is memcached's CAS unique (memcache.Item.CasID), read
// by Load with a single "gets". Save with version 0 is "add" (stored only
// if the key is absent); any other version is "cas". EXISTS, NOT_STORED
// and NOT_FOUND all become sessions.ErrConflict, so the middleware reloads,
// re-applies the request's changes and retries: concurrent requests of one
// session lose no update. The text protocol does not return the new CAS
// unique after a store, so Save returns version 0 and the middleware
// reloads before a second save in the same request.
//
// # Sliding expiry without rewriting the session
//
// The middleware pushes the idle deadline of a read-only session at most
// once per refresh interval, and needs Record.Touched to know when it last
// did, in the same single round trip as the load. This package frames the
// stored value itself:
//
//	value = session data || stamp || stamp || ...
//	flags = length of the session data
//
// Touch sends memcached's "gat" (get and touch: it moves the expiry and
// tells how many stamps the item holds) and then "append"s one 8-byte stamp
// (big-endian Unix milliseconds) of the time the middleware gives it. The
// session data is not sent: "append" keeps the item's flags and expiry and
// adds 8 bytes. Load splits the value at the length in the flags and
// reports the last stamp as Touched; a read whose refresh is not due is
// therefore exactly one "gets". The next real Save writes the data alone,
// which drops the stamps. The price: an "append" changes the CAS unique, so
// a request that saves concurrently with another's touch takes one extra
// reload-and-retry; and a session that is only read, never changed, grows
// by 8 bytes per refresh, up to 64 stamps (512 bytes): a Touch that finds
// 64 stamps rewrites the item as the data and one stamp instead ("gets",
// then "cas"; if the cas loses, a save or another touch came first, and
// there is nothing left to do).
// If an append is refused because the item would pass the server's size
// limit, Touch still succeeds (the expiry did move) and rewrites the item
// without its older stamps; a session whose data alone fills the item
// keeps no stamp, so its reads refresh each time until a save.
// A separate timestamp key was the alternative;
// it was rejected because loading two keys is a multi-get (more work on
// every read), because the stamp could be evicted apart from the session,
// and because a client whose selector does not place both keys on one
// server would pay two round trips. (memcached's meta protocol can report
// an item's remaining TTL, but gomemcache does not speak it.)
//
// # Expiration
//
// memcached reads an expiration above 2,592,000 seconds (30 days) as an
// absolute Unix time. TTLs up to 30 days are sent as relative seconds,
// longer ones as now + TTL (the app's and the server's clocks must roughly
// agree, as they must for any absolute expiry). TTLs are rounded up to
// whole seconds, plus one second, because memcached's clock ticks once a
// second and an item stored with "1" can otherwise expire at once; a record
// thus lives between TTL and TTL + 2 s (the middleware enforces the exact
// deadlines itself). The text protocol carries expirations as 32-bit
// numbers, so no item can outlive January 2038.
//
// # Several servers
//
// Open spreads keys with rendezvous (highest random weight) hashing
// (RendezvousSelector): adding a server to N moves about 1/(N+1) of the
// sessions, where gomemcache's default ServerList (CRC32 modulo N) moves
// most of them. Every key carries the store's prefix (default "session:");
// nothing in this package flushes a server.
//
// # Failures
//
// gomemcache takes no context: every method checks ctx.Err() before each
// command, and each command is bounded by the client's timeout (Open:
// WithTimeout, default 500 ms). A store error reaches the middleware, whose
// error handler answers 503; the stored session is never overwritten by an
// empty one. After a connection fails mid-use (the server restarted, say)
// the client's idle connections are dropped, so that no stale connection
// fails a later request; Load, Touch, Delete and add (version 0) are
// retried once on a fresh connection, while Save's "cas" is not, since a
// lost reply to it cannot be told from a conflict. A value over the server's item
// size limit (memcached -I, 1 MB by default) is ErrTooLarge.
package memcached
