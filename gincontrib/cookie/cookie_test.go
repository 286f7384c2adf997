package cookie_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions/gincontrib"
	"github.com/sessionware/sessions/gincontrib/cookie"
	"github.com/sessionware/sessions/internal/testapp"
)

// hkdf is RFC 5869 written out, to check Keys against: extract with a
// zero salt, expand one block.
func hkdf(ikm []byte, info string) []byte {
	ext := hmac.New(sha256.New, make([]byte, sha256.Size))
	ext.Write(ikm)
	prk := ext.Sum(nil)
	exp := hmac.New(sha256.New, prk)
	exp.Write([]byte(info))
	exp.Write([]byte{1})
	return exp.Sum(nil)
}

// TestKeys: each pair becomes HKDF-SHA-256 over its two keys, each with
// its length; a last pair without a block key counts as an empty one.
func TestKeys(t *testing.T) {
	keys := cookie.Keys([]byte("secret"), []byte("0123456789abcdef"), []byte("old"))
	want := []string{
		hex.EncodeToString(hkdf([]byte("\x06secret\x100123456789abcdef"), "sessionware/gincontrib cookie key v1")),
		hex.EncodeToString(hkdf([]byte("\x03old\x00"), "sessionware/gincontrib cookie key v1")),
	}
	if len(keys) != 2 || hex.EncodeToString(keys[0]) != want[0] || hex.EncodeToString(keys[1]) != want[1] {
		t.Errorf("Keys = %x, want %v", keys, want)
	}
	// Which key of the pair holds which bytes matters.
	if a, b := cookie.Keys([]byte("ab"), []byte("c")), cookie.Keys([]byte("a"), []byte("bc")); string(a[0]) == string(b[0]) {
		t.Error("pairs with the same bytes split differently give the same key")
	}
}

// TestKeysPanic: no pairs, or a pair without a hash key, panic.
func TestKeysPanic(t *testing.T) {
	for name, pairs := range map[string][][]byte{
		"none":                   nil,
		"empty hash key":         {{}},
		"second pair empty hash": {[]byte("a"), nil, nil},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if msg, _ := recover().(string); !strings.HasPrefix(msg, "gincontrib/cookie: ") {
					t.Errorf("panicked with %q", msg)
				}
			}()
			cookie.NewStore(pairs...)
		})
	}
}

// TestRotation: as with gin-contrib, a new pair put in front of the old
// one reads the cookies sealed with the old pair (and seals them again
// with the new one); a store with the new pair alone does not read them.
func TestRotation(t *testing.T) {
	oldPair := [][]byte{[]byte("old hash key of 32 bytes or more!"), []byte("0123456789abcdef")}
	newPair := [][]byte{[]byte("new hash key of 32 bytes or more!"), nil}
	serve := func(st gincontrib.Store) *testapp.App {
		return testapp.NewGin(t, func(r *gin.Engine) {
			r.Use(gincontrib.Sessions("mysession", st))
			r.POST("/set", func(c *gin.Context) { gincontrib.Default(c).Set("user", "alice"); c.String(200, "ok") })
			r.GET("/get", func(c *gin.Context) { c.String(200, "%v", gincontrib.Default(c).Get("user")) })
		})
	}
	before := serve(cookie.NewStore(oldPair...))
	before.Expect("POST", "/set", 200, "ok")
	sealed := before.Cookie("mysession")

	rotated := serve(cookie.NewStore(append(append([][]byte{}, newPair...), oldPair...)...))
	resp := rotated.Stranger().Expect("GET", "/get", 200, "alice", testapp.WithCookie("mysession", sealed))
	resealed, ok := testapp.SetCookie(resp, "mysession")
	if !ok || resealed.Value == sealed {
		t.Fatalf("an old pair's cookie was not sealed again: %v", resp.Header.Values("Set-Cookie"))
	}
	newOnly := serve(cookie.NewStore(newPair...))
	newOnly.Stranger().Expect("GET", "/get", 200, "<nil>", testapp.WithCookie("mysession", sealed))
	newOnly.Stranger().Expect("GET", "/get", 200, "alice", testapp.WithCookie("mysession", resealed.Value))
}
