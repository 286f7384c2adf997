package backends_test

import (
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/sessionware/sessions/backends"
	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/redis"
)

// TestOpenRedisChecksTheServer: backends.Open of a Redis URL pings the
// server, and a server that refuses the credentials or cannot be reached
// stops the program at start-up with an error that wraps ErrConfig and
// redis.ErrCheck, says what went wrong and shows no password; check=false
// opens without a word to the server.
func TestOpenRedisChecksTheServer(t *testing.T) {
	srv := testserver.Redis(t, "--requirepass", secret)
	nowhere := net.JoinHostPort("127.0.0.1", strconv.Itoa(testserver.FreePort(t)))
	for _, tc := range []struct {
		name, url string
		want      []string // nil: opens
	}{
		{"RightPassword", "redis://:" + secret + "@" + srv.Addr + "/0", nil},
		{"WrongPassword", "redis://:not-" + secret + "@" + srv.Addr + "/0", []string{"redis://" + srv.Addr + "/0", "WRONGPASS", "refused the credentials", "check=false"}},
		{"NoPassword", "redis://" + srv.Addr, []string{"NOAUTH", "check=false"}},
		{"Unreachable", "redis://:" + secret + "@" + nowhere, []string{"redis://" + nowhere, "cannot reach", "check=false"}},
		{"WrongPasswordUnchecked", "redis://:not-" + secret + "@" + srv.Addr + "/0?check=false", nil},
		{"UnreachableUnchecked", "redis://" + nowhere + "?check=false", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := backends.Open(tc.url)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				s.(io.Closer).Close()
				return
			}
			if err == nil {
				s.(io.Closer).Close()
				t.Fatalf("Open(%q) succeeded", tc.url)
			}
			if !errors.Is(err, backends.ErrConfig) || !errors.Is(err, redis.ErrCheck) {
				t.Errorf("the error wraps neither ErrConfig nor redis.ErrCheck: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not say %q: %v", w, err)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows the password: %v", err)
			}
			if strings.Contains(err.Error(), "accepted:") {
				t.Errorf("a failed check lists the URL options, as if the URL were wrong: %v", err)
			}
		})
	}
}
