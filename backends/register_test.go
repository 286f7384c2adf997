package backends_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/backends"
	"github.com/sessionware/sessions/memory"
)

// testStore stands for a store of another module: a memory store that
// remembers the URL it was opened with.
type testStore struct {
	*memory.Store
	url string
}

func openTestStore(c backends.Config) (sessions.Backend, error) {
	if strings.Contains(c.Store, "/fail") {
		// A careless backend: its error shows the whole URL.
		return nil, fmt.Errorf("cannot open %s", c.Store)
	}
	return &testStore{Store: memory.New(), url: c.Store}, nil
}

func init() {
	backends.Register("test+mem", openTestStore)
	backends.Register("test-neither", func(backends.Config) (sessions.Backend, error) { return struct{}{}, nil })
}

func TestRegisteredSchemeOpens(t *testing.T) {
	b, err := backends.Open("  TEST+MEM://host/db?opt=1 ")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.(io.Closer).Close() })
	s, ok := b.(*testStore)
	if !ok {
		t.Fatalf("test+mem:// opened a %T, want the registered *testStore", b)
	}
	if s.url != "test+mem://host/db?opt=1" {
		t.Errorf("the backend was given %q, want the trimmed URL with its scheme in lower case", s.url)
	}
	roundTrip(t, b)
}

func TestRegisteredSchemesAreListed(t *testing.T) {
	_, err := backends.Open("nosuch://x")
	checkConfigErr(t, err, "accepted: memory://, cookie://, memcached://, redis://", "rediss+sentinel://, test+mem://, test-neither://")
}

func TestRegisteredBackendErrorsAreConfigErrors(t *testing.T) {
	_, err := backends.Open("test+mem://user:" + secret + "@host/fail?password=" + secret)
	checkConfigErr(t, err, "test+mem://", "cannot open")
}

func TestRegisteredBackendMustBeAStoreOrSealer(t *testing.T) {
	b, err := backends.Open("test-neither://")
	if err == nil || b != nil {
		t.Fatalf("Open of a backend that is neither a Store nor a Sealer = %v, %v; want an error", b, err)
	}
	if !strings.Contains(err.Error(), "neither a sessions.Store nor a sessions.Sealer") || errors.Is(err, backends.ErrConfig) {
		t.Errorf("error %q: want a programming error, not ErrConfig", err)
	}
}

func TestRegisterPanics(t *testing.T) {
	for name, register := range map[string]func(){
		"built-in scheme":   func() { backends.Register("memory", openTestStore) },
		"registered scheme": func() { backends.Register("test+mem", openTestStore) },
		"empty scheme":      func() { backends.Register("", openTestStore) },
		"upper case":        func() { backends.Register("Test", openTestStore) },
		"with ://":          func() { backends.Register("test://", openTestStore) },
		"digit first":       func() { backends.Register("1test", openTestStore) },
		"nil open":          func() { backends.Register("test-nil", nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Register did not panic")
				}
			}()
			register()
		})
	}
	if _, err := backends.Open("test-nil://"); err == nil {
		t.Error("a Register that panicked still registered its scheme")
	}
}
