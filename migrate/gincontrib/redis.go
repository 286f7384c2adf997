package gincontrib

import (
	"context"
	"fmt"
	"net/http"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionware/sessions"
)

// Redis returns a Migrator that reads gin-contrib's redis store
// (redis.NewStore(size, network, address, username, password,
// keyPairs...)) under the cookie name, through client, with its default
// options. See [RedisWith].
func Redis(name string, client goredis.UniversalClient, keyPairs ...[]byte) sessions.Migrator {
	return RedisWith(name, client, keyPairs)
}

// RedisWith returns a Migrator that reads gin-contrib's redis store,
// github.com/boj/redistore: the cookie name holds the session ID, a gob
// string that gorilla/securecookie signed (and encrypted, if a pair has a
// second key) with keyPairs, which must be the old program's, in its
// order; the record under "session_"+ID ([WithKeyPrefix]) holds the gob
// of gorilla's Values map ([WithJSONSerializer] for redistore's JSON
// serializer). The legacy session's ID is the redistore ID; it expires
// when its record does, or the maximum age after the old program last
// saved it if that is sooner. Find reads the record's time to live, size
// and at most [WithMaxRecordSize] bytes of it in one MULTI/EXEC; End
// deletes the record.
//
// It panics on a nil client, an invalid cookie name, key pairs that
// securecookie cannot use, and an option of the cookie store.
func RedisWith(name string, client goredis.UniversalClient, keyPairs [][]byte, opts ...Option) sessions.Migrator {
	if client == nil {
		panic("gincontrib: Redis: nil client")
	}
	c := newConfig(opts)
	return &redisReader{
		reader:    newReader("Redis", name, keyPairs, c, true, true),
		client:    client,
		prefix:    c.keyPrefix,
		json:      c.json,
		maxRecord: c.maxRecordSize,
	}
}

type redisReader struct {
	reader
	client    goredis.UniversalClient
	prefix    string
	json      bool
	maxRecord int
}

// Find returns the session whose ID r's legacy cookie holds, or nil if it
// has no cookie that verifies or the record is gone.
func (r *redisReader) Find(ctx context.Context, req *http.Request) (*sessions.Legacy, error) {
	id, o, err := r.recordID(req, "redis store")
	if err != nil || id == "" {
		return nil, err
	}
	key := r.prefix + id
	name := recordName(r.prefix, id)
	var (
		ttl  *goredis.DurationCmd
		size *goredis.IntCmd
		data *goredis.StringCmd
	)
	_, err = r.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		ttl = p.PTTL(ctx, key)
		size = p.StrLen(ctx, key)
		data = p.GetRange(ctx, key, 0, int64(r.maxRecord)-1)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("gincontrib: redis store: read %q: %w", name, err)
	}
	if ttl.Val() == -2 {
		return nil, nil // gone
	}
	if n := size.Val(); n > int64(r.maxRecord) {
		return nil, fmt.Errorf("gincontrib: redis store: record %q is %d bytes: %w (at most %d)", name, n, ErrTooLarge, r.maxRecord)
	}
	payload := []byte(data.Val())
	var m map[any]any
	if r.json {
		m, err = jsonValues(payload)
	} else {
		m, err = gobValues(payload)
	}
	if err != nil {
		return nil, undecodable(fmt.Sprintf("redis store, record %q", name), err)
	}
	expires := r.expires(o.written)
	if d := ttl.Val(); d > 0 {
		expires = earliest(expires, r.now().Add(d))
	}
	return r.legacy(id, expires, m), nil
}

// End deletes l's record.
func (r *redisReader) End(ctx context.Context, l *sessions.Legacy) error {
	if l.ID == "" {
		return nil
	}
	if err := r.client.Del(ctx, r.prefix+l.ID).Err(); err != nil {
		return fmt.Errorf("gincontrib: redis store: delete %q: %w", recordName(r.prefix, l.ID), err)
	}
	return nil
}
