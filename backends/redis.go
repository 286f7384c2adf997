package backends

import (
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
const redisOptionsHint = "prefix, max_record (the largest session in bytes, 1 to 536870912; default 1048576) and go-redis's URL options (db, protocol, client_name, username, password, " +
	"max_retries, dial_timeout, read_timeout, write_timeout, pool_size, pool_timeout, min_idle_conns, max_idle_conns, " +
	"conn_max_idle_time, conn_max_lifetime, skip_verify, …; addr for cluster and sentinel, master_name for sentinel), " +
	"see https://pkg.go.dev/github.com/redis/go-redis/v9#ParseURL"

// openRedis hands the URL to redis.Open, which does no I/O.
func openRedis(c Config) (sessions.Backend, error) {
	s, err := redis.Open(c.Store)
	if err != nil {
		msg := urlsecret.Scrub(err.Error(), c.Store) // a second line of defence: redis.Open scrubs too
		if strings.Contains(msg, "option") {
			msg += "; accepted: " + redisOptionsHint
		}
		return nil, fmt.Errorf("%w: %s", ErrConfig, printable(msg))
	}
	return s, nil
}
