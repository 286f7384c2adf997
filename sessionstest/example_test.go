package sessionstest_test

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/memory"
	"github.com/sessionware/sessions/sessionstest"
)

// A handler test: two browsers, each with its own session, on the memory
// store, with no network.
func Example() {
	gin.SetMode(gin.TestMode)
	store := memory.New()
	defer store.Close()
	r := gin.New()
	r.Use(sessions.Sessions("session", store))
	r.POST("/login", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Renew()
		s.Set("user", c.PostForm("user"))
		c.Status(http.StatusNoContent)
	})
	r.GET("/me", func(c *gin.Context) {
		user, ok := sessions.Get[string](sessions.Default(c), "user")
		if !ok {
			c.String(http.StatusUnauthorized, "who are you?")
			return
		}
		c.String(http.StatusOK, "hello, %s", user)
	})

	alice, stranger := sessionstest.NewClient(r), sessionstest.NewClient(r)
	alice.PostForm("/login", url.Values{"user": {"alice"}})
	_, body := alice.Get("/me")
	fmt.Println(body)
	resp, body := stranger.Get("/me")
	fmt.Println(resp.StatusCode, body)
	// Output:
	// hello, alice
	// 401 who are you?
}
