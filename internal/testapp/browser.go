package testapp

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// timeout is a Browser's default HTTP timeout.
const timeout = 10 * time.Second

// Browser is an HTTP client of one App. A request's target is a path of
// the App ("/get/user") or a whole URL (another App's: the jar sends a
// host's cookies to every port). Do and Expect fail the test, so they
// belong on its goroutine; Send and Try return errors, for any goroutine.
type Browser struct {
	// HTTP is the client: a cookie jar (none for a Stranger) and a 10 s
	// timeout. A test may set its other fields.
	HTTP *http.Client
	app  *App
	tb   testing.TB
}

// Option changes a request before it is sent.
type Option func(*http.Request)

// WithCookie sends the cookie name=value in the Cookie header (in front of
// those of the jar, if any).
func WithCookie(name, value string) Option {
	return func(r *http.Request) { r.Header.Set("Cookie", name+"="+value) }
}

// WithHeader sets the request header name to value (empty included).
func WithHeader(name, value string) Option {
	return func(r *http.Request) { r.Header[http.CanonicalHeaderKey(name)] = []string{value} }
}

// WithBody sends body, with the Content-Type contentType unless empty.
func WithBody(contentType, body string) Option {
	return func(r *http.Request) {
		r.ContentLength = int64(len(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
		r.Body, _ = r.GetBody()
		if body == "" {
			r.Body = http.NoBody
		}
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
	}
}

// url returns the whole URL of target, a path of b's App or a URL.
func (b *Browser) url(target string) string {
	if strings.HasPrefix(target, "/") {
		return b.app.URL + target
	}
	return target
}

// Send sends a request and returns the response, its body read and
// closed.
func (b *Browser) Send(method, target string, opts ...Option) (*http.Response, string, error) {
	req, err := http.NewRequest(method, b.url(target), nil)
	if err != nil {
		return nil, "", err
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := b.HTTP.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: reading the body: %w", method, target, err)
	}
	return resp, string(body), nil
}

// Do is Send that fails the test if the request fails.
func (b *Browser) Do(method, target string, opts ...Option) (*http.Response, string) {
	b.tb.Helper()
	resp, body, err := b.Send(method, target, opts...)
	if err != nil {
		b.tb.Fatalf("%s %s: %v", method, target, err)
	}
	return resp, body
}

// Expect sends a request and fails the test unless the answer has the
// status and exactly the body given.
func (b *Browser) Expect(method, target string, status int, body string, opts ...Option) *http.Response {
	b.tb.Helper()
	resp, got := b.Do(method, target, opts...)
	if resp.StatusCode != status || got != body {
		b.tb.Fatalf("%s %s = %d %q, want %d %q%s", method, target, resp.StatusCode, got, status, body, b.app.errors())
	}
	return resp
}

// Try is Expect for other goroutines: it returns what went wrong.
func (b *Browser) Try(method, target string, status int, body string, opts ...Option) error {
	resp, got, err := b.Send(method, target, opts...)
	if err != nil {
		return err
	}
	if resp.StatusCode != status || got != body {
		return fmt.Errorf("%s %s = %d %q, want %d %q", method, target, resp.StatusCode, got, status, body)
	}
	return nil
}

// Cookie returns the value of the cookie named name that the browser holds
// for its App, or "".
func (b *Browser) Cookie(name string) string {
	if b.HTTP.Jar == nil {
		return ""
	}
	u, _ := url.Parse(b.app.URL)
	for _, c := range b.HTTP.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// SetCookie returns the first cookie named name that resp sets, and
// whether it sets one. A MaxAge below zero deletes the cookie (Max-Age=0
// on the wire).
func SetCookie(resp *http.Response, name string) (http.Cookie, bool) {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return *c, true
		}
	}
	return http.Cookie{}, false
}

// errors formats the App's recorded Gin errors for a failure message.
func (a *App) errors() string {
	if errs := a.Errors(); len(errs) > 0 {
		return fmt.Sprintf("; errors: %q", errs)
	}
	return ""
}

func newJar(tb testing.TB) http.CookieJar {
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return jar
}
