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
	for _, tc := range []struct {
		name, want string
		f          func()
	}{
		{"a prefix with a space", "space or control character", func() { memcached.NewStore(client, "my app", []byte("secret")) }},
		{"no key pairs", "no key pairs", func() { memcached.NewStore(client, "app_") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if msg, _ := recover().(string); !strings.Contains(msg, tc.want) {
					t.Errorf("panicked with %q, want %q", msg, tc.want)
				}
			}()
			tc.f()
		})
	}
}
