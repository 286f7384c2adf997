package backends_test

import (
	"errors"
	"fmt"
	"io"
	"log"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/backends"
	"github.com/sessionware/sessions/memory"
)

// A program takes its store from the environment (SESSION_STORE and
// SESSION_KEYS), so that switching backends needs no code change.
func ExampleFromEnv() {
	cfg := backends.FromEnv() // SESSION_STORE unset: memory://
	store, err := cfg.Open()
	if err != nil {
		log.Fatal(err) // a wrong URL or key: stop at start-up
	}
	defer func() {
		if c, ok := store.(io.Closer); ok { // every store but cookie://
			c.Close()
		}
	}()

	r := gin.New()
	r.Use(sessions.Sessions("session", store))
	fmt.Println(cfg)
	// Output: store=memory://
}

func ExampleOpen() {
	store, err := backends.Open("memory://?max_entries=100000&cleanup=5m")
	if err != nil {
		log.Fatal(err)
	}
	defer store.(io.Closer).Close() // memory:// has a Close: it is a *memory.Store
	fmt.Printf("%T\n", store)
	// Output: *memory.Store
}

// A mistake is an error at start-up that says what is accepted.
func ExampleOpen_error() {
	_, err := backends.Open("memory://?max_entries=many")
	fmt.Println(errors.Is(err, backends.ErrConfig))
	fmt.Println(err)
	// Output:
	// true
	// backends: invalid session store configuration: memory://: option max_entries="many": not an integer; accepted: an integer ≥ 0, 0 for no bound; default 100000
}

// Programs that read a config file decode a Config from it.
func ExampleConfig_Open() {
	// check=false: no I/O yet, a server that is down gives 503s until it
	// is back (without it, Open checks the server with a PING).
	cfg := backends.Config{Store: "redis://:secret@localhost:6379/0?prefix=shop:&check=false"}
	store, err := cfg.Open()
	if err != nil {
		log.Fatal(err)
	}
	defer store.(io.Closer).Close()
	fmt.Println(cfg) // the password is not printed
	// Output: store=redis://localhost:6379/0
}

// A package that provides a store registers its scheme from an init
// function, as database/sql drivers do; programs that import it open the
// store by URL.
func ExampleRegister() {
	backends.Register("mystore", func(c backends.Config) (sessions.Backend, error) {
		// c.Store is the whole URL, "mystore://…": parse it, connect
		// lazily, return the store.
		return memory.New(), nil
	})

	store, err := backends.Open("mystore://")
	if err != nil {
		log.Fatal(err)
	}
	defer func() {
		if c, ok := store.(io.Closer); ok {
			c.Close()
		}
	}()
	r := gin.New()
	r.Use(sessions.Sessions("session", store))
}
