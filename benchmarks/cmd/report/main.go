// Command report turns the benchmark output (go test -bench) and the
// latency harness's JSON into BENCHMARKS.md and a latency chart (PNG,
// drawn with gonum.org/v1/plot).
//
//	go run ./cmd/report -bench results/bench.txt -latency results/latency.json \
//	    -out ../BENCHMARKS.md -chart ../docs/latency.png
//
// It asserts nothing: a missed target is reported as missed, never an
// error.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image/color"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/sessionware/sessions/benchmarks/harness"
)

func main() {
	var (
		benchFile = flag.String("bench", "results/bench.txt", "go test -bench output")
		latFile   = flag.String("latency", "results/latency.json", "cmd/latency output")
		out       = flag.String("out", "../BENCHMARKS.md", "the report to write")
		chart     = flag.String("chart", "../docs/latency.png", "the latency chart to write (PNG)")
		notes     = flag.String("notes", "NOTES.md", "hand-written analysis to include, if the file exists")
		reproduce = flag.String("reproduce", "make bench", "the command that reproduces the run, for the report")
		before    = flag.String("hot-before", "results/hot-before.txt", "the hot shape against an earlier library (benchmarks/run.sh before), if the file exists")
		after     = flag.String("hot-after", "results/hot-after.txt", "the hot shape against the current library, in the same run as -hot-before")
		httpFile  = flag.String("http", "results/http.json", "cmd/httpbench output, if the file exists")
		httpChart = flag.String("http-chart", "../docs/http.png", "the chart of the HTTP results to write (PNG)")
		httpNotes = flag.String("http-notes", "NOTES-http.md", "hand-written analysis of the HTTP results to include, if the file exists")
	)
	flag.Parse()
	br, err := readBench(*benchFile)
	if err != nil {
		log.Fatal(err)
	}
	var lat harness.Results
	if b, err := os.ReadFile(*latFile); err != nil {
		log.Fatal(err)
	} else if err := json.Unmarshal(b, &lat); err != nil {
		log.Fatalf("%s: %v", *latFile, err)
	}
	r := &report{b: br, lat: &lat}
	if _, err := os.Stat(*before); err == nil {
		if r.before, err = readBench(*before); err != nil {
			log.Fatal(err)
		}
		if r.after, err = readBench(*after); err != nil {
			log.Fatal(err)
		}
	}
	if b, err := os.ReadFile(*notes); err == nil {
		r.notes = string(b)
	}
	if b, err := os.ReadFile(*httpFile); err == nil {
		var res harness.HTTPResults
		if err := json.Unmarshal(b, &res); err != nil {
			log.Fatalf("%s: %v", *httpFile, err)
		}
		r.hr = newHTTPReport(&res)
		if b, err := os.ReadFile(*httpNotes); err == nil {
			r.httpNotes = string(b)
		}
		if err := os.MkdirAll(filepath.Dir(*httpChart), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := drawHTTPChart(r.hr, *httpChart); err != nil {
			log.Fatal(err)
		}
		rel, err := filepath.Rel(filepath.Dir(*out), *httpChart)
		if err != nil {
			rel = *httpChart
		}
		r.httpChart = filepath.ToSlash(rel)
	}
	chartRel, err := filepath.Rel(filepath.Dir(*out), *chart)
	if err != nil {
		chartRel = *chart
	}
	if err := os.MkdirAll(filepath.Dir(*chart), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := drawChart(&lat, *chart); err != nil {
		log.Fatal(err)
	}
	md := r.markdown(filepath.ToSlash(chartRel), *benchFile, *latFile, *reproduce)
	if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", *out, "and", *chart)
}

// bench holds the medians of every benchmark of the output.
type bench struct {
	vals    map[string]map[string][]float64 // name -> unit -> samples
	skipped map[string]string               // name -> reason
	header  map[string]string               // goos, goarch, cpu, pkg
	count   int
}

func readBench(path string) (*bench, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := &bench{vals: map[string]map[string][]float64{}, skipped: map[string]string{}, header: map[string]string{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var lastMsg string // go test -v prints a skip's message before its SKIP line
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "--- SKIP: Benchmark"):
			b.skipped[trimName(strings.Fields(trimmed)[2])] = lastMsg
			lastMsg = ""
			continue
		case strings.HasPrefix(line, " ") && strings.Contains(trimmed, ".go:"):
			_, msg, _ := strings.Cut(trimmed, ": ")
			lastMsg = msg
			continue
		}
		if k, v, ok := strings.Cut(line, ": "); ok && !strings.Contains(k, " ") && !strings.HasPrefix(k, "Benchmark") {
			b.header[k] = strings.TrimSpace(v)
			continue
		}
		fs := strings.Fields(line)
		if len(fs) < 4 || !strings.HasPrefix(fs[0], "Benchmark") {
			continue
		}
		iters, err := strconv.Atoi(fs[1])
		if err != nil {
			continue
		}
		name := trimName(fs[0])
		m := b.vals[name]
		if m == nil {
			m = map[string][]float64{}
			b.vals[name] = m
		}
		for i := 2; i+1 < len(fs); i += 2 {
			v, err := strconv.ParseFloat(fs[i], 64)
			if err != nil {
				break
			}
			m[fs[i+1]] = append(m[fs[i+1]], v)
		}
		// The iteration count, as a unit of its own: the hot shape's
		// failed and lost are counts over these requests.
		m["N"] = append(m["N"], float64(iters))
		b.count = max(b.count, len(m["ns/op"]))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(b.vals) == 0 {
		return nil, fmt.Errorf("%s: no benchmark results", path)
	}
	return b, nil
}

// trimName drops "Benchmark" and the -GOMAXPROCS suffix.
func trimName(s string) string {
	s = strings.TrimPrefix(s, "Benchmark")
	if i := strings.LastIndexByte(s, '-'); i > 0 {
		if _, err := strconv.Atoi(s[i+1:]); err == nil {
			s = s[:i]
		}
	}
	return s
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func (b *bench) get(name, unit string) (float64, bool) {
	xs := b.vals[name][unit]
	if len(xs) == 0 {
		return 0, false
	}
	return median(xs), true
}

// over returns the median over passes of (backend - bare) on shape: each
// pass ran both minutes apart at most, so pairing them cancels the load
// that drifts between passes. Without as many samples of each, the
// difference of the medians.
func (b *bench) over(backend, shape string) (float64, bool) {
	xs := b.vals[reqName(backend, shape)]["ns/op"]
	ys := b.vals[reqName("bare", shape)]["ns/op"]
	if len(xs) == 0 || len(ys) == 0 {
		return 0, false
	}
	if len(xs) != len(ys) {
		return median(xs) - median(ys), true
	}
	d := make([]float64, len(xs))
	for i := range xs {
		d[i] = xs[i] - ys[i]
	}
	return median(d), true
}

// overSamples returns (backend - bare) on shape for each pass, or nil when
// the two do not have as many samples.
func (b *bench) overSamples(backend, shape string) []float64 {
	xs := b.vals[reqName(backend, shape)]["ns/op"]
	ys := b.vals[reqName("bare", shape)]["ns/op"]
	if len(xs) == 0 || len(xs) != len(ys) {
		return nil
	}
	d := make([]float64, len(xs))
	for i := range xs {
		d[i] = xs[i] - ys[i]
	}
	return d
}

// quartiles returns the 25th and 75th percentiles of xs.
func quartiles(xs []float64) (float64, float64) {
	s := slices.Clone(xs)
	slices.Sort(s)
	q := func(p float64) float64 {
		pos := p * float64(len(s)-1)
		i := int(pos)
		if i+1 >= len(s) {
			return s[len(s)-1]
		}
		return s[i] + (pos-float64(i))*(s[i+1]-s[i])
	}
	return q(0.25), q(0.75)
}

// verdict marks a target met or not by the median, and "within noise" when
// the passes' middle half straddles the limit (lower is better).
func verdict(med, lo, hi, limit float64, spread bool) (bool, string) {
	met := med <= limit
	if spread && lo <= limit && hi > limit {
		if met {
			return true, "yes (within noise)"
		}
		return false, "**no** (within noise)"
	}
	return met, ""
}

func reqName(backend, shape string) string {
	return "Request/backend=" + backend + "/shape=" + shape
}

func (b *bench) req(backend, shape, unit string) (float64, bool) {
	return b.get(reqName(backend, shape), unit)
}

func (b *bench) floor(client, op string) (float64, bool) {
	return b.get("Floor/client="+client+"/op="+op, "ns/op")
}

type report struct {
	b     *bench
	lat   *harness.Results
	notes string
	// before and after are the hot shape against an earlier library and
	// the current one, run together (nil when not run).
	before, after *bench
	// hr is cmd/httpbench's run (nil when there is none), httpNotes its
	// hand-written analysis, httpChart the chart's path from the report.
	hr        *httpReport
	httpNotes string
	httpChart string
}

func display(be *harness.Backend) string {
	switch {
	case be.Family == harness.Bare:
		return "bare Gin"
	case be.Ours:
		return "sessionware " + be.Name
	case be.Prototype:
		return "prototype " + be.Name
	}
	n := strings.Replace(be.Name, "gincontrib-", "gin-contrib ", 1)
	return strings.Replace(n, "scs-", "scs ", 1)
}

func displayName(name string) string {
	if be, ok := harness.BackendByName(name); ok {
		return display(be)
	}
	return name
}

func us(ns float64) string {
	switch {
	case ns >= 100_000:
		return fmt.Sprintf("%.0f µs", ns/1000)
	case ns >= 10_000:
		return fmt.Sprintf("%.1f µs", ns/1000)
	}
	return fmt.Sprintf("%.2f µs", ns/1000)
}

func ratio(x float64) string {
	if x >= 10 {
		return fmt.Sprintf("%.0f×", x)
	}
	return fmt.Sprintf("%.1f×", x)
}

func ms(usv float64) string {
	if usv >= 10_000 {
		return fmt.Sprintf("%.0f", usv/1000)
	}
	return fmt.Sprintf("%.2f", usv/1000)
}

// peers returns the peers of family f.
func peers(f harness.Family) []*harness.Backend {
	var ps []*harness.Backend
	for _, be := range harness.Backends {
		if be.Family == f && !be.Ours && !be.Prototype {
			ps = append(ps, be)
		}
	}
	return ps
}

func oursOf(f harness.Family) *harness.Backend {
	for _, be := range harness.Backends {
		if be.Family == f && be.Ours {
			return be
		}
	}
	return nil
}

// bestPeer returns the fastest peer of f on shape, or nil.
func (r *report) bestPeer(f harness.Family, shape string) (*harness.Backend, float64) {
	var best *harness.Backend
	bestNs := math.Inf(1)
	for _, p := range peers(f) {
		if ns, ok := r.b.req(p.Name, shape, "ns/op"); ok && ns < bestNs {
			best, bestNs = p, ns
		}
	}
	return best, bestNs
}

func (r *report) markdown(chart, benchFile, latFile, reproduce string) string {
	var w bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&w, format, args...) }
	p("# Benchmarks\n\n")
	p("Generated by `%s` (benchmarks/cmd/report) from `%s`, `%s` and `results/http.json`; do not edit by hand.\n\n", reproduce, benchFile, latFile)
	p("sessionware's backends and the peers ([gin-contrib/sessions](https://github.com/gin-contrib/sessions) v1.0.4, ")
	p("[alexedwards/scs](https://github.com/alexedwards/scs) v2.9.0) serve the same requests, through the same Gin engine, ")
	p("against the same memcached and redis-server, in one run. Lower times are better; a ratio is the best peer's time ")
	p("divided by ours (above 1×: we are faster).\n\n")
	r.glance(p)
	p("![Latency per backend over loopback HTTP](%s)\n\n", chart)
	r.targets(p)
	if r.notes != "" {
		p("%s\n\n", strings.TrimSpace(r.notes))
	}
	if r.hr != nil {
		r.httpSection(p, r.httpChart)
	}
	r.machine(p)
	r.headline(p)
	r.hot(p)
	r.floors(p)
	r.latency(p)
	r.lost(p)
	r.full(p)
	r.method(p)
	r.howto(p, reproduce)
	return w.String()
}

// glance is the summary: per family, our read and write against the best
// peer's, and the lost updates.
func (r *report) glance(p func(string, ...any)) {
	p("## At a glance\n\n")
	p("Median time of one request through Gin, in process (lower is better), the fastest peer on the same store, ")
	p("and how many of %s concurrent increments of one session survived.\n\n", r.lostTotal())
	p("| store | read: ours | best peer | peer / ours | write: ours | best peer | peer / ours | increments kept: ours | peers |\n")
	p("|---|---|---|---|---|---|---|---|---|\n")
	bare := func(shape string) string {
		ns, ok := r.b.req("bare", shape, "ns/op")
		if !ok {
			return "—"
		}
		return us(ns)
	}
	p("| (bare Gin, no session) | %s | | | %s | | | | |\n", bare("read"), bare("write"))
	for _, f := range harness.Families {
		be := oursOf(f)
		if be == nil {
			continue
		}
		cells := []string{string(f)}
		for _, sh := range []string{"read", "write"} {
			ours, ok := r.b.req(be.Name, sh, "ns/op")
			peer, peerNs := r.bestPeer(f, sh)
			if !ok {
				cells = append(cells, "—", "—", "—")
				continue
			}
			if peer == nil {
				cells = append(cells, us(ours), "—", "—")
				continue
			}
			cells = append(cells, us(ours), fmt.Sprintf("%s (%s)", us(peerNs), display(peer)), "**"+ratio(peerNs/ours)+"**")
		}
		var mine string
		var theirs []string
		for _, l := range r.lat.Lost {
			if l.Family != f {
				continue
			}
			v := fmt.Sprintf("%d/%d", l.Survived, l.N*l.Rounds)
			if l.Ours {
				mine = v
			} else {
				theirs = append(theirs, fmt.Sprintf("%s %s", display(mustBackend(l.Backend)), v))
			}
		}
		cells = append(cells, mine, strings.Join(theirs, "; "))
		p("| %s |\n", strings.Join(cells, " | "))
	}
	p("\n")
}

func (r *report) lostTotal() string {
	if len(r.lat.Lost) == 0 {
		return "N"
	}
	l := r.lat.Lost[0]
	if l.Rounds > 1 {
		return fmt.Sprintf("%d × %d", l.Rounds, l.N)
	}
	return strconv.Itoa(l.N)
}

func mustBackend(name string) *harness.Backend {
	if be, ok := harness.BackendByName(name); ok {
		return be
	}
	return &harness.Backend{Name: name}
}

func cmdOut(name string, args ...string) string {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return "not found"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func (r *report) machine(p func(string, ...any)) {
	p("## Machine and run\n\n")
	p("| | |\n|---|---|\n")
	date := r.b.header["date"] // written by run.sh bench
	if date == "" {
		date = time.Now().UTC().Format("2006-01-02 15:04 MST")
	}
	p("| date | %s (benchmarks), %s (latency) |\n", date, r.lat.Date)
	p("| CPU | %s, %d logical CPUs (`nproc`), GOMAXPROCS %d |\n", cpuModel(), runtime.NumCPU(), r.lat.GOMAXPROCS)
	p("| OS | %s/%s |\n", runtime.GOOS, runtime.GOARCH)
	p("| Go | %s |\n", runtime.Version())
	p("| servers | %s; %s |\n", cmdOut("memcached", "-V"), strings.Join(strings.Fields(cmdOut("redis-server", "--version"))[:3], " "))
	p("| benchmark samples | %d per benchmark, from as many passes over the suite (medians shown) |\n", r.b.count)
	cell := fmt.Sprintf("%.1f s per cell", r.lat.CellSeconds)
	if r.lat.Quick {
		cell += " (**quick mode**: too short to trust)"
	}
	p("| latency cells | %s, clients and server in one process on the same cores |\n\n", cell)
}

type target struct {
	what, measured string
	met            bool
	missing        bool
	mark           string // overrides the met column when set
}

func (r *report) targets(p func(string, ...any)) {
	var ts []target
	add := func(t target) { ts = append(ts, t) }
	na := func(what string) { add(target{what: what, measured: "not measured", missing: true}) }

	overhead := r.b.over
	within := func(backend string, family harness.Family, shape string, limit float64) {
		what := fmt.Sprintf("%s %s within %.0f µs of the bare handler", family, shape, limit/1000)
		d, ok := overhead(backend, shape)
		if !ok {
			na(what)
			return
		}
		t := target{what: what, measured: "+" + us(d), met: d <= limit}
		if ds := r.b.overSamples(backend, shape); len(ds) >= 4 {
			lo, hi := quartiles(ds)
			t.measured += fmt.Sprintf(" (middle half of passes: %+.2f to %+.2f µs)", lo/1000, hi/1000)
			t.met, t.mark = verdict(d, lo, hi, limit, true)
		}
		add(t)
	}
	faster := func(backend string, family harness.Family, peer, shape string, factor float64) {
		what := fmt.Sprintf("%s %s ≥ %.0f× faster than %s", family, shape, factor, displayName(peer))
		ours, ok1 := r.b.req(backend, shape, "ns/op")
		theirs, ok2 := r.b.req(peer, shape, "ns/op")
		if !ok1 || !ok2 {
			na(what)
			return
		}
		add(target{what: what, measured: fmt.Sprintf("%s vs %s: %s", us(ours), us(theirs), ratio(theirs/ours)), met: theirs/ours >= factor})
	}

	if be := oursOf(harness.Memory); be != nil {
		within(be.Name, harness.Memory, "read", 1000)
		within(be.Name, harness.Memory, "write", 2000)
		for _, peer := range peers(harness.Memory) {
			for _, sh := range []string{"read", "write"} {
				faster(be.Name, harness.Memory, peer.Name, sh, 5)
			}
		}
	}
	if be := oursOf(harness.Cookie); be != nil {
		within(be.Name, harness.Cookie, "read", 2000)
		within(be.Name, harness.Cookie, "write", 3000)
		for _, peer := range peers(harness.Cookie) {
			for _, sh := range []string{"read", "write"} {
				faster(be.Name, harness.Cookie, peer.Name, sh, 4)
			}
		}
	}
	floorOps := map[harness.Family][2][2]string{
		harness.Memcached: {{"gomemcache", "get"}, {"gomemcache", "get-cas"}},
		harness.Redis:     {{"goredis", "hmget"}, {"goredis", "hmget-evalsha"}},
	}
	for _, f := range []harness.Family{harness.Memcached, harness.Redis} {
		be := oursOf(f)
		if be == nil {
			continue
		}
		ops := floorOps[f]
		for i, sh := range []string{"read", "write"} {
			what := fmt.Sprintf("%s %s within 5%% of its raw round trips (%s %s)", f, sh, ops[i][0], ops[i][1])
			d, ok := overhead(be.Name, sh)
			fl, ok2 := r.b.floor(ops[i][0], ops[i][1])
			if !ok || !ok2 {
				na(what)
				continue
			}
			t := target{what: what, measured: fmt.Sprintf("+%s over bare vs %s raw: %+.1f%%", us(d), us(fl), (d/fl-1)*100), met: d <= 1.05*fl}
			ds := r.b.overSamples(be.Name, sh)
			fs := r.b.vals["Floor/client="+ops[i][0]+"/op="+ops[i][1]]["ns/op"]
			if len(ds) >= 4 && len(fs) == len(ds) {
				rs := make([]float64, len(ds))
				for j := range ds {
					rs[j] = ds[j]/fs[j] - 1
				}
				lo, hi := quartiles(rs)
				t.measured += fmt.Sprintf(" (middle half of passes: %+.0f%% to %+.0f%%)", lo*100, hi*100)
				t.met, t.mark = verdict(median(rs), lo, hi, 0.05, true)
			}
			add(t)
		}
		want := map[string]float64{"untouched": 0, "read": 1, "write": 2}
		var got []string
		met, ok := true, true
		for _, sh := range []string{"untouched", "read", "write"} {
			rt, ok1 := r.b.req(be.Name, sh, "rt/op")
			if !ok1 {
				ok = false
				break
			}
			got = append(got, fmt.Sprintf("%s %.2f", sh, rt))
			met = met && math.Abs(rt-want[sh]) < 0.01
		}
		what := fmt.Sprintf("%s: untouched 0 round trips, unchanged (read) 1, write 2", f)
		if !ok {
			na(what)
		} else {
			add(target{what: what, measured: strings.Join(got, ", "), met: met})
		}
		for _, peer := range peers(f) {
			if !strings.HasPrefix(peer.Name, "gincontrib-") {
				continue
			}
			for _, sh := range []string{"parallel-read", "parallel-write"} {
				faster(be.Name, f, peer.Name, sh, 2)
			}
		}
	}
	if be := oursOf(harness.Memory); be != nil {
		what := "memory read adds ≤ 10 allocations to the bare handler"
		a, ok1 := r.b.req(be.Name, "read", "allocs/op")
		bare, ok2 := r.b.req("bare", "read", "allocs/op")
		if ok1 && ok2 {
			add(target{what: what, measured: fmt.Sprintf("%.0f vs %.0f: +%.0f", a, bare, a-bare), met: a-bare <= 10})
		} else {
			na(what)
		}
	}
	for _, f := range []harness.Family{harness.Memory, harness.Memcached, harness.Redis} {
		be := oursOf(f)
		if be == nil {
			continue
		}
		what := fmt.Sprintf("%s: no lost update", f)
		found := false
		for _, l := range r.lat.Lost {
			if l.Backend == be.Name {
				found = true
				add(target{what: what, measured: fmt.Sprintf("%d/%d survived, %d errors", l.Survived, l.N*l.Rounds, l.Errors), met: l.Survived == l.N*l.Rounds && l.Errors == 0})
			}
		}
		if !found {
			na(what)
		}
	}

	nMet := 0
	for _, t := range ts {
		if t.met {
			nMet++
		}
	}
	p("## Targets (issue 6)\n\n")
	p("%d of %d met in this run. \"Within N µs of the bare handler\" compares the time of the same request shape ", nMet, len(ts))
	p("with and without the session middleware (the median of the differences within each pass); \"within 5%% of the raw round trips\" compares that difference with the ")
	p("raw client doing the round trips the request needs, on the same server in the same run: over bare ≤ 1.05 × raw. ")
	p("Why a target is missed is in the analysis below.\n\n")
	p("| target | this run | met |\n|---|---|---|\n")
	for _, t := range ts {
		mark := "**no**"
		switch {
		case t.missing:
			mark = "n/a"
		case t.mark != "":
			mark = t.mark
		case t.met:
			mark = "yes"
		}
		p("| %s | %s | %s |\n", t.what, t.measured, mark)
	}
	p("\n")
}

// headline is one table per family: ours, the bare handler, the best peer.
func (r *report) headline(p func(string, ...any)) {
	p("## In-process: ours vs the best peer\n\n")
	p("`go test -bench` through a Gin engine and `httptest.NewRecorder`, one session of two keys (a string and an int) ")
	p("unless the shape says otherwise. \"over bare\" is our time minus the bare Gin handler's on the same shape ")
	p("(the median of the differences within each pass over the suite).\n\n")
	for _, f := range harness.Families {
		if f == harness.Bare {
			continue
		}
		be := oursOf(f)
		if be == nil {
			continue
		}
		network := f == harness.Memcached || f == harness.Redis
		p("### %s\n\n", f)
		if network {
			p("| shape | ours | over bare | allocs | round trips | best peer | peer time | peer allocs | peer round trips | peer / ours |\n")
			p("|---|---|---|---|---|---|---|---|---|---|\n")
		} else {
			p("| shape | ours | over bare | allocs (bare) | best peer | peer time | peer allocs | peer / ours |\n")
			p("|---|---|---|---|---|---|---|---|\n")
		}
		for _, sh := range harness.Shapes {
			ours, ok := r.b.req(be.Name, sh.Name, "ns/op")
			if !ok {
				continue
			}
			over, _ := r.b.over(be.Name, sh.Name)
			allocs, _ := r.b.req(be.Name, sh.Name, "allocs/op")
			bareAllocs, _ := r.b.req("bare", sh.Name, "allocs/op")
			peer, peerNs := r.bestPeer(f, sh.Name)
			peerCell, peerAllocs, peerRT, ratioCell := "—", "—", "—", "—"
			peerName := "—"
			if peer != nil {
				peerName = display(peer)
				peerCell = us(peerNs)
				a, _ := r.b.req(peer.Name, sh.Name, "allocs/op")
				peerAllocs = fmt.Sprintf("%.0f", a)
				if rt, ok := r.b.req(peer.Name, sh.Name, "rt/op"); ok {
					peerRT = fmt.Sprintf("%.2f", rt)
				}
				ratioCell = ratio(peerNs / ours)
			} else if refusals := r.refusals(f, sh.Name); refusals != "" {
				peerName = refusals
			}
			if network {
				rt, _ := r.b.req(be.Name, sh.Name, "rt/op")
				p("| %s | %s | %+.2f µs | %.0f | %.2f | %s | %s | %s | %s | %s |\n", sh.Name, us(ours), over/1000, allocs, rt, peerName, peerCell, peerAllocs, peerRT, ratioCell)
			} else {
				p("| %s | %s | %+.2f µs | %.0f (%.0f) | %s | %s | %s | %s |\n", sh.Name, us(ours), over/1000, allocs, bareAllocs, peerName, peerCell, peerAllocs, ratioCell)
			}
		}
		p("\n")
	}
}

// refusals names the peers of f that skipped shape, and why.
func (r *report) refusals(f harness.Family, shape string) string {
	var names []string
	for _, peer := range peers(f) {
		if _, ok := r.b.skipped[reqName(peer.Name, shape)]; ok {
			names = append(names, display(peer))
		}
	}
	if len(names) == 0 {
		return ""
	}
	return strings.Join(names, ", ") + ": refuses a 2 KB session (securecookie: the value is too long)"
}

func (r *report) floors(p func(string, ...any)) {
	p("## Raw client floors\n\n")
	p("The round trips a request needs, done by the raw client (same settings, same servers, same run), with a ")
	p("120-byte value. memcached: a session read is one `gets`, a write a `gets` then a `cas`. Redis: a read is one ")
	p("`HMGET`, a write an `HMGET` then an `EVALSHA` of a compare-and-swap script. parallel-hmget: 64 goroutines at once ")
	p("(time per command: the inverse of the throughput); autopipeline: through go-redis's experimental AutoPipeline; ")
	p("rueidis: the prototype store's client (auto-pipelining).\n\n")
	p("| client | op | time | allocs | round trips |\n|---|---|---|---|---|\n")
	for _, c := range []struct{ client, op string }{
		{"gomemcache", "get"}, {"gomemcache", "set"}, {"gomemcache", "get-cas"},
		{"goredis", "hmget"}, {"goredis", "evalsha"}, {"goredis", "hmget-evalsha"},
		{"goredis", "parallel-hmget"}, {"goredis", "parallel-hmget-autopipeline"},
		{"rueidis", "hmget"}, {"rueidis", "evalsha"}, {"rueidis", "hmget-evalsha"}, {"rueidis", "parallel-hmget"},
	} {
		name := "Floor/client=" + c.client + "/op=" + c.op
		ns, ok := r.b.get(name, "ns/op")
		if !ok {
			continue
		}
		a, _ := r.b.get(name, "allocs/op")
		rt, _ := r.b.get(name, "rt/op")
		p("| %s | %s | %s | %.0f | %.2f |\n", c.client, c.op, us(ns), a, rt)
	}
	p("\n")
}

func (r *report) cells(shape string, clients int) []harness.LatencyCell {
	var cs []harness.LatencyCell
	for _, be := range harness.Backends {
		for _, c := range r.lat.Cells {
			if c.Backend == be.Name && c.Shape == shape && c.Clients == clients {
				cs = append(cs, c)
			}
		}
	}
	return cs
}

func (r *report) clientCounts() []int {
	var ns []int
	for _, c := range r.lat.Cells {
		if !slices.Contains(ns, c.Clients) {
			ns = append(ns, c.Clients)
		}
	}
	slices.Sort(ns)
	return ns
}

func (r *report) latency(p func(string, ...any)) {
	p("## Over loopback HTTP, clients in the same process\n\n")
	p("`go run ./cmd/latency`: each backend served by `net/http` on 127.0.0.1, driven by N concurrent keep-alive ")
	p("clients (Go's HTTP client, in the same process: clients and server share the cores, so absolute numbers are ")
	p("lower than with a separate load generator on other cores), each client with its own session. Latencies in ms.\n\n")
	for _, shape := range []string{"read", "write"} {
		for _, n := range r.clientCounts() {
			cs := r.cells(shape, n)
			if len(cs) == 0 {
				continue
			}
			p("### %s, %d client(s)\n\n", shape, n)
			p("| backend | req/s | p50 | p90 | p99 | max | errors |\n|---|---|---|---|---|---|---|\n")
			for _, c := range cs {
				name := displayName(c.Backend)
				if c.Ours {
					name = "**" + name + "**"
				}
				p("| %s | %.0f | %s | %s | %s | %s | %d |\n", name, c.RPS, ms(c.P50us), ms(c.P90us), ms(c.P99us), ms(c.MaxUs), c.Errors)
			}
			p("\n")
		}
	}
}

func (r *report) lost(p func(string, ...any)) {
	p("## Lost updates\n\n")
	n, rounds := 0, 0
	if len(r.lat.Lost) > 0 {
		n, rounds = r.lat.Lost[0].N, r.lat.Lost[0].Rounds
	}
	p("%d concurrent `POST /incr` of one session's counter over real HTTP (one connection each, released together), ", n)
	p("then the counter read back; %d round(s) per backend, each on a fresh session. ", rounds)
	p("Ours increments with `Session.Update`, which re-runs on a compare-and-swap ")
	p("conflict; the peers have only get-then-set (and gin-contrib's `Save`). The cookie backends keep the state in ")
	p("the cookie, so the count is read with the cookie of the last response, as a browser would keep it: one survives, ")
	p("by design.\n\n")
	p("| backend | survived | lost | per round | errors | note |\n|---|---|---|---|---|---|\n")
	for _, be := range harness.Backends {
		for _, l := range r.lat.Lost {
			if l.Backend != be.Name {
				continue
			}
			name := display(be)
			if be.Ours {
				name = "**" + name + "**"
			}
			total := l.N * l.Rounds
			var per []string
			for _, v := range l.PerRound {
				per = append(per, strconv.Itoa(v))
			}
			p("| %s | %d/%d | %d | %s | %d | %s |\n", name, l.Survived, total, total-l.Survived, strings.Join(per, ", "), l.Errors, l.Note)
		}
	}
	p("\n")
}

func (r *report) full(p func(string, ...any)) {
	p("## Every backend and shape\n\n")
	p("<details><summary>All in-process results (medians)</summary>\n\n")
	p("| backend | shape | time | B/op | allocs | round trips |\n|---|---|---|---|---|---|\n")
	for _, be := range harness.Backends {
		for _, sh := range harness.Shapes {
			name := reqName(be.Name, sh.Name)
			ns, ok := r.b.get(name, "ns/op")
			if !ok {
				if reason, skipped := r.b.skipped[name]; skipped {
					p("| %s | %s | skipped: %s | | | |\n", display(be), sh.Name, reason)
				}
				continue
			}
			bytes, _ := r.b.get(name, "B/op")
			allocs, _ := r.b.get(name, "allocs/op")
			rt := ""
			if v, ok := r.b.get(name, "rt/op"); ok {
				rt = fmt.Sprintf("%.2f", v)
			}
			p("| %s | %s | %s | %.0f | %.0f | %s |\n", display(be), sh.Name, us(ns), bytes, allocs, rt)
		}
	}
	p("\n</details>\n\n")
	p("Backend settings:\n\n")
	for _, be := range harness.Backends {
		p("- %s: %s\n", display(be), be.Note)
	}
	p("\n")
}

func (r *report) method(p func(string, ...any)) {
	p("## What is measured\n\n")
	p("Request shapes (the same handlers for every backend; `benchmarks/harness`):\n\n")
	p("- **untouched**: carries a session cookie; the handler never touches the session.\n")
	p("- **read**: reads one string of a two-key session (nothing changes, so nothing is saved).\n")
	p("- **write**: sets the int key to a new value (one load and one save).\n")
	p("- **new**: no cookie; the handler sets a key, creating a session.\n")
	p("- **large-read**, **large-write**: the same on a session with 16 more strings of 128 bytes (about 2 KB of values).\n")
	p("- **parallel-read**, **parallel-write**: `b.RunParallel`, one session per goroutine.\n")
	p("- **hot**: %d goroutines send `POST /incr` (add one to the session's counter) on one session at once; ", harness.HotClients)
	p("failed requests and lost increments counted (see [Hot session](#hot-session-%d-clients-on-one-session)).\n\n", harness.HotClients)
	p("Every request is a fresh (shallow-copied) `*http.Request` and a fresh `httptest.NewRecorder`, for the bare handler ")
	p("too. Round trips are counted by wrapping the clients' connections (a write after a read is one round trip); ")
	p("ours and the peers' memcached and go-redis clients share settings (64 idle connections / pool size 64). ")
	p("gin-contrib's cookie store is measured in its fastest, README configuration: one key, HMAC only, no encryption ")
	p("(ours always encrypts, AES-256-GCM).\n\n")
}

func (r *report) howto(p func(string, ...any), reproduce string) {
	p("## Reproduce and compare\n\n")
	p("```sh\n%s          # everything: benchmarks, latency, lost updates, the HTTP harness, this file and the charts (about 15 minutes)\n", reproduce)
	p("make bench-http     # the HTTP harness alone (a server and a load process per cell; HTTP_PASSES=3 for more passes), then this file\n")
	p("make bench-check    # each benchmark once, latency in quick mode, lost-update count: the never-rot check\n")
	p("make bench-before   # the hot shape on the library before tombstones and lanes and at HEAD (results/hot-*.txt)\n```\n\n")
	p("`make bench` keeps its raw output in `benchmarks/results/`: `bench.txt` (`go test -bench` output, a sample ")
	p("per benchmark from each pass over the suite; benchstat wants at least 6 for a confidence interval) and ")
	p("`latency.json`. Compare two runs, or ours with the peers, with benchstat (golang.org/x/perf, a tool of the ")
	p("benchmarks module):\n\n")
	p("```sh\ncd benchmarks\n")
	p("git show HEAD:benchmarks/results/bench.txt > /tmp/old.txt   # the committed run (or keep a copy of any bench.txt)\n")
	p("make -C .. bench                                            # a new run: rewrites results/bench.txt\n")
	p("go tool benchstat /tmp/old.txt results/bench.txt             # old vs new, every benchmark\n")
	p("go tool benchstat -filter '/backend:memory' /tmp/old.txt results/bench.txt          # one backend\n")
	p("go tool benchstat -col /backend -filter '/backend:(memory OR scs-memstore)' results/bench.txt   # ours vs a peer\n")
	p("```\n\n")
	p("To A/B one change to one backend without rewriting this file, run go test directly, before and after:\n\n")
	p("```sh\ncd benchmarks\n")
	p("go test -run '^$' -bench 'Request/backend=memory$' -benchmem -count 6 . > /tmp/before.txt\n")
	p("# ...change the library...\n")
	p("go test -run '^$' -bench 'Request/backend=memory$' -benchmem -count 6 . > /tmp/after.txt\n")
	p("go tool benchstat /tmp/before.txt /tmp/after.txt\n```\n\n")
	p("Only the same machine, quiet, compares: other load on the cores moves these numbers by tens of percent.\n")
}

// drawChart draws p50 and p99 latency of read and write per backend at the
// middle client count (16 by default), as horizontal bars.
func drawChart(lat *harness.Results, path string) error {
	counts := []int{}
	for _, c := range lat.Cells {
		if !slices.Contains(counts, c.Clients) {
			counts = append(counts, c.Clients)
		}
	}
	if len(counts) == 0 {
		return fmt.Errorf("no latency cells")
	}
	slices.Sort(counts)
	n := counts[len(counts)/2]
	type key struct {
		backend, shape string
	}
	cells := map[key]harness.LatencyCell{}
	var names []string
	var bes []string
	for _, be := range harness.Backends {
		found := false
		for _, c := range lat.Cells {
			if c.Backend == be.Name && c.Clients == n {
				cells[key{c.Backend, c.Shape}] = c
				found = true
			}
		}
		if found {
			bes = append(bes, be.Name)
			names = append(names, display(be))
		}
	}
	// NominalY puts the first name at the bottom: reverse, so that the
	// table's order reads from the top.
	slices.Reverse(bes)
	slices.Reverse(names)

	pl := plot.New()
	pl.Title.Text = fmt.Sprintf("Latency over loopback HTTP, %d keep-alive clients (ms; lower is better)", n)
	pl.X.Label.Text = "ms"
	pl.X.Min = 0
	series := []struct {
		shape string
		pct   func(harness.LatencyCell) float64
		label string
		col   color.RGBA
	}{
		{"read", func(c harness.LatencyCell) float64 { return c.P50us }, "read p50", color.RGBA{R: 0x4c, G: 0x9b, B: 0xe8, A: 0xff}},
		{"read", func(c harness.LatencyCell) float64 { return c.P99us }, "read p99", color.RGBA{R: 0x1f, G: 0x4e, B: 0x8c, A: 0xff}},
		{"write", func(c harness.LatencyCell) float64 { return c.P50us }, "write p50", color.RGBA{R: 0xf2, G: 0xa1, B: 0x4b, A: 0xff}},
		{"write", func(c harness.LatencyCell) float64 { return c.P99us }, "write p99", color.RGBA{R: 0xb3, G: 0x5c, B: 0x0b, A: 0xff}},
	}
	barH := vg.Points(7)
	top := 0.0
	for i, s := range series {
		vals := make(plotter.Values, len(bes))
		for j, b := range bes {
			vals[j] = s.pct(cells[key{b, s.shape}]) / 1000
			top = max(top, vals[j])
		}
		bars, err := plotter.NewBarChart(vals, barH)
		if err != nil {
			return err
		}
		bars.Horizontal = true
		bars.Color = s.col
		bars.LineStyle.Width = 0
		// Read on top of write within a backend's group.
		bars.Offset = barH * vg.Length(1.5-float64(i))
		pl.Add(bars)
		pl.Legend.Add(s.label, bars)
	}
	pl.Legend.Top = true
	pl.Legend.Left = false
	pl.X.Max = top * 1.3 // room for the legend
	pl.X.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		step := math.Pow(10, math.Floor(math.Log10(hi/5)))
		for _, m := range []float64{1, 2, 5, 10} {
			if hi/(step*m) <= 7 {
				step *= m
				break
			}
		}
		var ts []plot.Tick
		for v := 0.0; v <= hi; v += step {
			ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', -1, 64)})
		}
		return ts
	})
	pl.NominalY(names...)
	pl.Add(plotter.NewGrid())
	return pl.Save(18*vg.Centimeter, vg.Length(len(bes))*1.3*vg.Centimeter+4*vg.Centimeter, path)
}
