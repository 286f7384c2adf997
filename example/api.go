package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
)

// The JSON API works on the same session as the pages. Its answers are
// below; bad input is a 400 with {"error": "..."}, and the session is
// unchanged then.

// apiSession answers {"user": string or null, "cart": {id: qty},
// "flashes": {"info": [...], "error": [...]}}, and so consumes the
// flashes.
func (a *shop) apiSession(c *gin.Context) {
	s := sessions.Default(c)
	user, ok := sessions.Get[string](s, keyUser)
	cart := cartOf(s)
	fl := gin.H{flashInfo: flashes(s, flashInfo), flashError: flashes(s, flashError)}
	if c.IsAborted() {
		return
	}
	var u any // null when nobody is logged in
	if ok {
		u = user
	}
	c.JSON(http.StatusOK, gin.H{"user": u, "cart": cart, "flashes": fl})
}

// apiLogin takes {"username": "alice", "remember": true} ("remember" is
// optional, false by default) and answers {"user": "alice"}.
func (a *shop) apiLogin(c *gin.Context) {
	var in struct {
		Username *string `json:"username"`
		Remember bool    `json:"remember"`
	}
	if !decodeJSON(c, &in, `{"username": "alice", "remember": true}`) {
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
	if login(sessions.Default(c), name, in.Remember) != nil {
		return // the error handler answered
	}
	c.JSON(http.StatusOK, gin.H{"user": name})
}

// apiLogout ends the session and answers {}.
func (a *shop) apiLogout(c *gin.Context) {
	sessions.Default(c).Destroy()
	c.JSON(http.StatusOK, gin.H{})
}

// apiProducts answers {"products": [{"id", "name", "price_cents"}, ...]}.
func (a *shop) apiProducts(c *gin.Context) {
	type item struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Price int    `json:"price_cents"`
	}
	out := make([]item, 0, len(catalogue))
	for _, p := range catalogue {
		out = append(out, item{p.ID, p.Name, p.Price})
	}
	c.JSON(http.StatusOK, gin.H{"products": out})
}

// apiGetCart answers the cart: {"cart": {id: qty}, "count": items,
// "total_cents": total}. Unlike /api/session it leaves the flashes alone.
func (a *shop) apiGetCart(c *gin.Context) {
	cart := cartOf(sessions.Default(c))
	if c.IsAborted() {
		return
	}
	c.JSON(http.StatusOK, cartJSON(cart))
}

// apiCart takes {"item": "pencil", "qty": 2}, adds it to the cart, and
// answers as apiGetCart does.
func (a *shop) apiCart(c *gin.Context) {
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
	p, msg := validItem(*in.Item)
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
	if err := addToCart(s, p.ID, qty); err != nil {
		if errors.Is(err, errLineFull) {
			badRequest(c, err.Error())
		}
		return // otherwise the error handler answered
	}
	c.JSON(http.StatusOK, cartJSON(cartOf(s)))
}

func cartJSON(cart map[string]int) gin.H {
	v := viewCart(cart)
	return gin.H{"cart": cart, "count": v.Count, "total_cents": v.Total}
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
		kind := "a string"
		if typeErr.Type != nil && typeErr.Type.Kind() == reflect.Bool {
			kind = "true or false"
		}
		badRequest(c, typeErr.Field+" must be "+kind)
	default:
		badRequest(c, "malformed JSON: expected an object such as "+example)
	}
	return false
}

func badRequest(c *gin.Context, msg string) {
	c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"error": msg})
}
