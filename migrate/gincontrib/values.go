package gincontrib

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrUndecodable is wrapped by the error Find returns for a legacy session
// that verifies but whose values cannot be decoded: most often a value of
// a type that the old program registered with gob.Register and this
// program does not (gob then names the type). Register the same types,
// under the same names, before the first request.
var ErrUndecodable = errors.New("gincontrib: legacy session cannot be decoded")

// ErrTooLarge is wrapped by the error Find returns for a record larger
// than the maximum record size ([WithMaxRecordSize]).
var ErrTooLarge = errors.New("gincontrib: legacy record too large")

// flashKey is where gorilla/sessions keeps the default category of
// flashes (Session.AddFlash(v) with no category).
const flashKey = "_flash"

// decodeGob decodes a gob payload into dst, turning a panic of the
// decoder into an error: the payload has passed the MAC, but a bug in a
// decoder must not take the request down.
func decodeGob(payload []byte, dst any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gob panicked: %v", r)
		}
	}()
	return gob.NewDecoder(bytes.NewReader(payload)).Decode(dst)
}

// undecodable is the error for a legacy session that verifies but cannot
// be decoded: where says what could not be, err why.
func undecodable(where string, err error) error {
	hint := ""
	if strings.Contains(err.Error(), "not registered") {
		hint = " (register the old program's types with gob.Register)"
	}
	return fmt.Errorf("%w: %s: %w%s", ErrUndecodable, where, err, hint)
}

// gobValues decodes the gob of a gorilla Values map.
func gobValues(payload []byte) (map[any]any, error) {
	var m map[any]any
	if err := decodeGob(payload, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// jsonValues decodes what redistore's JSONSerializer wrote: a JSON object
// of the values, decoded as redistore decodes it (numbers as float64).
func jsonValues(payload []byte) (map[any]any, error) {
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		return nil, err
	}
	if m == nil {
		// JSON null: redistore would have loaded no values.
		return nil, nil
	}
	out := make(map[any]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out, nil
}

// gobID decodes the session ID that redistore and the memcached store keep
// in their cookie: a gob string.
func gobID(payload []byte) (string, error) {
	var id string
	if err := decodeGob(payload, &id); err != nil {
		return "", fmt.Errorf("it verifies but holds no session ID (a cookie store's cookie?): %w", err)
	}
	return id, nil
}

// split sorts gorilla Values into the values and flashes of a Legacy:
// values under string keys are kept, the default flashes (a []any under
// "_flash") become Flashes[""], a []any under one of the categories
// becomes Flashes[category], and values under any other kind of key are
// left out (the middleware keeps string keys only).
func split(m map[any]any, categories []string) (values map[string]any, flashes map[string][]any) {
	values = make(map[string]any, len(m))
	for k, v := range m {
		ks, ok := k.(string)
		if !ok {
			continue
		}
		if f, isFlashes := v.([]any); isFlashes && (ks == flashKey || slices.Contains(categories, ks)) {
			if len(f) > 0 {
				if flashes == nil {
					flashes = make(map[string][]any)
				}
				category := ks
				if ks == flashKey {
					category = ""
				}
				flashes[category] = f
			}
			continue
		}
		values[ks] = v
	}
	return values, flashes
}
