package sessionsotel

// Option configures [New].
type Option func(*options)

type options struct {
	store string
}

// WithStore names the store the middleware uses ("memory", "redis",
// "memcached", "cookie", or a name of your own), as the value of the
// sessions.store.name attribute of every measurement, so that two
// middlewares on different stores can be told apart. Default none: the
// attribute is left out.
func WithStore(name string) Option { return func(o *options) { o.store = name } }
