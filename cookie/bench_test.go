package cookie_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/cookie"
)

// setTypical fills a session as a typical application does: three keys,
// about 200 bytes sealed with the record's ID and times.
func setTypical(s *sessions.Session) {
	s.Set("user", "alice.liddell@wonderland.example.org")
	s.Set("csrf", "q8Xn2hW4bV1yRk9sTzL3mPf6dGc0aJeUoYiNwQxHrKv")
	s.Set("cart", map[string]int{"apple": 2, "pear": 1, "plum": 3, "quince": 12, "kiwi": 5})
}

// benchEngine is a Gin engine with the cookie session middleware and the
// handlers the request benchmarks use, and a cookie holding a typical
// session.
func benchEngine(b *testing.B, store *cookie.Store) (*gin.Engine, *http.Cookie) {
	b.Helper()
	r := gin.New()
	r.Use(sessions.Sessions("session", store))
	r.GET("/read", func(c *gin.Context) {
		user, _ := sessions.Default(c).Get("user").(string)
		c.String(200, user)
	})
	n := 0
	r.POST("/write", func(c *gin.Context) {
		n++
		sessions.Default(c).Set("n", n)
		c.String(200, "alice.liddell@wonderland.example.org")
	})
	r.POST("/new", func(c *gin.Context) {
		setTypical(sessions.Default(c))
		c.String(200, "alice.liddell@wonderland.example.org")
	})
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("POST", "/new", nil))
	cookies := w.Result().Cookies()
	if w.Code != 200 || len(cookies) != 1 {
		b.Fatalf("making the session: %d, %d cookies", w.Code, len(cookies))
	}
	return r, cookies[0]
}

// typicalPayload returns the record of a typical session, as the
// middleware seals it.
func typicalPayload(b *testing.B, store *cookie.Store) []byte {
	_, ck := benchEngine(b, store)
	p, _, err := store.Open(ck.Name, ck.Value)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func BenchmarkSeal(b *testing.B) {
	s := newStore(b, newKey(b))
	p := typicalPayload(b, s)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Seal("session", p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(p)), "payload-bytes")
}

func BenchmarkOpen(b *testing.B) {
	s := newStore(b, newKey(b))
	p := typicalPayload(b, s)
	v, _ := s.Seal("session", p)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Open("session", v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(v)), "value-bytes")
}

// BenchmarkOpenRotated opens a cookie of the second of three old keys.
func BenchmarkOpenRotated(b *testing.B) {
	old := newKey(b)
	s := newStore(b, newKey(b), cookie.WithOldKeys(newKey(b), old, newKey(b)))
	p := typicalPayload(b, s)
	v, _ := newStore(b, old).Seal("session", p)
	b.ReportAllocs()
	for b.Loop() {
		if _, rotated, err := s.Open("session", v); err != nil || !rotated {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenTampered opens a value with one character changed.
func BenchmarkOpenTampered(b *testing.B) {
	s := newStore(b, newKey(b))
	v, _ := s.Seal("session", typicalPayload(b, s))
	bad := []byte(v)
	bad[len(bad)/2] ^= 1
	v = string(bad)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Open("session", v); err == nil {
			b.Fatal("opened")
		}
	}
}

// The compressed path: a 2 KB session of text.
func BenchmarkSealCompressed(b *testing.B) {
	s := newStore(b, newKey(b))
	p := bytes.Repeat([]byte(`{"item":"apple","qty":2},`), 80)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Seal("session", p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenCompressed(b *testing.B) {
	s := newStore(b, newKey(b))
	v, _ := s.Seal("session", bytes.Repeat([]byte(`{"item":"apple","qty":2},`), 80))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Open("session", v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(v)), "value-bytes")
}

// BenchmarkRequest times whole Gin requests through httptest: bare is a
// handler without sessions writing the same response, the baseline; read
// reads a key of a typical session, write changes one (a seal), new makes
// a typical session from nothing.
func BenchmarkRequest(b *testing.B) {
	run := func(b *testing.B, r *gin.Engine, req *http.Request, wantCookie bool) {
		b.Helper()
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code != 200 || (len(w.Header()["Set-Cookie"]) == 1) != wantCookie {
				b.Fatalf("%d, Set-Cookie %q", w.Code, w.Header()["Set-Cookie"])
			}
		}
	}
	b.Run("bare", func(b *testing.B) {
		r := gin.New()
		r.GET("/read", func(c *gin.Context) { c.String(200, "alice.liddell@wonderland.example.org") })
		req := httptest.NewRequest("GET", "/read", nil)
		req.Header.Set("Cookie", "session=x")
		run(b, r, req, false)
	})
	b.Run("read", func(b *testing.B) {
		r, ck := benchEngine(b, newStore(b, newKey(b)))
		req := httptest.NewRequest("GET", "/read", nil)
		req.AddCookie(ck)
		run(b, r, req, false)
	})
	b.Run("write", func(b *testing.B) {
		r, ck := benchEngine(b, newStore(b, newKey(b)))
		req := httptest.NewRequest("POST", "/write", nil)
		req.AddCookie(ck)
		run(b, r, req, true)
	})
	b.Run("new", func(b *testing.B) {
		r, _ := benchEngine(b, newStore(b, newKey(b)))
		run(b, r, httptest.NewRequest("POST", "/new", nil), true)
	})
}
