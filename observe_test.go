package sessions_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
)

type eventCounter struct {
	mu     sync.Mutex
	events map[sessions.Event]int
}

func (e *eventCounter) StoreCall(context.Context, string, time.Duration, error) {}
func (e *eventCounter) Event(_ context.Context, ev sessions.Event) {
	e.mu.Lock()
	e.events[ev]++
	e.mu.Unlock()
}

func (e *eventCounter) count(ev sessions.Event) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.events[ev]
}

// A logout counts as a destroyed session only when it ended one: a second
// logout, or one without a session, is not counted; on every persister.
func TestDestroyedCountsSessionsEnded(t *testing.T) {
	for _, backend := range []string{"memory", "cookie"} {
		t.Run(backend, func(t *testing.T) {
			obs := &eventCounter{events: map[sessions.Event]int{}}
			var store sessions.Backend = newFlaky(t)
			if backend == "cookie" {
				store = newCookieStore(t)
			}
			app := newApp(t, store, func(r *gin.Engine) {
				basicRoutes(r)
				r.POST("/logout", func(c *gin.Context) { sessions.Default(c).Destroy(); c.String(200, "ok") })
			}, sessions.WithObserver(obs))
			b := app.NewBrowser()
			b.Expect("POST", "/set/a/1", 200, "ok")
			b.Expect("POST", "/logout", 200, "ok")
			b.Expect("POST", "/logout", 200, "ok")
			app.Stranger().Expect("POST", "/logout", 200, "ok")
			if n := obs.count(sessions.EventDestroyed); n != 1 {
				t.Fatalf("destroyed counted %d times, want 1", n)
			}
			if n := obs.count(sessions.EventCreated); n != 1 {
				t.Fatalf("created counted %d times, want 1", n)
			}
		})
	}
}
