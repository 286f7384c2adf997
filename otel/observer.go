package sessionsotel

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/sessionware/sessions"
)

// ScopeName is the instrumentation scope of the Meter that [New] takes
// from its MeterProvider.
const ScopeName = "github.com/sessionware/sessions/otel"

// The attributes of the measurements (see docs/observability.md).
const (
	keyStore     = attribute.Key("sessions.store.name")
	keyOperation = attribute.Key("sessions.store.operation")
	keyOutcome   = attribute.Key("sessions.store.outcome")
)

// operations are the store calls the middleware makes, as
// [sessions.Observer.StoreCall] names them.
var operations = [...]string{"load", "save", "touch", "delete"}

// outcome is how a store call ended.
type outcome uint8

const (
	outcomeOK       outcome = iota // no error
	outcomeNotFound                // sessions.ErrNotFound: an answer, not a failure
	outcomeConflict                // sessions.ErrConflict: a compare-and-swap that lost
	outcomeError                   // any other error
	outcomes
)

var outcomeNames = [outcomes]string{"ok", "not_found", "conflict", "error"}

func outcomeOf(err error) outcome {
	switch {
	case err == nil:
		return outcomeOK
	case errors.Is(err, sessions.ErrNotFound):
		return outcomeNotFound
	case errors.Is(err, sessions.ErrConflict):
		return outcomeConflict
	}
	return outcomeError
}

// durationBuckets are the store call histogram's advised bucket bounds, in
// seconds: from 10 µs (the memory store answers in less) to 2.5 s (the
// middleware's default commit timeout is 2 s). A View of the
// MeterProvider can replace them.
var durationBuckets = []float64{
	0.00001, 0.000025, 0.00005,
	0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005,
	0.01, 0.025, 0.05,
	0.1, 0.25, 0.5,
	1, 2.5,
}

// eventCounters are the counters of the session events, in the order of
// their sessions.Event values.
var eventCounters = [...]struct {
	event             sessions.Event
	name, unit, about string
}{
	{sessions.EventCreated, "sessions.created", "{session}", "Sessions first stored (or sealed into a cookie)."},
	{sessions.EventRenewed, "sessions.renewed", "{session}", "Renews committed: sessions moved to a new ID."},
	{sessions.EventDestroyed, "sessions.destroyed", "{session}", "Destroys committed: sessions ended."},
	{sessions.EventConflict, "sessions.conflicts", "{conflict}", "Compare-and-swap writes that lost to a concurrent write; each is retried after a reload and replay."},
	{sessions.EventLoadError, "sessions.load.errors", "{error}", "Session loads that failed in the store."},
	{sessions.EventSaveError, "sessions.save.errors", "{error}", "Commits that failed: the request got the error handler's answer, or Save's error."},
}

// Observer records what the middleware tells it as OpenTelemetry metrics.
// It implements [sessions.Observer]; install it with
// [sessions.WithObserver]. It is safe for concurrent use, and records with
// attribute sets made once in New, so that a measurement allocates nothing
// where the SDK does not.
type Observer struct {
	duration metric.Float64Histogram
	calls    [len(operations)][outcomes][]metric.RecordOption
	store    []attribute.KeyValue // the store attribute, or none

	events    [len(eventCounters) + 1]metric.Int64Counter // by sessions.Event value
	eventOpts []metric.AddOption
}

var _ sessions.Observer = (*Observer)(nil)

// New makes the instruments of an Observer with a Meter of mp (the global
// MeterProvider, otel.GetMeterProvider, when mp is nil) named [ScopeName].
// It fails only when mp fails to make an instrument.
func New(mp metric.MeterProvider, opts ...Option) (*Observer, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(ScopeName)
	obs := &Observer{}
	if o.store != "" {
		obs.store = []attribute.KeyValue{keyStore.String(o.store)}
	}
	var errs []error
	var err error
	obs.duration, err = meter.Float64Histogram("sessions.store.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of the store calls the sessions middleware makes, by operation and outcome."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	errs = append(errs, err)
	for i, op := range operations {
		for out := range outcomes {
			set := attribute.NewSet(append(obs.store[:len(obs.store):len(obs.store)], keyOperation.String(op), keyOutcome.String(outcomeNames[out]))...)
			obs.calls[i][out] = []metric.RecordOption{metric.WithAttributeSet(set)}
		}
	}
	for _, c := range eventCounters {
		obs.events[c.event], err = meter.Int64Counter(c.name, metric.WithUnit(c.unit), metric.WithDescription(c.about))
		errs = append(errs, err)
	}
	obs.eventOpts = []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(obs.store...))}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return obs, nil
}

// StoreCall records d in the sessions.store.duration histogram, with the
// operation and its outcome: ok, not_found (sessions.ErrNotFound),
// conflict (sessions.ErrConflict) or error.
func (o *Observer) StoreCall(ctx context.Context, op string, d time.Duration, err error) {
	out := outcomeOf(err)
	for i, name := range operations {
		if name == op {
			o.duration.Record(ctx, d.Seconds(), o.calls[i][out]...)
			return
		}
	}
	// An operation newer than this package: recorded under its own name,
	// with attributes made for the call.
	attrs := append(o.store[:len(o.store):len(o.store)], keyOperation.String(op), keyOutcome.String(outcomeNames[out]))
	o.duration.Record(ctx, d.Seconds(), metric.WithAttributeSet(attribute.NewSet(attrs...)))
}

// Event adds one to the event's counter. An event newer than this package
// is not counted.
func (o *Observer) Event(ctx context.Context, e sessions.Event) {
	if int(e) < len(o.events) {
		if c := o.events[e]; c != nil {
			c.Add(ctx, 1, o.eventOpts...)
		}
	}
}
