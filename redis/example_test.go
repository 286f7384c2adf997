package redis_test

import (
	"log"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/redis"
)

// New wraps a go-redis client that the application already has (a plain,
// cluster or failover client); the application closes it.
func ExampleNew() {
	client := goredis.NewClient(&goredis.Options{
		Addr:        "localhost:6379",
		DialTimeout: time.Second,
		ReadTimeout: 500 * time.Millisecond,
	})
	defer client.Close()

	store := redis.New(client, redis.WithPrefix("myapp:session:"))

	r := gin.New()
	r.Use(sessions.Sessions("sid", store,
		sessions.WithIdleTimeout(30*time.Minute), // the key's TTL follows it
		sessions.WithLifetime(12*time.Hour),
	))
	r.POST("/cart/:item", func(c *gin.Context) {
		// Update is re-run on the fresh value if another request of the
		// same session saved first: concurrent adds lose nothing.
		sessions.Default(c).Update("cart:"+c.Param("item"), func(old any) any {
			n, _ := old.(int)
			return n + 1
		})
		c.Status(http.StatusNoContent)
	})
	_ = r // r.Run(":8080")
}

// Open makes the client from a URL, for configuration files and
// environment variables; the store's Close closes it.
func ExampleOpen() {
	// Also: rediss:// (TLS), unix:///path.sock,
	// redis+cluster://node1:7000?addr=node2:7000,
	// redis+sentinel://sentinel1:26379/0?master_name=mymaster&addr=sentinel2:26379.
	store, err := redis.Open("redis://:password@localhost:6379/0?prefix=myapp:&dial_timeout=1s&read_timeout=500ms")
	if err != nil {
		log.Fatal(err) // the message never shows the password
	}
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Sessions("sid", store))
	r.GET("/", func(c *gin.Context) {
		user, _ := sessions.Get[string](sessions.Default(c), "user")
		c.String(http.StatusOK, "hello %s", user)
	})
	_ = r // r.Run(":8080")
}
