package gincontrib

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sessionware/sessions"
)

// legacy hands the middleware the sessions that a Migrator found with
// their values as the drop-in keeps them: values that the native codec
// would not give back with their Go type (a gob-registered struct) are
// kept gob-encoded, so that Get returns them as gin-contrib did.
type legacy struct {
	m    sessions.Migrator
	keys valueKeys
}

func (l legacy) Find(ctx context.Context, r *http.Request) (*sessions.Legacy, error) {
	found, err := l.m.Find(ctx, r)
	if found == nil || err != nil {
		return found, err
	}
	out := *found
	out.Values = make(map[string]any, len(found.Values))
	for k, v := range found.Values {
		if out.Values[k], err = l.keys.keep(v); err != nil {
			return nil, fmt.Errorf("legacy value %q: %w", k, err)
		}
	}
	out.Flashes = make(map[string][]any, len(found.Flashes))
	for category, list := range found.Flashes {
		kept := make([]any, len(list))
		for i, v := range list {
			if kept[i], err = l.keys.keep(v); err != nil {
				return nil, fmt.Errorf("legacy flash: %w", err)
			}
		}
		out.Flashes[category] = kept
	}
	return &out, nil
}

func (l legacy) End(ctx context.Context, s *sessions.Legacy) error { return l.m.End(ctx, s) }

// keep is stored for a value that gob decoded, which gob can encode again
// unless its type is not registered here.
func (k valueKeys) keep(v any) (any, error) {
	kept := k.stored(v)
	if u, ok := kept.(*unencodable); ok {
		return nil, fmt.Errorf("%w: %w", ErrUndecodable, u.err)
	}
	return kept, nil
}
