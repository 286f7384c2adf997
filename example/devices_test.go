package main

import (
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// devices returns the list of GET /api/devices, failing the test unless
// the answer is a 200 of exactly the documented shape: {"devices": [{"id":
// string, "current": bool, "created": time, "last_seen": time}]}, times in
// RFC 3339 within the last minute, a device's creation not after its last
// use.
func devices(t *testing.T, c *client) []map[string]any {
	t.Helper()
	r := c.get("/api/devices")
	if r.status != http.StatusOK {
		t.Fatalf("GET /api/devices: %d %s", r.status, r.body)
	}
	want(t, "keys of the answer", slices.Sorted(maps.Keys(r.json)), []string{"devices"})
	list, ok := r.json["devices"].([]any)
	if !ok {
		t.Fatalf("devices is not a list: %s", r.body)
	}
	var out []map[string]any
	for _, v := range list {
		d, _ := v.(map[string]any)
		want(t, "keys of a device", slices.Sorted(maps.Keys(d)), []string{"created", "current", "id", "last_seen"})
		if id, _ := d["id"].(string); id == "" {
			t.Errorf("a device without an id: %s", r.body)
		}
		if _, ok := d["current"].(bool); !ok {
			t.Errorf("current is not a boolean: %s", r.body)
		}
		var times [2]time.Time
		for i, k := range []string{"created", "last_seen"} {
			s, _ := d[k].(string)
			tm, err := time.Parse(time.RFC3339Nano, s)
			if err != nil || time.Since(tm) > time.Minute || time.Until(tm) > time.Second {
				t.Errorf("%s %q is not a recent RFC 3339 time (%v)", k, s, err)
			}
			times[i] = tm
		}
		if times[0].After(times[1]) {
			t.Errorf("created %v after last_seen %v", times[0], times[1])
		}
		out = append(out, d)
	}
	return out
}

// current returns the id of the device marked current, failing unless
// exactly one is.
func current(t *testing.T, ds []map[string]any) string {
	t.Helper()
	var ids []string
	for _, d := range ds {
		if d["current"] == true {
			ids = append(ids, d["id"].(string))
		}
	}
	if len(ids) != 1 {
		t.Fatalf("current devices %q, want one", ids)
	}
	return ids[0]
}

// TestDevicesAPI lists alice's devices from two browsers and signs one
// out from the other, on every server-side store: the list has the JSON
// shape of sessions.Device, each browser is marked current in its own
// list, device ids are not session IDs, and logout-others signs out the
// other browser at once (its next request finds no session) and nobody
// else.
func TestDevicesAPI(t *testing.T) {
	for _, b := range []backendCase{memoryBackend(), memcachedBackend(), redisBackend()} {
		t.Run(b.name, func(t *testing.T) {
			h := serve(t, b.open(t))
			laptop, phone, bob := h.client(), h.client(), h.client()

			r := laptop.get("/api/devices")
			want(t, "anonymous GET /api/devices", []any{r.status, r.json}, []any{http.StatusUnauthorized, map[string]any{"error": "not logged in"}})
			r = laptop.postJSON("/api/devices/logout-others", "")
			want(t, "anonymous logout-others", []any{r.status, r.json}, []any{http.StatusUnauthorized, map[string]any{"error": "not logged in"}})

			laptop.postJSON("/api/login", `{"username": "alice", "remember": true}`)
			phone.postJSON("/api/login", `{"username": "alice"}`)
			bob.postJSON("/api/login", `{"username": "bob"}`)

			fromLaptop, fromPhone := devices(t, laptop), devices(t, phone)
			want(t, "alice's devices seen from the laptop", len(fromLaptop), 2)
			want(t, "alice's devices seen from the phone", len(fromPhone), 2)
			laptopID, phoneID := current(t, fromLaptop), current(t, fromPhone)
			if laptopID == phoneID {
				t.Fatalf("both browsers are the device %q", laptopID)
			}
			var ids []string
			for _, d := range fromPhone {
				ids = append(ids, d["id"].(string))
			}
			slices.Sort(ids)
			want(t, "ids seen from the phone", ids, slices.Sorted(slices.Values([]string{laptopID, phoneID})))
			for _, c := range []*client{laptop, phone} {
				if v := c.Cookie(cookieName); strings.Contains(v, laptopID) || strings.Contains(v, phoneID) {
					t.Errorf("a device id is (part of) a session cookie %q", v)
				}
			}
			want(t, "bob's devices", len(devices(t, bob)), 1)

			r = laptop.postJSON("/api/devices/logout-others", "")
			want(t, "logout-others status", r.status, http.StatusOK)
			want(t, "logout-others answer", r.json, map[string]any{"signed_out": 1.0})

			want(t, "the phone's user", phone.session()["user"], nil)
			r = phone.get("/api/devices")
			want(t, "the phone's GET /api/devices", r.status, http.StatusUnauthorized)
			want(t, "the laptop's user", laptop.session()["user"], "alice")
			left := devices(t, laptop)
			want(t, "alice's devices left", len(left), 1)
			want(t, "the device left", current(t, left), laptopID)
			want(t, "bob's user", bob.session()["user"], "bob")

			r = laptop.postJSON("/api/devices/logout-others", "")
			want(t, "logout-others again", r.json, map[string]any{"signed_out": 0.0})
		})
	}
}

// TestDevicesRefusedOnCookie: with sealed cookies there is nothing on the
// server to list or end. The API refuses with 501 and says why, the page
// says so, the form flashes an error, and login works all the same.
func TestDevicesRefusedOnCookie(t *testing.T) {
	h := serve(t, cookieBackend().open(t))
	c := h.client()
	for _, logged := range []bool{false, true} {
		if logged {
			c.postJSON("/api/login", `{"username": "alice", "remember": true}`)
			want(t, "user", c.session()["user"], "alice")
		}
		r := c.get("/api/devices")
		want(t, "GET /api/devices", []any{r.status, r.json}, []any{http.StatusNotImplemented, map[string]any{"error": sealedRefusal}})
		r = c.postJSON("/api/devices/logout-others", "")
		want(t, "logout-others", []any{r.status, r.json}, []any{http.StatusNotImplemented, map[string]any{"error": sealedRefusal}})
	}
	r := c.get("/devices")
	want(t, "page status", r.status, http.StatusOK)
	if !strings.Contains(r.body, `<p id="devices-note" class="note">This shop keeps sessions in sealed cookies (cookie://)`) || strings.Contains(r.body, `id="devices"`) {
		t.Errorf("the Devices page does not say why it has no list:\n%s", r.body)
	}
	r = c.postForm("/devices/logout-others", nil)
	want(t, "form status", r.status, http.StatusSeeOther)
	want(t, "form redirect", r.header.Get("Location"), "/devices")
	want(t, "flashes", c.session()["flashes"], map[string]any{"info": []any{}, "error": []any{"Devices cannot be signed out with sealed cookies."}})
}

// TestDevicesPage walks the Devices page and its forms: the list, one
// device signed out by its button, the others by "sign out all other
// devices".
func TestDevicesPage(t *testing.T) {
	h := serve(t, memoryBackend().open(t))
	me, tablet, phone := h.client(), h.client(), h.client()
	if r := me.get("/devices"); !strings.Contains(r.body, `id="devices-login"`) {
		t.Errorf("the anonymous Devices page does not ask to log in:\n%s", r.body)
	}
	for _, c := range []*client{me, tablet, phone} {
		c.postForm("/login", url.Values{"username": {"alice"}})
	}
	me.session() // the welcome

	r := me.get("/devices")
	if !strings.Contains(r.body, "You are signed in on 3 devices.") {
		t.Errorf("the page does not count 3 devices:\n%s", r.body)
	}
	want(t, "devices listed", strings.Count(r.body, `<li class="device`), 3)
	want(t, "current devices listed", strings.Count(r.body, `<li class="device current"`), 1)
	others := regexp.MustCompile(`<li class="device" data-id="([^"]+)">`).FindAllStringSubmatch(r.body, -1)
	if len(others) != 2 {
		t.Fatalf("other devices with a sign-out button: %q", others)
	}
	if strings.Contains(r.body, `id="logout-others" class="btn btn-danger" type="submit" disabled`) {
		t.Error("the sign-out-others button is disabled with 2 other devices")
	}

	r = me.postForm("/devices/logout", url.Values{"id": {others[0][1]}})
	want(t, "sign out one: status", r.status, http.StatusSeeOther)
	want(t, "sign out one: redirect", r.header.Get("Location"), "/devices")
	r = me.get("/devices")
	if !strings.Contains(r.body, `<p class="flash flash-info" role="status">Signed out that device.</p>`) || !strings.Contains(r.body, "You are signed in on 2 devices.") {
		t.Errorf("after signing out one device:\n%s", r.body)
	}
	var in int
	for _, c := range []*client{tablet, phone} {
		if c.session()["user"] == "alice" {
			in++
		}
	}
	want(t, "other browsers still logged in", in, 1)

	me.postForm("/devices/logout", url.Values{"id": {others[0][1]}})
	if r = me.get("/devices"); !strings.Contains(r.body, `<p class="flash flash-error" role="alert">That device was already signed out.</p>`) {
		t.Errorf("signing out a device twice:\n%s", r.body)
	}

	r = me.postForm("/devices/logout-others", nil)
	want(t, "sign out others: status", r.status, http.StatusSeeOther)
	r = me.get("/devices")
	if !strings.Contains(r.body, `<p class="flash flash-info" role="status">Signed out 1 other device.</p>`) ||
		!strings.Contains(r.body, "You are signed in on 1 device.") ||
		!strings.Contains(r.body, `id="logout-others" class="btn btn-danger" type="submit" disabled`) {
		t.Errorf("after signing out the others:\n%s", r.body)
	}
	for _, c := range []*client{tablet, phone} {
		want(t, "another browser's user", c.session()["user"], nil)
	}
	want(t, "my user", me.session()["user"], "alice")
	me.postForm("/devices/logout-others", nil)
	if r = me.get("/devices"); !strings.Contains(r.body, "No other device was signed in.") {
		t.Errorf("signing out the others when there are none:\n%s", r.body)
	}
}
