package redis_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/gob"
	"io"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionware/sessions/gincontrib"
	"github.com/sessionware/sessions/gincontrib/memstore"
	"github.com/sessionware/sessions/gincontrib/redis"
	"github.com/sessionware/sessions/internal/testapp"
	"github.com/sessionware/sessions/internal/testserver"
)

var hashKey = []byte("0123456789abcdef0123456789abcdef")

// storeKey is the key under which the middleware keeps the session whose
// cookie is value: the SHA-256 of the decoded ID, base64url.
func storeKey(t *testing.T, value string) string {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) != 32 {
		t.Fatalf("cookie %q is not an ID", value)
	}
	sum := sha256.Sum256(raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// login serves Sessions("mysession", st), sets a value, and returns the
// session's cookie value.
func login(t *testing.T, st gincontrib.Store) string {
	a := testapp.NewGin(t, func(r *gin.Engine) {
		r.Use(gincontrib.Sessions("mysession", st))
		r.POST("/set", func(c *gin.Context) { gincontrib.Default(c).Set("user", "alice"); c.String(200, "ok") })
	})
	a.Expect("POST", "/set", 200, "ok")
	return a.Cookie("mysession")
}

// TestConstructorsCheckTheServer: like gin-contrib's, the constructors
// PING the server and return its error: a server that is not there, a
// wrong password, a database that is not a number.
func TestConstructorsCheckTheServer(t *testing.T) {
	srv := testserver.Redis(t, "--requirepass", "pw")
	down := testserver.Redis(t)
	down.Stop()
	for _, tc := range []struct {
		name, want string
		f          func() (redis.Store, error)
	}{
		{"down", "connection refused", func() (redis.Store, error) { return redis.NewStore(10, "tcp", down.Addr, "", "", hashKey) }},
		{"wrong password", "WRONGPASS", func() (redis.Store, error) { return redis.NewStore(10, "tcp", srv.Addr, "", "nope", hashKey) }},
		{"no password", "NOAUTH", func() (redis.Store, error) { return redis.NewStore(10, "tcp", srv.Addr, "", "", hashKey) }},
		{"database", `database "one" is not a number`, func() (redis.Store, error) {
			return redis.NewStoreWithDB(10, "tcp", srv.Addr, "", "pw", "one", hashKey)
		}},
		{"nil client", "nil client", func() (redis.Store, error) { return redis.NewStoreWithClient(nil, hashKey) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := tc.f(); s != nil || err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, %v; want an error with %q", s, err, tc.want)
			}
		})
	}
	for _, user := range []string{"", "default"} {
		s, err := redis.NewStore(10, "tcp", srv.Addr, user, "pw", hashKey)
		if err != nil {
			t.Fatalf("user %q: %v", user, err)
		}
		s.(io.Closer).Close()
	}
}

// TestWhereSessionsGo: sessions go to the database of NewStoreWithDB,
// under redis.DefaultPrefix, or SetKeyPrefix's prefix; SetKeyPrefix
// fails once a middleware uses the store, and on another package's store.
func TestWhereSessionsGo(t *testing.T) {
	srv := testserver.Redis(t)
	db3 := goredis.NewClient(&goredis.Options{Addr: srv.Addr, DB: 3})
	defer db3.Close()

	s, err := redis.NewStoreWithDB(4, "tcp", srv.Addr, "", "", "3", hashKey)
	if err != nil {
		t.Fatal(err)
	}
	defer s.(io.Closer).Close()
	if n, err := db3.Exists(t.Context(), "session:"+storeKey(t, login(t, s))).Result(); n != 1 || err != nil {
		t.Errorf("the session is not under session:… in database 3: %d, %v", n, err)
	}
	if err := redis.SetKeyPrefix(s, "late:"); err == nil || !strings.Contains(err.Error(), "before Sessions") {
		t.Errorf("SetKeyPrefix after use: %v", err)
	}

	own := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	defer own.Close()
	s, err = redis.NewStoreWithClient(own, hashKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := redis.SetKeyPrefix(s, "myapp_"); err != nil {
		t.Fatal(err)
	}
	if n, err := own.Exists(t.Context(), "myapp_"+storeKey(t, login(t, s))).Result(); n != 1 || err != nil {
		t.Errorf("the session is not under the prefix: %d, %v", n, err)
	}
	s.(io.Closer).Close()
	if err := own.Ping(t.Context()).Err(); err != nil {
		t.Errorf("Close closed the program's own client: %v", err)
	}

	m := memstore.NewStore()
	defer m.(io.Closer).Close()
	if err := redis.SetKeyPrefix(m, "x"); err == nil {
		t.Error("SetKeyPrefix on a memstore store: no error")
	}
}

// Profile is a struct kept gob-encoded.
type Profile struct{ Name string }

func init() { gob.Register(Profile{}) }

// TestValuesAreSignedWithTheKeyPairs: the values kept gob-encoded in Redis
// are signed with a key derived from the key pairs. A program with other
// key pairs on the same keys in Redis (or someone who writes there) gets
// no such value decoded: it reads as nil with ErrUndecodable, while native
// values read as they are. A program whose key pairs were rotated (the
// old pair kept after the new) reads them. Without key pairs, the
// constructors fail.
func TestValuesAreSignedWithTheKeyPairs(t *testing.T) {
	srv := testserver.Redis(t)
	serve := func(keyPairs ...[]byte) *testapp.App {
		s, err := redis.NewStore(4, "tcp", srv.Addr, "", "", keyPairs...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.(io.Closer).Close() })
		return testapp.NewGin(t, func(r *gin.Engine) {
			r.Use(gincontrib.Sessions("mysession", s))
			r.POST("/set", func(c *gin.Context) {
				s := gincontrib.Default(c)
				s.Set("user", "alice")
				s.Set("profile", Profile{Name: "Alice"})
				c.String(200, "ok")
			})
			r.GET("/get", func(c *gin.Context) {
				s := gincontrib.Default(c)
				c.String(200, "%v %v", s.Get("user"), s.Get("profile"))
			})
		})
	}
	oldPair := []byte("the program's hash key, 32 bytes+")
	first := serve(oldPair)
	first.Expect("POST", "/set", 200, "ok")
	id := first.Cookie("mysession")

	other := serve([]byte("another program's hash key, 32 b+"))
	other.Stranger().Expect("GET", "/get", 200, "alice <nil>", testapp.WithCookie("mysession", id))
	if errs := other.Errors(); len(errs) != 1 || !strings.Contains(errs[0], gincontrib.ErrUndecodable.Error()+": no key verifies it") {
		t.Errorf("errors %q, want ErrUndecodable", errs)
	}
	rotated := serve([]byte("the program's new hash key, 32 b+"), nil, oldPair)
	rotated.Stranger().Expect("GET", "/get", 200, "alice {Alice}", testapp.WithCookie("mysession", id))

	if s, err := redis.NewStore(4, "tcp", srv.Addr, "", ""); s != nil || err == nil || !strings.Contains(err.Error(), "no key pairs") {
		t.Errorf("without key pairs: %v, %v", s, err)
	}
}
