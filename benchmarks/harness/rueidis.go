package harness

import (
	"context"
	"crypto/tls"
	"net"

	"github.com/redis/rueidis"

	"github.com/sessionware/sessions/benchmarks/rueidisstore"
)

// RueidisClient is the rueidis client of the prototype store and of the
// rueidis floor: rueidis's defaults (auto-pipelining over a few shared
// connections), connections counted by d; client-side caching only when
// cache is true.
func RueidisClient(env *Env, d *Dialer, cache bool) (rueidis.Client, error) {
	return rueidis.NewClient(rueidis.ClientOption{
		InitAddress:       []string{env.RedisAddr},
		ForceSingleClient: true,
		DisableCache:      !cache,
		DialCtxFn: func(ctx context.Context, addr string, _ *net.Dialer, _ *tls.Config) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr)
		},
	})
}

func newRueidis(cache bool) func(env *Env) (*App, error) {
	return func(env *Env) (*App, error) {
		d := &Dialer{}
		client, err := RueidisClient(env, d, cache)
		if err != nil {
			return nil, err
		}
		var opts []rueidisstore.Option
		if cache {
			opts = append(opts, rueidisstore.WithClientCache(0))
		}
		a := newOurs(rueidisstore.New(client, opts...))
		a.RoundTrips = &d.RoundTrips
		a.onClose(client.Close)
		return a, nil
	}
}
