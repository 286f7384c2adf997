package sessions_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testapp"
)

// fakeLegacy is a Migrator over a legacy cookie "legacy=<id>" whose
// sessions live in a map, as a legacy server-side store would keep them.
type fakeLegacy struct {
	mu       sync.Mutex
	sessions map[string]map[string]any // by legacy ID
	ended    []string
	failFind error
}

func (f *fakeLegacy) Find(_ context.Context, r *http.Request) (*sessions.Legacy, error) {
	ck, err := r.Cookie("legacy")
	if err != nil {
		return nil, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failFind != nil {
		return nil, f.failFind
	}
	vals, ok := f.sessions[ck.Value]
	if !ok {
		return nil, nil
	}
	values := map[string]any{}
	var flashes []any
	for k, v := range vals {
		if k == "_flash" {
			flashes = v.([]any)
			continue
		}
		values[k] = v
	}
	return &sessions.Legacy{ID: ck.Value, Cookie: "legacy", Path: "/", Values: values, Flashes: map[string][]any{"": flashes}}, nil
}

func (f *fakeLegacy) End(_ context.Context, l *sessions.Legacy) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sessions, l.ID)
	f.ended = append(f.ended, l.ID)
	return nil
}

func migrationRoutes(r *gin.Engine) {
	basicRoutes(r)
	r.GET("/flashes", func(c *gin.Context) { c.String(200, "%v", sessions.Default(c).Flashes()) })
	r.POST("/logout", func(c *gin.Context) { sessions.Default(c).Destroy(); c.String(200, "ok") })
}

// legacyExpired reports whether resp expires the legacy cookie.
func legacyExpired(resp *http.Response) bool {
	ck, ok := testapp.SetCookie(resp, "legacy")
	return ok && ck.MaxAge < 0
}

// A legacy session is carried over once, under our cookie; the legacy
// cookie alone never brings it back, above all after a logout, which also
// ends it on the legacy side and in the browser.
func TestMigrationCarriesALegacySessionOverOnce(t *testing.T) {
	for _, backend := range []string{"memory", "cookie"} {
		t.Run(backend, func(t *testing.T) {
			legacy := &fakeLegacy{sessions: map[string]map[string]any{
				"L1": {"user": "alice", "_flash": []any{"welcome back"}},
			}}
			var store sessions.Backend = newFlaky(t)
			if backend == "cookie" {
				store = newCookieStore(t)
			}
			app := newApp(t, store, migrationRoutes, sessions.WithMigration(legacy))
			b := app.NewBrowser()
			resp := b.Expect("GET", "/get/user", 200, "alice", testapp.WithCookie("legacy", "L1"))
			if _, ok := testapp.SetCookie(resp, "sid"); !ok {
				t.Fatal("the migrated session was not given our cookie")
			}
			if legacyExpired(resp) {
				t.Fatal("the migration expired the legacy cookie (old instances of a rolling deploy need it)")
			}
			b.Expect("GET", "/flashes", 200, "[welcome back]")
			b.Expect("GET", "/get/user", 200, "alice")
			if backend == "memory" {
				// Another browser presenting the same legacy cookie (a copy):
				// migrated once already.
				app.Stranger().Expect("GET", "/get/user", 200, "<nil>", testapp.WithCookie("legacy", "L1"))
			}

			resp = b.Expect("POST", "/logout", 200, "ok", testapp.WithCookie("legacy", "L1"))
			if !legacyExpired(resp) {
				t.Fatalf("logout left the legacy cookie: %q", resp.Header.Values("Set-Cookie"))
			}
			legacy.mu.Lock()
			ended := strings.Join(legacy.ended, ",")
			legacy.mu.Unlock()
			if ended != "L1" {
				t.Fatalf("logout ended legacy sessions %q, want L1", ended)
			}
			// After the logout, the legacy cookie brings nothing back.
			app.Stranger().Expect("GET", "/get/user", 200, "<nil>", testapp.WithCookie("legacy", "L1"))
		})
	}
}

// A logout that clears the session first (Clear, then Destroy: the
// common form in gin-contrib programs), in one request or two, still ends
// the legacy session and expires its cookie: Clear keeps the link to it.
func TestClearKeepsTheLinkToTheLegacySession(t *testing.T) {
	for _, backend := range []string{"memory", "cookie"} {
		t.Run(backend, func(t *testing.T) {
			legacy := &fakeLegacy{sessions: map[string]map[string]any{"L1": {"user": "alice"}, "L2": {"user": "bob"}}}
			var store sessions.Backend = newFlaky(t)
			if backend == "cookie" {
				store = newCookieStore(t)
			}
			app := newApp(t, store, func(r *gin.Engine) {
				migrationRoutes(r)
				r.POST("/clear-logout", func(c *gin.Context) {
					s := sessions.Default(c)
					s.Clear()
					s.Destroy()
					c.String(200, "ok")
				})
			}, sessions.WithMigration(legacy))
			for _, id := range []string{"L1", "L2"} {
				b := app.NewBrowser()
				b.Expect("GET", "/get/user", 200, legacy.sessions[id]["user"].(string), testapp.WithCookie("legacy", id))
				target := "/clear-logout"
				if id == "L2" {
					b.Expect("POST", "/clear", 200, "ok") // cleared and saved, then logged out later
					target = "/logout"
				}
				resp := b.Expect("POST", target, 200, "ok", testapp.WithCookie("legacy", id))
				if !legacyExpired(resp) {
					t.Errorf("%s: logout after Clear left the legacy cookie: %q", id, resp.Header.Values("Set-Cookie"))
				}
				app.Stranger().Expect("GET", "/get/user", 200, "<nil>", testapp.WithCookie("legacy", id))
			}
			legacy.mu.Lock()
			defer legacy.mu.Unlock()
			if ended := strings.Join(legacy.ended, ","); ended != "L1,L2" {
				t.Errorf("ended %q, want L1,L2", ended)
			}
		})
	}
}

// A Clear that loses a compare-and-swap to a concurrent change, and is
// replayed on the fresh record, keeps the link to the legacy session too.
func TestAReplayedClearKeepsTheLinkToTheLegacySession(t *testing.T) {
	legacy := &fakeLegacy{sessions: map[string]map[string]any{"L1": {"user": "alice"}}}
	gate := testapp.NewGate()
	app := newApp(t, newFlaky(t), func(r *gin.Engine) {
		migrationRoutes(r)
		r.POST("/slow-clear", func(c *gin.Context) {
			sessions.Default(c).Clear()
			gate.Park()
			c.String(200, "ok")
		})
	}, sessions.WithMigration(legacy))
	b := app.NewBrowser()
	b.Expect("GET", "/get/user", 200, "alice", testapp.WithCookie("legacy", "L1"))
	b.While(gate, "POST", "/slow-clear", func() { b.Expect("POST", "/set/x/1", 200, "ok") })
	b.Expect("GET", "/keys", 200, "[]")
	resp := b.Expect("POST", "/logout", 200, "ok", testapp.WithCookie("legacy", "L1"))
	if !legacyExpired(resp) {
		t.Errorf("logout after a replayed Clear left the legacy cookie: %q", resp.Header.Values("Set-Cookie"))
	}
	legacy.mu.Lock()
	defer legacy.mu.Unlock()
	if ended := strings.Join(legacy.ended, ","); ended != "L1" {
		t.Errorf("ended %q, want L1", ended)
	}
}

// A logout on the very first request of a legacy session (never seen
// before) ends it too, and it is never migrated afterwards, even if the
// legacy side still has it.
func TestLogoutBeforeMigrationEndsTheLegacySession(t *testing.T) {
	legacy := &fakeLegacy{sessions: map[string]map[string]any{"L2": {"user": "bob"}}}
	app := newApp(t, newFlaky(t), migrationRoutes, sessions.WithMigration(legacy))
	resp := app.Stranger().Expect("POST", "/logout", 200, "ok", testapp.WithCookie("legacy", "L2"))
	if !legacyExpired(resp) {
		t.Fatal("logout left the legacy cookie")
	}
	legacy.mu.Lock()
	legacy.sessions["L2"] = map[string]any{"user": "bob"} // a legacy instance that missed the End
	legacy.mu.Unlock()
	app.Stranger().Expect("GET", "/get/user", 200, "<nil>", testapp.WithCookie("legacy", "L2"))
}

// A legacy session that cannot be read is not migrated: an empty session,
// the cause in c.Errors, no panic.
func TestMigrationErrorStartsAnEmptySession(t *testing.T) {
	legacy := &fakeLegacy{sessions: map[string]map[string]any{"L3": {"user": "carol"}}, failFind: errors.New("gob: type not registered for interface: main.Profile")}
	app := newApp(t, newFlaky(t), migrationRoutes, sessions.WithMigration(legacy))
	app.Stranger().Expect("GET", "/get/user", 200, "<nil>", testapp.WithCookie("legacy", "L3"))
	if errs := strings.Join(app.Errors(), "\n"); !strings.Contains(errs, "not registered") {
		t.Fatalf("the cause did not reach c.Errors: %q", errs)
	}
}

// A store that fails to record the migration fails the request (503), and
// the legacy session is migrated by a later request, not lost.
func TestMigrationWhileTheStoreIsDown(t *testing.T) {
	legacy := &fakeLegacy{sessions: map[string]map[string]any{"L4": {"user": "dave"}}}
	st := newFlaky(t)
	app := newApp(t, st, migrationRoutes, sessions.WithMigration(legacy))
	b := app.NewBrowser()
	st.down.Store(true)
	b.Expect("GET", "/get/user", 503, `{"error":"session store unavailable"}`, testapp.WithCookie("legacy", "L4"))
	st.down.Store(false)
	b.Expect("GET", "/get/user", 200, "dave", testapp.WithCookie("legacy", "L4"))
}
