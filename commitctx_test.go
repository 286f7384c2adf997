package sessions

import (
	"testing"
	"time"
)

// A Done channel taken from the pool closes at its own deadline, and one
// that fired (closed) never serves again.
func TestDoneTimersAreReusedOnlyOpen(t *testing.T) {
	for range 50 {
		dt := getDoneTimer(time.Hour)
		dt.release() // stopped before it fired: back to the pool, open
		again := getDoneTimer(20 * time.Millisecond)
		select {
		case <-again.ch:
			t.Fatal("a reused Done channel was closed at once")
		default:
		}
		select {
		case <-again.ch:
		case <-time.After(5 * time.Second):
			t.Fatal("a reused Done channel did not close at its deadline")
		}
		again.release() // fired: not pooled
		fresh := getDoneTimer(time.Hour)
		select {
		case <-fresh.ch:
			t.Fatal("a channel that had closed served again")
		default:
		}
		fresh.release()
	}
}
