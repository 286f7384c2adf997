package gincontrib

import (
	"fmt"
	"time"
)

// Option configures a reader made by [CookieWith], [RedisWith] or
// [MemcachedWith]. The zero set of options reads gin-contrib's defaults.
type Option func(*config)

// Defaults of gin-contrib's stores and of this package.
const (
	// DefaultMaxAge is the age after which gorilla/securecookie refuses a
	// cookie (and redistore's and the memcached store's records expire):
	// 30 days.
	DefaultMaxAge = 30 * 24 * time.Hour
	// DefaultRedisKeyPrefix is redistore's key prefix.
	DefaultRedisKeyPrefix = "session_"
	// DefaultMaxRecordSize bounds a record that Find reads from Redis or
	// memcached: 1 MiB.
	DefaultMaxRecordSize = 1 << 20
	// maxCookieLength is gorilla/securecookie's default (and gin-contrib's)
	// limit on an encoded cookie value; Find ignores longer cookies, as
	// gin-contrib would.
	maxCookieLength = 4096
)

type config struct {
	maxAge        time.Duration
	path, domain  string
	expireCookie  bool
	keyPrefix     string
	json          bool
	maxRecordSize int
	// flashCategories are keys whose []any values are flashes.
	flashCategories []string
	// redisOnly and recordOnly name the options given that only the
	// redis reader, or only the readers with records, act on.
	redisOnly, recordOnly []string
	now                   func() time.Time
}

func newConfig(opts []Option) config {
	c := config{
		maxAge:        DefaultMaxAge,
		path:          "/",
		keyPrefix:     DefaultRedisKeyPrefix,
		maxRecordSize: DefaultMaxRecordSize,
		now:           time.Now,
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithMaxAge sets the age after which a legacy cookie is refused, counted
// from the last time the old program saved the session: what it gave
// gorilla's CookieStore.MaxAge or redistore's SetMaxAge (not gin-contrib's
// Options.MaxAge, which sets the cookie's Max-Age and the record's time
// to live but leaves the cookie codecs at their 30 days). Default
// [DefaultMaxAge]; 0: no limit, as in gorilla. The constructors panic on a
// negative d.
func WithMaxAge(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			panic(fmt.Sprintf("gincontrib: WithMaxAge(%v): negative", d))
		}
		c.maxAge = d
	}
}

// WithPath and WithDomain name the Path and Domain attributes of the
// legacy cookie, as the old program set them with gin-contrib's
// Options, so that the middleware can expire it. Default "/" and none.
func WithPath(p string) Option { return func(c *config) { c.path = p } }

// WithDomain: see [WithPath].
func WithDomain(d string) Option { return func(c *config) { c.domain = d } }

// WithExpireCookie has the middleware expire the legacy cookie as soon as
// the session is migrated ([sessions.Legacy].ExpireCookie). Default: the
// cookie stays until the migrated session is destroyed, so that instances
// of the old program still read it during a rolling deploy; give this
// option once no old instance is left.
func WithExpireCookie() Option { return func(c *config) { c.expireCookie = true } }

// WithFlashCategories names the flash categories the old program used
// (gin-contrib's AddFlash(v, category)), so that their messages become
// flashes of those categories ([sessions.Session].Flashes(category) then
// returns them) instead of plain values. gorilla keeps a category's
// flashes as a []any under the category's name, among the other values:
// only the program knows which keys are categories. Default none: the
// default category ("_flash") alone becomes flashes, and a category's
// messages stay a []any value under its name. The constructors panic on
// an empty category or "_flash".
func WithFlashCategories(categories ...string) Option {
	return func(c *config) {
		for _, cat := range categories {
			if cat == "" || cat == flashKey {
				panic(fmt.Sprintf("gincontrib: WithFlashCategories(%q): the default category is always read", cat))
			}
		}
		c.flashCategories = append(c.flashCategories, categories...)
	}
}

// WithKeyPrefix sets the key prefix of the redis records, as the old
// program set it with gin-contrib's redis.SetKeyPrefix (redistore's
// SetKeyPrefix). Default [DefaultRedisKeyPrefix]. Redis only: the other
// constructors panic on it (the memcached store's prefix is an argument of
// [Memcached]).
func WithKeyPrefix(p string) Option {
	return func(c *config) {
		c.keyPrefix = p
		c.redisOnly = append(c.redisOnly, "WithKeyPrefix")
	}
}

// WithJSONSerializer reads redis records that redistore's JSONSerializer
// wrote (the old program called SetSerializer(redistore.JSONSerializer{})
// on the store that gin-contrib's redis.GetRedisStore returns): numbers
// then come back as float64, objects as map[string]any, as the old
// program saw them. Default gob, redistore's default. Redis only: the
// other constructors panic on it.
func WithJSONSerializer() Option {
	return func(c *config) {
		c.json = true
		c.redisOnly = append(c.redisOnly, "WithJSONSerializer")
	}
}

// WithMaxRecordSize bounds the record that Find reads from Redis or
// memcached, in bytes: a larger one is an error wrapping [ErrTooLarge],
// and Find decodes nothing of it. Default [DefaultMaxRecordSize]. Redis
// and memcached only: [CookieWith] panics on it. The constructors panic
// on n < 1.
func WithMaxRecordSize(n int) Option {
	return func(c *config) {
		if n < 1 {
			panic(fmt.Sprintf("gincontrib: WithMaxRecordSize(%d): not positive", n))
		}
		c.maxRecordSize = n
		c.recordOnly = append(c.recordOnly, "WithMaxRecordSize")
	}
}
