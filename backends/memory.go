package backends

import (
	"io"
	"math"
	"time"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/memory"
)

var _ io.Closer = (*memory.Store)(nil)

func init() {
	Register("memory", openMemory)
}

// openMemory opens memory://[?max_entries=N&cleanup=DURATION].
func openMemory(c Config) (sessions.Backend, error) {
	scheme, rest := cutScheme(c.Store)
	head, query, err := splitRest(scheme, rest)
	if err != nil {
		return nil, err
	}
	if head != "" && head != "/" {
		return nil, configErr("memory://: nothing may follow \"memory://\" but options, got %q; accepted: memory://?max_entries=N&cleanup=DURATION", Redact("memory://" + head)[len("memory://"):])
	}
	var opts []memory.Option
	err = parseOptions(scheme, query, []option{
		{name: "max_entries", accepts: "an integer ≥ 0, 0 for no bound; default 100000", set: func(v string) error {
			n, err := intOption(v, 0, math.MaxInt32)
			opts = append(opts, memory.WithMaxEntries(n))
			return err
		}},
		{name: "cleanup", accepts: "a duration such as 30s or 5m, 0 for no cleanup goroutine; default 1m", set: func(v string) error {
			d, err := durationOption(v, 0, 24*time.Hour)
			opts = append(opts, memory.WithCleanupInterval(d))
			return err
		}},
	})
	if err != nil {
		return nil, err
	}
	return memory.New(opts...), nil
}
