package gincontrib

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionware/sessions"
)

// Memcached returns a Migrator that reads gin-contrib's memcached store
// (memcached.NewStore(client, keyPrefix, keyPairs...)) under the cookie
// name, with its default options. See [MemcachedWith].
func Memcached(name string, client *memcache.Client, keyPrefix string, keyPairs ...[]byte) sessions.Migrator {
	return MemcachedWith(name, client, keyPrefix, keyPairs)
}

// MemcachedWith returns a Migrator that reads gin-contrib's memcached
// store, github.com/bradleypeabody/gorilla-sessions-memcache: the cookie
// name holds the session ID, a gob string that gorilla/securecookie signed
// (and encrypted, if a pair has a second key) with keyPairs, which must be
// the old program's, in its order; the record under keyPrefix+ID holds
// gorilla's Values map, gob-encoded and then signed the same way (the
// store's default method, the only one gin-contrib uses). The legacy
// session's ID is the store's ID; it expires the maximum age after the
// old program last saved it (the record's time to live is that maximum
// age too). End deletes the record.
//
// gomemcache reads an item whole: memcached's item size limit (-I,
// default 1 MiB) bounds what Find reads, and Find decodes nothing of a
// record larger than [WithMaxRecordSize]. The client's Timeout bounds
// each call (gomemcache takes no context).
//
// It panics on a nil client, an invalid cookie name, key pairs that
// securecookie cannot use, and an option of another store.
func MemcachedWith(name string, client *memcache.Client, keyPrefix string, keyPairs [][]byte, opts ...Option) sessions.Migrator {
	if client == nil {
		panic("gincontrib: Memcached: nil client")
	}
	c := newConfig(opts)
	return &memcachedReader{
		reader:    newReader("Memcached", name, keyPairs, c, false, true),
		client:    client,
		prefix:    keyPrefix,
		maxRecord: c.maxRecordSize,
	}
}

// errRecordUnverified: a memcached record whose cookie verified does not.
var errRecordUnverified = errors.New("it does not verify with the key pairs")

type memcachedReader struct {
	reader
	client    *memcache.Client
	prefix    string
	maxRecord int
}

// Find returns the session whose ID r's legacy cookie holds, or nil if it
// has no cookie that verifies, or the record is gone or has expired.
func (r *memcachedReader) Find(_ context.Context, req *http.Request) (*sessions.Legacy, error) {
	id, o, err := r.recordID(req, "memcached store")
	if err != nil || id == "" {
		return nil, err
	}
	key := r.prefix + id
	name := recordName(r.prefix, id)
	item, err := r.client.Get(key)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return nil, nil // gone
	}
	if err != nil {
		return nil, fmt.Errorf("gincontrib: memcached store: get %q: %w", name, err)
	}
	if len(item.Value) > r.maxRecord {
		return nil, fmt.Errorf("gincontrib: memcached store: record %q is %d bytes: %w (at most %d)", name, len(item.Value), ErrTooLarge, r.maxRecord)
	}
	rec, v := r.open(r.name, string(item.Value), r.maxRecord)
	switch v {
	case expired:
		return nil, nil // as good as gone: the store would refuse it too
	case unverified:
		return nil, undecodable(fmt.Sprintf("memcached store, record %q", name), errRecordUnverified)
	}
	m, err := gobValues(rec.payload)
	if err != nil {
		return nil, undecodable(fmt.Sprintf("memcached store, record %q", name), err)
	}
	expires := earliest(r.expires(o.written), r.expires(rec.written))
	return r.legacy(id, expires, m), nil
}

// End deletes l's record.
func (r *memcachedReader) End(_ context.Context, l *sessions.Legacy) error {
	if l.ID == "" {
		return nil
	}
	err := r.client.Delete(r.prefix + l.ID)
	if err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		return fmt.Errorf("gincontrib: memcached store: delete %q: %w", recordName(r.prefix, l.ID), err)
	}
	return nil
}
