package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/sessionware/sessions"
)

// What the app keeps in a session, and for how long.
const (
	keyUser = "user" // string: who is logged in
	keyCart = "cart" // map[string]int: product ID → quantity

	// Flash categories: the page shows each in its own style.
	flashInfo  = "info"
	flashError = "error"

	// sessionLifetime is how long a session lasts from its login (or its
	// creation, for an anonymous cart); its cookie lasts the browser
	// session (sessions.WithPersist(false)).
	sessionLifetime = 24 * time.Hour
	// rememberFor is how long a login with "remember me" lasts; its
	// cookie persists that long.
	rememberFor = 30 * 24 * time.Hour
	// idleTimeout ends any session not used for a week, so that a
	// remembered session left on a device does not last 30 days.
	idleTimeout = 7 * 24 * time.Hour
)

// login logs name in under a new session ID (against session fixation),
// makes name the session's owner, so that the Devices page lists it and
// can sign it out, and flashes a welcome. remember makes it last
// rememberFor, with a cookie that persists; without it the session lasts
// sessionLifetime and its cookie ends with the browser session.
//
// Another user's login on the same browser ends the previous session and
// starts from an empty one: nothing of the previous user is carried over
// (an anonymous cart is). It returns an error only when the store failed;
// the error handler has answered then.
func login(s *sessions.Session, name string, remember bool) error {
	if prev, ok := sessions.Get[string](s, keyUser); ok && prev != name {
		s.Destroy() // the previous user's session ends: it leaves their Devices list
	}
	s.Renew()
	// On a sealed cookie (cookie://) there is no server-side session to
	// list or sign out: the session still works, without Devices.
	if err := s.SetOwner(name); err != nil && !errors.Is(err, sessions.ErrNoServerSide) {
		return err
	}
	s.Set(keyUser, name)
	s.RememberMe(remember)
	if remember {
		s.SetLifetime(rememberFor)
	} else {
		s.SetLifetime(sessionLifetime)
	}
	flash(s, flashInfo, "Welcome, "+name+"!")
	return nil
}

// loggedIn returns the user of the session, or "".
func loggedIn(s *sessions.Session) string {
	user, _ := sessions.Get[string](s, keyUser)
	return user
}

// flash adds a message of a category for the next page, keeping at most
// maxFlashes pending in it, so that a client that never reads them cannot
// grow its session.
func flash(s *sessions.Session, category, msg string) {
	if pending := s.Flashes(category); len(pending) > 0 {
		if len(pending) >= maxFlashes {
			pending = pending[len(pending)-maxFlashes+1:]
		}
		for _, f := range pending {
			s.AddFlash(f, category)
		}
	}
	s.AddFlash(msg, category)
}

// flashes returns and removes the pending messages of a category.
func flashes(s *sessions.Session, category string) []string {
	fs := s.Flashes(category)
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, fmt.Sprint(f))
	}
	return out
}

// cartOf returns the cart, never nil.
func cartOf(s *sessions.Session) map[string]int {
	cart, _ := sessions.Get[map[string]int](s, keyCart)
	if cart == nil {
		cart = map[string]int{}
	}
	return cart
}

// errLineFull is addToCart's answer when a line would pass maxLineQty.
var errLineFull = fmt.Errorf("you can have at most %d of one product in your cart", maxLineQty)

// addToCart adds qty of the product id with Update, so that concurrent
// adds to one session all count: if another request saved first, the
// commit runs the function again on the fresh cart. The limit is checked
// inside the function, where it sees that fresh cart, and the answer is
// read after Save, when the function has run for the last time. It
// returns errLineFull, or the store's error (the error handler has
// answered then).
func addToCart(s *sessions.Session, id string, qty int) error {
	full := false
	s.Update(keyCart, func(old any) any {
		cart, _ := old.(map[string]int)
		if cart == nil {
			cart = map[string]int{}
		}
		full = cart[id]+qty > maxLineQty
		if !full {
			cart[id] += qty
		}
		return cart
	})
	if err := s.Save(); err != nil {
		return err
	}
	if full {
		return errLineFull
	}
	return nil
}

// removeFromCart removes the product id's line, with Update like the adds
// it may race with.
func removeFromCart(s *sessions.Session, id string) {
	s.Update(keyCart, func(old any) any {
		cart, _ := old.(map[string]int)
		delete(cart, id)
		if cart == nil {
			cart = map[string]int{}
		}
		return cart
	})
}

// checkout empties the cart and returns what it held: the order. It takes
// the cart inside Update, so that an add that lands just before is in the
// order, and one that lands after is in the next cart; nothing is
// ordered twice. It returns the store's error (the error handler has
// answered then).
func checkout(s *sessions.Session) (map[string]int, error) {
	var order map[string]int
	s.Update(keyCart, func(old any) any {
		order, _ = old.(map[string]int)
		return map[string]int{}
	})
	if err := s.Save(); err != nil {
		return nil, err
	}
	return order, nil
}
