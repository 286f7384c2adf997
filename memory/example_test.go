package memory_test

import (
	"fmt"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/memory"
)

// The memory store keeps sessions in the process: for development, tests
// and a single instance. It is bounded (memory.DefaultMaxEntries by
// default); Close stops its cleanup.
func ExampleNew() {
	store := memory.New(
		memory.WithMaxEntries(10_000),
		memory.WithCleanupInterval(time.Minute),
	)
	defer store.Close()

	r := gin.New()
	r.Use(sessions.Sessions("session", store))
	fmt.Println(store.Len())
	// Output: 0
}
