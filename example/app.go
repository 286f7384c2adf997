package main

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
)

// Limits of the input the app accepts.
const (
	cookieName  = "session"
	maxName     = 64      // characters in a username or an item name
	maxQty      = 1000    // items added at once
	maxItems    = 50      // distinct items in a cart
	maxFlashes  = 5       // pending flash messages kept in a session
	maxBodySize = 4 << 10 // bytes of a request body
	idleTimeout = 30 * time.Minute

	keyUser = "user" // string
	keyCart = "cart" // map[string]int
)

//go:embed templates/index.html
var templateFS embed.FS

var templates = template.Must(template.ParseFS(templateFS, "templates/index.html"))

// newApp returns the example's handler: the HTML page, its form posts and
// the JSON API over sessions kept in store. It logs every request to
// logger, never a cookie or session ID. opts are added to the Sessions
// middleware's options (after the app's own: a 30-minute idle timeout and
// an error handler that answers 503 with JSON on /api/* and with a page
// elsewhere).
func newApp(store sessions.Backend, logger *slog.Logger, opts ...sessions.Option) *gin.Engine {
	r := gin.New()
	r.SetHTMLTemplate(templates)
	r.HandleMethodNotAllowed = true
	_ = r.SetTrustedProxies(nil) // ClientIP is the peer's address

	cop := http.NewCrossOriginProtection()
	r.Use(
		requestLogger(logger), // outermost: sees the final status
		recoverer(logger),
		securityHeaders,
		func(c *gin.Context) {
			if err := cop.Check(c.Request); err != nil {
				c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "cross-origin request refused"})
			}
		},
		sessions.Sessions(cookieName, store, append([]sessions.Option{
			sessions.WithIdleTimeout(idleTimeout),
			sessions.WithErrorHandler(sessionError),
		}, opts...)...),
	)

	r.GET("/", page)
	forms := r.Group("/", limitForm)
	forms.POST("/login", formLogin)
	forms.POST("/logout", formLogout)
	forms.POST("/cart", formCart)

	api := r.Group("/api")
	api.GET("/session", apiSession)
	api.POST("/login", apiLogin)
	api.POST("/logout", apiLogout)
	api.POST("/cart", apiCart)
	return r
}

// ---- the page and its forms -------------------------------------------

// pageData is what the page shows.
type pageData struct {
	User    string
	Cart    []cartLine
	Flashes []string
	Error   string
	MaxName int
	MaxQty  int
}

type cartLine struct {
	Item string
	Qty  int
}

// renderPage renders the page with status and an error message. flashes says whether to show (and so consume)
// the flash messages: not on a page answering bad input, which leaves the
// session unchanged.
func renderPage(c *gin.Context, status int, errMsg string, flashes bool) {
	s := sessions.Default(c)
	user, _ := sessions.Get[string](s, keyUser)
	cart := cartOf(s)
	if c.IsAborted() { // the store failed: the error handler answered
		return
	}
	d := pageData{User: user, Error: errMsg, MaxName: maxName, MaxQty: maxQty}
	for _, item := range slices.Sorted(maps.Keys(cart)) {
		d.Cart = append(d.Cart, cartLine{item, cart[item]})
	}
	if flashes {
		d.Flashes = flashStrings(s.Flashes())
	}
	c.HTML(status, "index", d)
}

// limitForm reads a form body of at most maxBodySize bytes and answers 413
// for a larger one, before any handler (or the session) sees it.
func limitForm(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBodySize)
	if err := c.Request.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			renderPage(c, http.StatusRequestEntityTooLarge, fmt.Sprintf("the form is too large: at most %d bytes", maxBodySize), false)
		} else {
			renderPage(c, http.StatusBadRequest, "the form could not be read", false)
		}
		c.Abort()
	}
}

func page(c *gin.Context) { renderPage(c, http.StatusOK, "", true) }

func formLogin(c *gin.Context) {
	name, msg := validName("username", c.PostForm("username"))
	if msg != "" {
		renderPage(c, http.StatusBadRequest, msg, false)
		return
	}
	login(sessions.Default(c), name)
	c.Redirect(http.StatusSeeOther, "/")
}

func formLogout(c *gin.Context) {
	sessions.Default(c).Destroy()
	c.Redirect(http.StatusSeeOther, "/")
}

func formCart(c *gin.Context) {
	item, msg := validName("item", c.PostForm("item"))
	var qty int
	if msg == "" {
		qty, msg = validQty(c.PostForm("qty"))
	}
	if msg == "" {
		msg = addToCart(sessions.Default(c), item, qty)
	}
	if c.IsAborted() {
		return
	}
	if msg != "" {
		renderPage(c, http.StatusBadRequest, msg, false)
		return
	}
	flash(sessions.Default(c), fmt.Sprintf("Added %d × %s.", qty, item))
	c.Redirect(http.StatusSeeOther, "/")
}

// ---- the JSON API -------------------------------------------------------

func apiSession(c *gin.Context) {
	s := sessions.Default(c)
	user, ok := sessions.Get[string](s, keyUser)
	cart := cartOf(s)
	flashes := flashStrings(s.Flashes())
	if c.IsAborted() {
		return
	}
	var u any // null when nobody is logged in
	if ok {
		u = user
	}
	c.JSON(http.StatusOK, gin.H{"user": u, "cart": cart, "flashes": flashes})
}

func apiLogin(c *gin.Context) {
	var in struct {
		Username *string `json:"username"`
	}
	if !decodeJSON(c, &in, `{"username": "alice"}`) {
		return
	}
	if in.Username == nil {
		badRequest(c, "username is required")
		return
	}
	name, msg := validName("username", *in.Username)
	if msg != "" {
		badRequest(c, msg)
		return
	}
	login(sessions.Default(c), name)
	c.JSON(http.StatusOK, gin.H{"user": name})
}

func apiLogout(c *gin.Context) {
	sessions.Default(c).Destroy()
	c.JSON(http.StatusOK, gin.H{})
}

func apiCart(c *gin.Context) {
	var in struct {
		Item *string         `json:"item"`
		Qty  json.RawMessage `json:"qty"`
	}
	if !decodeJSON(c, &in, `{"item": "pencil", "qty": 2}`) {
		return
	}
	if in.Item == nil {
		badRequest(c, "item is required")
		return
	}
	item, msg := validName("item", *in.Item)
	if msg != "" {
		badRequest(c, msg)
		return
	}
	if in.Qty == nil {
		badRequest(c, "qty is required")
		return
	}
	qty, msg := validQty(string(in.Qty)) // a JSON number with digits only: not "2", 2.0 or 2e0
	if msg != "" {
		badRequest(c, msg)
		return
	}
	s := sessions.Default(c)
	if msg := addToCart(s, item, qty); msg != "" {
		if !c.IsAborted() {
			badRequest(c, msg)
		}
		return
	}
	c.JSON(http.StatusOK, gin.H{"cart": cartOf(s)})
}

// decodeJSON decodes the request body, one JSON object, into v. On failure
// it answers 400 (413 for a body over maxBodySize) and returns false.
func decodeJSON(c *gin.Context, v any, example string) bool {
	dec := json.NewDecoder(http.MaxBytesReader(c.Writer, c.Request.Body, maxBodySize))
	err := dec.Decode(v)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("trailing data")
	}
	if err == nil {
		return true
	}
	var tooLarge *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		c.AbortWithStatusJSON(http.StatusRequestEntityTooLarge, gin.H{"error": fmt.Sprintf("request body too large: at most %d bytes", maxBodySize)})
	case errors.As(err, &typeErr) && typeErr.Field != "":
		badRequest(c, typeErr.Field+" must be a string")
	default:
		badRequest(c, "malformed JSON: expected an object such as "+example)
	}
	return false
}

func badRequest(c *gin.Context, msg string) {
	c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"error": msg})
}

// ---- the session's content ----------------------------------------------

// login sets the user under a new session ID (against session fixation)
// and flashes a welcome. Another user's login on the same browser starts
// from an empty session: nothing of the previous user is carried over (an
// anonymous cart is).
func login(s *sessions.Session, name string) {
	if prev, ok := sessions.Get[string](s, keyUser); ok && prev != name {
		s.Clear()
	}
	s.Renew()
	s.Set(keyUser, name)
	flash(s, "Welcome, "+name+"!")
}

// flash adds a message for the next page, keeping at most maxFlashes
// pending, so that a client that never reads them cannot grow its session.
func flash(s *sessions.Session, msg string) {
	if pending := s.Flashes(); len(pending) > 0 {
		if len(pending) >= maxFlashes {
			pending = pending[len(pending)-maxFlashes+1:]
		}
		for _, f := range pending {
			s.AddFlash(f)
		}
	}
	s.AddFlash(msg)
}

// cartOf returns the cart, never nil.
func cartOf(s *sessions.Session) map[string]int {
	cart, _ := sessions.Get[map[string]int](s, keyCart)
	if cart == nil {
		cart = map[string]int{}
	}
	return cart
}

// addToCart adds qty of item with Update, so that concurrent adds to one
// session all count. It returns a message for the user when the cart is
// full. The limit is checked inside the Update function, which runs again
// on the fresh cart if another request saved first; the answer is read
// after Save, when the function has run for the last time.
func addToCart(s *sessions.Session, item string, qty int) string {
	full := false
	s.Update(keyCart, func(old any) any {
		cart, _ := old.(map[string]int)
		if cart == nil {
			cart = map[string]int{}
		}
		full = cart[item] == 0 && len(cart) >= maxItems
		if !full {
			cart[item] = min(cart[item]+qty, 1_000_000)
		}
		return cart
	})
	if err := s.Save(); err != nil {
		return "" // the error handler answers
	}
	if full {
		return fmt.Sprintf("the cart is full: at most %d different items", maxItems)
	}
	return ""
}

func flashStrings(fs []any) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, fmt.Sprint(f))
	}
	return out
}

// ---- validation ---------------------------------------------------------

// validName trims v and checks that it is a name of 1 to maxName printable
// characters; otherwise it returns a message for the user.
func validName(field, v string) (string, string) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return "", field + " is required"
	case !utf8.ValidString(v) || strings.IndexFunc(v, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) >= 0:
		return "", field + " has characters that are not allowed"
	case utf8.RuneCountInString(v) > maxName:
		return "", fmt.Sprintf("%s is too long: at most %d characters", field, maxName)
	}
	return v, ""
}

// validQty parses a quantity: a whole number from 1 to maxQty, digits only.
func validQty(v string) (int, string) {
	v = strings.TrimSpace(v)
	msg := fmt.Sprintf("qty must be a whole number from 1 to %d", maxQty)
	if v == "" || len(v) > 4 || strings.Trim(v, "0123456789") != "" {
		return 0, msg
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxQty {
		return 0, msg
	}
	return n, ""
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
			c.HTML(http.StatusBadRequest, "error", gin.H{"Title": "Too much for a cookie", "Message": "Sorry: " + msg + "."})
		}
		return
	}
	if api {
		sessions.DefaultErrorHandler(c, err)
		return
	}
	status, data := http.StatusInternalServerError, gin.H{
		"Title":   "Something went wrong",
		"Message": "Your session could not be saved. Please try again.",
	}
	if unavailable {
		status, data = http.StatusServiceUnavailable, gin.H{
			"Title":   "Sessions are unavailable",
			"Message": "We cannot reach the session store right now, so we cannot show your cart. Nothing was lost on your side; please try again in a moment.",
		}
	}
	c.HTML(status, "error", data)
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

// securityHeaders keeps the page from being framed, sniffed, cached or
// made to load anything: it has no script and only inline style.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
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
