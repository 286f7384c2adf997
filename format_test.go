package sessions_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/cookie"
)

// The files in testdata/format were written by the release before the
// core restructure (commit 4998c71): a record as a Store receives it, and
// two sealed cookies (one compressed) under the key 0, 1, …, 31. Every
// later release must read them, so an upgrade logs nobody out.

// fixedStore returns the same record for every key.
type fixedStore struct{ data []byte }

func (f fixedStore) Load(context.Context, string) (sessions.Record, error) {
	return sessions.Record{Data: f.data, Version: 1}, nil
}

func (fixedStore) Save(context.Context, string, []byte, uint64, time.Duration) (uint64, error) {
	return 2, nil // reading the flashes removes them: a save that keeps nothing
}

func (fixedStore) Delete(context.Context, string) error { return nil }

type goldenProfile struct {
	Name string `json:"name"`
	Age  int    `json:"age"`
}

// readGolden serves a route that reads every value the samples hold, with
// its exact Go type, and describes them.
func readGolden(t *testing.T, backend sessions.Backend, cookieValue string) string {
	t.Helper()
	r := gin.New()
	// The samples were made on 2026-12-01; a long lifetime keeps them alive.
	r.Use(sessions.Sessions("sid", backend, sessions.WithLifetime(100*365*24*time.Hour)))
	r.GET("/", func(c *gin.Context) {
		s := sessions.Default(c)
		p, ok := sessions.Get[goldenProfile](s, "profile")
		fmt.Fprintf(c.Writer, "%#v|%#v|%#v|%#v|%#v|%#v|%#v|%#v|%#v|%#v|%v %#v",
			s.Get("user"), s.Get("n"), s.Get("cart"), s.Get("when").(time.Time).UTC().Format(time.RFC3339Nano),
			s.Get("raw"), s.Get("pi"), s.Get("ok"), s.Get("list"), s.Get("any"), s.Flashes(), ok, p)
		if big, ok := sessions.Get[string](s, "big"); ok {
			fmt.Fprintf(c.Writer, "|big %d", len(big))
		}
	})
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Cookie", "sid="+cookieValue)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	return w.Body.String()
}

const goldenWant = `"alice"|42|map[string]int{"apple":2, "pear":1}|"2026-11-25T21:44:00.123456789Z"|[]byte{0x1, 0x2, 0x3}|3.5|true|[]string{"a", "b"}|[]interface {}{"x", -7, interface {}(nil)}|[]interface {}{"welcome"}|true sessions_test.goldenProfile{Name:"Alice", Age:30}`

func golden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/format/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestReadsRecordsOfEarlierReleases(t *testing.T) {
	data, err := hex.DecodeString(golden(t, "record-v1.hex"))
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Repeat("A", 43) // any well-formed ID: the store answers every key
	if got := readGolden(t, fixedStore{data}, id); got != goldenWant {
		t.Fatalf("record of the previous release read as\n%s\nwant\n%s", got, goldenWant)
	}
}

func TestReadsCookiesOfEarlierReleases(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	cs, err := cookie.New(key)
	if err != nil {
		t.Fatal(err)
	}
	if got := readGolden(t, cs, golden(t, "cookie-v1.txt")); got != goldenWant {
		t.Fatalf("cookie of the previous release read as\n%s\nwant\n%s", got, goldenWant)
	}
	want := goldenWant + "|big 6400"
	if got := readGolden(t, cs, golden(t, "cookie-v1-deflate.txt")); got != want {
		t.Fatalf("compressed cookie of the previous release read as\n%s\nwant\n%s", got, want)
	}
}
