package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sessionware/sessions/internal/testapp"
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
		chromedp.UserDataDir(t.TempDir()),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { // before t.TempDir's clean-up: chromium has exited
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatalf("starting %s: %v", chromium(t), err)
	}
	return ctx
}

// TestBrowser drives the real page in headless chromium, as a person
// would: log in through the form, add two items, reload and see them,
// check that page JavaScript cannot read the session cookie (HttpOnly),
// log out and see the cart gone.
func TestBrowser(t *testing.T) {
	for _, b := range []backendCase{memoryBackend(), cookieBackend()} {
		t.Run(b.name, func(t *testing.T) {
			logs := &syncBuffer{}
			srv := testapp.New(t, newApp(b.open(t), slog.New(slog.NewTextHandler(logs, nil))))
			ctx := browser(t)

			fail := func(step string, err error) {
				t.Helper()
				html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
				t.Fatalf("%s: %v\npage:\n%s\nserver log:\n%s", step, err, html, logs)
			}
			do := func(step string, steps ...chromedp.Action[chromedp.Void]) {
				t.Helper()
				if err := chromedp.Do(ctx, steps...); err != nil {
					fail(step, err)
				}
			}
			eval := func(expr string) any {
				t.Helper()
				v, err := chromedp.Run(ctx, chromedp.Evaluate[any](expr))
				if err != nil {
					fail("evaluate "+expr, err)
				}
				return v
			}
			text := func(sel string) string {
				t.Helper()
				v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
				if err != nil {
					fail("text of "+sel, err)
				}
				return strings.TrimSpace(v)
			}
			cookies := func() []*network.Cookie {
				t.Helper()
				res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{srv.URL}})
				if err != nil {
					fail("read the cookies", err)
				}
				return res.Cookies
			}

			do("log in through the form",
				chromedp.Navigate(srv.URL+"/"),
				chromedp.WaitVisible(chromedp.CSS("#login-form")),
				chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
				chromedp.Click(chromedp.CSS("#login")),
				chromedp.WaitVisible(chromedp.CSS("#user")),
			)
			want(t, "user shown", text("#user"), "alice")
			want(t, "flash shown", text("#flashes"), "Welcome, alice!")

			for _, add := range []struct{ item, qty string }{{"pencil", "2"}, {"eraser", "3"}} {
				do("add "+add.qty+" "+add.item,
					chromedp.WaitVisible(chromedp.CSS("#add-form")),
					chromedp.SendKeys(chromedp.CSS("#item"), add.item),
					chromedp.SetValue(chromedp.CSS("#qty"), add.qty),
					chromedp.Click(chromedp.CSS("#add")),
					chromedp.WaitVisible(chromedp.CSS(`#cart tr[data-item="`+add.item+`"]`)),
				)
			}

			do("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#cart")))
			want(t, "cart after reload",
				eval(`Array.from(document.querySelectorAll('#cart tbody tr')).map(r => r.dataset.item + '=' + r.querySelector('.qty').textContent)`),
				[]any{"eraser=3", "pencil=2"})
			want(t, "flashes after reload", eval(`document.querySelectorAll('.flash').length`), 0.0)
			want(t, "user after reload", text("#user"), "alice")

			// A cookie that page JavaScript sets shows in document.cookie;
			// the session cookie must not.
			js, ok := eval(`document.cookie = "probe=1; SameSite=Lax"; document.cookie`).(string)
			if !ok || !strings.Contains(js, "probe=1") {
				t.Fatalf("document.cookie = %#v, want a string with the probe cookie", js)
			}
			if strings.Contains(js, cookieName+"=") {
				t.Errorf("page JavaScript can read the session cookie: document.cookie = %q", js)
			}
			var session *network.Cookie
			for _, c := range cookies() {
				if c.Name == cookieName {
					session = c
				}
			}
			if session == nil {
				t.Fatalf("the browser holds no %q cookie", cookieName)
			}
			want(t, "cookie HttpOnly", session.HTTPOnly, true)
			want(t, "cookie SameSite", session.SameSite, network.CookieSameSiteLax)
			want(t, "cookie path", session.Path, "/")
			if strings.Contains(logs.String(), session.Value) {
				t.Errorf("the server log contains the session cookie:\n%s", logs)
			}

			do("log out",
				chromedp.Click(chromedp.CSS("#logout")),
				chromedp.WaitVisible(chromedp.CSS("#login-form")),
				chromedp.Reload(),
				chromedp.WaitVisible(chromedp.CSS("#login-form")),
			)
			want(t, "cart tables after logout", eval(`document.querySelectorAll('#cart').length`), 0.0)
			want(t, "empty-cart notes after logout", eval(`document.querySelectorAll('#cart-empty').length`), 1.0)
			want(t, "users shown after logout", eval(`document.querySelectorAll('#user').length`), 0.0)
			for _, c := range cookies() {
				if c.Name == cookieName {
					t.Errorf("the session cookie survived logout")
				}
			}
		})
	}
}
