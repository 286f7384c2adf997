package sessionstest

import (
	"net/http"
	"testing"
)

// The Client sends the cookies it was given, and its headers, and a
// second Client does not share them.
func TestClientKeepsItsOwnCookies(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/set" {
			http.SetCookie(w, &http.Cookie{Name: "c", Value: "v1", Path: "/"})
		}
		ck, _ := r.Cookie("c")
		v := "none"
		if ck != nil {
			v = ck.Value
		}
		_, _ = w.Write([]byte(v + " " + r.Header.Get("X-Token")))
	})
	a, b := NewClient(h), NewClient(h)
	a.Post("/set")
	a.Header.Set("X-Token", "t")
	if _, body := a.Get("/"); body != "v1 t" {
		t.Fatalf("a = %q, want %q", body, "v1 t")
	}
	if _, body := b.Get("/"); body != "none " {
		t.Fatalf("b = %q, want %q", body, "none ")
	}
	if a.Cookie("c") != "v1" || b.Cookie("c") != "" {
		t.Fatalf("Cookie: %q %q", a.Cookie("c"), b.Cookie("c"))
	}
}
