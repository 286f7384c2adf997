// Package sessionsotel reports what the sessions middleware does as
// OpenTelemetry metrics: how long each store call takes, by store,
// operation and outcome, and how many sessions are created, renewed and
// destroyed, how many compare-and-swap saves lose a race (and are retried),
// and how many loads and commits fail.
//
//	obs, err := sessionsotel.New(meterProvider, sessionsotel.WithStore("redis"))
//	if err != nil {
//		return err
//	}
//	r.Use(sessions.Sessions("session", store, sessions.WithObserver(obs)))
//
// It is a module of its own (github.com/sessionware/sessions/otel), so that
// the sessions module does not depend on OpenTelemetry; the middleware
// makes no extra clock read or call when no Observer is installed. The
// instruments, their units and attributes are listed in the repository's
// docs/observability.md.
package sessionsotel
