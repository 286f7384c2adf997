package gincontrib

import (
	"bytes"
	"encoding/gob"
	"errors"
	"strings"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
	ginsessions "github.com/gin-contrib/sessions"
	gincookie "github.com/gin-contrib/sessions/cookie"
	"github.com/gin-gonic/gin"
	goredis "github.com/redis/go-redis/v9"
)

// TestConstructorsPanicOnWhatCannotWork: key pairs that securecookie
// cannot use, an invalid cookie name, a nil client, bad option values and
// an option of another store panic at construction, naming the problem,
// rather than failing every request later.
func TestConstructorsPanicOnWhatCannotWork(t *testing.T) {
	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	mc := memcache.New("127.0.0.1:1")
	for _, tc := range []struct {
		name, want string
		make       func()
	}{
		{"no keys", "no key pairs", func() { Cookie(cookieName) }},
		{"empty hash key", "key pair 1: securecookie: hash key is not set", func() { Cookie(cookieName, []byte{}) }},
		{"empty hash key in the second pair", "key pair 2", func() { Cookie(cookieName, hashA, nil, nil) }},
		{"block key of 10 bytes", "key pair 1: securecookie: error - caused by: crypto/aes: invalid key size 10", func() { Cookie(cookieName, hashA, []byte("0123456789")) }},
		{"empty name", "invalid cookie name", func() { Cookie("", hashA) }},
		{"name with a space", "invalid cookie name", func() { Cookie("my session", hashA) }},
		{"name with a semicolon", "invalid cookie name", func() { Redis("a;b", rdb, hashA) }},
		{"nil redis client", "nil client", func() { Redis(cookieName, nil, hashA) }},
		{"nil memcache client", "nil client", func() { Memcached(cookieName, nil, "", hashA) }},
		{"negative max age", "WithMaxAge(-1s): negative", func() { CookieWith(cookieName, pairs(hashA), WithMaxAge(-1e9)) }},
		{"zero record size", "WithMaxRecordSize(0)", func() { RedisWith(cookieName, rdb, pairs(hashA), WithMaxRecordSize(0)) }},
		{"relative path", "WithPath", func() { CookieWith(cookieName, pairs(hashA), WithPath("app")) }},
		{"path with an attribute", "WithPath", func() { CookieWith(cookieName, pairs(hashA), WithPath("/; Domain=evil.test")) }},
		{"domain with an attribute", "WithDomain", func() { CookieWith(cookieName, pairs(hashA), WithDomain("a.test; Secure")) }},
		{"empty flash category", "WithFlashCategories(\"\")", func() { CookieWith(cookieName, pairs(hashA), WithFlashCategories("")) }},
		{"_flash as a category", "WithFlashCategories(\"_flash\")", func() { CookieWith(cookieName, pairs(hashA), WithFlashCategories("a", "_flash")) }},
		{"key prefix on the cookie store", "Cookie: WithKeyPrefix applies to the redis store only", func() { CookieWith(cookieName, pairs(hashA), WithKeyPrefix("x")) }},
		{"key prefix on memcached", "Memcached: WithKeyPrefix applies to the redis store only", func() { MemcachedWith(cookieName, mc, "", pairs(hashA), WithKeyPrefix("x")) }},
		{"JSON on memcached", "WithJSONSerializer applies to the redis store only", func() { MemcachedWith(cookieName, mc, "", pairs(hashA), WithJSONSerializer()) }},
		{"record size on the cookie store", "Cookie: WithMaxRecordSize applies to the redis and memcached stores only", func() { CookieWith(cookieName, pairs(hashA), WithMaxRecordSize(10)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if msg, _ := r.(string); !strings.Contains(msg, tc.want) {
					t.Errorf("panicked with %v, want a message containing %q", r, tc.want)
				}
			}()
			tc.make()
		})
	}
	// Every valid form works: a last pair without a block key, nil block
	// keys, keys of every AES size, the options of each store.
	Cookie(cookieName, hashA, nil, hashB)
	Cookie(cookieName, hashA, blockA, hashB, blockB, hashX, blockB[:24])
	RedisWith(cookieName, rdb, pairs(hashA), WithKeyPrefix("p_"), WithJSONSerializer(), WithMaxRecordSize(1), WithMaxAge(0))
	MemcachedWith(cookieName, mc, "p_", pairs(hashA), WithMaxRecordSize(1), WithPath("/a"), WithDomain("a.test"), WithExpireCookie())
}

// TestCookieOfAnotherStoreIsAnError: a reader pointed at another store's
// cookie (the same keys verify it) says so, instead of finding nothing.
func TestCookieOfAnotherStoreIsAnError(t *testing.T) {
	s := startServers(t)
	ks := kinds(s)
	cookieStore, redisStore := ks[0], ks[1]
	c := login(t, legacyApp(cookieStore.store(t, hashA)))
	if l, err := redisStore.reader(pairs(hashA)).Find(t.Context(), request(c)); l != nil || !errors.Is(err, ErrUndecodable) || !strings.Contains(err.Error(), "no session ID") {
		t.Errorf("cookie store's cookie read as redis's: Find = %v, %v; want ErrUndecodable, no session ID", l, err)
	}
	c = login(t, legacyApp(redisStore.store(t, hashA)))
	if l, err := cookieStore.reader(pairs(hashA)).Find(t.Context(), request(c)); l != nil || !errors.Is(err, ErrUndecodable) {
		t.Errorf("redis store's cookie read as the cookie store's: Find = %v, %v; want ErrUndecodable", l, err)
	}
}

// brittle is a type whose gob decoding panics, as a type whose GobDecode
// the new program changed might: encoding/gob lets such a panic through.
type brittle struct{}

func (brittle) GobEncode() ([]byte, error) { return []byte("v1"), nil }
func (*brittle) GobDecode([]byte) error    { panic("brittle: cannot decode v1") }

func init() { gob.Register(brittle{}) }

// TestPanicInDecodingIsAnError: a panic while decoding the values becomes
// an error wrapping ErrUndecodable that carries the panic; Find does not
// panic.
func TestPanicInDecodingIsAnError(t *testing.T) {
	// encoding/gob really lets it through.
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(map[any]any{"b": brittle{}}); err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("gob did not panic: the test shows nothing")
			}
		}()
		var m map[any]any
		_ = gob.NewDecoder(&buf).Decode(&m)
	}()

	store := gincookie.NewStore(hashA)
	app := gin.New()
	app.Use(ginsessions.Sessions(cookieName, store))
	app.POST("/login", func(c *gin.Context) {
		s := ginsessions.Default(c)
		s.Set("user", "alice")
		s.Set("b", brittle{})
		if err := s.Save(); err != nil {
			c.String(500, err.Error())
		}
	})
	c := login(t, app)
	l, err := Cookie(cookieName, hashA).Find(t.Context(), request(c))
	if l != nil || !errors.Is(err, ErrUndecodable) || !strings.Contains(err.Error(), "brittle: cannot decode v1") {
		t.Fatalf("Find = %v, %v; want ErrUndecodable carrying the panic", l, err)
	}
}
