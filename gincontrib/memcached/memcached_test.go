package memcached_test

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions/gincontrib"
	"github.com/sessionware/sessions/gincontrib/memcached"
	"github.com/sessionware/sessions/internal/testapp"
	"github.com/sessionware/sessions/internal/testserver"
)

// TestKeyPrefix: sessions go under keyPrefix, or "session:" for an empty
// one (gin-contrib's README passes ""); a prefix memcached cannot take
// panics.
func TestKeyPrefix(t *testing.T) {
	srv := testserver.Memcached(t)
	client := memcache.New(srv.Addr)
	for _, tc := range []struct{ prefix, want string }{{"", "session:"}, {"myapp_", "myapp_"}} {
		st := memcached.NewStore(client, tc.prefix, []byte("secret"))
		a := testapp.NewGin(t, func(r *gin.Engine) {
			r.Use(gincontrib.Sessions("mysession", st))
			r.POST("/set", func(c *gin.Context) { gincontrib.Default(c).Set("user", "alice"); c.String(200, "ok") })
		})
		a.Expect("POST", "/set", 200, "ok")
		raw, err := base64.RawURLEncoding.DecodeString(a.Cookie("mysession"))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(raw)
		if _, err := client.Get(tc.want + base64.RawURLEncoding.EncodeToString(sum[:])); err != nil {
			t.Errorf("prefix %q: the session is not under %q: %v", tc.prefix, tc.want, err)
		}
	}
	defer func() {
		if msg, _ := recover().(string); !strings.Contains(msg, "space or control character") {
			t.Errorf("a prefix with a space: panicked with %q", msg)
		}
	}()
	memcached.NewStore(client, "my app")
}
