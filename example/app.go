package main

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
)

// cookieName is the session cookie's name.
const cookieName = "session"

var (
	//go:embed templates/*.html
	templateFS embed.FS
	//go:embed static
	staticFS embed.FS
)

// assetVersions holds a short hash of each static file's content, for
// URLs that change when the file does (see asset).
var assetVersions = func() map[string]string {
	v := map[string]string{}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		sum := sha256.Sum256(b)
		v[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:5])
		return err
	})
	if err != nil {
		panic(err)
	}
	return v
}()

// asset returns the URL of a static file, versioned by its content, so
// that browsers may cache it for good. It panics on a file that does not
// exist, which the page tests would catch.
func asset(name string) string {
	v, ok := assetVersions[name]
	if !ok {
		panic("example: no static file " + name)
	}
	return "/static/" + name + "?v=" + v
}

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	"money": money,
	"asset": asset,
	"ago":   ago,
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	},
}).ParseFS(templateFS, "templates/*.html"))

// shop is the app: its pages, their forms and the JSON API.
type shop struct {
	// sealed is true on a Sealer backend (cookie://): the session lives
	// in the cookie, so nothing on the server can list or sign out
	// devices, and of concurrent writes the last wins.
	sealed bool
}

// newApp returns the example's handler: the shop's pages, their form
// posts and the JSON API over sessions kept in store, and its static
// files. It logs every request to logger, never a cookie or session ID.
// opts are added to the Sessions middleware's options, after the app's
// own: cookies that last the browser session unless the user ticks
// "remember me" (WithPersist(false)), sessions that end after a week
// without a request, and an error handler that answers 503 with JSON on
// /api/* and with a page elsewhere.
func newApp(store sessions.Backend, logger *slog.Logger, opts ...sessions.Option) *gin.Engine {
	_, sealed := store.(sessions.Sealer)
	a := &shop{sealed: sealed}

	r := gin.New()
	r.SetHTMLTemplate(templates)
	r.HandleMethodNotAllowed = true
	_ = r.SetTrustedProxies(nil) // ClientIP is the peer's address
	r.Use(
		requestLogger(logger), // outermost: sees the final status
		recoverer(logger),
	)
	r.GET("/static/*name", static) // no session: nothing to load or save

	cop := http.NewCrossOriginProtection()
	app := r.Group("/",
		securityHeaders,
		func(c *gin.Context) {
			if err := cop.Check(c.Request); err != nil {
				c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "cross-origin request refused"})
			}
		},
		sessions.Sessions(cookieName, store, append([]sessions.Option{
			sessions.WithPersist(false),
			sessions.WithLifetime(sessionLifetime),
			sessions.WithIdleTimeout(idleTimeout),
			sessions.WithErrorHandler(sessionError),
		}, opts...)...),
	)

	app.GET("/", a.shopPage)
	app.GET("/cart", a.cartPage)
	app.GET("/devices", a.devicesPage)
	forms := app.Group("/", a.limitForm)
	forms.POST("/login", a.formLogin)
	forms.POST("/logout", a.formLogout)
	forms.POST("/cart", a.formCart)
	forms.POST("/cart/remove", a.formRemove)
	forms.POST("/checkout", a.formCheckout)
	forms.POST("/devices/logout-others", a.formLogoutOthers)
	forms.POST("/devices/logout", a.formLogoutDevice)

	api := app.Group("/api")
	api.GET("/session", a.apiSession)
	api.POST("/login", a.apiLogin)
	api.POST("/logout", a.apiLogout)
	api.GET("/products", a.apiProducts)
	api.GET("/cart", a.apiGetCart)
	api.POST("/cart", a.apiCart)
	api.GET("/devices", a.apiDevices)
	api.POST("/devices/logout-others", a.apiLogoutOthers)
	return r
}

// ---- pages ----------------------------------------------------------------

// pageData is what a page shows. The layout (header, flashes, footer)
// uses the first group of fields; each page some of the others.
type pageData struct {
	Page   string // the template: "shop", "cart", "devices" or "error"
	Title  string
	User   string
	Cart   cartView
	Info   []string // flash messages
	Errors []string // flash messages of the error category
	Error  string   // what was wrong with the form just posted
	Sealed bool     // sessions live in sealed cookies

	Products []product // shop
	MaxName  int
	MaxQty   int
	Race     int    // cart: how many parallel adds the demo sends
	RaceItem string // cart: of which product

	Devices     []sessions.Device // devices
	DevicesNote string            // devices: why there is no list

	Message string // error
}

// render renders page with status. showFlashes says whether to show (and
// so consume) the flash messages: not on a page answering bad input,
// which leaves the session unchanged. It renders nothing if the session
// could not be loaded (the error handler has answered).
func (a *shop) render(c *gin.Context, status int, page string, d pageData, showFlashes bool) {
	s := sessions.Default(c)
	d.User = loggedIn(s)
	d.Cart = viewCart(cartOf(s))
	if showFlashes {
		d.Info = flashes(s, flashInfo)
		d.Errors = flashes(s, flashError)
	}
	if c.IsAborted() {
		return
	}
	d.Page, d.Sealed = page, a.sealed
	d.MaxName, d.MaxQty, d.Products = maxName, maxQty, catalogue
	c.HTML(status, page, d)
}

// formError renders the page a form was posted from with a 400 (or
// another status) and the message; the session is unchanged.
func (a *shop) formError(c *gin.Context, status int, page, msg string) {
	a.render(c, status, page, pageData{Title: titles[page], Error: msg}, false)
	c.Abort()
}

var titles = map[string]string{"shop": "Shop", "cart": "Your cart", "devices": "Your devices"}

// limitForm reads a form body of at most maxBodySize bytes and answers 413
// for a larger one, before any handler (or the session) sees it.
func (a *shop) limitForm(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBodySize)
	if err := c.Request.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			a.formError(c, http.StatusRequestEntityTooLarge, "shop", fmt.Sprintf("the form is too large: at most %d bytes", maxBodySize))
		} else {
			a.formError(c, http.StatusBadRequest, "shop", "the form could not be read")
		}
	}
}

// ago says how long ago t was, roughly, for the Devices page.
func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return quantity(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		return quantity(int(d/time.Hour), "hour") + " ago"
	default:
		return quantity(int(d/(24*time.Hour)), "day") + " ago"
	}
}

// quantity writes n units: "1 minute", "5 minutes".
func quantity(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// static serves the embedded static files. A URL with the file's current
// version (see asset) may be cached for good; any other must be checked.
func static(c *gin.Context) {
	name := strings.TrimPrefix(c.Param("name"), "/")
	v, ok := assetVersions[name]
	if !ok || !fs.ValidPath(name) {
		c.String(http.StatusNotFound, "not found")
		return
	}
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil {
		c.String(http.StatusNotFound, "not found")
		return
	}
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'") // an SVG opened directly runs nothing
	if c.Query("v") == v {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	c.Data(http.StatusOK, ctype, b)
}

// ---- errors, logs and headers -------------------------------------------

// sessionError answers a request whose session could not be loaded or
// saved: JSON on /api/* (503 when the store failed, as
// sessions.DefaultErrorHandler does), a readable page elsewhere. A session
// too large for its store (a cookie, a memcached item) is a 400: the change
// is not saved, and retrying cannot help.
func sessionError(c *gin.Context, err error) {
	c.Writer.Header().Del("Location")
	var se *sessions.StoreError
	unavailable := errors.As(err, &se) && !errors.Is(err, sessions.ErrTooLarge)
	if unavailable {
		c.Header("Retry-After", "5")
	}
	api := strings.HasPrefix(c.Request.URL.Path, "/api/")
	if errors.Is(err, sessions.ErrTooLarge) {
		const msg = "the session is too large to keep, so this change was not saved"
		if api {
			c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"error": msg})
		} else {
			c.HTML(http.StatusBadRequest, "error", pageData{Page: "error", Title: "Too much for a cookie", Message: "Sorry: " + msg + "."})
		}
		return
	}
	if api {
		sessions.DefaultErrorHandler(c, err)
		return
	}
	status, data := http.StatusInternalServerError, pageData{
		Page:    "error",
		Title:   "Something went wrong",
		Message: "Your session could not be saved. Please try again.",
	}
	if unavailable {
		status, data = http.StatusServiceUnavailable, pageData{
			Page:    "error",
			Title:   "Sessions are unavailable",
			Message: "We cannot reach the session store right now, so we cannot show your cart. Nothing was lost on your side; please try again in a moment.",
		}
	}
	c.HTML(status, "error", data)
}

// storeFailed answers for a store call of the handler's own (Devices,
// RevokeOthers) that failed, as the middleware answers for its own: the
// error is recorded and the error handler answers.
func storeFailed(c *gin.Context, err error) {
	if c.IsAborted() { // the session's load failed: answered already
		return
	}
	_ = c.Error(err)
	sessionError(c, err)
	c.Abort()
}

// requestLogger logs one line per request with log/slog: method, path
// (without the query), status, size, duration, client address and the
// errors handlers recorded. It never logs headers, so never a cookie or a
// session ID.
func requestLogger(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		status := c.Writer.Status()
		attrs := []slog.Attr{
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.Int("status", status),
			slog.Int("bytes", max(c.Writer.Size(), 0)),
			slog.Duration("duration", time.Since(start)),
			slog.String("client", c.ClientIP()),
		}
		level := slog.LevelInfo
		if len(c.Errors) > 0 {
			attrs = append(attrs, slog.String("error", strings.Join(c.Errors.Errors(), "; ")))
			level = slog.LevelWarn
		}
		if status >= 500 {
			level = slog.LevelError
		}
		logger.LogAttrs(c.Request.Context(), level, "request", attrs...)
	}
}

// recoverer turns a panic into a 500 and a log line. Unlike gin.Recovery,
// it does not log the request's headers, which hold the session cookie.
func recoverer(logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			logger.Error("panic", "method", c.Request.Method, "path", c.Request.URL.Path,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
			}
			c.Abort()
		}()
		c.Next()
	}
}

// securityHeaders keeps the pages from being framed, sniffed or cached,
// and from loading anything but the app's own static files and API: no
// inline script or style, no other site.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	// The Sessions middleware replaces Cache-Control with
	// no-cache="Set-Cookie" when it sets the cookie, which would let a
	// shared cache keep a page with the user's data; put no-store back
	// just before the header goes out.
	c.Writer = noStoreWriter{c.Writer}
	c.Next()
	if !c.Writer.Written() {
		h.Set("Cache-Control", "no-store")
	}
}

// noStoreWriter sets Cache-Control: no-store as the header goes out.
type noStoreWriter struct{ gin.ResponseWriter }

func (w noStoreWriter) noStore() {
	if !w.Written() {
		w.Header().Set("Cache-Control", "no-store")
	}
}

func (w noStoreWriter) WriteHeaderNow() { w.noStore(); w.ResponseWriter.WriteHeaderNow() }

func (w noStoreWriter) Write(b []byte) (int, error) { w.noStore(); return w.ResponseWriter.Write(b) }

func (w noStoreWriter) WriteString(s string) (int, error) {
	w.noStore()
	return w.ResponseWriter.WriteString(s)
}

func (w noStoreWriter) Flush() { w.noStore(); w.ResponseWriter.Flush() }
