package sessions

import (
	"context"
	"time"
)

// Observer is told what the middleware does, for metrics and tracing
// (package github.com/sessionware/sessions/otel adapts it to
// OpenTelemetry). Install one with [WithObserver]; without one the
// middleware makes no extra clock reads or calls. Its methods run on the
// request's goroutine, inside the request's store calls: they must be fast,
// must not block, and must be safe for concurrent use.
type Observer interface {
	// StoreCall is told of every call the middleware makes to its Store:
	// op is "load", "save", "touch" or "delete", d how long it took and err
	// what it returned (ErrNotFound and ErrConflict are answers, not
	// failures: an adapter should count them apart from other errors).
	StoreCall(ctx context.Context, op string, d time.Duration, err error)
	// Event is told of what happened to a session.
	Event(ctx context.Context, e Event)
}

// Event is something that happened to a session, as an [Observer] is told.
type Event uint8

// The events an Observer is told of.
const (
	// EventCreated: a new session was first stored (or sealed).
	EventCreated Event = iota + 1
	// EventRenewed: a Renew was committed.
	EventRenewed
	// EventDestroyed: a Destroy ended a session (a stored record, or a
	// sealed cookie the browser held); a logout without a session is not
	// counted.
	EventDestroyed
	// EventConflict: a compare-and-swap lost to a concurrent write; the
	// commit reloads the session and replays this request's changes.
	EventConflict
	// EventLoadError: the store failed to load a session (the request got
	// the error handler's answer unless the handler called Load).
	EventLoadError
	// EventSaveError: a commit failed.
	EventSaveError
)

// String returns the event's name in lower case: "created", "renewed",
// "destroyed", "conflict", "load_error", "save_error".
func (e Event) String() string {
	switch e {
	case EventCreated:
		return "created"
	case EventRenewed:
		return "renewed"
	case EventDestroyed:
		return "destroyed"
	case EventConflict:
		return "conflict"
	case EventLoadError:
		return "load_error"
	case EventSaveError:
		return "save_error"
	}
	return "unknown"
}

// WithObserver installs o to be told of store calls and session events.
// Default none.
func WithObserver(o Observer) Option { return func(c *config) { c.observer = o } }

// event tells the observer, if there is one, of e.
func (s *Session) event(e Event) {
	if o := s.m.cfg.observer; o != nil {
		o.Event(s.ctx(), e)
	}
}

// observedStore times every call to a Store for an Observer. The
// middleware wraps its Store in one only when an Observer is installed.
type observedStore struct {
	Store
	o Observer
}

func (st observedStore) Load(ctx context.Context, key string) (Record, error) {
	t := time.Now()
	r, err := st.Store.Load(ctx, key)
	st.o.StoreCall(ctx, "load", time.Since(t), err)
	return r, err
}

func (st observedStore) Save(ctx context.Context, key string, data []byte, version uint64, ttl time.Duration) (uint64, error) {
	t := time.Now()
	v, err := st.Store.Save(ctx, key, data, version, ttl)
	st.o.StoreCall(ctx, "save", time.Since(t), err)
	return v, err
}

func (st observedStore) Delete(ctx context.Context, key string) error {
	t := time.Now()
	err := st.Store.Delete(ctx, key)
	st.o.StoreCall(ctx, "delete", time.Since(t), err)
	return err
}

// observedToucher is an observedStore whose Store is a Toucher.
type observedToucher struct {
	observedStore
	t Toucher
}

func (st observedToucher) Touch(ctx context.Context, key string, ttl time.Duration, at time.Time) error {
	t := time.Now()
	err := st.t.Touch(ctx, key, ttl, at)
	st.o.StoreCall(ctx, "touch", time.Since(t), err)
	return err
}

// observe wraps store for o, keeping its Toucher.
func observe(store Store, o Observer) Store {
	os := observedStore{Store: store, o: o}
	if t, ok := store.(Toucher); ok {
		return observedToucher{observedStore: os, t: t}
	}
	return os
}
