# The benchmarks' make targets. The root Makefile includes this file:
#
#   include benchmarks/bench.mk
#
# and adds bench-check to its test target, so the benchmarks never rot:
#
#   test: deps lint unit bench-check
#
# bench        every benchmark, latency harness and lost-update count;
#              writes BENCHMARKS.md, docs/latency.png and the raw output in
#              benchmarks/results/ (compare runs with benchstat: see
#              BENCHMARKS.md). Run it on a quiet machine.
# bench-http   the HTTP harness alone (cmd/httpbench: every backend served by
#              a process of its own, driven by a load process of its own, 64
#              connections, shapes read, write-many, hot and new), then the
#              report; about 4 minutes a pass.
# bench-check  compiles and runs each benchmark once, the latency harness in
#              quick mode and the lost-update count: about a minute, no
#              timing assertions.
# bench-before the hot shape (64 clients on one session) against the library
#              before tombstones and lanes (30549b7^) and at HEAD, in
#              alternating passes; the next `make bench` shows the table.
# bench-lint   gofmt, go mod tidy -diff, vet and staticcheck of the
#              benchmarks module (its own go.mod, so the root's checks do
#              not reach it).
#
# Settings: BENCHTIME (500ms), COUNT (6), CELL (2s per latency cell),
# LATENCY=keep (bench reuses results/latency.json instead of re-running the
# latency harness), HTTP=keep (the same for results/http.json), HTTP_CELL
# (3s per HTTP cell), HTTP_PASSES (1), HTTP_ARGS (more cmd/httpbench flags).

GO ?= go
BENCH_STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: bench bench-http bench-check bench-before bench-lint

bench: deps
	GO=$(GO) bash benchmarks/run.sh bench

bench-http: deps
	GO=$(GO) bash benchmarks/run.sh http

bench-check: deps
	GO=$(GO) bash benchmarks/run.sh check

bench-before: deps
	GO=$(GO) bash benchmarks/run.sh before

bench-lint:
	@out=$$(gofmt -l benchmarks); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	cd benchmarks && $(GO) mod tidy -diff && $(GO) vet ./... && $(GO) run $(BENCH_STATICCHECK) ./...
