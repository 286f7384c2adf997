package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sessionware/sessions/internal/testapp"
)

type deviceList struct {
	Devices []struct {
		ID       string    `json:"id"`
		Current  bool      `json:"current"`
		Created  time.Time `json:"created"`
		LastSeen time.Time `json:"last_seen"`
	} `json:"devices"`
}

func devices(t *testing.T, b *testapp.Browser) deviceList {
	t.Helper()
	_, body := b.Do("GET", "/devices")
	var l deviceList
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		t.Fatalf("GET /devices = %q: %v", body, err)
	}
	return l
}

// login logs a new browser in as user.
func (srv *server) login(t *testing.T, user string) *testapp.Browser {
	t.Helper()
	b := srv.NewBrowser()
	b.Expect("POST", "/login/"+user, 200, "ok")
	return b
}

// An owner's sessions are listed (with opaque handles, the current one
// marked), and signing out the others ends them at once, on every
// backend that keeps sessions on the server; a Sealer refuses clearly.
func (s *suite) testSignOutOtherDevices(t *testing.T) {
	srv := s.newServer(t)
	if srv.sealed {
		srv.Browser.Expect("POST", "/login/alice", 500, "sessions: owners need a server-side store (a sealed cookie cannot be listed or revoked)")
		return
	}
	laptop := srv.login(t, "alice")
	srv.clock.Advance(time.Minute)
	phone := srv.login(t, "alice")
	tablet := srv.login(t, "alice")
	bob := srv.login(t, "bob")

	l := devices(t, laptop)
	if len(l.Devices) != 3 {
		t.Fatalf("alice has %d devices listed, want 3: %+v", len(l.Devices), l)
	}
	current := 0
	for _, d := range l.Devices {
		if d.Current {
			current++
		}
		if len(d.ID) < 16 || strings.Contains(laptop.Cookie(cookieName), d.ID) || strings.Contains(phone.Cookie(cookieName), d.ID) {
			t.Fatalf("device handle %q is not opaque", d.ID)
		}
		if d.Created.IsZero() || d.LastSeen.Before(d.Created) {
			t.Fatalf("device times: %+v", d)
		}
	}
	if current != 1 || !l.Devices[0].Current || !l.Devices[1].Created.After(l.Devices[0].Created) {
		t.Fatalf("want the laptop first and current: %+v", l)
	}
	if n := len(devices(t, bob).Devices); n != 1 {
		t.Fatalf("bob has %d devices, want 1", n)
	}

	// Renew keeps a session listed, under its new key, also once the
	// tombstone of its old key has gone (with a store on the suite's clock).
	laptop.Expect("POST", "/renew", 200, "ok")
	laptop.Expect("GET", "/get/user", 200, "alice")
	srv.clock.Advance(11 * time.Minute)
	if n := len(devices(t, phone).Devices); n != 3 {
		t.Fatalf("after the laptop renewed its session, alice has %d devices listed, want 3", n)
	}
	laptop.Expect("GET", "/get/user", 200, "alice")

	// One device, by its handle, from another.
	tabletHandle := ""
	for _, d := range devices(t, tablet).Devices {
		if d.Current {
			tabletHandle = d.ID
		}
	}
	laptop.Expect("POST", "/revoke/"+tabletHandle, 200, "true")
	tablet.Expect("GET", "/get/user", 200, "<nil>")
	laptop.Expect("POST", "/revoke/"+tabletHandle, 200, "false")

	laptop.Expect("POST", "/revoke-others", 200, "1")
	phone.Expect("GET", "/get/user", 200, "<nil>")
	laptop.Expect("GET", "/get/user", 200, "alice")
	bob.Expect("GET", "/get/user", 200, "bob")
	if l := devices(t, laptop); len(l.Devices) != 1 || !l.Devices[0].Current {
		t.Fatalf("after signing out the others: %+v", l)
	}
	// A session that changes owner (Clear, Renew, SetOwner) leaves the
	// previous owner's list.
	bob.Expect("POST", "/clear", 200, "ok")
	bob.Expect("POST", "/login/alice", 200, "ok")
	if n := len(devices(t, laptop).Devices); n != 2 {
		t.Fatalf("after bob's browser logged in as alice: alice has %d devices, want 2", n)
	}
	bob.Expect("POST", "/clear", 200, "ok")
	bob.Expect("POST", "/login/bob", 200, "ok")
	if n := len(devices(t, laptop).Devices); n != 1 {
		t.Fatalf("after the browser went back to bob: alice has %d devices, want 1", n)
	}
	bob.Expect("POST", "/revoke-others", 200, "0")

	// A signed-out device that logs in again is listed again.
	phone.Expect("POST", "/login/alice", 200, "ok")
	if n := len(devices(t, laptop).Devices); n != 2 {
		t.Fatalf("after the phone logged in again: %d devices, want 2", n)
	}
}

// ownerIndexKey is where the middleware keeps an owner's index: the
// SHA-256 of "sessionware/owner\x00"+owner, hashed again and base64url,
// as session keys are.
func ownerIndexKey(owner string) string {
	raw := sha256.Sum256([]byte("sessionware/owner\x00" + owner))
	sum := sha256.Sum256(raw[:])
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// A store that loses an owner's index (a cache evicted it) signs out that
// owner's sessions instead of letting a later revocation miss them.
func (s *suite) testLostOwnerIndexSignsOut(t *testing.T) {
	srv := s.newServer(t)
	if srv.sealed {
		return // no index (see SignOutOtherDevices)
	}
	a := srv.login(t, "carol")
	b := srv.login(t, "carol")
	a.Expect("GET", "/get/user", 200, "carol")
	if _, err := srv.count.Store.Load(context.Background(), ownerIndexKey("carol")); err != nil {
		t.Fatalf("the owner's index is not where the test looks: %v", err)
	}
	if err := srv.count.Store.Delete(context.Background(), ownerIndexKey("carol")); err != nil {
		t.Fatal(err)
	}
	a.Expect("GET", "/get/user", 200, "<nil>")
	b.Expect("GET", "/get/user", 200, "<nil>")
}
