#!/usr/bin/env bash
# The benchmarks' two entry points (benchmarks/bench.mk wires them into make):
#
#   run.sh bench   every benchmark (several samples), the latency harness and
#                  the lost-update count, and the HTTP harness (cmd/httpbench:
#                  a server process and a load process per cell); writes
#                  results/bench.txt (raw go test -bench output, for
#                  benchstat), results/latency.json, results/http.json,
#                  ../BENCHMARKS.md, ../docs/latency.png and ../docs/http.png.
#                  About 15 minutes.
#   run.sh http    the HTTP harness alone, then the report (the other
#                  results are kept as they are). About 4 minutes a pass.
#   run.sh check   the never-rot check for the test command: vet, the shape
#                  test, every benchmark once (-benchtime=1x), the latency
#                  harness in quick mode with the lost-update count, and the
#                  report, all into a temporary directory. About a minute;
#                  asserts nothing about time.
#   run.sh before [REV]
#                  the hot shape (64 clients on one session) against the
#                  library at REV and at HEAD, in alternating passes; writes results/hot-before.txt and
#                  results/hot-after.txt, which the report compares. REV
#                  defaults to 30549b7^, the last commit before tombstones
#                  and lanes. It builds REV in a temporary git worktree and
#                  a temporary copy of this module whose go.mod replaces
#                  the library with it; nothing of either is kept. Run it
#                  before `run.sh bench`, which then includes the table.
#
# Settings (environment): GO (go), BENCHTIME (500ms), COUNT (6),
# CELL (2s, time per latency cell), BENCH (., the -bench regexp),
# LATENCY (run; keep: bench reuses results/latency.json, whose date the
# report shows apart), HTTP (run; keep: reuse results/http.json),
# HTTP_CELL (3s per HTTP cell), HTTP_PASSES (1), HTTP_ARGS (more flags of
# cmd/httpbench, e.g. "-backends memory,redis -shapes read").
# Needs memcached and redis-server (scripts/install-deps.sh installs them);
# every server it starts listens on 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")"
GO=${GO:-go}
# The library is required through a replace (../): when it gains a
# dependency, let go add it to this module's go.sum instead of failing.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"

# http_run OUT runs the HTTP harness (built once, so that its server and
# load processes start from a binary rather than through go run).
http_run() {
	local bin
	bin=$(mktemp -d)/httpbench
	$GO build -o "$bin" ./cmd/httpbench
	echo "== http: every backend over loopback HTTP, a server and a load process per cell (${HTTP_CELL:-3s} per cell, ${HTTP_PASSES:-1} pass(es))"
	# shellcheck disable=SC2086 # HTTP_ARGS holds several flags
	"$bin" -d "${HTTP_CELL:-3s}" -passes "${HTTP_PASSES:-1}" ${HTTP_ARGS:-} -out "$1"
	rm -rf "$(dirname "$bin")"
}

report() {
	echo "== report"
	$GO run ./cmd/report -bench results/bench.txt -latency results/latency.json -http results/http.json \
		-out ../BENCHMARKS.md -chart ../docs/latency.png -http-chart ../docs/http.png -reproduce "make bench"
}

case "${1:-}" in
bench)
	mkdir -p results
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	count=${COUNT:-6}
	$GO test -c -o "$tmp/bench.test" .
	# The date of the run, for the report (a header line, as go test's
	# goos: and cpu:).
	printf 'date: %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" >"$tmp/bench.txt"
	# COUNT passes over the whole suite rather than -count: a load that
	# comes and goes on the machine then spreads over every benchmark
	# instead of hitting a few. -v keeps the reasons of skipped benchmarks
	# (a peer refusing a shape) in the output; benchstat ignores them.
	for i in $(seq "$count"); do
		echo "== go test -bench, pass $i of $count (benchtime ${BENCHTIME:-500ms})"
		"$tmp/bench.test" -test.run '^$' -test.bench "${BENCH:-.}" -test.benchmem \
			-test.benchtime "${BENCHTIME:-500ms}" -test.timeout 30m -test.v >"$tmp/pass.txt" ||
			{ cat "$tmp/pass.txt"; exit 1; }
		grep -c 'ns/op' "$tmp/pass.txt" | sed 's/$/ results/'
		cat "$tmp/pass.txt" >>"$tmp/bench.txt"
	done
	mv "$tmp/bench.txt" results/bench.txt
	if [ "${LATENCY:-run}" = keep ]; then
		echo "== latency and lost updates: results/latency.json kept (LATENCY=keep)"
	else
		echo "== latency and lost updates (${CELL:-2s} per cell)"
		$GO run ./cmd/latency -d "${CELL:-2s}" -out results/latency.json
	fi
	if [ "${HTTP:-run}" = keep ]; then
		echo "== http: results/http.json kept (HTTP=keep)"
	else
		http_run results/http.json
	fi
	report
	;;
http)
	http_run results/http.json
	report
	;;
check)
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	$GO vet ./...
	$GO test -count=1 -run '^(TestShapes|TestHot)$' -bench . -benchmem -benchtime=1x -v . >"$tmp/bench.txt" ||
		{ cat "$tmp/bench.txt"; exit 1; }
	grep -E '^(--- (FAIL|PASS): (TestShapes|TestHot)|ok|FAIL)' "$tmp/bench.txt"
	echo "$(grep -c 'ns/op' "$tmp/bench.txt") benchmarks ran once"
	$GO run ./cmd/latency -quick -out "$tmp/latency.json" >"$tmp/latency.txt" ||
		{ cat "$tmp/latency.txt"; exit 1; }
	sed -n '/^lost updates/,$p' "$tmp/latency.txt"
	$GO run ./cmd/httpbench -quick -out "$tmp/http.json" >"$tmp/http.txt" ||
		{ cat "$tmp/http.txt"; exit 1; }
	echo "$(grep -c '^[a-z]' "$tmp/http.txt") HTTP lines (quick mode): $(tail -1 "$tmp/http.txt")"
	$GO run ./cmd/report -bench "$tmp/bench.txt" -latency "$tmp/latency.json" -http "$tmp/http.json" \
		-out "$tmp/BENCHMARKS.md" -chart "$tmp/latency.png" -http-chart "$tmp/http.png" -reproduce "make bench-check"
	;;
before)
	# Both libraries from git worktrees (the after one at HEAD), so that
	# what runs is exactly two commits, whatever else the working tree has.
	revs=("$(git rev-parse --short "${2:-30549b7^}")" "$(git rev-parse --short HEAD)")
	mkdir -p results
	tmp=$(mktemp -d)
	trap 'for w in before after; do git worktree remove --force "$tmp/lib-$w" 2>/dev/null; done; rm -rf "$tmp"' EXIT
	count=${COUNT:-6}
	stamp="date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	for w in before after; do
		rev=${revs[0]}
		[ $w = after ] && rev=${revs[1]}
		git worktree add --quiet --detach "$tmp/lib-$w" "$rev"
		mkdir "$tmp/mod-$w"
		cp -r $(ls -A | grep -vx results) "$tmp/mod-$w/"
		(cd "$tmp/mod-$w" && $GO mod edit -replace "github.com/sessionware/sessions=$tmp/lib-$w" &&
			$GO test -c -o "$tmp/$w.test" .)
		printf '%s\nlibrary: %s\n' "$stamp" "$rev" >"$tmp/$w.txt"
	done
	for i in $(seq "$count"); do
		for which in before after; do
			echo "== hot shape, $which, pass $i of $count"
			"$tmp/$which.test" -test.run '^$' -test.bench 'Request/backend=/shape=hot$' -test.benchmem \
				-test.benchtime "${BENCHTIME:-500ms}" -test.timeout 10m -test.v >"$tmp/pass.txt" ||
				{ cat "$tmp/pass.txt"; exit 1; }
			grep -E '^Benchmark.*(memcached|redis)/.*ns/op' "$tmp/pass.txt" | awk '{print $1, $3, $4, $5, $6, $7, $8, $9, $10}'
			cat "$tmp/pass.txt" >>"$tmp/$which.txt"
		done
	done
	mv "$tmp/before.txt" results/hot-before.txt
	mv "$tmp/after.txt" results/hot-after.txt
	echo "wrote results/hot-before.txt and results/hot-after.txt"
	;;
*)
	echo "usage: $0 bench|http|check|before [REV]" >&2
	exit 2
	;;
esac
