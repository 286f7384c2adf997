package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/backends"
	"github.com/sessionware/sessions/internal/testapp"
	"github.com/sessionware/sessions/internal/testserver"
)

// ---- test harness ---------------------------------------------------------

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// cookieRecorder remembers every session cookie value a client sent or
// received, so that the logs can be checked for them.
type cookieRecorder struct {
	next   http.RoundTripper
	mu     sync.Mutex
	values map[string]bool
}

func (r *cookieRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.note(req.Cookies())
	resp, err := r.next.RoundTrip(req)
	if err == nil {
		r.note(resp.Cookies())
	}
	return resp, err
}

func (r *cookieRecorder) note(cs []*http.Cookie) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range cs {
		if c.Name == cookieName && c.Value != "" {
			r.values[c.Value] = true
		}
	}
}

func (r *cookieRecorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for v := range r.values {
		out = append(out, v)
	}
	return out
}

// harness is the app served over real HTTP on a loopback port.
type harness struct {
	*testapp.App
	t      *testing.T
	logs   *syncBuffer
	cookie *cookieRecorder
}

// serve starts the app on store, with opts added to its session options.
// At the end of the test it checks that no session cookie value the
// clients saw appears in the logs.
func serve(t *testing.T, store sessions.Backend, opts ...sessions.Option) *harness {
	t.Helper()
	h := &harness{t: t, logs: &syncBuffer{}, cookie: &cookieRecorder{next: http.DefaultTransport, values: map[string]bool{}}}
	logger := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.App = testapp.New(t, newApp(store, logger, opts...))
	t.Cleanup(func() {
		h.Close() // before the App's own clean-up: every request is logged then
		logs := h.logs.String()
		for _, v := range h.cookie.seen() {
			if strings.Contains(logs, v) {
				t.Errorf("the logs contain a session cookie value:\n%s", logs)
			}
		}
		for _, s := range []string{"Cookie:", "Set-Cookie", "HttpOnly"} { // no header dumps
			if strings.Contains(logs, s) {
				t.Errorf("the logs mention %q:\n%s", s, logs)
			}
		}
	})
	return h
}

// client returns a new browser-like client with its own cookie jar.
func (h *harness) client() *client {
	b := h.NewBrowser()
	b.HTTP.Transport = h.cookie
	b.HTTP.Timeout = 30 * time.Second
	b.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // see the 303s
	}
	return &client{Browser: b, t: h.t}
}

type client struct {
	*testapp.Browser
	t *testing.T
}

// response is an answer, body read.
type response struct {
	status int
	header http.Header
	body   string
	json   map[string]any
}

func (c *client) do(method, path, contentType, body string) response {
	c.t.Helper()
	resp, b := c.Do(method, path, testapp.WithBody(contentType, body))
	r := response{status: resp.StatusCode, header: resp.Header, body: b}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal([]byte(b), &r.json); err != nil {
			c.t.Fatalf("%s %s: invalid JSON %q: %v", method, path, b, err)
		}
	}
	return r
}

func (c *client) postJSON(path, body string) response {
	return c.do(http.MethodPost, path, "application/json", body)
}

func (c *client) postForm(path string, form url.Values) response {
	return c.do(http.MethodPost, path, "application/x-www-form-urlencoded", form.Encode())
}

func (c *client) get(path string) response { return c.do(http.MethodGet, path, "", "") }

// session returns GET /api/session, failing the test unless it is a 200.
func (c *client) session() map[string]any {
	c.t.Helper()
	r := c.get("/api/session")
	if r.status != http.StatusOK {
		c.t.Fatalf("GET /api/session: %d %s", r.status, r.body)
	}
	return r.json
}

func want(t *testing.T, what string, got, wanted any) {
	t.Helper()
	if !reflect.DeepEqual(got, wanted) {
		t.Errorf("%s = %#v, want %#v", what, got, wanted)
	}
}

// countingStore counts the writes that reach a store.
type countingStore struct {
	sessions.Store
	saves, deletes, touches atomic.Int64
}

func (s *countingStore) Save(ctx context.Context, key string, data []byte, version uint64, ttl time.Duration) (uint64, error) {
	s.saves.Add(1)
	return s.Store.Save(ctx, key, data, version, ttl)
}

func (s *countingStore) Delete(ctx context.Context, key string) error {
	s.deletes.Add(1)
	return s.Store.Delete(ctx, key)
}

func (s *countingStore) Touch(ctx context.Context, key string, ttl time.Duration, at time.Time) error {
	s.touches.Add(1)
	return s.Store.(sessions.Toucher).Touch(ctx, key, ttl, at)
}

func (s *countingStore) writes() int64 { return s.saves.Load() + s.deletes.Load() + s.touches.Load() }

// open opens a store through package backends and closes it at the end of
// the test.
func open(t *testing.T, cfg backends.Config) sessions.Backend {
	t.Helper()
	s, err := cfg.Open()
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := s.(io.Closer); ok {
		t.Cleanup(func() { c.Close() })
	}
	return s
}

// testKey is a cookie key for tests.
const testKey = "05VnOwArLX8EFBuqlkIyX+0zVK3KybN+mz5VJ6uHuSM="

// backendCase is one backend the app runs on in a test.
type backendCase struct {
	name string
	open func(t *testing.T) sessions.Backend
}

func memoryBackend() backendCase {
	return backendCase{"memory", func(t *testing.T) sessions.Backend { return open(t, backends.Config{Store: "memory://"}) }}
}

func cookieBackend() backendCase {
	return backendCase{"cookie", func(t *testing.T) sessions.Backend {
		return open(t, backends.Config{Store: "cookie://", Keys: []string{testKey}})
	}}
}

func memcachedBackend() backendCase {
	return backendCase{"memcached", func(t *testing.T) sessions.Backend {
		return open(t, backends.Config{Store: "memcached://" + testserver.Memcached(t).Addr + "?prefix=example-test:"})
	}}
}

func redisBackend() backendCase {
	return backendCase{"redis", func(t *testing.T) sessions.Backend {
		return open(t, backends.Config{Store: "redis://" + testserver.Redis(t).Addr + "/0?prefix=example-test:"})
	}}
}

// ---- tests ------------------------------------------------------------------

// anonymous is /api/session for a browser without a session.
var anonymous = map[string]any{"user": nil, "cart": map[string]any{}, "flashes": infoFlashes()}

// infoFlashes is /api/session's "flashes" with these info messages and no
// error.
func infoFlashes(msgs ...any) map[string]any {
	return map[string]any{"info": append([]any{}, msgs...), "error": []any{}}
}

// TestAPI walks the JSON API as a client would, on every backend.
func TestAPI(t *testing.T) {
	for _, b := range []backendCase{memoryBackend(), cookieBackend(), memcachedBackend(), redisBackend()} {
		t.Run(b.name, func(t *testing.T) {
			h := serve(t, b.open(t))
			c := h.client()

			want(t, "anonymous session", c.session(), anonymous)
			if v := c.Cookie(cookieName); v != "" {
				t.Errorf("reading an empty session set a cookie %q", v)
			}

			r := c.postJSON("/api/login", `{"username": "  alice "}`)
			want(t, "login status", r.status, http.StatusOK)
			want(t, "login answer", r.json, map[string]any{"user": "alice"})
			want(t, "login Cache-Control", r.header.Values("Cache-Control"), []string{"no-store"})
			first := c.Cookie(cookieName)
			if first == "" {
				t.Fatal("login set no session cookie")
			}

			r = c.postJSON("/api/cart", `{"item": "pencil", "qty": 10}`)
			want(t, "cart answer", r.json, map[string]any{"cart": map[string]any{"pencil": 10.0}, "count": 10.0, "total_cents": 1200.0})
			r = c.postJSON("/api/cart", `{"item": "eraser", "qty": 5}`)
			r = c.postJSON("/api/cart", `{"item": "pencil", "qty": 25}`)
			// 35 pencils at 1.20 and 5 erasers at 0.90: 42.00 + 4.50.
			wantCart := map[string]any{"cart": map[string]any{"pencil": 35.0, "eraser": 5.0}, "count": 40.0, "total_cents": 4650.0}
			want(t, "cart answer", r.json, wantCart)
			want(t, "GET /api/cart", c.get("/api/cart").json, wantCart)

			want(t, "session", c.session(), map[string]any{
				"user": "alice", "cart": map[string]any{"pencil": 35.0, "eraser": 5.0}, "flashes": infoFlashes("Welcome, alice!"),
			})
			want(t, "flashes read twice", c.session()["flashes"], infoFlashes())

			// Logging in again renews the session ID and keeps the cart
			// (another user starts clean: TestAnotherUsersLoginStartsClean).
			c.postJSON("/api/login", `{"username": "alice"}`)
			if second := c.Cookie(cookieName); second == first {
				t.Error("login did not renew the session ID")
			}
			s := c.session()
			want(t, "user after second login", s["user"], "alice")
			want(t, "cart after second login", s["cart"], map[string]any{"pencil": 35.0, "eraser": 5.0})

			r = c.postJSON("/api/logout", ``)
			want(t, "logout", r.status, http.StatusOK)
			want(t, "logout answer", r.json, map[string]any{})
			want(t, "session after logout", c.session(), anonymous)
			if v := c.Cookie(cookieName); v != "" {
				t.Errorf("logout left the cookie %q", v)
			}
		})
	}
}

// TestLogoutRevokesServerSide checks that a copy of the cookie taken before
// logout no longer works on the server-side stores.
func TestLogoutRevokesServerSide(t *testing.T) {
	h := serve(t, open(t, backends.Config{Store: "memory://"}))
	c := h.client()
	c.postJSON("/api/login", `{"username": "alice"}`)
	stolen := c.Cookie(cookieName)
	c.postJSON("/api/logout", ``)

	thief := h.client()
	u, _ := url.Parse(h.URL)
	thief.HTTP.Jar.SetCookies(u, []*http.Cookie{{Name: cookieName, Value: stolen}})
	want(t, "user with a cookie copied before logout", thief.session()["user"], nil)
}

// TestPage walks the shop's pages and their forms, as a browser without
// JavaScript would: the catalogue, an anonymous cart, checkout refused
// before login (an error flash), login, adds, the cart with its totals,
// remove, checkout, logout.
func TestPage(t *testing.T) {
	for _, b := range []backendCase{memoryBackend(), cookieBackend()} {
		t.Run(b.name, func(t *testing.T) {
			h := serve(t, b.open(t))
			c := h.client()
			has := func(what, body string, parts ...string) {
				t.Helper()
				for _, s := range parts {
					if !strings.Contains(body, s) {
						t.Errorf("%s lacks %q:\n%s", what, s, body)
					}
				}
			}

			r := c.get("/")
			want(t, "page status", r.status, http.StatusOK)
			has("the anonymous shop", r.body, `id="login-form"`, `id="remember" type="checkbox" name="remember"`, `id="cart-empty"`,
				`<span id="cart-count" class="badge">0</span>`, `href="`+asset("shop.css")+`"`, `src="`+asset("shop.js")+`"`)
			want(t, "products shown", strings.Count(r.body, `<article class="product"`), len(catalogue))
			for _, p := range catalogue {
				has("the shop", r.body, `data-item="`+p.ID+`"`, `<span class="price">`+money(p.Price)+`</span>`)
			}
			if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}

			r = c.postForm("/cart", url.Values{"item": {"pencil"}, "qty": {"2"}})
			want(t, "anonymous add status", r.status, http.StatusSeeOther)
			r = c.postForm("/checkout", nil)
			want(t, "anonymous checkout status", r.status, http.StatusSeeOther)
			want(t, "checkout redirect", r.header.Get("Location"), "/cart")
			r = c.get("/cart")
			has("the cart after an anonymous checkout", r.body,
				`<p class="flash flash-info" role="status">Added 2 × Graphite pencil to your cart.</p>`,
				`<p class="flash flash-error" role="alert">Please log in to place your order.</p>`,
				`You will need to log in to order.`)
			has("the pencil line", cartRow(t, r.body, "pencil"), `<td class="num qty">2</td>`)

			r = c.postForm("/login", url.Values{"username": {"<alice>"}})
			want(t, "login status", r.status, http.StatusSeeOther)
			want(t, "login Cache-Control", r.header.Values("Cache-Control"), []string{"no-store"})
			if len(r.header.Values("Set-Cookie")) != 1 {
				t.Errorf("login set the cookies %q, want one", r.header.Values("Set-Cookie"))
			}
			want(t, "login redirect", r.header.Get("Location"), "/")

			r = c.postForm("/cart", url.Values{"item": {"eraser"}, "qty": {"3"}})
			want(t, "cart status", r.status, http.StatusSeeOther)
			want(t, "cart redirect", r.header.Get("Location"), "/")

			r = c.get("/")
			want(t, "page Cache-Control", r.header.Values("Cache-Control"), []string{"no-store"})
			has("the shop after login", r.body,
				`Hi, <strong id="user">&lt;alice&gt;</strong>`, // escaped
				`<p class="flash flash-info" role="status">Welcome, &lt;alice&gt;!</p>`,
				`<p class="flash flash-info" role="status">Added 3 × Soft eraser to your cart.</p>`,
				`<span id="cart-count" class="badge">5</span>`,
				`<li data-item="pencil"><span>2 × Graphite pencil</span><span>€2.40</span></li>`,
				`<li data-item="eraser"><span>3 × Soft eraser</span><span>€2.70</span></li>`,
				`<strong id="summary-total">€5.10</strong>`,
				`id="logout"`)
			if r = c.get("/"); strings.Contains(r.body, "Welcome") {
				t.Error("a flash message showed twice")
			}

			r = c.get("/cart")
			has("the pencil line", cartRow(t, r.body, "pencil"), `<td class="num unit">€1.20</td>`, `<td class="num qty">2</td>`, `<td class="num line-total">€2.40</td>`)
			has("the eraser line", cartRow(t, r.body, "eraser"), `<td class="num unit">€0.90</td>`, `<td class="num qty">3</td>`, `<td class="num line-total">€2.70</td>`)
			has("the cart", r.body, `<span id="cart-items">5 items</span>`, `<td id="cart-total" class="num">€5.10</td>`, `id="checkout"`, `id="race"`)
			if strings.Contains(r.body, "You will need to log in") {
				t.Error("the cart asks a logged-in user to log in")
			}

			r = c.postForm("/cart/remove", url.Values{"item": {"eraser"}})
			want(t, "remove status", r.status, http.StatusSeeOther)
			want(t, "remove redirect", r.header.Get("Location"), "/cart")
			r = c.get("/cart")
			has("the cart after remove", r.body, `Removed Soft eraser from your cart.`, `<span id="cart-items">2 items</span>`, `<td id="cart-total" class="num">€2.40</td>`)
			if strings.Contains(r.body, `data-item="eraser"`) {
				t.Error("the removed line is still in the cart")
			}

			r = c.postForm("/checkout", nil)
			want(t, "checkout status", r.status, http.StatusSeeOther)
			r = c.get("/cart")
			has("the cart after checkout", r.body,
				`<p class="flash flash-info" role="status">Thank you! You ordered 2 items for €2.40. (This is a demo: nothing is charged or shipped.)</p>`,
				`id="cart-empty"`, `<span id="cart-count" class="badge">0</span>`)
			c.postForm("/checkout", nil)
			has("the cart after an empty checkout", c.get("/cart").body,
				`<p class="flash flash-error" role="alert">Your cart is empty: there is nothing to order.</p>`)

			r = c.postForm("/logout", nil)
			want(t, "logout status", r.status, http.StatusSeeOther)
			r = c.get("/")
			if !strings.Contains(r.body, `id="login-form"`) || !strings.Contains(r.body, `id="cart-empty"`) || strings.Contains(r.body, `id="user"`) {
				t.Errorf("after logout the page is not the anonymous one:\n%s", r.body)
			}
		})
	}
}

// cartRow returns the cart table's row of a product, failing the test if
// the page has none.
func cartRow(t *testing.T, body, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<tr data-item="` + regexp.QuoteMeta(id) + `">.*?</tr>`).FindString(body)
	if m == "" {
		t.Fatalf("the cart has no %s line:\n%s", id, body)
	}
	return m
}

// TestBadInput sends bad input to every route that takes some, and checks
// the 400, its message, and that the session did not change: no write
// reached the store and no cookie was set.
func TestBadInput(t *testing.T) {
	long := strings.Repeat("x", maxName+1)
	for _, tc := range []struct {
		name, path, contentType, body string
		status                        int
		wantMsg                       string
	}{
		{"EmptyUsername", "/api/login", "application/json", `{"username": ""}`, 400, "username is required"},
		{"BlankUsername", "/api/login", "application/json", `{"username": "   "}`, 400, "username is required"},
		{"MissingUsername", "/api/login", "application/json", `{}`, 400, "username is required"},
		{"NullUsername", "/api/login", "application/json", `{"username": null}`, 400, "username is required"},
		{"NumericUsername", "/api/login", "application/json", `{"username": 7}`, 400, "username must be a string"},
		{"StringRemember", "/api/login", "application/json", `{"username": "alice", "remember": "yes"}`, 400, "remember must be true or false"},
		{"LongUsername", "/api/login", "application/json", `{"username": "` + long + `"}`, 400, "at most 64 characters"},
		{"ControlCharUsername", "/api/login", "application/json", `{"username": "a\u0000b"}`, 400, "not allowed"},
		{"MalformedLogin", "/api/login", "application/json", `{"username": "alice"`, 400, "malformed JSON"},
		{"TrailingData", "/api/login", "application/json", `{"username": "alice"} {}`, 400, "malformed JSON"},
		{"ArrayLogin", "/api/login", "application/json", `["alice"]`, 400, "malformed JSON"},
		{"EmptyBody", "/api/login", "application/json", ``, 400, "malformed JSON"},
		{"HugeBody", "/api/login", "application/json", `{"username": "` + strings.Repeat("a", maxBodySize) + `"}`, 413, "too large"},

		{"MissingItem", "/api/cart", "application/json", `{"qty": 1}`, 400, "item is required"},
		{"EmptyItem", "/api/cart", "application/json", `{"item": "", "qty": 1}`, 400, "item is required"},
		{"UnknownItem", "/api/cart", "application/json", `{"item": "umbrella", "qty": 1}`, 400, "item is not in the catalogue"},
		{"NumericItem", "/api/cart", "application/json", `{"item": 3, "qty": 1}`, 400, "item must be a string"},
		{"MissingQty", "/api/cart", "application/json", `{"item": "pencil"}`, 400, "qty is required"},
		{"ZeroQty", "/api/cart", "application/json", `{"item": "pencil", "qty": 0}`, 400, "qty must be a whole number from 1 to 99"},
		{"NegativeQty", "/api/cart", "application/json", `{"item": "pencil", "qty": -3}`, 400, "qty must be"},
		{"TooManyQty", "/api/cart", "application/json", `{"item": "pencil", "qty": 100}`, 400, "qty must be"},
		{"FractionalQty", "/api/cart", "application/json", `{"item": "pencil", "qty": 1.5}`, 400, "qty must be"},
		{"ExponentQty", "/api/cart", "application/json", `{"item": "pencil", "qty": 1e2}`, 400, "qty must be"},
		{"StringQty", "/api/cart", "application/json", `{"item": "pencil", "qty": "2"}`, 400, "qty must be"},
		{"NullQty", "/api/cart", "application/json", `{"item": "pencil", "qty": null}`, 400, "qty must be"},
		{"HugeQty", "/api/cart", "application/json", `{"item": "pencil", "qty": 99999999999999999999}`, 400, "qty must be"},
		{"MalformedCart", "/api/cart", "application/json", `{"item": "pencil", "qty": 2,}`, 400, "malformed JSON"},

		{"FormEmptyUsername", "/login", "application/x-www-form-urlencoded", `username=`, 400, "username is required"},
		{"FormNoUsername", "/login", "application/x-www-form-urlencoded", ``, 400, "username is required"},
		{"FormMissingItem", "/cart", "application/x-www-form-urlencoded", `qty=1`, 400, "item is required"},
		{"FormZeroQty", "/cart", "application/x-www-form-urlencoded", `item=pencil&qty=0`, 400, "qty must be a whole number from 1 to 99"},
		{"FormUnknownItem", "/cart", "application/x-www-form-urlencoded", `item=%3Cscript%3E&qty=1`, 400, "item is not in the catalogue"},
		{"FormRemoveUnknownItem", "/cart/remove", "application/x-www-form-urlencoded", `item=umbrella`, 400, "item is not in the catalogue"},
		{"FormRemoveNoItem", "/cart/remove", "application/x-www-form-urlencoded", ``, 400, "item is required"},
		{"FormLogoutDeviceNoID", "/devices/logout", "application/x-www-form-urlencoded", ``, 400, "id is required"},
		{"FormWordQty", "/cart", "application/x-www-form-urlencoded", `item=pencil&qty=two`, 400, "qty must be"},
		{"FormPlusQty", "/cart", "application/x-www-form-urlencoded", `item=pencil&qty=%2B5`, 400, "qty must be"},
		{"FormMissingQty", "/cart", "application/x-www-form-urlencoded", `item=pencil`, 400, "qty must be"},
		{"FormHugeBody", "/login", "application/x-www-form-urlencoded", `username=` + strings.Repeat("a", 8<<20), 413, "the form is too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &countingStore{Store: open(t, backends.Config{Store: "memory://"}).(sessions.Store)}
			h := serve(t, store)
			c := h.client()
			c.postJSON("/api/login", `{"username": "alice"}`)
			c.postJSON("/api/cart", `{"item": "pencil", "qty": 2}`)
			c.session() // consumes the welcome flash
			before := c.session()
			cookie := c.Cookie(cookieName)
			writes := store.writes()

			r := c.do(http.MethodPost, tc.path, tc.contentType, tc.body)
			want(t, "status", r.status, tc.status)
			msg := r.body
			if r.json != nil {
				msg, _ = r.json["error"].(string)
			} else if !strings.Contains(r.body, `id="login-form"`) && !strings.Contains(r.body, `id="user"`) {
				t.Errorf("the form error is not the page:\n%s", r.body)
			}
			if !strings.Contains(msg, tc.wantMsg) {
				t.Errorf("error %q does not contain %q", msg, tc.wantMsg)
			}
			if sc := r.header.Values("Set-Cookie"); len(sc) > 0 {
				t.Errorf("bad input set a cookie: %q", sc)
			}
			if n := store.writes() - writes; n != 0 {
				t.Errorf("bad input made %d writes to the store", n)
			}
			want(t, "session after bad input", c.session(), before)
			want(t, "cookie after bad input", c.Cookie(cookieName), cookie)
		})
	}
}

// fillLine adds qty of item to the cart in adds of at most maxQty.
func fillLine(c *client, item string, qty int) {
	c.t.Helper()
	for qty > 0 {
		n := min(qty, maxQty)
		if r := c.postJSON("/api/cart", fmt.Sprintf(`{"item": %q, "qty": %d}`, item, n)); r.status != http.StatusOK {
			c.t.Fatalf("adding %d %s: %d %s", n, item, r.status, r.body)
		}
		qty -= n
	}
}

// TestCartLimit fills a line to its limit: the API refuses one more with
// a 400, the form with an error flash, and the cart keeps what it had.
func TestCartLimit(t *testing.T) {
	h := serve(t, open(t, backends.Config{Store: "memory://"}))
	c := h.client()
	fillLine(c, "pencil", maxLineQty)
	r := c.postJSON("/api/cart", `{"item": "pencil", "qty": 1}`)
	want(t, "status of an add past the limit", r.status, http.StatusBadRequest)
	want(t, "answer", r.json, map[string]any{"error": "you can have at most 999 of one product in your cart"})
	r = c.postForm("/cart", url.Values{"item": {"pencil"}, "qty": {"1"}})
	want(t, "form status of an add past the limit", r.status, http.StatusSeeOther)
	s := c.session()
	want(t, "cart", s["cart"], map[string]any{"pencil": float64(maxLineQty)})
	want(t, "flashes", s["flashes"], map[string]any{"info": []any{},
		"error": []any{"Could not add 1 × Graphite pencil: you can have at most 999 of one product in your cart."}})
	r = c.postJSON("/api/cart", `{"item": "eraser", "qty": 1}`)
	want(t, "status of another product", r.status, http.StatusOK)
}

// TestCartLimitHoldsUnderConcurrentAdds fills a line to just below its
// limit, then sends concurrent adds that each would fit alone: exactly
// one fits, every other request is told the line is full, and the line
// ends within the limit. The check runs inside the Update function, so it
// sees the fresh cart when the function runs again.
func TestCartLimitHoldsUnderConcurrentAdds(t *testing.T) {
	const n, qty = 20, 5
	for _, b := range []backendCase{memoryBackend(), memcachedBackend(), redisBackend()} {
		t.Run(b.name, func(t *testing.T) {
			store := &barrierStore{Store: b.open(t).(sessions.Store)}
			h := serve(t, store, sessions.WithStoreTimeout(30*time.Second)) // the barrier holds the first loads until the last arrives
			c := h.client()
			c.postJSON("/api/login", `{"username": "alice"}`)
			start := maxLineQty - qty - qty + 1 // room for one add, not two
			fillLine(c, "pencil", start)
			// Every add loads the session before any commits.
			store.arm(n)
			var wg sync.WaitGroup
			var ok, full atomic.Int64
			for range n {
				wg.Go(func() {
					body := fmt.Sprintf(`{"item": "pencil", "qty": %d}`, qty)
					resp, b, err := c.Send(http.MethodPost, "/api/cart", testapp.WithBody("", body))
					if err != nil {
						t.Error(err)
						return
					}
					switch {
					case resp.StatusCode == http.StatusOK:
						ok.Add(1)
					case resp.StatusCode == http.StatusBadRequest && strings.Contains(b, "at most 999 of one product"):
						full.Add(1)
					default:
						t.Errorf("%d %s", resp.StatusCode, b)
					}
				})
			}
			wg.Wait()
			want(t, "adds that fit", ok.Load(), int64(1))
			want(t, "adds refused", full.Load(), int64(n-1))
			want(t, "cart", c.session()["cart"], map[string]any{"pencil": float64(start + qty)})
		})
	}
}

// barrierStore holds loads, once armed for n, until n have arrived, so
// that n requests all load the session before any of them commits.
type barrierStore struct {
	sessions.Store
	mu      sync.Mutex
	waiting int
	open    chan struct{}
}

func (b *barrierStore) arm(n int) {
	b.mu.Lock()
	b.waiting, b.open = n, make(chan struct{})
	b.mu.Unlock()
}

func (b *barrierStore) Load(ctx context.Context, key string) (sessions.Record, error) {
	b.mu.Lock()
	open := b.open
	if b.waiting > 0 {
		if b.waiting--; b.waiting == 0 {
			close(b.open)
		}
	}
	b.mu.Unlock()
	r, err := b.Store.Load(ctx, key)
	if open != nil {
		<-open
	}
	return r, err
}

// TestConcurrentCartAdds sends 40 concurrent adds of one item to one
// session, all of which load the session before any commits: none may be
// lost.
func TestConcurrentCartAdds(t *testing.T) {
	const n = 40
	for _, b := range []backendCase{memoryBackend(), memcachedBackend(), redisBackend()} {
		t.Run(b.name, func(t *testing.T) {
			store := &barrierStore{Store: b.open(t).(sessions.Store)}
			h := serve(t, store, sessions.WithStoreTimeout(30*time.Second)) // the barrier holds the first loads until the last arrives
			c := h.client()
			c.postJSON("/api/login", `{"username": "alice"}`)
			store.arm(n)
			var wg sync.WaitGroup
			statuses := make(chan string, n)
			for range n {
				wg.Go(func() {
					resp, b, err := c.Send(http.MethodPost, "/api/cart", testapp.WithBody("", `{"item": "pencil", "qty": 1}`))
					if err != nil {
						statuses <- err.Error()
						return
					}
					if resp.StatusCode != http.StatusOK {
						statuses <- fmt.Sprintf("%d %s", resp.StatusCode, b)
					}
				})
			}
			wg.Wait()
			close(statuses)
			for s := range statuses {
				t.Errorf("an add failed: %s", s)
			}
			want(t, "cart after 40 concurrent adds", c.session()["cart"], map[string]any{"pencil": float64(n)})
		})
	}
}

// TestBackendDown stops the server-side store's server: the API answers
// 503 with JSON, the page is a readable 503 page, the cookie is kept; when
// the server is back the app works again by itself.
func TestBackendDown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(testing.TB, ...string) *testserver.Server
		url   string
	}{
		{"memcached", testserver.Memcached, "memcached://%s?timeout=200ms"},
		{"redis", testserver.Redis, "redis://%s/0?dial_timeout=200ms&read_timeout=200ms&max_retries=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.start(t)
			h := serve(t, open(t, backends.Config{Store: fmt.Sprintf(tc.url, srv.Addr)}))
			c := h.client()
			c.postJSON("/api/login", `{"username": "alice"}`)
			c.postJSON("/api/cart", `{"item": "pencil", "qty": 2}`)
			cookie := c.Cookie(cookieName)

			srv.Stop()
			for _, req := range []struct{ method, path, body string }{
				{"GET", "/api/session", ""},
				{"GET", "/api/cart", ""},
				{"GET", "/api/devices", ""},
				{"POST", "/api/cart", `{"item": "pencil", "qty": 1}`},
				{"POST", "/api/login", `{"username": "bob"}`},
				{"POST", "/api/devices/logout-others", ""},
			} {
				r := c.do(req.method, req.path, "application/json", req.body)
				want(t, req.path+" status with the store down", r.status, http.StatusServiceUnavailable)
				want(t, req.path+" answer with the store down", r.json, map[string]any{"error": "session store unavailable"})
			}
			for _, path := range []string{"/", "/cart", "/devices"} {
				r := c.get(path)
				want(t, path+" status with the store down", r.status, http.StatusServiceUnavailable)
				want(t, path+" type", r.header.Get("Content-Type"), "text/html; charset=utf-8")
				if !strings.Contains(r.body, "Sessions are unavailable") || !strings.Contains(r.body, `<a class="btn btn-primary" href="/">Try again</a>`) {
					t.Errorf("%s with the store down is not readable:\n%s", path, r.body)
				}
			}
			r := c.postForm("/cart", url.Values{"item": {"pencil"}, "qty": {"1"}})
			want(t, "form post status with the store down", r.status, http.StatusServiceUnavailable)
			if loc := r.header.Get("Location"); loc != "" {
				t.Errorf("the 503 page redirects to %q", loc)
			}
			want(t, "cookie with the store down", c.Cookie(cookieName), cookie)
			// A logout with the store down fails, and the browser forgets
			// the session all the same.
			r = c.postJSON("/api/logout", `{}`)
			want(t, "/api/logout status with the store down", r.status, http.StatusServiceUnavailable)
			want(t, "/api/logout answer with the store down", r.json, map[string]any{"error": "session store unavailable"})
			want(t, "cookie after a logout with the store down", c.Cookie(cookieName), "")

			srv.Start() // empty: the sessions are gone, the app works again
			// A login needs the store (a read of the session without a
			// cookie does not): the client's pool redials by itself.
			deadline := time.Now().Add(10 * time.Second)
			for {
				r = c.postJSON("/api/login", `{"username": "alice"}`)
				if r.status == http.StatusOK || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			want(t, "login after the store is back", r.status, http.StatusOK)
			want(t, "session after the store is back", c.session()["user"], "alice")
			r = c.postJSON("/api/cart", `{"item": "pencil", "qty": 3}`)
			want(t, "cart after the store is back", r.json, map[string]any{"cart": map[string]any{"pencil": 3.0}, "count": 3.0, "total_cents": 360.0})

			if logs := h.logs.String(); !strings.Contains(logs, `"status":503`) || !strings.Contains(logs, `"level":"ERROR"`) {
				t.Errorf("the 503s are not logged as errors:\n%s", logs)
			}
		})
	}
}

// TestCrossOrigin refuses a form post from another site.
func TestCrossOrigin(t *testing.T) {
	h := serve(t, open(t, backends.Config{Store: "memory://"}))
	c := h.client()
	for _, hdr := range []http.Header{
		{"Sec-Fetch-Site": {"cross-site"}},
		{"Origin": {"https://evil.example"}},
	} {
		req, _ := http.NewRequest(http.MethodPost, h.URL+"/login", strings.NewReader("username=mallory"))
		req.Header = hdr
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := c.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want(t, fmt.Sprintf("status of a cross-origin post %v", hdr), resp.StatusCode, http.StatusForbidden)
		if sc := resp.Header.Values("Set-Cookie"); len(sc) > 0 {
			t.Errorf("a cross-origin post set a cookie: %q", sc)
		}
	}
}

// TestLogs checks the request log lines: one per request, structured,
// without the cookie or session ID (which serve checks for every test),
// nor the query string.
func TestLogs(t *testing.T) {
	h := serve(t, open(t, backends.Config{Store: "memory://"}))
	c := h.client()
	c.postJSON("/api/login", `{"username": "alice"}`)
	id := c.Cookie(cookieName)
	c.get("/?token=secret-query")
	c.postJSON("/api/cart", `{"item": "pencil", "qty": 0}`)
	c.postForm("/logout", nil)

	lines := strings.Split(strings.TrimSpace(h.logs.String()), "\n")
	want(t, "log lines", len(lines), 4)
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]any{"msg": "request", "method": "POST", "path": "/api/login", "status": 200.0, "client": "127.0.0.1"} {
		want(t, "log attribute "+k, first[k], v)
	}
	if _, ok := first["duration"]; !ok {
		t.Error("no duration in the log line")
	}
	logs := h.logs.String()
	if strings.Contains(logs, "secret-query") {
		t.Errorf("the logs contain the query string:\n%s", logs)
	}
	if id == "" || strings.Contains(logs, id) {
		t.Errorf("the logs contain the session ID %q:\n%s", id, logs)
	}
}

// TestPanicIsLoggedWithoutHeaders checks the recovery middleware.
func TestPanicIsLoggedWithoutHeaders(t *testing.T) {
	logs := &syncBuffer{}
	r := newApp(open(t, backends.Config{Store: "memory://"}), slog.New(slog.NewTextHandler(logs, nil)))
	r.GET("/boom", func(c *gin.Context) { panic("boom") })
	resp, _ := testapp.New(t, r).Stranger().Do(http.MethodGet, "/boom", testapp.WithCookie(cookieName, "the-cookie-value"))
	want(t, "status after a panic", resp.StatusCode, http.StatusInternalServerError)
	out := logs.String()
	if !strings.Contains(out, "boom") || !strings.Contains(out, "status=500") {
		t.Errorf("the panic is not logged:\n%s", out)
	}
	if strings.Contains(out, "the-cookie-value") || strings.Contains(out, "Cookie") {
		t.Errorf("the panic log shows the cookie:\n%s", out)
	}
}

// TestCookieTooLarge fills a cookie session past what a cookie holds: the
// add that does not fit is a 400 with a message, and the session keeps
// what it had.
// TestLargestSessionFitsInACookie builds the largest session the app can
// make, on the cookie backend: the longest username in 4-byte characters,
// remembered, every product at its line limit, every flash category full.
// The catalogue bounds the cart, so a sealed cookie always holds it (the
// app still answers a session too large with a 400: see
// TestServerStoreTooLargeIsNotUnavailable).
func TestLargestSessionFitsInACookie(t *testing.T) {
	h := serve(t, cookieBackend().open(t))
	c := h.client()
	name := strings.Repeat("\U0001D518", maxName) // 𝔘, 4 bytes in UTF-8
	if r := c.postJSON("/api/login", fmt.Sprintf(`{"username": %q, "remember": true}`, name)); r.status != http.StatusOK {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	full := map[string]any{}
	for _, p := range catalogue {
		if r := c.postForm("/cart", url.Values{"item": {p.ID}, "qty": {"1"}}); r.status != http.StatusSeeOther {
			t.Fatalf("form add of %s: %d %s", p.ID, r.status, r.body)
		}
		fillLine(c, p.ID, maxLineQty-1)
		full[p.ID] = float64(maxLineQty)
	}
	for _, p := range catalogue { // each past its limit: an error flash
		if r := c.postForm("/cart", url.Values{"item": {p.ID}, "qty": {"1"}}); r.status != http.StatusSeeOther {
			t.Fatalf("form add past the limit of %s: %d %s", p.ID, r.status, r.body)
		}
	}
	size := len(c.Cookie(cookieName))
	s := c.session()
	want(t, "user", s["user"], name)
	want(t, "cart", s["cart"], full)
	fl, _ := s["flashes"].(map[string]any)
	info, _ := fl["info"].([]any)
	errs, _ := fl["error"].([]any)
	want(t, "info flashes", len(info), maxFlashes)
	want(t, "error flashes", len(errs), maxFlashes)
	t.Logf("the largest session's cookie: %d bytes", size)
}

// TestAnotherUsersLoginStartsClean logs bob in on alice's browser: bob
// starts from an empty session, and alice's Devices list no longer shows
// that browser.
func TestAnotherUsersLoginStartsClean(t *testing.T) {
	for _, b := range []backendCase{memoryBackend(), cookieBackend()} {
		t.Run(b.name, func(t *testing.T) {
			h := serve(t, b.open(t))
			c, other := h.client(), h.client()
			c.postJSON("/api/cart", `{"item": "eraser", "qty": 1}`) // anonymous cart: kept at login
			c.postJSON("/api/login", `{"username": "alice"}`)
			c.postJSON("/api/cart", `{"item": "notebook", "qty": 1}`)
			got := c.session()
			want(t, "alice's cart", got["cart"], map[string]any{"eraser": 1.0, "notebook": 1.0})
			other.postJSON("/api/login", `{"username": "alice"}`)

			c.postJSON("/api/login", `{"username": "bob"}`)
			got = c.session()
			want(t, "user", got["user"], "bob")
			want(t, "bob's cart", got["cart"], map[string]any{})
			want(t, "bob's flashes", got["flashes"], infoFlashes("Welcome, bob!"))
			if b.name != "cookie" {
				want(t, "alice's devices", len(devices(t, other)), 1)
				want(t, "bob's devices", len(devices(t, c)), 1)
			}
		})
	}
}

func TestFlashesAreBounded(t *testing.T) {
	h := serve(t, memoryBackend().open(t))
	c := h.client()
	const n = 3 * maxFlashes
	for i := range n {
		c.postForm("/cart", url.Values{"item": {catalogue[i%len(catalogue)].ID}, "qty": {"1"}})
	}
	fl, _ := c.session()["flashes"].(map[string]any)
	info, _ := fl["info"].([]any)
	if last := fmt.Sprintf("Added 1 × %s to your cart.", catalogue[(n-1)%len(catalogue)].Name); len(info) != maxFlashes || info[maxFlashes-1] != last {
		t.Fatalf("pending flashes after %d unread adds: %v", n, info)
	}
}

// tooLargeStore fails every save as a server store does when a session is
// over its item size limit (memcached.ErrTooLarge wraps sessions.ErrTooLarge).
type tooLargeStore struct{ sessions.Store }

func (tooLargeStore) Save(context.Context, string, []byte, uint64, time.Duration) (uint64, error) {
	return 0, fmt.Errorf("test store: %w", sessions.ErrTooLarge)
}

func TestServerStoreTooLargeIsNotUnavailable(t *testing.T) {
	h := serve(t, tooLargeStore{memoryBackend().open(t).(sessions.Store)})
	c := h.client()
	r := c.postJSON("/api/cart", `{"item": "pen", "qty": 1}`)
	want(t, "API status", r.status, http.StatusBadRequest)
	if ra := r.header.Get("Retry-After"); ra != "" {
		t.Errorf("Retry-After %q for an error that retrying cannot fix", ra)
	}
	r = c.postForm("/cart", url.Values{"item": {"pen"}, "qty": {"1"}})
	want(t, "page status", r.status, http.StatusBadRequest)
	if strings.Contains(r.body, "unavailable") || !strings.Contains(r.body, "too large to keep") {
		t.Errorf("the page says:\n%s", r.body)
	}
}
