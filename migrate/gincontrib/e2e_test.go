package gincontrib

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/cookie"
	"github.com/sessionware/sessions/redis"
	"github.com/sessionware/sessions/sessionstest"
)

// newProgram is the program after the move: our middleware under cookie
// "sid" on backend, migrating with m.
//
//	GET  /whoami          the "user" value, as Get[string]
//	GET  /uid             the "uid" value, as Get[int]
//	GET  /profile         the "profile" value, as Get[Profile]
//	GET  /flashes?c=cat   Flashes(cat), or Flashes() without c
//	POST /logout          Destroy
func newProgram(backend sessions.Backend, m sessions.Migrator) *gin.Engine {
	r := gin.New()
	r.Use(sessions.Sessions("sid", backend, sessions.WithMigration(m)))
	r.GET("/whoami", func(c *gin.Context) {
		u, _ := sessions.Get[string](sessions.Default(c), "user")
		c.String(http.StatusOK, u)
	})
	r.GET("/uid", func(c *gin.Context) {
		u, ok := sessions.Get[int](sessions.Default(c), "uid")
		c.String(http.StatusOK, "%d %v", u, ok)
	})
	r.GET("/profile", func(c *gin.Context) {
		p, ok := sessions.Get[Profile](sessions.Default(c), "profile")
		c.String(http.StatusOK, "%v %s %v %s", ok, p.Name, p.Roles, p.Since.UTC().Format("2006-01-02T15:04:05Z"))
	})
	r.GET("/flashes", func(c *gin.Context) {
		var cat []string
		if v, ok := c.GetQuery("c"); ok {
			cat = append(cat, v)
		}
		c.String(http.StatusOK, "%v", sessions.Default(c).Flashes(cat...))
	})
	r.POST("/logout", func(c *gin.Context) {
		sessions.Default(c).Destroy()
		c.Status(http.StatusNoContent)
	})
	return r
}

// deploy serves paths under /old/ with the old program (gin-contrib) and
// every other path with the new one, on one host: a rolling deploy as a
// browser sees it.
func deploy(old, new http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/old/") {
			http.StripPrefix("/old", old).ServeHTTP(w, r)
			return
		}
		new.ServeHTTP(w, r)
	})
}

// browse sends one request over https (gorilla's cookie store sets Secure
// cookies) with b's cookies and returns the response and its body.
func browse(t *testing.T, b *sessionstest.Client, method, path string, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, "https://example.test"+path, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp := b.Do(req)
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode >= 500 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, body)
	}
	return resp, string(body)
}

// TestMigrationThroughTheMiddleware runs the move end to end, for each of
// gin-contrib's stores and two of ours (redis, sharing the redis-server
// with redistore, and sealed cookies): a user logged in on the old
// program reaches the new one still logged in, with every value typed as
// the new program reads it and the flashes as flashes; the old program
// still knows the user (rolling deploy); a copy of the legacy cookie is
// not migrated a second time; a logout on the new program ends the legacy
// session too (record deleted, legacy cookie expired), and is not undone
// by the legacy cookie.
func TestMigrationThroughTheMiddleware(t *testing.T) {
	s := startServers(t)
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(7*i + 3)
	}
	sealed, err := cookie.New(key)
	if err != nil {
		t.Fatal(err)
	}
	backends := map[string]sessions.Backend{"redis": redis.New(s.rdb), "cookie": sealed}
	for _, k := range kinds(s) {
		for _, ours := range []string{"redis", "cookie"} {
			t.Run(k.name+"_to_"+ours, func(t *testing.T) {
				old := legacyApp(k.store(t, hashA, blockA))
				m := k.reader(pairs(hashA, blockA), WithFlashCategories("error"))
				b := sessionstest.NewClient(deploy(old, newProgram(backends[ours], m)))

				resp, _ := browse(t, b, "POST", "/old/login")
				legacyCookie := setCookie(t, resp, cookieName)
				if legacyCookie == nil {
					t.Fatal("the old program set no cookie")
				}
				legacy, err := m.Find(t.Context(), request(legacyCookie))
				if err != nil || legacy == nil {
					t.Fatalf("Find = %v, %v", legacy, err)
				}

				// First request to the new program: migrated, values typed.
				resp, body := browse(t, b, "GET", "/profile")
				if want := "true Alice [admin] 2024-03-01T12:00:00Z"; body != want {
					t.Errorf("profile on the migrating request: %q, want %q", body, want)
				}
				if setCookie(t, resp, "sid") == nil {
					t.Fatal("the migrated session got no cookie of ours")
				}
				if c := setCookie(t, resp, cookieName); c != nil && c.MaxAge < 0 {
					t.Fatal("the migration expired the legacy cookie (old instances need it)")
				}
				for path, want := range map[string]string{
					"/whoami":          "alice",
					"/uid":             "42 true",
					"/profile":         "true Alice [admin] 2024-03-01T12:00:00Z",
					"/flashes?c=error": "[bad password once]",
					"/flashes":         "[welcome 2]",
				} {
					if _, body := browse(t, b, "GET", path); body != want {
						t.Errorf("GET %s: %q, want %q", path, body, want)
					}
				}
				// The old program still has its user.
				if _, body := browse(t, b, "GET", "/old/whoami"); body != "alice" {
					t.Errorf("the old program lost the user during the deploy: %q", body)
				}
				// Another browser with a copy of the legacy cookie: the
				// session was migrated once already.
				stranger := sessionstest.NewClient(deploy(old, newProgram(backends[ours], m)))
				if ours == "redis" {
					if _, body := browse(t, stranger, "GET", "/whoami", legacyCookie); body != "" {
						t.Errorf("a copy of the legacy cookie migrated the session again: %q", body)
					}
				}

				// Logout on the new program.
				resp, _ = browse(t, b, "POST", "/logout")
				if c := setCookie(t, resp, cookieName); c == nil || c.MaxAge >= 0 {
					t.Errorf("logout left the legacy cookie: %q", resp.Header.Values("Set-Cookie"))
				}
				if _, body := browse(t, b, "GET", "/whoami"); body != "" {
					t.Errorf("after logout the new program still knows %q", body)
				}
				if _, body := browse(t, b, "GET", "/old/whoami"); body != "" {
					t.Errorf("after logout the old program still knows %q (the browser kept the legacy cookie)", body)
				}
				if k.name != "cookie" {
					if key, ok := k.record(t, legacy.ID); ok {
						t.Errorf("after logout the legacy record %q is still there", key)
					}
					// Even a copy of the legacy cookie names nothing now.
					if got := whoami(t, old, legacyCookie); got != "" {
						t.Errorf("the old program accepts a copy of the legacy cookie after logout: %q", got)
					}
				}
				// A copy of the legacy cookie does not undo the logout here.
				// Except from a cookie store to sealed sessions: neither
				// side keeps anything to record the logout in, so a copy
				// of the legacy cookie migrates again until its maximum
				// age (docs/migration.md, "End").
				if k.name == "cookie" && ours == "cookie" {
					return
				}
				if _, body := browse(t, stranger, "GET", "/whoami", legacyCookie); body != "" {
					t.Errorf("a copy of the legacy cookie brought the session back after logout: %q", body)
				}
			})
		}
	}
}
