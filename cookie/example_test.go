package cookie_test

import (
	"encoding/base64"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/cookie"
)

// Make a key once, with
//
//	openssl rand -base64 32
//
// or head -c 32 /dev/urandom | base64, keep it in the server's secrets, and
// decode it at start-up. (The key below is published: never use it.)
func ExampleNew() {
	encoded := "S0nFm8zlXbEYgGqX0F7578gHsjD/CsnQQQOEUGJYppg=" // os.Getenv("SESSION_KEY")
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		log.Fatalf("SESSION_KEY: %v", err)
	}
	store, err := cookie.New(key)
	if err != nil {
		log.Fatal(err)
	}

	r := gin.New()
	r.Use(sessions.Sessions("session", store, sessions.WithSecure(true)))
	r.GET("/", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Update("visits", func(old any) any { n, _ := old.(int); return n + 1 })
		c.String(200, "visit %d", s.Get("visits"))
	})

	// Two requests of one browser.
	var session *http.Cookie
	for range 2 {
		req := httptest.NewRequest("GET", "/", nil)
		if session != nil {
			req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		fmt.Println(w.Body.String())
		session = w.Result().Cookies()[0]
	}
	// Output:
	// visit 1
	// visit 2
}

// New refuses what is not 32 random bytes, such as a password or a key
// that was not decoded.
func ExampleNew_badKey() {
	_, err := cookie.New([]byte("S0nFm8zlXbEYgGqX0F7578gHsjD/CsnQQQOEUGJYppg="))
	fmt.Println(err)
	_, err = cookie.New([]byte("a password of thirty-two bytes!!"))
	fmt.Println(err)
	// Output:
	// cookie: the key must be exactly 32 random bytes, not 44: it looks like base64 or hex text: decode it to 32 bytes, or make one with `openssl rand -base64 32` and base64-decode it
	// cookie: the key is not random: it is printable text (a password or encoded key?): make one with `openssl rand -base64 32` and base64-decode it
}

// To rotate keys, make a new key and deploy it as the key, with the
// current one as an old key. Cookies sealed with the old key keep working
// and are sealed again with the new one on their next request; after one
// session lifetime, drop the old key.
func ExampleWithOldKeys() {
	oldKey, _ := base64.StdEncoding.DecodeString("S0nFm8zlXbEYgGqX0F7578gHsjD/CsnQQQOEUGJYppg=")
	newKey, _ := base64.StdEncoding.DecodeString("a2EgYR8jJ6QRBOUnU/AlXW+PIiF03b6ZuJ2yor9R13E=")

	before, err := cookie.New(oldKey)
	if err != nil {
		log.Fatal(err)
	}
	value, _ := before.Seal("session", []byte("a session"))

	after, err := cookie.New(newKey, cookie.WithOldKeys(oldKey))
	if err != nil {
		log.Fatal(err)
	}
	payload, rotated, err := after.Open("session", value)
	fmt.Printf("%s, rotated: %v, error: %v\n", payload, rotated, err)

	retired, err := cookie.New(newKey)
	if err != nil {
		log.Fatal(err)
	}
	_, _, err = retired.Open("session", value)
	fmt.Println(err)
	// Output:
	// a session, rotated: true, error: <nil>
	// cookie: invalid session cookie
}
