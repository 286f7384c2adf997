package main

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the input the app accepts.
const (
	maxName     = 64      // characters in a username
	maxQty      = 99      // items added at once
	maxLineQty  = 999     // items of one product in a cart
	maxFlashes  = 5       // pending flash messages of a category kept in a session
	maxBodySize = 4 << 10 // bytes of a request body
)

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

// validItem checks that v names a product of the catalogue; otherwise it
// returns a message for the user (without v, which may be anything).
func validItem(v string) (product, string) {
	v = strings.TrimSpace(v)
	if v == "" {
		return product{}, "item is required"
	}
	p, ok := productByID(v)
	if !ok {
		return product{}, "item is not in the catalogue (GET /api/products lists it)"
	}
	return p, ""
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
