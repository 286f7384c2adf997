// Package model holds the types of the test program in packages before
// and after. They keep their package path, and so their gob names, when
// the program switches from gin-contrib to the drop-in, as a real
// program's types do.
package model

import "encoding/gob"

// Profile is a struct the program keeps in its sessions, registered with
// gob as gin-contrib required.
type Profile struct {
	Name  string
	Admin bool
}

func init() {
	gob.Register(Profile{})
	gob.Register(map[string]int{}) // the cart: gob names every type behind an interface
}
