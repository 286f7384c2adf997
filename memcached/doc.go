// Package memcached keeps sessions on one or many memcached servers, with
// github.com/bradfitz/gomemcache as the client. A [Store] is a
// [sessions.Store] and a [sessions.Toucher].
//
//	store, err := memcached.Open([]string{"cache1:11211", "cache2:11211"})
//	...
//	r.Use(sessions.Sessions("session", store))
//
// [Open] builds a client for session traffic (rendezvous hashing over the
// servers, 64 idle connections per server, a 500 ms timeout); [New] takes a
// client you configured. Neither connects ([Store.Check] does, and
// backends.Open calls it): server names resolve when they are dialled.
//
// With several servers, Open's store ejects a server that fails 3
// commands in a row: its sessions go to the next server in their
// rendezvous order (a session that lived on it starts afresh; one begun
// meanwhile lives there at most 5 minutes past its last use), and it is
// probed every second. When it answers, the keys used meanwhile are
// deleted from it and from their fallback before they go home, so that a
// session destroyed during the outage never comes back in this process.
// Every call honours its context's deadline, even one shorter than the
// client's timeout. docs/memcached.md, "A server down", has the rules.
//
// Concurrent requests of one session lose no update: Load is one "gets",
// and Save is "add" or "cas" with the CAS unique as the version. A
// read-only session's idle deadline slides with "gat" and an appended
// 8-byte stamp, without resending the data; after 64 stamps, Touch
// rewrites the item with one. TTLs are rounded up to whole seconds, plus one,
// and TTLs past memcached's 30-day limit are sent as absolute times. Every
// key carries a prefix (default "session:"); nothing flushes a server.
//
// A session is at most 1 MiB by default (WithMaxRecordSize): Save refuses
// a larger one with ErrTooLarge. An item that is not a session record (its
// flags do not frame its value, or its data is over that size) is
// [sessions.ErrCorrupt], and the middleware starts a new session; a reply
// cut off in transit, or one for another key, is a transport error (503).
//
// The design note docs/memcached.md says how records are stored and why.
package memcached
