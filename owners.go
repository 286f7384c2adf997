package sessions

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sessions can belong to an owner (a user ID), so that a program can list
// the owner's sessions ("devices") and sign out all but the current one.
//
// Each owner has an index record in the Store, under a key derived from
// the owner (never a session's key): one entry per session, with an
// opaque random handle (never the session ID), the session's store key,
// its creation and its expiry. A session records its owner and handle in
// the middleware's own keys, and every load of it checks that the index
// still lists its handle: a session that was signed out, or whose index
// is gone (a cache such as memcached evicted it), reads as no session.
// So a revocation never silently misses a session, at the cost of one
// more store read per request of a session that has an owner.
// Everything costs in proportion to the owner's sessions only.

// metaOwner holds a session's owner and its handle, joined by a NUL byte.
const metaOwner = "\x00owner"

// ownerIndexFormat is the first byte of an owner's index record.
const ownerIndexFormat = 3

// MaxDevices bounds the sessions an owner's index lists: a new one pushes
// out the one created first (which is then signed out).
const MaxDevices = 64

// maxIndexAttempts bounds the compare-and-swap retries of an index update.
const maxIndexAttempts = 20

// ErrNoServerSide is returned by SetOwner, Devices and the revocations on
// a Sealer (cookie) backend, which keeps nothing on the server that could
// list or end a session.
var ErrNoServerSide = errors.New("sessions: owners need a server-side store (a sealed cookie cannot be listed or revoked)")

// Device is one session of an owner, as Devices lists it.
type Device struct {
	// Handle identifies the session to RevokeDevice: random, never the
	// session ID or its store key, safe to show to the user.
	Handle string `json:"id"`
	// Current is true for the session of the request that asked.
	Current bool `json:"current"`
	// Created is when the session was created.
	Created time.Time `json:"created"`
	// LastSeen is when the session was last saved or had its idle
	// deadline pushed: as fine as the idle refresh interval.
	LastSeen time.Time `json:"last_seen"`
}

// device is an entry of an owner's index.
type device struct {
	handle, key      string
	created, expires int64 // Unix milliseconds
}

type ownerIndex struct{ devices []device }

func (x *ownerIndex) appendTo(b []byte) []byte {
	b = append(b, ownerIndexFormat)
	b = binary.AppendUvarint(b, uint64(len(x.devices)))
	for _, d := range x.devices {
		b = appendString(b, d.handle)
		b = appendString(b, d.key)
		b = binary.AppendVarint(b, d.created)
		b = binary.AppendVarint(b, d.expires)
	}
	return b
}

func decodeOwnerIndex(data []byte) (ownerIndex, error) {
	var x ownerIndex
	d := decoder{buf: data}
	if f, err := d.byte(); err != nil || f != ownerIndexFormat {
		return x, ErrMalformed
	}
	n, err := d.uvarint()
	if err != nil || n > uint64(len(d.buf))/4 {
		return x, ErrMalformed
	}
	x.devices = make([]device, 0, n)
	for range n {
		h, err1 := d.bytes()
		k, err2 := d.bytes()
		c, err3 := d.varint()
		e, err4 := d.varint()
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return x, ErrMalformed
		}
		x.devices = append(x.devices, device{handle: string(h), key: string(k), created: c, expires: e})
	}
	if len(d.buf) != 0 {
		return x, ErrMalformed
	}
	return x, nil
}

func (x *ownerIndex) find(handle string) int {
	for i := range x.devices {
		if x.devices[i].handle == handle {
			return i
		}
	}
	return -1
}

// ownerKey is the store key of an owner's index.
func ownerKey(owner string) string {
	raw := sha256.Sum256([]byte("sessionware/owner\x00" + owner))
	return storeKey(&raw)
}

func newHandle() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ownerOf returns the owner and handle that r records.
func (m *manager) ownerOf(r *record) (owner, handle string, ok bool) {
	v, ok := m.metaString(r, metaOwner)
	if !ok {
		return "", "", false
	}
	owner, handle, ok = strings.Cut(v, "\x00")
	return owner, handle, ok && owner != "" && handle != ""
}

// SetOwner makes owner (a user ID; not empty) the owner of this session,
// as at login: from its commit on, the session is listed by Devices and
// can be signed out from another session of the same owner. Call it after
// Renew at login. A session that changes owner leaves the previous owner's
// list. It returns ErrNoServerSide on a Sealer backend.
func (s *Session) SetOwner(owner string) error {
	if _, ok := s.m.persist.(serverSide); !ok {
		return ErrNoServerSide
	}
	if owner == "" {
		return errors.New("sessions: SetOwner needs an owner")
	}
	if !s.use() {
		return s.err
	}
	if o, _, ok := s.m.ownerOf(&s.rec); ok && o == owner {
		return nil
	}
	s.setMeta(metaOwner, owner+"\x00"+newHandle())
	s.ops |= opEnroll
	return nil
}

// Owner returns the session's owner, or "" when it has none.
func (s *Session) Owner() string {
	if !s.use() {
		return ""
	}
	o, _, _ := s.m.ownerOf(&s.rec)
	return o
}

// enroll puts the session, just saved under s.key, in its owner's index
// (SetOwner), or moves its entry to its new key (Renew).
func (p serverSide) enroll(s *Session, now time.Time) error {
	owner, handle, ok := s.m.ownerOf(&s.rec)
	if !ok {
		return nil
	}
	ctx := s.storeCtx()
	exp := s.m.expires(&s.rec).UnixMilli()
	return p.updateIndex(ctx, owner, now, func(x *ownerIndex) bool {
		if i := x.find(handle); i >= 0 {
			x.devices[i].key, x.devices[i].expires = s.key, exp
			return true
		}
		x.devices = append(x.devices, device{handle: handle, key: s.key, created: s.rec.created.UnixMilli(), expires: exp})
		if len(x.devices) > MaxDevices {
			x.devices = x.devices[len(x.devices)-MaxDevices:]
		}
		return true
	})
}

// updateIndex applies change to the owner's index with compare-and-swap,
// dropping expired entries, and writes it back if change reports a change.
func (p serverSide) updateIndex(ctx context.Context, owner string, now time.Time, change func(*ownerIndex) bool) error {
	key := ownerKey(owner)
	for attempt := 1; ; attempt++ {
		var x ownerIndex
		var version uint64
		r, err := p.store.Load(ctx, key)
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return &StoreError{Op: "load", Err: fmt.Errorf("owner index: %w", err)}
		default:
			if x, err = decodeOwnerIndex(r.Data); err != nil {
				x = ownerIndex{} // unreadable: start afresh (its sessions are signed out)
			}
			version = r.Version
		}
		changed := change(&x)
		live := x.devices[:0]
		var until int64
		for _, d := range x.devices {
			if d.expires > now.UnixMilli() {
				live = append(live, d)
				until = max(until, d.expires)
			}
		}
		changed = changed || len(live) != len(x.devices)
		x.devices = live
		if !changed {
			return nil
		}
		if len(x.devices) == 0 {
			if version == 0 {
				return nil
			}
			err = p.store.Delete(ctx, key)
		} else {
			ttl := max(time.UnixMilli(until).Sub(now), time.Second)
			_, err = p.store.Save(ctx, key, x.appendTo(nil), version, ttl)
		}
		if err == nil {
			return nil
		}
		if !errors.Is(err, ErrConflict) {
			return &StoreError{Op: "save", Err: fmt.Errorf("owner index: %w", err)}
		}
		if attempt >= maxIndexAttempts {
			return &StoreError{Op: "save", Err: fmt.Errorf("owner index: gave up after %d attempts: %w", attempt, err)}
		}
		if err := backoff(ctx, attempt); err != nil {
			return &StoreError{Op: "save", Err: err}
		}
	}
}

// listed reports whether the owner's index lists handle: the check every
// load of an owned session makes.
func (p serverSide) listed(ctx context.Context, owner, handle string) (bool, error) {
	r, err := p.store.Load(ctx, ownerKey(owner))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	x, err := decodeOwnerIndex(r.Data)
	if err != nil {
		return false, nil // unreadable: its sessions are signed out
	}
	return x.find(handle) >= 0, nil
}

// Devices lists the sessions of this session's owner, the current one
// included, oldest first; none when the session has no owner. Sessions
// that ended are dropped from the list as it is read.
func (s *Session) Devices() ([]Device, error) {
	p, ok := s.m.persist.(serverSide)
	if !ok {
		return nil, ErrNoServerSide
	}
	if !s.use() {
		return nil, s.err
	}
	owner, handle, ok := s.m.ownerOf(&s.rec)
	if !ok {
		return nil, nil
	}
	ctx := s.storeCtx()
	defer s.endStoreCalls()
	r, err := p.store.Load(ctx, ownerKey(owner))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, &StoreError{Op: "load", Err: fmt.Errorf("owner index: %w", err)}
	}
	x, err := decodeOwnerIndex(r.Data)
	if err != nil {
		return nil, &StoreError{Op: "load", Err: fmt.Errorf("owner index: %w", err)}
	}
	var out []Device
	var gone []string
	for _, d := range x.devices {
		if d.handle == handle { // this request's own view is the freshest
			out = append(out, Device{Handle: d.handle, Current: true, Created: s.rec.created, LastSeen: lastSeen(s.rec.refreshed, s.touched)})
			continue
		}
		dev, _, live, err := p.device(ctx, s.m, owner, d)
		if err != nil {
			return nil, err
		}
		if !live {
			gone = append(gone, d.handle)
			continue
		}
		out = append(out, dev)
	}
	if len(gone) > 0 { // tidy up; the list is right either way
		_ = p.updateIndex(ctx, owner, s.m.cfg.now(), func(x *ownerIndex) bool {
			n := len(x.devices)
			x.devices = deleteHandles(x.devices, gone)
			return len(x.devices) != n
		})
	}
	return out, nil
}

func lastSeen(refreshed, touched time.Time) time.Time {
	if touched.After(refreshed) {
		return touched
	}
	return refreshed
}

// device reads the session an index entry points to, following Renews.
// A session that no longer records this owner and handle (it changed
// owner) is not the owner's any more.
//
// It returns the key the session lives under now.
func (p serverSide) device(ctx context.Context, m *manager, owner string, d device) (Device, string, bool, error) {
	key := d.key
	for hop := 0; hop <= maxHops; hop++ {
		r, err := p.store.Load(ctx, key)
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrCorrupt) {
			return Device{}, "", false, nil
		}
		if err != nil {
			return Device{}, "", false, &StoreError{Op: "load", Err: err}
		}
		t, isTomb, err := decodeTombstone(r.Data)
		if err != nil || (isTomb && t.movedTo == "") {
			return Device{}, "", false, nil
		}
		if isTomb {
			key = t.movedTo
			continue
		}
		rec, err := decodeRecord(r.Data)
		if err != nil {
			return Device{}, "", false, nil
		}
		if o, h, ok := m.ownerOf(&rec); !ok || o != owner || h != d.handle {
			return Device{}, "", false, nil
		}
		return Device{Handle: d.handle, Created: rec.created, LastSeen: lastSeen(rec.refreshed, r.Touched)}, key, true, nil
	}
	return Device{}, "", false, nil
}

func deleteHandles(ds []device, handles []string) []device {
	out := ds[:0]
	for _, d := range ds {
		keep := true
		for _, h := range handles {
			if d.handle == h {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, d)
		}
	}
	return out
}

// RevokeOthers signs out every other session of this session's owner, at
// once: they leave the owner's index, so their next request finds no
// session, and their records are removed. It returns how many it signed
// out. A session without an owner has none to sign out.
func (s *Session) RevokeOthers() (int, error) {
	return s.revoke(func(handle, mine string) bool { return handle != mine })
}

// RevokeDevice signs out the session of the owner's whose Device.Handle
// is handle (not the current one: use Destroy). It reports whether there
// was such a session.
func (s *Session) RevokeDevice(handle string) (bool, error) {
	n, err := s.revoke(func(h, mine string) bool { return h == handle && h != mine })
	return n > 0, err
}

func (s *Session) revoke(drop func(handle, mine string) bool) (int, error) {
	p, ok := s.m.persist.(serverSide)
	if !ok {
		return 0, ErrNoServerSide
	}
	if !s.use() {
		return 0, s.err
	}
	owner, mine, ok := s.m.ownerOf(&s.rec)
	if !ok {
		return 0, nil
	}
	ctx := s.storeCtx()
	defer s.endStoreCalls()
	var dropped []device
	err := p.updateIndex(ctx, owner, s.m.cfg.now(), func(x *ownerIndex) bool {
		dropped = dropped[:0]
		kept := x.devices[:0]
		for _, d := range x.devices {
			if drop(d.handle, mine) {
				dropped = append(dropped, d)
			} else {
				kept = append(kept, d)
			}
		}
		x.devices = kept
		return len(dropped) > 0
	})
	if err != nil {
		return 0, err
	}
	// Out of the index, they are signed out. Count those that were live
	// and remove their records, to free the store at once (a failure here
	// leaves them to expire; they are signed out all the same).
	n := 0
	for _, d := range dropped {
		_, key, live, err := p.device(ctx, s.m, owner, d)
		if err != nil {
			return n, err
		}
		if !live {
			continue
		}
		n++
		if err := p.store.Delete(ctx, key); err != nil {
			return n, &StoreError{Op: "delete", Err: err}
		}
	}
	return n, nil
}
