// Package testapp serves a handler over real HTTP for the module's tests:
// an [App] on a loopback port, closed at the end of the test; [Browser]s
// that keep cookies in a jar and fail the test when a request does; the
// session cookie a response sets ([SetCookie]); and a [Gate] that holds a
// request inside its handler, so that a test orders two requests of one
// session without sleeping.
//
// It does not import package sessions: the caller builds the handler, so
// that package's own internal tests can use it too, and so can storetest.
package testapp

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
)

// App is a handler served over real HTTP until the end of the test, with
// a browser of its own (the embedded [Browser]) for the common case of
// one client.
type App struct {
	*httptest.Server
	*Browser
	tb   testing.TB
	mu   sync.Mutex
	errs []string // the Gin errors of the last request, for NewGin
}

// New serves h on a free loopback port and closes the server when the
// test ends.
func New(tb testing.TB, h http.Handler) *App {
	tb.Helper()
	a := &App{tb: tb}
	a.serve(h)
	return a
}

// NewGin serves a new Gin engine (test mode) on a free loopback port.
// build adds the middleware and routes; before them, the engine records
// the errors each request adds to its context, which Errors returns.
func NewGin(tb testing.TB, build func(r *gin.Engine)) *App {
	tb.Helper()
	gin.SetMode(gin.TestMode)
	a := &App{tb: tb}
	r := gin.New()
	r.Use(func(c *gin.Context) {
		c.Next()
		a.mu.Lock()
		a.errs = c.Errors.Errors()
		a.mu.Unlock()
	})
	build(r)
	a.serve(r)
	return a
}

func (a *App) serve(h http.Handler) {
	a.Server = httptest.NewServer(h)
	a.tb.Cleanup(a.Close)
	a.Browser = a.NewBrowser()
}

// Errors returns the errors the last finished request added to its Gin
// context (always none for an App made with New).
func (a *App) Errors() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.errs
}

// NewBrowser returns a new browser of a, with an empty cookie jar.
func (a *App) NewBrowser() *Browser {
	b := a.Stranger()
	b.HTTP.Jar = newJar(a.tb)
	return b
}

// Stranger returns a client of a without a cookie jar: it sends only the
// cookies its requests are given ([WithCookie]), as a copied cookie would
// be replayed.
func (a *App) Stranger() *Browser {
	return &Browser{HTTP: &http.Client{Timeout: timeout}, app: a, tb: a.tb}
}
