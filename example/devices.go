package main

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
)

// The Devices page lists the sessions of the logged-in user (login made
// the user their owner: sessions.SetOwner) and signs out the others. With
// sealed cookies there is nothing on the server to list or end: the page
// says so, and the API refuses with 501.

// sealedRefusal is the API's answer on a sealed backend.
const sealedRefusal = "devices cannot be listed or signed out: this server keeps sessions in sealed cookies (cookie://), so it holds no session it could list or end"

// sealedNote is the Devices page's.
const sealedNote = "This shop keeps sessions in sealed cookies (cookie://): the whole session travels in your browser's cookie, and the server keeps nothing it could list or sign out. Devices need a server-side store: memory, memcached or redis."

func (a *shop) devicesPage(c *gin.Context) {
	s := sessions.Default(c)
	d := pageData{Title: titles["devices"]}
	user := loggedIn(s)
	devs, err := s.Devices()
	switch {
	case errors.Is(err, sessions.ErrNoServerSide):
		d.DevicesNote = sealedNote
	case err != nil:
		storeFailed(c, err)
		return
	case user != "":
		d.Devices = devs
	}
	a.render(c, http.StatusOK, "devices", d, true)
}

// apiDevices answers {"devices": [{"id", "current", "created",
// "last_seen"}, ...]}, oldest first: 401 when nobody is logged in, 501 on
// a sealed backend.
func (a *shop) apiDevices(c *gin.Context) {
	s := sessions.Default(c)
	user := loggedIn(s)
	devs, err := s.Devices()
	if !apiDevicesOK(c, user, err) {
		return
	}
	if devs == nil {
		devs = []sessions.Device{}
	}
	c.JSON(http.StatusOK, gin.H{"devices": devs})
}

// apiLogoutOthers signs out every other session of the user and answers
// {"signed_out": how many}: 401 when nobody is logged in, 501 on a sealed
// backend.
func (a *shop) apiLogoutOthers(c *gin.Context) {
	s := sessions.Default(c)
	user := loggedIn(s)
	n, err := s.RevokeOthers() // none to sign out for a session without an owner

	if !apiDevicesOK(c, user, err) {
		return
	}
	c.JSON(http.StatusOK, gin.H{"signed_out": n})
}

// apiDevicesOK answers a devices call that cannot go on, and reports
// whether it can.
func apiDevicesOK(c *gin.Context, user string, err error) bool {
	switch {
	case c.IsAborted(): // the session's load failed: answered
		return false
	case errors.Is(err, sessions.ErrNoServerSide):
		c.AbortWithStatusJSON(http.StatusNotImplemented, gin.H{"error": sealedRefusal})
		return false
	case err != nil:
		storeFailed(c, err)
		return false
	case user == "":
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "not logged in"})
		return false
	}
	return true
}

func (a *shop) formLogoutOthers(c *gin.Context) {
	s := sessions.Default(c)
	if loggedIn(s) == "" {
		flash(s, flashError, "Please log in to manage your devices.")
	} else {
		n, err := s.RevokeOthers()
		switch {
		case errors.Is(err, sessions.ErrNoServerSide):
			flash(s, flashError, "Devices cannot be signed out with sealed cookies.")
		case err != nil:
			storeFailed(c, err)
			return
		case n == 0:
			flash(s, flashInfo, "No other device was signed in.")
		default:
			flash(s, flashInfo, fmt.Sprintf("Signed out %s.", quantity(n, "other device")))
		}
	}
	if c.IsAborted() {
		return
	}
	c.Redirect(http.StatusSeeOther, "/devices")
}

// formLogoutDevice signs out one other device: the form's id is the
// handle the page lists (sessions.Device.Handle, never a session ID).
func (a *shop) formLogoutDevice(c *gin.Context) {
	id := c.PostForm("id")
	if id == "" || len(id) > 64 {
		a.formError(c, http.StatusBadRequest, "devices", "id is required: the device to sign out")
		return
	}
	s := sessions.Default(c)
	if loggedIn(s) == "" {
		flash(s, flashError, "Please log in to manage your devices.")
	} else {
		ok, err := s.RevokeDevice(id)
		switch {
		case errors.Is(err, sessions.ErrNoServerSide):
			flash(s, flashError, "Devices cannot be signed out with sealed cookies.")
		case err != nil:
			storeFailed(c, err)
			return
		case !ok:
			flash(s, flashError, "That device was already signed out.")
		default:
			flash(s, flashInfo, "Signed out that device.")
		}
	}
	if c.IsAborted() {
		return
	}
	c.Redirect(http.StatusSeeOther, "/devices")
}
