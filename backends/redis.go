package backends

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/redis"
)

var _ io.Closer = (*redis.Store)(nil)

func init() {
	for _, scheme := range []string{"redis", "rediss", "unix", "redis+cluster", "rediss+cluster", "redis+sentinel", "rediss+sentinel"} {
		Register(scheme, openRedis)
	}
}

// redisOptionsHint lists what the Redis URLs accept besides the address.
const redisOptionsHint = "prefix and go-redis's URL options (db, protocol, client_name, username, password, " +
	"max_retries, dial_timeout, read_timeout, write_timeout, pool_size, pool_timeout, min_idle_conns, max_idle_conns, " +
	"conn_max_idle_time, conn_max_lifetime, skip_verify, …; addr for cluster and sentinel, master_name for sentinel), " +
	"see https://pkg.go.dev/github.com/redis/go-redis/v9#ParseURL"

// openRedis hands the URL to redis.Open, which does no I/O.
func openRedis(c Config) (sessions.Backend, error) {
	s, err := redis.Open(c.Store)
	if err != nil {
		msg := scrubURLSecrets(err.Error(), c.Store)
		if strings.Contains(msg, "option") {
			msg += "; accepted: " + redisOptionsHint
		}
		return nil, fmt.Errorf("%w: %s", ErrConfig, printable(msg))
	}
	return s, nil
}

// scrubURLSecrets removes from msg the password of rawURL's user info and
// the values of its password options, as written and decoded. redis.Open
// already does; this is a second line of defence.
func scrubURLSecrets(msg, rawURL string) string {
	var secrets []string
	add := func(s string) {
		if s != "" {
			secrets = append(secrets, s, url.QueryEscape(s), url.PathEscape(s))
		}
	}
	// The user info by hand, so that a URL url.Parse refuses is scrubbed too.
	if _, rest, ok := strings.Cut(rawURL, "://"); ok {
		rest, _, _ = strings.Cut(rest, "/")
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if _, pw, ok := strings.Cut(rest[:at], ":"); ok {
				add(pw)
				if d, err := url.PathUnescape(pw); err == nil {
					add(d)
				}
			}
		}
	}
	if _, query, ok := strings.Cut(rawURL, "?"); ok {
		if q, err := url.ParseQuery(query); err == nil {
			for k, vs := range q {
				if strings.Contains(strings.ToLower(k), "password") {
					for _, v := range vs {
						add(v)
					}
				}
			}
		}
	}
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	return msg
}
