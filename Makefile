# The two set-up commands of the README:
#   go run ./example   the example app on the in-memory backend
#   make test          every check and test; installs what the tests need
# And: make bench      every benchmark, in process and over loopback HTTP,
#                      writes BENCHMARKS.md (about 22 min on 2 cores)
#      make bench-http the HTTP harness alone (about 5 min a pass)
#      make fuzz       every fuzz target for FUZZTIME each (default 30s)
#      make soak       the example under 200,000 requests per backend, and
#                      1,000,000 sessions in the bounded memory store
GO          ?= go
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test deps lint unit run

test: deps lint bench-lint unit bench-check

# bench, bench-check, bench-lint: the benchmarks module (its own go.mod).
include benchmarks/bench.mk
include otel/otel.mk # otel-lint, otel-unit (added to test), otel-bench: the otel module

# Servers and tools the tests start: installed when missing.
deps:
	@bash scripts/install-deps.sh

# go mod tidy -diff: go.mod and go.sum say exactly what the code needs
# (prints the difference and fails otherwise; changes nothing).
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# -mod=readonly: a test run never edits go.mod or go.sum.
unit:
	$(GO) test -mod=readonly -race -count=1 ./...

run:
	$(GO) run ./example

# make fuzz: every fuzz target of the module, each for FUZZTIME, one at a
# time (go test fuzzes one target per run). A failing input is written to
# the package's testdata/fuzz/<target>/, which go test then runs as a seed;
# the run goes on with the next target and fails at the end.
FUZZTIME ?= 30s

.PHONY: fuzz

fuzz:
	@failed=; \
	for file in $$(grep -rl --include='*_test.go' --exclude-dir=testdata --exclude-dir=benchmarks '^func Fuzz' . | sort); do \
	  dir=$$(dirname $$file); \
	  for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
	    echo "== $$dir $$target ($(FUZZTIME))"; \
	    $(GO) test $$dir -run='^$$' -fuzz="^$$target\$$" -fuzztime=$(FUZZTIME) || failed="$$failed $$dir:$$target"; \
	  done; \
	done; \
	if [ -n "$$failed" ]; then echo "fuzz: failing:$$failed"; exit 1; fi

# make soak: the example app under at least 200,000 mixed requests from 64
# clients on every backend (each started on loopback), and the memory
# store's bound under 1,000,000 new sessions: a few minutes, not part of
# make test. It prints the figures docs/faults.md records.
.PHONY: soak

soak: deps
	$(GO) run ./scripts/soak
