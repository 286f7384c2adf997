package main

import (
	"fmt"
	"slices"
	"strconv"
)

// product is one thing the shop sells. Prices are whole cents, so that a
// total is exact.
type product struct {
	ID    string // in forms, the API and the session's cart
	Name  string
	Blurb string
	Price int // cents
}

// catalogue is what the shop sells, in the order it shows them.
var catalogue = []product{
	{"pencil", "Graphite pencil", "HB, cedar wood, sharpened and ready.", 120},
	{"eraser", "Soft eraser", "Latex-free; lifts graphite without a smudge.", 90},
	{"notebook", "A5 notebook", "96 dotted pages, lay-flat binding.", 650},
	{"pen", "Fountain pen", "Steel nib, medium, with a converter.", 2400},
	{"ink", "Bottle of ink", "50 ml of blue-black, for that pen.", 890},
	{"ruler", "Steel ruler", "30 cm with a cork back, so it never slides.", 450},
}

// productByID finds a product of the catalogue.
func productByID(id string) (product, bool) {
	i := slices.IndexFunc(catalogue, func(p product) bool { return p.ID == id })
	if i < 0 {
		return product{}, false
	}
	return catalogue[i], true
}

// cartLine is one product in the cart, priced.
type cartLine struct {
	product
	Qty   int
	Total int // cents: Qty × Price
}

// cartView is the cart as the pages show it: the lines in catalogue
// order, how many items, and what they cost.
type cartView struct {
	Lines []cartLine
	Count int // items, all lines together
	Total int // cents
}

// viewCart prices a cart (product ID → quantity). An ID that is not in
// the catalogue (a product the shop stopped selling) is left out.
func viewCart(cart map[string]int) cartView {
	var v cartView
	for _, p := range catalogue {
		qty := cart[p.ID]
		if qty <= 0 {
			continue
		}
		line := cartLine{product: p, Qty: qty, Total: qty * p.Price}
		v.Lines = append(v.Lines, line)
		v.Count += qty
		v.Total += line.Total
	}
	return v
}

// money formats cents as euros, with a thousands separator: €1,234.50.
func money(cents int) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	units := strconv.Itoa(cents / 100)
	for i := len(units) - 3; i > 0; i -= 3 {
		units = units[:i] + "," + units[i:]
	}
	return fmt.Sprintf("%s€%s.%02d", sign, units, cents%100)
}
