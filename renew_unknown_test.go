package sessions_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/testapp"
	"github.com/sessionware/sessions/memory"
)

// lostReplies is a memory store whose next save of a tombstone lands but
// answers an error, as a save whose reply was lost (or that too few
// replicas acknowledged) does.
type lostReplies struct {
	*memory.Store
	loseTombstone atomic.Bool
}

func (l *lostReplies) Save(ctx context.Context, key string, data []byte, version uint64, ttl time.Duration) (uint64, error) {
	v, err := l.Store.Save(ctx, key, data, version, ttl)
	if err == nil && len(data) > 0 && data[0] == 2 && l.loseTombstone.CompareAndSwap(true, false) {
		return 0, errors.New("reply lost")
	}
	return v, err
}

// A Renew whose tombstone swap landed but answered an error: the old ID
// is gone, so the browser must get the new one with the error answer, or
// the user is logged out.
func TestRenewWithAnUnknownOutcomeKeepsTheUserLoggedIn(t *testing.T) {
	m := memory.New()
	t.Cleanup(func() { m.Close() })
	st := &lostReplies{Store: m}
	app := newApp(t, st, func(r *gin.Engine) {
		basicRoutes(r)
		r.POST("/login", func(c *gin.Context) {
			s := sessions.Default(c)
			s.Renew()
			s.Set("user", "alice")
			c.String(200, "welcome")
		})
	})
	b := app.NewBrowser()
	b.Expect("POST", "/set/cart/pen", 200, "ok")
	st.loseTombstone.Store(true)
	resp := b.Expect("POST", "/login", 503, `{"error":"session store unavailable"}`)
	if _, set := testapp.SetCookie(resp, "sid"); !set {
		t.Fatal("the error answer did not give the browser its new ID")
	}
	b.Expect("GET", "/get/cart", 200, "pen")
	b.Expect("GET", "/get/user", 200, "alice")
}
