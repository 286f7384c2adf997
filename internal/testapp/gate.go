package testapp

import (
	"net/http"
	"sync"
)

// Gate holds requests where they call Park (in a handler, or in a store a
// handler calls) until the test releases them: the test knows the request
// got there, runs other requests meanwhile, and then lets it go on. The
// interleaving is certain, with no sleep.
type Gate struct {
	inside  chan struct{}
	release chan struct{}
	once    sync.Once
}

// NewGate returns a gate that holds every request that parks at it
// until Release.
func NewGate() *Gate {
	return &Gate{inside: make(chan struct{}), release: make(chan struct{})}
}

// Park signals that a request has arrived, then waits until Release. After
// Release it returns at once.
func (g *Gate) Park() {
	select {
	case g.inside <- struct{}{}:
	case <-g.release:
		return
	}
	<-g.release
}

// Wait waits until a request parks.
func (g *Gate) Wait() { <-g.inside }

// Release lets every parked request, and every later one, go on. Releasing
// a released gate does nothing.
func (g *Gate) Release() { g.once.Do(func() { close(g.release) }) }

// Held is a request parked at a Gate.
type Held struct {
	b    *Browser
	g    *Gate
	done chan sent
}

// sent is what a held request's client got.
type sent struct {
	resp *http.Response
	body string
	err  error
}

// Hold sends a request in the background and returns once it parks at g.
// It fails the test if the request ends before. The gate is released when
// the test ends, if not before, so that the server can close.
func (b *Browser) Hold(g *Gate, method, target string, opts ...Option) *Held {
	b.tb.Helper()
	h := &Held{b: b, g: g, done: make(chan sent, 1)}
	b.tb.Cleanup(g.Release) // before the App's Close, which waits for the request
	go func() {
		resp, body, err := b.Send(method, target, opts...)
		h.done <- sent{resp, body, err}
	}()
	select {
	case <-g.inside:
	case s := <-h.done:
		b.tb.Fatalf("%s %s ended before it parked: %v", method, target, describe(s))
	}
	return h
}

// Finish releases the gate and returns the held request's response, its
// body read. It fails the test if the request failed.
func (h *Held) Finish() (*http.Response, string) {
	h.b.tb.Helper()
	h.g.Release()
	s := <-h.done
	if s.err != nil {
		h.b.tb.Fatalf("the held request: %v", s.err)
	}
	return s.resp, s.body
}

// While holds a request at g, runs meanwhile, then finishes the held
// request and returns its response: two requests of one session overlap
// for certain, the held one ending last.
func (b *Browser) While(g *Gate, method, target string, meanwhile func()) (*http.Response, string) {
	b.tb.Helper()
	h := b.Hold(g, method, target)
	meanwhile()
	return h.Finish()
}

// describe says how a request that should have parked ended.
func describe(s sent) any {
	if s.err != nil {
		return s.err
	}
	return s.resp.Status + " " + s.body
}
