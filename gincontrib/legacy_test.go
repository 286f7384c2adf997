package gincontrib_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/gincontrib"
	"github.com/sessionware/sessions/memory"
)

// fakeLegacy finds one legacy session, with the Go values gob gave a
// reader, for any request with the cookie "mysession=legacy".
type fakeLegacy struct{ values map[string]any }

func (f fakeLegacy) Find(_ context.Context, r *http.Request) (*sessions.Legacy, error) {
	if c, err := r.Cookie("mysession"); err != nil || c.Value != "legacy" {
		return nil, nil
	}
	return &sessions.Legacy{
		ID: "L", Cookie: "mysession", Path: "/", Values: f.values,
		Flashes: map[string][]any{"": {"hello", Profile{Name: "in a flash"}, []byte("raw")}},
	}, nil
}

func (fakeLegacy) End(context.Context, *sessions.Legacy) error { return nil }

// TestMigratedValuesKeepTheirTypes: a legacy session's values and
// flashes come back from the drop-in with the Go types the reader found
// (a struct, a pointer, []byte), not as the native codec's JSON view.
func TestMigratedValuesKeepTheirTypes(t *testing.T) {
	m := memory.New()
	t.Cleanup(func() { m.Close() })
	st := gincontrib.NewStore(gincontrib.Backend{
		Open: func() sessions.Backend { return m },
		Legacy: func(name string, o gincontrib.Options) sessions.Migrator {
			return fakeLegacy{values: map[string]any{"profile": Profile{Name: "alice"}, "account": &Account{ID: 3}, "raw": []byte{1}, "n": 2}}
		},
	})
	a := app(t, st, func(r *gin.Engine) {
		r.GET("/get", func(c *gin.Context) {
			s := gincontrib.Default(c)
			c.String(200, "%#v|%#v|%#v|%#v|%#v", s.Get("profile").(Profile), s.Get("account"), s.Get("raw"), s.Get("n"), s.Flashes())
		})
	})
	a.Stranger().Expect("GET", "/get", 200, `gincontrib_test.Profile{Name:"alice", Admin:false, Tags:map[string]int(nil)}|`+
		`&gincontrib_test.Account{ID:3}|[]byte{0x1}|2|[]interface {}{"hello", gincontrib_test.Profile{Name:"in a flash", Admin:false, Tags:map[string]int(nil)}, []uint8{0x72, 0x61, 0x77}}`,
		func(r *http.Request) { r.Header.Set("Cookie", "mysession=legacy") })
}
