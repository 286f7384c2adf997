// Package sessionstest helps test Gin handlers that use sessions: a Client
// sends requests to a handler in-process, with no network, and keeps the
// cookies it is given as a browser does, so that one test can log in, act
// and look, and another browser (a second Client) can act at the same
// time.
//
//	store := memory.New()
//	r := gin.New()
//	r.Use(sessions.Sessions("session", store))
//	... your routes ...
//	alice := sessionstest.NewClient(r)
//	alice.PostForm("/login", url.Values{"user": {"alice"}})
//	resp, body := alice.Get("/cart")
package sessionstest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
)

// Client sends requests to Handler and keeps cookies like a browser.
type Client struct {
	// Handler receives the requests: your *gin.Engine.
	Handler http.Handler
	// Header is added to every request (an API token header, say).
	Header http.Header
	jar    *cookiejar.Jar
}

// NewClient returns a Client of h with an empty cookie jar.
func NewClient(h http.Handler) *Client {
	jar, _ := cookiejar.New(nil) // never fails without options
	return &Client{Handler: h, Header: http.Header{}, jar: jar}
}

// base is the URL the requests pretend to go to.
var base = &url.URL{Scheme: "http", Host: "example.test", Path: "/"}

// Do sends req to the handler with the Client's cookies and headers, keeps
// the cookies the response sets, and returns the response.
func (c *Client) Do(req *http.Request) *http.Response {
	if req.URL.Host == "" {
		req.URL.Scheme, req.URL.Host, req.Host = base.Scheme, base.Host, base.Host
	}
	for k, vs := range c.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	for _, ck := range c.jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	w := httptest.NewRecorder()
	c.Handler.ServeHTTP(w, req)
	resp := w.Result()
	c.jar.SetCookies(req.URL, resp.Cookies())
	return resp
}

// Get sends GET path and returns the response and its body.
func (c *Client) Get(path string) (*http.Response, string) {
	return c.send(httptest.NewRequest(http.MethodGet, path, nil))
}

// Post sends POST path with no body and returns the response and its
// body.
func (c *Client) Post(path string) (*http.Response, string) {
	return c.send(httptest.NewRequest(http.MethodPost, path, nil))
}

// PostForm sends POST path with form, URL-encoded, and returns the
// response and its body.
func (c *Client) PostForm(path string, form url.Values) (*http.Response, string) {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.send(req)
}

// Cookie returns the value of the cookie called name that the Client
// holds, or "".
func (c *Client) Cookie(name string) string {
	for _, ck := range c.jar.Cookies(base) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

func (c *Client) send(req *http.Request) (*http.Response, string) {
	resp := c.Do(req)
	body, _ := io.ReadAll(resp.Body) // a recorder's body never fails
	return resp, string(body)
}
