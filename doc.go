// Package sessions gives every Gin request a session: a small map of values
// that survives across a browser's requests, kept by a pluggable [Backend]
// (packages memory, cookie, memcached, redis; package backends picks one
// from a URL).
//
// The session loads on first use, so a handler that never touches it costs
// nothing, and saves by itself just before the response header goes out,
// only when something changed: there is no Save to forget and no Modified
// flag, and a map changed in place is seen. Concurrent requests of one
// session lose no update on stores with compare-and-swap, session IDs are
// 256 random bits that the store never sees in the clear, and a store that
// fails gives the client an error, never an empty session that would
// overwrite the real one.
//
// The design notes are in the repository's docs/ folder: the request's
// states and the commit path (docs/core.md) and the Store contract
// (docs/store-contract.md).
package sessions
