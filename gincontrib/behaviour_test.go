package gincontrib_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions/gincontrib"
	"github.com/sessionware/sessions/internal/testapp"
)

// The tests in this file run gin-contrib's behaviours (its tester package:
// GetSet, DeleteKey, Flashes, Clear, Options, Many, ManyStores) and more on
// every store of the drop-in, over real HTTP, on a real redis-server and
// memcached.

// show formats a session value with its Go type.
func show(v any) string {
	if t, ok := v.(time.Time); ok {
		return t.UTC().String()
	}
	return fmt.Sprintf("%#v", v)
}

func TestGetSet(t *testing.T) {
	forEach(t, func(t *testing.T, k kind) {
		keys := []string{"key", "n", "f", "when", "list", "cart", "mixed", "missing"}
		a := app(t, k.make(t), func(r *gin.Engine) {
			r.POST("/set", func(c *gin.Context) {
				s := gincontrib.Default(c)
				s.Set("key", "ok")
				s.Set("n", 42)
				s.Set("f", float32(1.5))
				s.Set("when", time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC))
				s.Set("list", []string{"a", "b"})
				s.Set("cart", map[string]int{"apple": 2})
				s.Set("mixed", map[string]any{"n": int64(1), "s": []int{1}})
				if err := s.Save(); err != nil {
					t.Error(err)
				}
				c.String(200, "ok")
			})
			r.GET("/get", func(c *gin.Context) {
				s := gincontrib.Default(c)
				var out []string
				for _, k := range keys {
					out = append(out, show(s.Get(k)))
				}
				c.String(200, strings.Join(out, " "))
			})
		})
		a.Expect("GET", "/get", 200, "<nil> <nil> <nil> <nil> <nil> <nil> <nil> <nil>")
		a.Expect("POST", "/set", 200, "ok")
		a.Expect("GET", "/get", 200, `"ok" 42 1.5 2026-01-02 03:04:05.000000006 +0000 UTC []string{"a", "b"} map[string]int{"apple":2} map[string]interface {}{"n":1, "s":[]int{1}} <nil>`)
	})
}

func TestDeleteKey(t *testing.T) {
	forEach(t, func(t *testing.T, k kind) {
		a := app(t, k.make(t), func(r *gin.Engine) {
			r.POST("/set", func(c *gin.Context) {
				s := gincontrib.Default(c)
				s.Set("key", "ok")
				s.Set("other", Profile{Name: "kept"})
				_ = s.Save()
				c.String(200, "ok")
			})
			r.POST("/delete", func(c *gin.Context) {
				s := gincontrib.Default(c)
				s.Delete("key")
				_ = s.Save()
				c.String(200, "%v", s.Get("key"))
			})
			r.GET("/get", func(c *gin.Context) {
				s := gincontrib.Default(c)
				c.String(200, "%v %v", s.Get("key"), s.Get("other"))
			})
		})
		a.Expect("POST", "/set", 200, "ok")
		a.Expect("POST", "/delete", 200, "<nil>")
		a.Expect("GET", "/get", 200, "<nil> {kept false map[]}")
	})
}

// TestFlashes: flashes come back once, per category, in order, with their
// Go types (a gob-registered struct among them).
func TestFlashes(t *testing.T) {
	forEach(t, func(t *testing.T, k kind) {
		a := app(t, k.make(t), func(r *gin.Engine) {
			r.POST("/set", func(c *gin.Context) {
				s := gincontrib.Default(c)
				s.AddFlash("ok")
				s.AddFlash(Profile{Name: "p"})
				s.AddFlash("bad input", "error")
				s.AddFlash(7, "error")
				_ = s.Save()
				c.String(200, "ok")
			})
			r.GET("/flash", func(c *gin.Context) {
				s := gincontrib.Default(c)
				c.String(200, "%#v %#v", s.Flashes(), s.Flashes("error"))
			})
		})
		a.Expect("POST", "/set", 200, "ok")
		a.Expect("GET", "/flash", 200, `[]interface {}{"ok", gincontrib_test.Profile{Name:"p", Admin:false, Tags:map[string]int(nil)}} []interface {}{"bad input", 7}`)
		a.Expect("GET", "/flash", 200, `[]interface {}(nil) []interface {}(nil)`)
	})
}

func TestClear(t *testing.T) {
	forEach(t, func(t *testing.T, k kind) {
		a := app(t, k.make(t), func(r *gin.Engine) {
			r.POST("/set", func(c *gin.Context) {
				s := gincontrib.Default(c)
				s.Set("key", "val")
				s.Set("foo", Profile{Name: "bar"})
				s.AddFlash("f")
				c.String(200, "ok")
			})
			r.POST("/clear", func(c *gin.Context) {
				s := gincontrib.Default(c)
				s.Clear()
				c.String(200, "%v %v", s.Get("key"), s.Get("foo"))
			})
			r.GET("/check", func(c *gin.Context) {
				s := gincontrib.Default(c)
				c.String(200, "%v %v %v", s.Get("key"), s.Get("foo"), s.Flashes())
			})
		})
		a.Expect("POST", "/set", 200, "ok")
		a.Expect("POST", "/clear", 200, "<nil> <nil>")
		a.Expect("GET", "/check", 200, "<nil> <nil> []")
	})
}

// cookieLine matches a Set-Cookie line of mysession with its attributes.
func cookieLine(attrs string) *regexp.Regexp {
	return regexp.MustCompile(`^mysession=[A-Za-z0-9_-]+; ` + regexp.QuoteMeta(attrs) + `$`)
}

// TestOptions: the store's Options make the cookie's attributes (HttpOnly
// and SameSite=Lax whatever they say, Path "/" for an empty one); a
// session's Options sets its MaxAge, destroys it with MaxAge < 0, and
// leaves the other attributes the store's, recording ErrCookieOptions.
func TestOptions(t *testing.T) {
	forEach(t, func(t *testing.T, k kind) {
		defaults := app(t, k.make(t), func(r *gin.Engine) {
			r.POST("/set", func(c *gin.Context) { gincontrib.Default(c).Set("key", "ok"); c.String(200, "ok") })
			r.POST("/expire", func(c *gin.Context) {
				s := gincontrib.Default(c)
				s.Options(gincontrib.Options{MaxAge: -1})
				_ = s.Save()
				c.String(200, "%v", s.Get("key"))
			})
			r.GET("/check", func(c *gin.Context) { c.String(200, "%v", gincontrib.Default(c).Get("key")) })
		})
		resp := defaults.Expect("POST", "/set", 200, "ok")
		if lines := setCookies(resp, "mysession"); len(lines) != 1 || !cookieLine("Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax").MatchString(lines[0]) {
			t.Errorf("without Options: Set-Cookie %q, want Path=/, 30 days, HttpOnly, SameSite=Lax", lines)
		}
		resp = defaults.Expect("POST", "/expire", 200, "<nil>")
		if lines := setCookies(resp, "mysession"); len(lines) != 1 || !strings.HasPrefix(lines[0], "mysession=; Path=/; Max-Age=0; HttpOnly") {
			t.Errorf("MaxAge -1: Set-Cookie %q, want the cookie expired", lines)
		}
		defaults.Expect("GET", "/check", 200, "<nil>")

		// The cookie below is Secure and for the domain localhost: the
		// test's browser (plain HTTP to 127.0.0.1) never keeps it, and
		// each request starts a new session.

		store := k.make(t)
		store.Options(gincontrib.Options{Domain: "localhost", MaxAge: 3600, Secure: true, SameSite: http.SameSiteStrictMode})
		a := app(t, store, func(r *gin.Engine) {
			r.POST("/set", func(c *gin.Context) { gincontrib.Default(c).Set("key", "ok"); c.String(200, "ok") })
			r.POST("/path", func(c *gin.Context) {
				s := gincontrib.Default(c)
				s.Set("key", "ok")
				s.Options(gincontrib.Options{Path: "/foo/bar/bat", MaxAge: 60, HttpOnly: false})
				c.String(200, "ok")
			})
			r.POST("/browser", func(c *gin.Context) {
				s := gincontrib.Default(c)
				s.Set("key", "ok")
				s.Options(gincontrib.Options{Path: "/", Domain: "localhost"})
				c.String(200, "ok")
			})
		})
		for _, tc := range []struct {
			target, attrs string
			errs          []string
		}{
			{"/set", "Path=/; Domain=localhost; Max-Age=3600; HttpOnly; Secure; SameSite=Strict", nil},
			{"/path", "Path=/; Domain=localhost; Max-Age=60; HttpOnly; Secure; SameSite=Strict",
				[]string{gincontrib.ErrCookieOptions.Error() + `: ignored Path "/foo/bar/bat" (the store's: "/")`}},
			{"/browser", "Path=/; Domain=localhost; HttpOnly; Secure; SameSite=Strict", nil},
		} {
			resp := a.NewBrowser().Expect("POST", tc.target, 200, "ok")
			if lines := setCookies(resp, "mysession"); len(lines) != 1 || !cookieLine(tc.attrs).MatchString(lines[0]) {
				t.Errorf("POST %s: Set-Cookie %q, want %s", tc.target, lines, tc.attrs)
			}
			if errs := a.Errors(); fmt.Sprint(errs) != fmt.Sprint(tc.errs) {
				t.Errorf("POST %s: errors %q, want %q", tc.target, errs, tc.errs)
			}
		}
	})
}

// TestOptionsDestroyOnTheServer: a session destroyed with MaxAge -1 is
// gone on the server too: a copy of its cookie finds nothing (the cookie
// store has nothing on the server, so there a copy lives on until it
// expires, as gin-contrib's did).
func TestOptionsDestroyOnTheServer(t *testing.T) {
	forEach(t, func(t *testing.T, k kind) {
		a := app(t, k.make(t), func(r *gin.Engine) {
			r.POST("/login", func(c *gin.Context) { gincontrib.Default(c).Set("user", "alice"); c.String(200, "ok") })
			r.POST("/logout", func(c *gin.Context) {
				s := gincontrib.Default(c)
				s.Clear()
				s.Options(gincontrib.Options{MaxAge: -1})
				_ = s.Save()
				c.String(200, "bye")
			})
			r.GET("/me", func(c *gin.Context) { c.String(200, "%v", gincontrib.Default(c).Get("user")) })
		})
		a.Expect("POST", "/login", 200, "ok")
		copied := a.Cookie("mysession")
		a.Expect("POST", "/logout", 200, "bye")
		a.Expect("GET", "/me", 200, "<nil>")
		want := "<nil>"
		if k.sealed {
			want = "alice"
		}
		a.Stranger().Expect("GET", "/me", 200, want, testapp.WithCookie("mysession", copied))
	})
}

// TestMany: SessionsMany gives each name its own cookie and session.
func TestMany(t *testing.T) {
	forEach(t, func(t *testing.T, k kind) {
		store := k.make(t)
		for _, mw := range []struct {
			name string
			mw   gin.HandlerFunc
		}{
			{"SessionsMany", gincontrib.SessionsMany([]string{"a", "b"}, store)},
			{"SessionsManyStores", gincontrib.SessionsManyStores([]gincontrib.SessionStore{{Name: "a", Store: store}, {Name: "b", Store: k.make(t)}})},
		} {
			t.Run(mw.name, func(t *testing.T) {
				a := testapp.NewGin(t, func(r *gin.Engine) {
					r.Use(mw.mw)
					r.POST("/set", func(c *gin.Context) {
						sa := gincontrib.DefaultMany(c, "a")
						sa.Set("hello", "world")
						_ = sa.Save()
						sb := gincontrib.DefaultMany(c, "b")
						sb.Set("foo", Profile{Name: "bar"})
						c.String(200, "%v %v", gincontrib.Default(c) == sa, gincontrib.DefaultMany(c, "c") == nil)
					})
					r.GET("/get", func(c *gin.Context) {
						c.String(200, "%v %v %v", gincontrib.DefaultMany(c, "a").Get("hello"), gincontrib.DefaultMany(c, "b").Get("foo"),
							gincontrib.DefaultMany(c, "a").Get("foo"))
					})
				})
				resp := a.Expect("POST", "/set", 200, "true true")
				if len(setCookies(resp, "a")) != 1 || len(setCookies(resp, "b")) != 1 {
					t.Errorf("Set-Cookie %q, want one cookie a and one b", resp.Header.Values("Set-Cookie"))
				}
				a.Expect("GET", "/get", 200, "world {bar false map[]} <nil>")
			})
		}
	})
}

// TestStructsOfRegisteredTypes: values come back with their Go types, as
// gin-contrib gave them back: a struct registered with gob (s.Get(k).(T)
// works), one registered as a pointer (gob gives back the value, as in
// gin-contrib), a named type, []byte, a map holding a struct.
func TestStructsOfRegisteredTypes(t *testing.T) {
	forEach(t, func(t *testing.T, k kind) {
		a := app(t, k.make(t), func(r *gin.Engine) {
			r.POST("/set", func(c *gin.Context) {
				s := gincontrib.Default(c)
				s.Set("profile", Profile{Name: "alice", Admin: true, Tags: map[string]int{"a": 1}})
				s.Set("account", &Account{ID: 7})
				s.Set("role", Role("admin"))
				s.Set("raw", []byte{0, 1, 2})
				s.Set("nested", map[string]any{"p": Profile{Name: "in"}}) // registered, as gin-contrib needed
				// Within the request, Get returns what Set was given.
				acct := s.Get("account").(*Account)
				acct.ID = 8
				c.String(200, "%v", s.Get("account").(*Account).ID)
			})
			r.GET("/get", func(c *gin.Context) {
				s := gincontrib.Default(c)
				p := s.Get("profile").(Profile)
				c.String(200, "%#v|%#v|%#v|%#v|%#v", p, s.Get("account"), s.Get("role"), s.Get("raw"), s.Get("nested"))
			})
		})
		a.Expect("POST", "/set", 200, "8")
		// Set encoded the value: the change after it is not saved.
		a.Expect("GET", "/get", 200, `gincontrib_test.Profile{Name:"alice", Admin:true, Tags:map[string]int{"a":1}}|`+
			`&gincontrib_test.Account{ID:7}|"admin"|[]byte{0x0, 0x1, 0x2}|map[string]interface {}{"p":gincontrib_test.Profile{Name:"in", Admin:false, Tags:map[string]int(nil)}}`)
	})
}

// TestNonStringKeysPanic: Get, Set and Delete with a key that is not a
// string panic, naming the key; the recovery answers 500 and the stored
// session is unchanged. A key of a named string type is its string.
func TestNonStringKeysPanic(t *testing.T) {
	type ctxKey string
	forEach(t, func(t *testing.T, k kind) {
		a := testapp.NewGin(t, func(r *gin.Engine) {
			r.Use(gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, err any) {
				c.String(500, "%v", err)
			}))
			r.Use(gincontrib.Sessions("mysession", k.make(t)))
			r.POST("/set", func(c *gin.Context) { gincontrib.Default(c).Set(ctxKey("user"), "alice"); c.String(200, "ok") })
			r.POST("/bad/:op", func(c *gin.Context) {
				s := gincontrib.Default(c)
				s.Set("user", "mallory") // lost: the request panics
				switch c.Param("op") {
				case "get":
					s.Get(7)
				case "set":
					s.Set(struct{}{}, 1)
				case "delete":
					s.Delete(1.5)
				}
				c.String(200, "ok")
			})
			r.GET("/get", func(c *gin.Context) { c.String(200, "%v", gincontrib.Default(c).Get("user")) })
		})
		a.Expect("POST", "/set", 200, "ok")
		a.Expect("POST", "/bad/get", 500, "gincontrib: Session.Get: session keys are strings, not int (7); gin-contrib's other keys are not supported")
		a.Expect("POST", "/bad/set", 500, "gincontrib: Session.Set: session keys are strings, not struct {} ({}); gin-contrib's other keys are not supported")
		a.Expect("POST", "/bad/delete", 500, "gincontrib: Session.Delete: session keys are strings, not float64 (1.5); gin-contrib's other keys are not supported")
		a.Expect("GET", "/get", 200, "alice")
	})
}

// TestUnencodableValueFailsTheCommit: a value gob cannot encode (a type
// not registered, behind an interface) makes Save return gob's error, and
// without Save the request answers 500; the stored session keeps what it
// had (gin-contrib returned the error from Save, which programs often
// ignored, and saved nothing).
func TestUnencodableValueFailsTheCommit(t *testing.T) {
	forEach(t, func(t *testing.T, k kind) {
		a := app(t, k.make(t), func(r *gin.Engine) {
			r.POST("/set", func(c *gin.Context) { gincontrib.Default(c).Set("user", "alice"); c.String(200, "ok") })
			r.POST("/save", func(c *gin.Context) {
				s := gincontrib.Default(c)
				s.Set("user", "mallory")
				s.Set("bad", unregistered{X: 1})
				bad := s.Get("bad")
				err := s.Save()
				c.String(400, "%v|%v", err, bad)
			})
			r.POST("/nosave", func(c *gin.Context) {
				s := gincontrib.Default(c)
				s.Set("user", "mallory")
				s.Set("bad", map[string]any{"x": unregistered{X: 1}})
				c.String(200, "ok")
			})
			r.GET("/get", func(c *gin.Context) { c.String(200, "%v", gincontrib.Default(c).Get("user")) })
		})
		a.Expect("POST", "/set", 200, "ok")
		resp, body := a.Do("POST", "/save")
		if resp.StatusCode != 400 || !strings.Contains(body, "gob: type not registered for interface: gincontrib_test.unregistered") || !strings.HasSuffix(body, "|{1}") {
			t.Errorf("Save with an unencodable value: %d %q", resp.StatusCode, body)
		}
		resp, body = a.Do("POST", "/nosave")
		if resp.StatusCode != 500 || len(setCookies(resp, "mysession")) != 0 {
			t.Errorf("commit with an unencodable value: %d %q %q, want 500 without a cookie", resp.StatusCode, body, resp.Header.Values("Set-Cookie"))
		}
		if errs := fmt.Sprint(a.Errors()); !strings.Contains(errs, `key "bad"`) || !strings.Contains(errs, "not registered") {
			t.Errorf("errors %s, want the key and gob's error", errs)
		}
		a.Expect("GET", "/get", 200, "alice")
	})
}

// TestAutoCommit: changes are saved without Save, as the native
// middleware saves them, and a map changed in place after Get is saved.
func TestAutoCommit(t *testing.T) {
	forEach(t, func(t *testing.T, k kind) {
		a := app(t, k.make(t), func(r *gin.Engine) {
			r.POST("/set", func(c *gin.Context) {
				gincontrib.Default(c).Set("cart", map[string]int{"apple": 1})
				c.String(200, "ok")
			})
			r.POST("/add", func(c *gin.Context) {
				gincontrib.Default(c).Get("cart").(map[string]int)["pear"]++
				c.String(200, "ok")
			})
			r.GET("/get", func(c *gin.Context) { c.String(200, "%v", gincontrib.Default(c).Get("cart")) })
		})
		a.Expect("POST", "/set", 200, "ok")
		a.Expect("POST", "/add", 200, "ok")
		a.Expect("GET", "/get", 200, "map[apple:1 pear:1]")
	})
}

// TestReadsAreNotWrites: a request that only reads (a struct kept
// gob-encoded included) sends no cookie, so nothing was written.
func TestReadsAreNotWrites(t *testing.T) {
	forEach(t, func(t *testing.T, k kind) {
		a := app(t, k.make(t), func(r *gin.Engine) {
			r.POST("/set", func(c *gin.Context) {
				s := gincontrib.Default(c)
				s.Set("profile", Profile{Name: "alice", Tags: map[string]int{"a": 1, "b": 2, "c": 3}})
				s.Set("cart", map[string]int{"apple": 1})
				c.String(200, "ok")
			})
			r.GET("/get", func(c *gin.Context) {
				s := gincontrib.Default(c)
				c.String(200, "%v %v %v", s.Get("profile").(Profile).Name, s.Get("cart"), s.Flashes())
			})
		})
		a.Expect("POST", "/set", 200, "ok")
		resp := a.Expect("GET", "/get", 200, "alice map[apple:1] []")
		if lines := setCookies(resp, "mysession"); len(lines) != 0 {
			t.Errorf("a read sent %q", lines)
		}
	})
}

// TestUndecodableValue: a value that does not decode (here: a type whose
// registration the reading program lacks is simulated by bytes that are
// no gob) reads as nil with ErrUndecodable recorded, and the rest of the
// session works.
func TestUndecodableValue(t *testing.T) {
	forEach(t, func(t *testing.T, k kind) {
		a := app(t, k.make(t), func(r *gin.Engine) {
			r.POST("/set", func(c *gin.Context) {
				s := gincontrib.Native(gincontrib.Default(c))
				s.Set("broken", []byte{1, 0xff, 0xff, 0xff})
				s.Set("user", "alice")
				c.String(200, "ok")
			})
			r.GET("/get", func(c *gin.Context) {
				s := gincontrib.Default(c)
				c.String(200, "%v %v", s.Get("broken"), s.Get("user"))
			})
		})
		a.Expect("POST", "/set", 200, "ok")
		a.Expect("GET", "/get", 200, "<nil> alice")
		if errs := a.Errors(); len(errs) != 1 || !strings.Contains(errs[0], `key "broken"`) || !strings.Contains(errs[0], gincontrib.ErrUndecodable.Error()) {
			t.Errorf("errors %q, want one ErrUndecodable for the key", errs)
		}
	})
}
