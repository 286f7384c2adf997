package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionware/sessions/internal/urlsecret"
)

// ErrCheck is wrapped by Open's error when its start-up check fails: the
// server could not be reached, did not answer PING in time, or refused the
// URL's credentials. The URL option check=false skips the check.
var ErrCheck = errors.New("redis: start-up check failed")

// checkTimeout bounds Open's start-up check.
const checkTimeout = 2 * time.Second

// startupCheck sends client a PING and returns an error wrapping ErrCheck
// that names shown (the URL without its password) and the cause, with
// anything of rawURL's secrets removed, if it fails.
func startupCheck(client goredis.UniversalClient, shown, rawURL string) error {
	ctx, cancel := context.WithTimeout(context.Background(), checkTimeout)
	defer cancel()
	err := client.Ping(ctx).Err()
	if err == nil {
		return nil
	}
	var why string
	switch {
	case goredis.HasErrorPrefix(err, "WRONGPASS"), goredis.HasErrorPrefix(err, "NOAUTH"), goredis.HasErrorPrefix(err, "NOPERM"):
		why = "the server refused the credentials (" + err.Error() + "): check the user and password of the URL"
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		why = "the server did not answer in time (" + err.Error() + ")"
	default:
		why = "cannot reach the server: " + err.Error()
	}
	if strings.Contains(shown, "+sentinel://") {
		why += " (through the Sentinels: check their addresses, master_name, and the master's username and password options)"
	}
	return fmt.Errorf("%w: %s: %s; the URL option check=false skips this check", ErrCheck, shown, urlsecret.Scrub(why, rawURL))
}

// isTimeout reports a network timeout.
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
