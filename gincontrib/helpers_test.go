package gincontrib_test

import (
	"encoding/gob"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions/gincontrib"
	"github.com/sessionware/sessions/gincontrib/cookie"
	"github.com/sessionware/sessions/gincontrib/memcached"
	"github.com/sessionware/sessions/gincontrib/memstore"
	"github.com/sessionware/sessions/gincontrib/redis"
	"github.com/sessionware/sessions/internal/testapp"
	"github.com/sessionware/sessions/internal/testserver"
)

func init() {
	gin.SetMode(gin.TestMode)
	gob.Register(Profile{})
	gob.Register(&Account{})
	gob.Register(Role(""))
	gob.Register(map[string]any{})
}

// Profile, Account and Role are the kinds of values gin-contrib programs
// keep: a struct registered as a value, one registered as a pointer, a
// named string type.
type Profile struct {
	Name  string
	Admin bool
	Tags  map[string]int
}

type Account struct{ ID int64 }

type Role string

// unregistered is a struct that no one registered with gob.
type unregistered struct{ X int }

// hashKey and blockKey are a gin-contrib key pair.
var (
	hashKey  = []byte("0123456789abcdef0123456789abcdef-hash-key-of-the-app")
	blockKey = []byte("0123456789abcdef0123456789abcdef")
)

// kind is one of the drop-in's stores.
type kind struct {
	name string
	make func(t *testing.T) gincontrib.Store
	// sealed: the whole session is in the cookie (last write wins).
	sealed bool
}

// kinds returns every store, on a real redis-server and memcached that
// the test starts.
func kinds(t *testing.T) []kind {
	t.Helper()
	rs := testserver.Redis(t)
	ms := testserver.Memcached(t)
	return []kind{
		{name: "cookie", sealed: true, make: func(t *testing.T) gincontrib.Store { return cookie.NewStore(hashKey, blockKey) }},
		{name: "memstore", make: func(t *testing.T) gincontrib.Store {
			s := memstore.NewStore(hashKey)
			t.Cleanup(func() { s.(io.Closer).Close() })
			return s
		}},
		{name: "redis", make: func(t *testing.T) gincontrib.Store {
			s, err := redis.NewStore(10, "tcp", rs.Addr, "", "", hashKey, blockKey)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.(io.Closer).Close() })
			// Each store its own keys in the one server.
			if err := redis.SetKeyPrefix(s, "t"+strings.ReplaceAll(t.Name(), "/", ".")+":"); err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{name: "memcached", make: func(t *testing.T) gincontrib.Store {
			return memcached.NewStore(memcache.New(ms.Addr), "t"+strings.ReplaceAll(t.Name(), "/", ".")+":", hashKey, blockKey)
		}},
	}
}

// forEach runs f on every store.
func forEach(t *testing.T, f func(t *testing.T, k kind)) {
	for _, k := range kinds(t) {
		t.Run(k.name, func(t *testing.T) { f(t, k) })
	}
}

// app serves routes behind Sessions("mysession", store) over real HTTP.
func app(t *testing.T, store gincontrib.Store, routes func(r *gin.Engine)) *testapp.App {
	return testapp.NewGin(t, func(r *gin.Engine) {
		r.Use(gincontrib.Sessions("mysession", store))
		routes(r)
	})
}

// setCookies returns the Set-Cookie lines of resp for the cookie name.
func setCookies(resp *http.Response, name string) []string {
	var out []string
	for _, line := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=") {
			out = append(out, line)
		}
	}
	return out
}
