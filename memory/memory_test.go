package memory_test

import (
	"testing"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/backends/storetest"
	"github.com/sessionware/sessions/memory"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) sessions.Store {
		s := memory.New()
		t.Cleanup(func() { s.Close() })
		return s
	})
}
