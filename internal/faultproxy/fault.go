package faultproxy

import (
	"fmt"
	"time"
)

// Fault is what a [Proxy] does to the traffic it carries: one of [Pass],
// [Delay], [Stall], [Cut] and [Refuse]. The zero Fault is Pass.
type Fault struct {
	kind  kind
	delay time.Duration // Delay
	n     int           // Cut
}

// kind names a fault's behaviour.
type kind int

const (
	pass   kind = iota // forward every byte at once
	delay              // forward every chunk a fixed time after it arrived
	stall              // forward nothing, hold everything, keep connections open
	cut                // forward n bytes of each reply, then close the connection
	refuse             // no listener: connects are refused, connections reset
)

// Pass forwards every byte as it comes: no fault.
var Pass = Fault{}

// Stall accepts connections and holds every byte, both ways: the client's
// commands reach the server only when the fault clears (then in order, late,
// possibly after the client gave up on them, as a healed network delivers
// them), and the server's replies reach the client only then. Connections
// stay open, so a client waits for its own timeout.
var Stall = Fault{kind: stall}

// Refuse closes the proxy's listener, so that a connect is refused
// (ECONNREFUSED), and resets every open connection (RST): a server that is
// down, or a firewall that rejects. Another fault listens again on the same
// address.
var Refuse = Fault{kind: refuse}

// Delay forwards every chunk of bytes d after it arrived, in each direction:
// a command and its reply cost 2d more. Order is kept. A chunk held when
// the fault changes goes out at once if the new fault is Pass.
func Delay(d time.Duration) Fault { return Fault{kind: delay, delay: d} }

// Cut forwards the first n bytes of each reply (the bytes the server sends
// after the client's latest command), then closes the connection: the reply
// is cut off in transit. A reply of at most n bytes goes through whole.
// Cut(0) closes the connection as the first byte of a reply arrives: the
// server did the command, the client never learns the outcome.
func Cut(n int) Fault { return Fault{kind: cut, n: max(n, 0)} }

// String names the fault, as in "Delay(50ms)".
func (f Fault) String() string {
	switch f.kind {
	case delay:
		return fmt.Sprintf("Delay(%v)", f.delay)
	case stall:
		return "Stall"
	case cut:
		return fmt.Sprintf("Cut(%d)", f.n)
	case refuse:
		return "Refuse"
	}
	return "Pass"
}
