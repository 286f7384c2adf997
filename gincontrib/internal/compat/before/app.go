// Package before is a small program written for gin-contrib/sessions
// v1.0.4. Package after is the same file with the import paths changed to
// the drop-in (TestTheSameCode checks that nothing else differs).
package before

import (
	"fmt"
	"net/http"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/gin-gonic/gin"

	"github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/cookie"
	"github.com/gin-contrib/sessions/memcached"
	"github.com/gin-contrib/sessions/redis"

	"github.com/sessionware/sessions/gincontrib/internal/compat/model"
)

// Config says where the program keeps its sessions.
type Config struct {
	Store     string // "cookie", "redis" or "memcached"
	Addr      string // the server's, for redis and memcached
	KeyPrefix string // for redis.SetKeyPrefix, and memcached's prefix
	KeyPairs  [][]byte
}

// New returns the program's handler.
func New(cfg Config) (*gin.Engine, error) {
	var store sessions.Store
	switch cfg.Store {
	case "cookie":
		store = cookie.NewStore(cfg.KeyPairs...)
	case "redis":
		s, err := redis.NewStore(10, "tcp", cfg.Addr, "", "", cfg.KeyPairs...)
		if err != nil {
			return nil, err
		}
		if err := redis.SetKeyPrefix(s, cfg.KeyPrefix); err != nil {
			return nil, err
		}
		store = s
	case "memcached":
		store = memcached.NewStore(memcache.New(cfg.Addr), cfg.KeyPrefix, cfg.KeyPairs...)
	default:
		return nil, fmt.Errorf("unknown store %q", cfg.Store)
	}
	store.Options(sessions.Options{Path: "/", MaxAge: 86400, HttpOnly: true, SameSite: http.SameSiteLaxMode})

	r := gin.New()
	r.Use(sessions.Sessions("mysession", store))
	r.POST("/login", func(c *gin.Context) {
		session := sessions.Default(c)
		session.Set("user", c.Query("user"))
		session.Set("profile", model.Profile{Name: c.Query("name"), Admin: true})
		session.Set("visits", 1)
		session.Set("cart", map[string]int{"apple": 2})
		session.AddFlash("welcome")
		session.AddFlash("check your email", "info")
		if err := session.Save(); err != nil {
			c.String(http.StatusInternalServerError, "%v", err)
			return
		}
		c.String(http.StatusOK, "logged in")
	})
	r.GET("/me", func(c *gin.Context) {
		session := sessions.Default(c)
		user, ok := session.Get("user").(string)
		if !ok {
			c.String(http.StatusUnauthorized, "not logged in")
			return
		}
		profile := session.Get("profile").(model.Profile)
		visits := session.Get("visits").(int) + 1
		session.Set("visits", visits)
		cart := session.Get("cart").(map[string]int)
		flashes, info := session.Flashes(), session.Flashes("info")
		if err := session.Save(); err != nil {
			c.String(http.StatusInternalServerError, "%v", err)
			return
		}
		c.String(http.StatusOK, "%s %+v visits=%d cart=%v flashes=%v info=%v", user, profile, visits, cart, flashes, info)
	})
	r.POST("/logout", func(c *gin.Context) {
		session := sessions.Default(c)
		session.Clear()
		session.Options(sessions.Options{MaxAge: -1})
		if err := session.Save(); err != nil {
			c.String(http.StatusInternalServerError, "%v", err)
			return
		}
		c.String(http.StatusOK, "logged out")
	})
	return r, nil
}
