package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sessionware/sessions"
)

// chromium returns the path of the browser, failing (never skipping) the
// test when it is missing. CHROMIUM overrides the search.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed: run the README's test command (make test), which installs it (or set CHROMIUM to a Chrome or Chromium binary)")
	return ""
}

// browser starts a headless chromium with a fresh profile and returns a
// context for driving one tab, closed at the end of the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless, // --headless
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.IgnoreCertErrors, // the test server's own certificate (see serveTLS)
		chromedp.UserDataDir(t.TempDir()),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute) // a busy machine; a step that fails fails at once
	t.Cleanup(func() {                                            // before t.TempDir's clean-up: chromium has exited
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatalf("starting %s: %v", chromium(t), err)
	}
	return ctx
}

// serveTLS serves h over HTTPS with HTTP/2 on a loopback port until the
// end of the test: over HTTP/2 the browser sends all the demo's requests
// at once, where over HTTP/1.1 it would keep at most 6 in flight.
func serveTLS(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// gateKey marks, in its context, a request whose first store load a
// loadGate counts.
type gateKey struct{}

// markCartAdds marks the requests that add to the cart (POST /api/cart,
// the demo's) for a loadGate.
func markCartAdds(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/cart" {
			r = r.WithContext(context.WithValue(r.Context(), gateKey{}, new(atomic.Bool)))
		}
		h.ServeHTTP(w, r)
	})
}

// loadGate holds, once armed for n, the first store load (the session's)
// of each request that markCartAdds marked, until n such loads have
// arrived: so n adds all load the same cart before any of them commits,
// and a lost update happens every time, not by luck. Other loads pass.
type loadGate struct {
	sessions.Store
	mu      sync.Mutex
	waiting int
	open    chan struct{}
}

func (g *loadGate) arm(n int) {
	g.mu.Lock()
	g.waiting, g.open = n, make(chan struct{})
	g.mu.Unlock()
}

func (g *loadGate) Load(ctx context.Context, key string) (sessions.Record, error) {
	first, _ := ctx.Value(gateKey{}).(*atomic.Bool)
	if first == nil || !first.CompareAndSwap(false, true) {
		return g.Store.Load(ctx, key)
	}
	g.mu.Lock()
	open := g.open
	if g.waiting > 0 {
		if g.waiting--; g.waiting == 0 {
			close(g.open)
		}
	}
	g.mu.Unlock()
	r, err := g.Store.Load(ctx, key)
	if open != nil {
		<-open
	}
	return r, err
}

// tab drives one browser tab against the app, failing the test with the
// page and the server log when a step fails.
type tab struct {
	t    *testing.T
	ctx  context.Context
	name string // in failure messages: which browser
	url  string // the app's
	logs *syncBuffer
}

func (b *tab) fail(step string, err error) {
	b.t.Helper()
	html, _ := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	b.t.Fatalf("%s: %s: %v\npage:\n%s\nserver log:\n%s", b.name, step, err, html, b.logs)
}

// do runs steps that do not leave the page.
func (b *tab) do(step string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.fail(step, err)
	}
}

// open loads a page of the app and waits for it.
func (b *tab) open(path string) {
	b.t.Helper()
	b.load("open "+path, chromedp.Navigate(b.url+path))
}

// load runs steps that load a page (a navigation, a form's submit button)
// and waits until it has loaded, with a 200.
func (b *tab) load(step string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, steps...)
	if err != nil {
		b.fail(step, err)
	}
	if resp.Status != http.StatusOK {
		b.fail(step, fmt.Errorf("status %d", resp.Status))
	}
}

// click clicks the element sel matches, which loads a page (a form's
// submit button), and waits for that page, failing at once if there is no
// such element.
func (b *tab) click(step, sel string) {
	b.t.Helper()
	b.need(sel)
	b.load(step, chromedp.Click(chromedp.CSS(sel)))
}

// need fails the test at once unless the page has an element sel
// matches.
func (b *tab) need(sel string) {
	b.t.Helper()
	if b.count(sel) == 0 {
		b.fail("find "+sel, errors.New("no such element"))
	}
}

func (b *tab) eval(expr string) any {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](expr))
	if err != nil {
		b.fail("evaluate "+expr, err)
	}
	return v
}

// text returns the text of the first element that sel matches, failing
// at once if there is none (the page has loaded: it will not come).
func (b *tab) text(sel string) string {
	b.t.Helper()
	b.need(sel)
	v, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.fail("text of "+sel, err)
	}
	return strings.TrimSpace(v)
}

// count returns how many elements sel matches.
func (b *tab) count(sel string) int {
	b.t.Helper()
	return int(b.eval(fmt.Sprintf("document.querySelectorAll(%q).length", sel)).(float64))
}

// style returns a computed style property of the first element sel
// matches: what the browser shows, so the stylesheet loaded and applied.
func (b *tab) style(sel, prop string) string {
	b.t.Helper()
	b.need(sel)
	v, _ := b.eval(fmt.Sprintf("getComputedStyle(document.querySelector(%q)).getPropertyValue(%q)", sel, prop)).(string)
	return v
}

// sessionCookie returns the browser's session cookie, or nil.
func (b *tab) sessionCookie() *network.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{b.url}})
	if err != nil {
		b.fail("read the cookies", err)
	}
	for _, c := range res.Cookies {
		if c.Name == cookieName {
			return c
		}
	}
	return nil
}

// login logs in through the form of the shop page.
func (b *tab) login(user string, remember bool) {
	b.t.Helper()
	b.open("/")
	b.need("#login-form")
	b.do("fill the login form", chromedp.SendKeys(chromedp.CSS("#username"), user))
	if remember {
		b.do("tick remember me", chromedp.Click(chromedp.CSS("#remember")))
	}
	b.click("log in", "#login")
	want(b.t, b.name+": user shown", b.text("#user"), user)
}

// add adds qty of a product through its card's form on the shop page.
func (b *tab) add(item string, qty int) {
	b.t.Helper()
	b.open("/")
	b.need("#qty-" + item)
	b.do("set the quantity of "+item, chromedp.SetValue(chromedp.CSS("#qty-"+item), strconv.Itoa(qty)))
	b.click("add "+item, "#add-"+item)
}

// Colours of the stylesheet's flash styles, as getComputedStyle gives them.
const (
	infoBackground  = "rgb(233, 245, 238)"
	infoBorder      = "rgb(46, 125, 87)"
	errorBackground = "rgb(253, 236, 234)"
	errorBorder     = "rgb(198, 40, 40)"
)

// TestBrowser drives the shop in headless chromium, as people would, on
// the in-memory store, on Redis and on sealed cookies: an anonymous cart,
// an error flash (checkout before login) and an info flash, each in its
// style; login with "remember me" (a cookie for 30 days) in one browser
// and without it (a cookie for the browser session) in a second one; the
// cart's lines and totals; the "no lost updates" button, whose 20
// parallel adds all count (on cookies, where the last write wins, the
// page says so); the Devices page listing both browsers, and "sign out
// all other devices" logging the second browser out; the session cookie
// out of reach of page JavaScript; logout.
func TestBrowser(t *testing.T) {
	for _, bc := range []backendCase{memoryBackend(), redisBackend(), cookieBackend()} {
		t.Run(bc.name, func(t *testing.T) {
			sealed := bc.name == "cookie"
			logs := &syncBuffer{}
			backend := bc.open(t)
			var gate *loadGate
			if store, ok := backend.(sessions.Store); ok {
				gate = &loadGate{Store: store}
				backend = gate
			}
			// A generous store budget: the gate holds the first adds until
			// the last arrives.
			app := newApp(backend, slog.New(slog.NewTextHandler(logs, nil)), sessions.WithStoreTimeout(30*time.Second))
			srv := serveTLS(t, markCartAdds(app))
			a := &tab{t: t, ctx: browser(t), name: "first browser", url: srv.URL, logs: logs}

			// The shop, anonymous: the catalogue, styled.
			a.open("/")
			want(t, "products shown", a.count("#products .product"), len(catalogue))
			want(t, "cart count", a.text("#cart-count"), "0")
			want(t, "page background (the stylesheet applies)", a.style("body", "background-color"), "rgb(245, 244, 240)")
			want(t, "price of a pencil", a.text(`.product[data-item="pencil"] .price`), "€1.20")

			// An anonymous cart, an info flash, then an error flash.
			a.add("pencil", 2)
			want(t, "flash after an add", a.text("#flashes .flash-info"), "Added 2 × Graphite pencil to your cart.")
			want(t, "info flash background", a.style(".flash-info", "background-color"), infoBackground)
			want(t, "info flash border", a.style(".flash-info", "border-left-color"), infoBorder)
			want(t, "cart count after an add", a.text("#cart-count"), "2")
			a.open("/cart")
			a.click("check out before login", "#checkout")
			want(t, "flash of a checkout before login", a.text("#flashes .flash-error"), "Please log in to place your order.")
			want(t, "error flash background", a.style(".flash-error", "background-color"), errorBackground)
			want(t, "error flash border", a.style(".flash-error", "border-left-color"), errorBorder)
			want(t, "info flashes with the error", a.count(".flash-info"), 0)

			// Login with remember me: a cookie for 30 days.
			a.login("alice", true)
			want(t, "welcome", a.text("#flashes .flash-info"), "Welcome, alice!")
			c := a.sessionCookie()
			if c == nil {
				t.Fatal("no session cookie after login")
			}
			if wantExp := float64(time.Now().Add(rememberFor).Unix()); c.Session || math.Abs(c.Expires-wantExp) > 3600 {
				t.Errorf("the cookie of a remembered login: session %v, expires in %.1f days, want a persistent cookie for 30 days",
					c.Session, (c.Expires-float64(time.Now().Unix()))/86400)
			}
			want(t, "cookie HttpOnly", c.HTTPOnly, true)
			want(t, "cookie SameSite", c.SameSite, network.CookieSameSiteLax)
			want(t, "cookie path", c.Path, "/")
			if strings.Contains(logs.String(), c.Value) {
				t.Errorf("the server log contains the session cookie:\n%s", logs)
			}
			// A cookie that page JavaScript sets shows in document.cookie;
			// the session cookie must not.
			js, ok := a.eval(`document.cookie = "probe=1; SameSite=Lax"; document.cookie`).(string)
			if !ok || !strings.Contains(js, "probe=1") {
				t.Fatalf("document.cookie = %#v, want a string with the probe cookie", js)
			}
			if strings.Contains(js, cookieName+"=") {
				t.Errorf("page JavaScript can read the session cookie: document.cookie = %q", js)
			}

			// The cart: lines and totals.
			a.add("notebook", 1)
			want(t, "cart count", a.text("#cart-count"), "3")
			a.open("/cart")
			lines := func() any {
				return a.eval(`Array.from(document.querySelectorAll('#cart tbody tr')).map(r =>
					[r.dataset.item, r.querySelector('.qty').textContent, r.querySelector('.line-total').textContent].join(' '))`)
			}
			want(t, "cart lines", lines(), []any{"pencil 2 €2.40", "notebook 1 €6.50"})
			want(t, "cart total", a.text("#cart-total"), "€8.90")
			want(t, "cart items", a.text("#cart-items"), "3 items")

			// No lost updates: 20 adds at once.
			want(t, "demo note about sealed cookies", a.count("#race-sealed"), map[bool]int{true: 1, false: 0}[sealed])
			a.need("#race")
			if gate != nil {
				gate.arm(raceAdds) // all 20 load the cart before any saves
			}
			a.do("20 parallel adds",
				chromedp.Click(chromedp.CSS("#race")),
				chromedp.WaitVisible(chromedp.CSS("#race-result[data-after]")), // shown after the page reloads
			)
			added, _ := strconv.Atoi(a.eval(`document.getElementById('race-result').dataset.added`).(string))
			t.Logf("%s: the 20 parallel adds added %d (%s)", bc.name, added, a.text("#race-result"))
			if sealed {
				if added < 1 || added > raceAdds {
					t.Errorf("on sealed cookies the demo added %d, want 1 to %d", added, raceAdds)
				}
			} else {
				want(t, "pencils added by 20 parallel adds", added, raceAdds)
				want(t, "demo result", a.text("#race-result"), "20 adds sent at once: pencils in the cart went from 2 to 22 (+20). No update was lost.")
			}
			pencils := 2 + added
			want(t, "cart lines after the demo", lines(), []any{
				fmt.Sprintf("pencil %d %s", pencils, money(pencils*120)), "notebook 1 €6.50"})
			want(t, "cart total after the demo", a.text("#cart-total"), money(pencils*120+650))
			want(t, "cart count after the demo", a.text("#cart-count"), strconv.Itoa(pencils+1))

			// A second browser (its own cookies) logs in as alice, without
			// remember me: a cookie for the browser session.
			other, cancel := chromedp.NewContext(a.ctx, chromedp.WithNewBrowserContext())
			defer cancel()
			b := &tab{t: t, ctx: other, name: "second browser", url: srv.URL, logs: logs}
			b.login("alice", false)
			if c := b.sessionCookie(); c == nil || !c.Session {
				t.Errorf("the cookie of a login without remember me is not a browser-session cookie: %+v", c)
			}
			want(t, "the second browser's cart", b.text("#cart-count"), "0")

			// Devices: both browsers; sign out the other one.
			a.open("/devices")
			if sealed {
				want(t, "devices note", strings.HasPrefix(a.text("#devices-note"), "This shop keeps sessions in sealed cookies"), true)
				want(t, "devices listed", a.count("#devices li"), 0)
			} else {
				want(t, "devices listed", a.count("#devices li.device"), 2)
				want(t, "current devices listed", a.count("#devices li.device.current"), 1)
				a.click("sign out the other devices", "#logout-others")
				want(t, "flash after signing out the others", a.text("#flashes .flash-info"), "Signed out 1 other device.")
				want(t, "devices listed after", a.count("#devices li.device"), 1)

				b.open("/")
				want(t, "users shown in the signed-out browser", b.count("#user"), 0)
				want(t, "login forms in the signed-out browser", b.count("#login-form"), 1)
				want(t, "cart count in the signed-out browser", b.text("#cart-count"), "0")
			}

			// Logout.
			a.open("/")
			a.click("log out", "#logout")
			a.open("/")
			want(t, "users shown after logout", a.count("#user"), 0)
			want(t, "login forms after logout", a.count("#login-form"), 1)
			want(t, "cart count after logout", a.text("#cart-count"), "0")
			if c := a.sessionCookie(); c != nil {
				t.Errorf("the session cookie survived logout: %+v", c)
			}
		})
	}
}
