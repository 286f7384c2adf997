package backends

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/internal/urlsecret"
	"github.com/sessionware/sessions/redis"
)

var _ io.Closer = (*redis.Store)(nil)

func init() {
	for _, scheme := range []string{"redis", "rediss", "unix", "redis+cluster", "rediss+cluster", "redis+sentinel", "rediss+sentinel"} {
		Register(scheme, openRedis)
	}
}

// redisOptionsHint lists what the Redis URLs accept besides the address.
const redisOptionsHint = "prefix, max_record (the largest session in bytes, 1 to 536870912; default 1048576), " +
	"wait (replicas each save waits for, 0 to 100; default 0), wait_timeout (default 500ms), check (false skips the start-up PING; default true) " +
	"and go-redis's URL options (db, protocol, client_name, username, password, " +
	"max_retries, dial_timeout, read_timeout, write_timeout, pool_size, pool_timeout, min_idle_conns, max_idle_conns, " +
	"conn_max_idle_time, conn_max_lifetime, skip_verify, …; addr for cluster and sentinel, master_name for sentinel), " +
	"see https://pkg.go.dev/github.com/redis/go-redis/v9#ParseURL"

// openRedis hands the URL to redis.Open, which checks the server with a
// PING unless the URL says check=false.
func openRedis(c Config) (sessions.Backend, error) {
	s, err := redis.Open(c.Store)
	if err != nil {
		msg := urlsecret.Scrub(err.Error(), c.Store) // a second line of defence: redis.Open scrubs too
		if errors.Is(err, redis.ErrCheck) {
			return nil, &redisCheckError{msg: printable(msg)}
		}
		if strings.Contains(msg, "option") {
			msg += "; accepted: " + redisOptionsHint
		}
		return nil, fmt.Errorf("%w: %s", ErrConfig, printable(msg))
	}
	return s, nil
}

// redisCheckError is a failed start-up check of a Redis URL: it wraps
// ErrConfig, as every error of Open does, and redis.ErrCheck, so that a
// program can tell a server that is down or refuses the credentials from
// a URL that is wrong.
type redisCheckError struct{ msg string }

func (e *redisCheckError) Error() string   { return ErrConfig.Error() + ": " + e.msg }
func (e *redisCheckError) Unwrap() []error { return []error{ErrConfig, redis.ErrCheck} }
