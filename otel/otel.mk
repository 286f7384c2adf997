# The OpenTelemetry adapter's make targets. The root Makefile includes this
# file:
#
#   include otel/otel.mk
#
# and this file adds its targets to the root's test target, so that
# `make test` checks the otel module too (its own go.mod, so the root's
# lint and unit targets do not reach it):
#
# otel-lint   gofmt, go mod tidy -diff, vet and staticcheck of the otel module
# otel-unit   its tests with the race detector (TestRedis starts a
#             redis-server, which deps installs), and its benchmark run once
#             so that it never rots
# otel-bench  its benchmark: requests on the memory store with no observer,
#             the adapter on a no-op MeterProvider and on the SDK (compare
#             the columns with: cd benchmarks && go tool benchstat
#             -col /observer FILE)

GO ?= go
OTEL_STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: otel-lint otel-unit otel-bench

test: otel-lint otel-unit

otel-lint:
	@out=$$(gofmt -l otel); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	cd otel && $(GO) mod tidy -diff && $(GO) vet ./... && $(GO) run $(OTEL_STATICCHECK) ./...

otel-unit: deps
	cd otel && $(GO) test -mod=readonly -race -count=1 ./...
	cd otel && $(GO) test -mod=readonly -run '^$$' -bench . -benchtime 1x .

otel-bench:
	cd otel && $(GO) test -run '^$$' -bench . -benchmem -count 6 .
