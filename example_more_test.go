package sessions_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/memory"
	"github.com/sessionware/sessions/sessionstest"
)

// Renew at login: the session keeps its values under a new ID, so an ID
// planted before the login (session fixation) is worth nothing.
func ExampleSession_Renew() {
	r := gin.New()
	r.Use(sessions.Sessions("session", memory.New()))
	r.POST("/cart", func(c *gin.Context) { sessions.Default(c).Set("cart", "apple") })
	r.POST("/login", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Renew()
		s.Set("user", "alice")
	})
	r.GET("/", func(c *gin.Context) {
		s := sessions.Default(c)
		c.String(http.StatusOK, "%v %v", s.Get("user"), s.Get("cart"))
	})

	browser := sessionstest.NewClient(r)
	browser.Post("/cart")
	before := browser.Cookie("session")
	browser.Post("/login")
	_, body := browser.Get("/")
	fmt.Println(body, browser.Cookie("session") != before)
	// Output: alice apple true
}

// Destroy at logout: the stored session ends and the cookie expires.
func ExampleSession_Destroy() {
	r := gin.New()
	r.Use(sessions.Sessions("session", memory.New()))
	r.POST("/login", func(c *gin.Context) { sessions.Default(c).Set("user", "alice") })
	r.POST("/logout", func(c *gin.Context) { sessions.Default(c).Destroy() })
	r.GET("/", func(c *gin.Context) { c.String(http.StatusOK, "%v", sessions.Default(c).Get("user")) })

	browser := sessionstest.NewClient(r)
	browser.Post("/login")
	_, body := browser.Get("/")
	fmt.Println(body)
	resp, _ := browser.Post("/logout")
	fmt.Println(resp.Header.Get("Set-Cookie")[:len("session=; Path=/; Max-Age=0")])
	_, body = browser.Get("/")
	fmt.Println(body)
	// Output:
	// alice
	// session=; Path=/; Max-Age=0
	// <nil>
}

// Two middlewares, two cookies: Named finds each session.
func ExampleNamed() {
	r := gin.New()
	r.Use(sessions.Sessions("prefs", memory.New()), sessions.Sessions("auth", memory.New()))
	r.POST("/", func(c *gin.Context) {
		sessions.Named(c, "prefs").Set("theme", "dark")
		sessions.Named(c, "auth").Set("user", "alice")
	})
	r.GET("/", func(c *gin.Context) {
		c.String(http.StatusOK, "%v %v", sessions.Named(c, "prefs").Get("theme"), sessions.Default(c).Get("theme"))
	})
	browser := sessionstest.NewClient(r)
	browser.Post("/")
	_, body := browser.Get("/")
	fmt.Println(body, browser.Cookie("prefs") != "", browser.Cookie("auth") != "")
	// Output: dark dark true true
}

type Profile struct {
	Name  string
	Admin bool
}

// Get[T] reads a struct back as the struct (the default codec keeps
// structs as JSON; a plain Get returns a read-only generic view).
func ExampleGet() {
	r := gin.New()
	r.Use(sessions.Sessions("session", memory.New()))
	r.POST("/", func(c *gin.Context) {
		sessions.Default(c).Set("profile", Profile{Name: "Alice", Admin: true})
	})
	r.GET("/", func(c *gin.Context) {
		p, ok := sessions.Get[Profile](sessions.Default(c), "profile")
		c.String(http.StatusOK, "%+v %v", p, ok)
	})
	browser := sessionstest.NewClient(r)
	browser.Post("/")
	_, body := browser.Get("/")
	fmt.Println(body)
	// Output: {Name:Alice Admin:true} true
}

// WithHeader serves API and mobile clients that keep no cookies: they send
// the token in a header (empty at first) and read it back from the same
// header.
func ExampleWithHeader() {
	r := gin.New()
	r.Use(sessions.Sessions("session", memory.New(), sessions.WithHeader("X-Session")))
	r.POST("/login", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Renew()
		s.Set("user", "alice")
	})
	r.GET("/me", func(c *gin.Context) { c.String(http.StatusOK, "%v", sessions.Default(c).Get("user")) })

	app := sessionstest.NewClient(r)
	app.Header.Set("X-Session", "")
	resp, _ := app.Post("/login")
	token := resp.Header.Get("X-Session")
	fmt.Println(len(token), resp.Header.Get("Set-Cookie") == "")
	app.Header.Set("X-Session", token)
	_, body := app.Get("/me")
	fmt.Println(body)
	// Output:
	// 43 true
	// alice
}

// legacyCookie is a Migrator for a made-up legacy format, "v1:<user>", to
// show the contract; package migrate/gincontrib reads gin-contrib's.
type legacyCookie struct{}

func (legacyCookie) Find(_ context.Context, r *http.Request) (*sessions.Legacy, error) {
	ck, err := r.Cookie("old")
	if err != nil || !strings.HasPrefix(ck.Value, "v1:") {
		return nil, nil
	}
	return &sessions.Legacy{ID: ck.Value, Cookie: "old", Path: "/", Values: map[string]any{"user": ck.Value[3:]}}, nil
}

func (legacyCookie) End(context.Context, *sessions.Legacy) error { return nil }

// WithMigration carries a session that another library wrote over into a
// new one, once: nobody is logged out by the switch.
func ExampleWithMigration() {
	r := gin.New()
	r.Use(sessions.Sessions("session", memory.New(), sessions.WithMigration(legacyCookie{})))
	r.GET("/", func(c *gin.Context) { c.String(http.StatusOK, "%v", sessions.Default(c).Get("user")) })

	req, _ := http.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: "old", Value: "v1:alice"})
	browser := sessionstest.NewClient(r)
	resp := browser.Do(req)
	fmt.Println(resp.StatusCode, browser.Cookie("session") != "")
	_, body := browser.Get("/") // from here on, our own cookie
	fmt.Println(body)
	// Output:
	// 200 true
	// alice
}

// Remember me: without the box the cookie lasts the browser session
// (WithPersist(false)); with it, the session lives 30 days and its cookie
// persists.
func ExampleSession_RememberMe() {
	r := gin.New()
	r.Use(sessions.Sessions("session", memory.New(), sessions.WithPersist(false)))
	r.POST("/login", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Renew()
		s.Set("user", c.Query("user"))
		if c.Query("remember") == "on" {
			s.SetLifetime(30 * 24 * time.Hour)
			s.RememberMe(true)
		}
	})
	for _, q := range []string{"user=alice", "user=bob&remember=on"} {
		resp, _ := sessionstest.NewClient(r).Post("/login?" + q)
		ck := resp.Cookies()[0]
		fmt.Println(q, ck.MaxAge)
	}
	// Output:
	// user=alice 0
	// user=bob&remember=on 2592000
}

// Sign out other devices: sessions with an owner can be listed and
// revoked from another session of the same owner.
func ExampleSession_RevokeOthers() {
	r := gin.New()
	r.Use(sessions.Sessions("session", memory.New()))
	r.POST("/login", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Renew()
		if err := s.SetOwner("alice"); err != nil { // ErrNoServerSide on cookie://
			_ = c.Error(err)
		}
		s.Set("user", "alice")
	})
	r.GET("/devices", func(c *gin.Context) {
		devices, _ := sessions.Default(c).Devices()
		c.String(http.StatusOK, "%d", len(devices))
	})
	r.POST("/logout-others", func(c *gin.Context) {
		n, _ := sessions.Default(c).RevokeOthers()
		c.String(http.StatusOK, "%d", n)
	})
	r.GET("/me", func(c *gin.Context) { c.String(http.StatusOK, "%v", sessions.Default(c).Get("user")) })

	laptop, phone := sessionstest.NewClient(r), sessionstest.NewClient(r)
	laptop.Post("/login")
	phone.Post("/login")
	_, n := laptop.Get("/devices")
	_, revoked := laptop.Post("/logout-others")
	_, me := phone.Get("/me")
	fmt.Println(n, revoked, me)
	// Output: 2 1 <nil>
}
