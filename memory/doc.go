// Package memory keeps sessions in the process's memory: for development,
// tests and single-instance servers. Sessions do not survive a restart and
// are not shared between processes.
//
// A store holds at most [DefaultMaxEntries] sessions unless
// [WithMaxEntries] says otherwise (23 MB with small sessions; see
// docs/memory.md). When it is full, saving a new session evicts one, by
// rules that keep a flood of new sessions from logging users out:
//
//   - A new session is probationary. When a request loads it again (its
//     client came back with the cookie), it becomes protected.
//   - A full store evicts the probationary session that has waited
//     longest, so new sessions push out new sessions. Protected sessions
//     are kept in the order they were last loaded; only when they fill
//     more than 90% of the bound does the least recently loaded one go
//     back to probation, to be evicted in its turn.
//   - A session loaded within the last minute ([WithInUse]) counts as in
//     use by a request and is never evicted nor sent back to probation.
//     When every session of a full shard is in use, Save refuses a new
//     session with [ErrFull] rather than evict one.
//
// Every step takes constant time: two linked lists per shard, no scan.
// [Store.Evictions] counts evictions, and the store logs them, at most
// once a minute ([WithLogger]).
package memory
