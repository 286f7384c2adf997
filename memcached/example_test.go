package memcached_test

import (
	"log"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/memcached"
)

// Open builds a client tuned for session traffic: rendezvous hashing over
// the servers, 64 idle connections per server, a 500 ms timeout.
func ExampleOpen() {
	store, err := memcached.Open([]string{"10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"},
		memcached.WithTimeout(300*time.Millisecond))
	if err != nil {
		log.Fatal(err)
	}
	r := gin.New()
	r.Use(sessions.Sessions("sid", store,
		sessions.WithLifetime(60*24*time.Hour),   // past memcached's 30-day limit: fine
		sessions.WithIdleTimeout(30*time.Minute), // slides with touch, never a rewrite
	))
	r.POST("/cart/:item", func(c *gin.Context) {
		// Concurrent requests of one session lose no update: the commit
		// uses cas, and reruns this function on a conflict.
		sessions.Default(c).Update("items", func(old any) any { n, _ := old.(int); return n + 1 })
		c.Status(204)
	})
	_ = r.Run(":8080")
}

// New uses a client you configured yourself, with your own prefix.
func ExampleNew() {
	client := memcache.New("127.0.0.1:11211")
	client.MaxIdleConns = 64 // gomemcache's default of 2 is too few for a web server
	client.Timeout = 300 * time.Millisecond
	store := memcached.New(client, memcached.WithPrefix("myapp:session:"))

	r := gin.New()
	r.Use(sessions.Sessions("sid", store))
	r.GET("/", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("visits", s.Get("visits"))
		c.String(200, "hello")
	})
	_ = r.Run(":8080")
}
