package sessions_test

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
)

// testdata/format/record-v1-meta.hex is a record written by this release
// with the middleware's own keys (SetLifetime's expiry, RememberMe, a
// flash category): later releases must read them as this one does. Run
// with SESSIONS_WRITE_GOLDEN=1 to write it again (only when the format is
// meant to change).
const metaSample = "testdata/format/record-v1-meta.hex"

// metaBorn is when the sample was written; it expires 30 days later.
var metaBorn = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

type captureStore struct {
	mu   sync.Mutex
	data []byte
}

func (c *captureStore) Load(context.Context, string) (sessions.Record, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.data == nil {
		return sessions.Record{}, sessions.ErrNotFound
	}
	return sessions.Record{Data: c.data, Version: 1}, nil
}

func (c *captureStore) Save(_ context.Context, _ string, data []byte, _ uint64, _ time.Duration) (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.data = append([]byte(nil), data...)
	return 1, nil
}

func (*captureStore) Delete(context.Context, string) error { return nil }

func metaApp(store sessions.Store, now time.Time) *gin.Engine {
	r := gin.New()
	r.Use(sessions.Sessions("sid", store, sessions.WithPersist(false), sessions.WithClock(func() time.Time { return now })))
	r.POST("/", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("user", "alice")
		s.SetLifetime(30 * 24 * time.Hour)
		s.RememberMe(true)
		s.AddFlash("oops", "error")
	})
	r.POST("/touch", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Renew() // a new cookie: it shows the session's own Max-Age
		c.String(http.StatusOK, "%v %v", s.Get("user"), s.Flashes("error"))
	})
	return r
}

func TestRecordWithMetaSample(t *testing.T) {
	if os.Getenv("SESSIONS_WRITE_GOLDEN") == "1" {
		st := &captureStore{}
		w := httptest.NewRecorder()
		metaApp(st, metaBorn).ServeHTTP(w, httptest.NewRequest("POST", "/", nil))
		if err := os.WriteFile(metaSample, []byte(hex.EncodeToString(st.data)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(metaSample)
	if err != nil {
		t.Fatal(err)
	}
	data, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	read := func(now time.Time) (string, string) {
		st := &captureStore{data: data}
		req := httptest.NewRequest("POST", "/touch", nil)
		req.AddCookie(&http.Cookie{Name: "sid", Value: strings.Repeat("A", 43)})
		w := httptest.NewRecorder()
		metaApp(st, now).ServeHTTP(w, req)
		return w.Body.String(), w.Header().Get("Set-Cookie")
	}
	// 29 days on: alive (past WithLifetime's 24 h, within SetLifetime's 30
	// days), the flash category kept, and the cookie persists (RememberMe)
	// although WithPersist(false), with the rest of the 30 days.
	body, setCookie := read(metaBorn.Add(29 * 24 * time.Hour))
	if body != "alice [oops]" {
		t.Fatalf("29 days after: %q", body)
	}
	if !strings.Contains(setCookie, "Max-Age=86400") {
		t.Fatalf("29 days after, the cookie is %q, want Max-Age=86400", setCookie)
	}
	// 30 days on: ended.
	if body, _ := read(metaBorn.Add(30 * 24 * time.Hour)); body != "<nil> []" {
		t.Fatalf("30 days after: %q", body)
	}
}
