package main

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
)

// raceAdds is how many adds the "no lost updates" demo sends at once.
const raceAdds = 20

// raceItem is the product the demo adds.
const raceItem = "pencil"

func (a *shop) shopPage(c *gin.Context) {
	a.render(c, http.StatusOK, "shop", pageData{Title: titles["shop"]}, true)
}

func (a *shop) cartPage(c *gin.Context) {
	a.render(c, http.StatusOK, "cart", pageData{Title: titles["cart"], Race: raceAdds, RaceItem: raceItem}, true)
}

func (a *shop) formLogin(c *gin.Context) {
	name, msg := validName("username", c.PostForm("username"))
	if msg != "" {
		a.formError(c, http.StatusBadRequest, "shop", msg)
		return
	}
	if login(sessions.Default(c), name, c.PostForm("remember") != "") != nil {
		return // the error handler answered
	}
	c.Redirect(http.StatusSeeOther, "/")
}

func (a *shop) formLogout(c *gin.Context) {
	sessions.Default(c).Destroy()
	c.Redirect(http.StatusSeeOther, "/")
}

func (a *shop) formCart(c *gin.Context) {
	p, msg := validItem(c.PostForm("item"))
	var qty int
	if msg == "" {
		qty, msg = validQty(c.PostForm("qty"))
	}
	if msg != "" {
		a.formError(c, http.StatusBadRequest, "shop", msg)
		return
	}
	s := sessions.Default(c)
	switch err := addToCart(s, p.ID, qty); {
	case errors.Is(err, errLineFull):
		flash(s, flashError, fmt.Sprintf("Could not add %d × %s: %s.", qty, p.Name, err))
	case err != nil:
		return // the error handler answered
	default:
		flash(s, flashInfo, fmt.Sprintf("Added %d × %s to your cart.", qty, p.Name))
	}
	c.Redirect(http.StatusSeeOther, "/")
}

func (a *shop) formRemove(c *gin.Context) {
	p, msg := validItem(c.PostForm("item"))
	if msg != "" {
		a.formError(c, http.StatusBadRequest, "cart", msg)
		return
	}
	s := sessions.Default(c)
	removeFromCart(s, p.ID)
	flash(s, flashInfo, "Removed "+p.Name+" from your cart.")
	c.Redirect(http.StatusSeeOther, "/cart")
}

// formCheckout places the order: the cart empties, and a flash says what
// was ordered. It needs a logged-in user and something in the cart. (A
// demo: nothing is charged or shipped.)
func (a *shop) formCheckout(c *gin.Context) {
	s := sessions.Default(c)
	switch {
	case loggedIn(s) == "":
		flash(s, flashError, "Please log in to place your order.")
	case len(cartOf(s)) == 0:
		flash(s, flashError, "Your cart is empty: there is nothing to order.")
	default:
		order, err := checkout(s)
		if err != nil {
			return // the error handler answered
		}
		v := viewCart(order)
		if v.Count == 0 { // another tab ordered it first
			flash(s, flashError, "Your cart is empty: there is nothing to order.")
			break
		}
		flash(s, flashInfo, fmt.Sprintf("Thank you! You ordered %s for %s. (This is a demo: nothing is charged or shipped.)", quantity(v.Count, "item"), money(v.Total)))
	}
	if c.IsAborted() {
		return
	}
	c.Redirect(http.StatusSeeOther, "/cart")
}
