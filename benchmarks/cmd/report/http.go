package main

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/sessionware/sessions/benchmarks/harness"
)

// The section of cmd/httpbench's results (results/http.json): every backend
// served by a process of its own, driven by a load process of its own.

// httpShapeNotes says what each HTTP shape sends.
var httpShapeNotes = map[string]string{
	"read":       "`GET /read`, reads one value of a two-key session; the requests rotate over the pre-created sessions",
	"write-many": "`POST /write`, sets one value (a load and a save); the requests rotate over the pre-created sessions",
	"hot":        "`POST /incr`, every connection adds one to the counter of one session (ours with `Update`, the peers get, add and set); on the cookie stores the last write wins by design",
	"new":        "`POST /new` without a cookie: each request creates and stores a session",
}

// httpReport holds the HTTP results, the medians over passes by backend
// and shape.
type httpReport struct {
	res    *harness.HTTPResults
	shapes []string
	cells  map[[2]string][]harness.HTTPCell // backend, shape -> one per pass
}

func newHTTPReport(res *harness.HTTPResults) *httpReport {
	h := &httpReport{res: res, cells: map[[2]string][]harness.HTTPCell{}}
	for _, c := range res.Cells {
		if !slices.Contains(h.shapes, c.Shape) {
			h.shapes = append(h.shapes, c.Shape)
		}
		k := [2]string{c.Backend, c.Shape}
		h.cells[k] = append(h.cells[k], c)
	}
	return h
}

// stat is the median over passes of f on backend's shape.
func (h *httpReport) stat(backend, shape string, f func(harness.HTTPCell) float64) (float64, bool) {
	cs := h.cells[[2]string{backend, shape}]
	if len(cs) == 0 {
		return 0, false
	}
	xs := make([]float64, len(cs))
	for i, c := range cs {
		xs[i] = f(c)
	}
	return median(xs), true
}

func (h *httpReport) rps(backend, shape string) (float64, bool) {
	return h.stat(backend, shape, func(c harness.HTTPCell) float64 { return c.RPS })
}

// ratio is the median over passes of backend's req/s divided by other's
// in the same pass (the cells of a pass ran minutes apart at most).
func (h *httpReport) ratio(backend, other, shape string) (float64, bool) {
	a, b := h.cells[[2]string{backend, shape}], h.cells[[2]string{other, shape}]
	var rs []float64
	for _, x := range a {
		for _, y := range b {
			if x.Pass == y.Pass && y.RPS > 0 {
				rs = append(rs, x.RPS/y.RPS)
			}
		}
	}
	if len(rs) == 0 {
		return 0, false
	}
	return median(rs), true
}

// sum adds f over the passes.
func (h *httpReport) sum(backend, shape string, f func(harness.HTTPCell) int64) int64 {
	var n int64
	for _, c := range h.cells[[2]string{backend, shape}] {
		n += f(c)
	}
	return n
}

// bestPeer is the peer of f with the most req/s on shape (median).
func (h *httpReport) bestPeer(f harness.Family, shape string) (*harness.Backend, float64) {
	var best *harness.Backend
	bestRPS := -1.0
	for _, p := range peers(f) {
		if v, ok := h.rps(p.Name, shape); ok && v > bestRPS {
			best, bestRPS = p, v
		}
	}
	return best, bestRPS
}

func thousands(v float64) string {
	if v >= 10_000 {
		return fmt.Sprintf("%.1fk", v/1000)
	}
	if v >= 1000 {
		return fmt.Sprintf("%.2fk", v/1000)
	}
	return fmt.Sprintf("%.0f", v)
}

func (r *report) httpSection(p func(string, ...any), chart string) {
	h := r.hr
	res := h.res
	p("## Over loopback HTTP, from a load process of its own (issue 14)\n\n")
	p("`go run ./cmd/httpbench` (the `http` step of `make bench`): for every backend and shape a fresh server process ")
	p("serves the backend's Gin engine on 127.0.0.1, and a load process of its own (the same binary) drives it over %d ", res.Conns)
	p("keep-alive connections for %.1f s after a warm-up, with a minimal HTTP/1.1 client (one goroutine per connection, ", res.CellSeconds)
	p("prebuilt requests, pre-created session cookies). Requests per second count the 2xx answers within the measured ")
	p("time; p50 and p99 are their latencies (ms); errors are non-2xx answers and transport failures (no answer). ")
	p("\"server CPU\" is the server process's CPU time per answered request (µs, from /proc, 10 ms ticks): on a shared ")
	p("machine it moves far less than the requests per second do. ")
	p("%d pass(es) over every cell, medians shown; a ratio to bare Gin or to a peer is taken within each pass, then the median. ", res.Passes)
	p("The read and write-many shapes rotate over %d pre-created sessions.\n\n", res.Sessions)
	for _, sh := range h.shapes {
		if n := httpShapeNotes[sh]; n != "" {
			p("- **%s**: %s.\n", sh, n)
		}
	}
	p("\n")
	quick := ""
	if res.Quick {
		quick = " **Quick mode: cells too short to trust.**"
	}
	p("Run of %s; load average (1 min) %.2f before, %.2f after: ", res.Date, res.LoadAvgBefore, res.LoadAvgAfter)
	p("the machine's 2 cores are shared with other work, which moves every figure; compare within one run.%s\n\n", quick)
	r.httpLoadCheck(p)
	p("![Requests per second over loopback HTTP](%s)\n\n", chart)
	r.httpGlance(p)
	r.httpTargets(p)
	if r.httpNotes != "" {
		p("%s\n\n", strings.TrimSpace(r.httpNotes))
	}
	for _, sh := range h.shapes {
		p("### %s\n\n", sh)
		p("| backend | req/s | of bare | p50 | p99 | server CPU µs | load CPU µs | non-2xx | transport | lost updates |\n")
		p("|---|---|---|---|---|---|---|---|---|---|\n")
		for _, be := range harness.Backends {
			if _, ok := h.rps(be.Name, sh); !ok {
				continue
			}
			name := display(be)
			if be.Ours {
				name = "**" + name + "**"
			}
			rps, _ := h.rps(be.Name, sh)
			ofBare := ""
			if be.Family != harness.Bare {
				if v, ok := h.ratio(be.Name, "bare", sh); ok {
					ofBare = fmt.Sprintf("%.2f", v)
				}
			}
			p50, _ := h.stat(be.Name, sh, func(c harness.HTTPCell) float64 { return c.P50us })
			p99, _ := h.stat(be.Name, sh, func(c harness.HTTPCell) float64 { return c.P99us })
			srv, _ := h.stat(be.Name, sh, func(c harness.HTTPCell) float64 { return c.ServerCPUus })
			ld, _ := h.stat(be.Name, sh, func(c harness.HTTPCell) float64 { return c.LoadCPUus })
			non2xx := h.sum(be.Name, sh, func(c harness.HTTPCell) int64 { return c.Non2xx })
			transport := h.sum(be.Name, sh, func(c harness.HTTPCell) int64 { return c.Transport })
			lost := ""
			if sh == "hot" {
				switch {
				case be.Family == harness.Bare:
				case be.Family == harness.Cookie:
					lost = "by design"
				default:
					l := h.sum(be.Name, sh, func(c harness.HTTPCell) int64 { return max(c.Lost, 0) })
					inc := h.sum(be.Name, sh, func(c harness.HTTPCell) int64 { return c.Incremented })
					lost = count(float64(l))
					if l > 0 && inc > 0 {
						lost += fmt.Sprintf(" of %s (%.0f%%)", count(float64(inc)), 100*float64(l)/float64(inc))
					}
				}
			}
			p("| %s | %.0f | %s | %s | %s | %.1f | %.1f | %d | %d | %s |\n", name, rps, ofBare, ms(p50), ms(p99), srv, ld, non2xx, transport, lost)
		}
		p("\n")
	}
}

// httpLoadCheck compares our load process with wrk on bare Gin.
func (r *report) httpLoadCheck(p func(string, ...any)) {
	res := r.hr.res
	if len(res.Wrk) == 0 {
		p("**Load generator check**: %s; ", res.WrkMissing)
		p("bare Gin's figures below are our load process's alone.\n\n")
		return
	}
	p("**Load generator check** (is the load process the bottleneck?): wrk (-t%d -c%d, the same time) against a fresh bare Gin server, right after our load process on the same shape; our load process must reach at least what wrk reaches:\n\n", res.Wrk[0].Threads, res.Wrk[0].Conns)
	p("| shape | pass | ours req/s | wrk req/s | ours / wrk | wrk p50 | wrk p99 | wrk errors |\n|---|---|---|---|---|---|---|---|\n")
	for _, w := range res.Wrk {
		p("| %s | %d | %.0f | %.0f | %.2f | %s | %s | %d |\n", w.Shape, w.Pass, w.OursRPS, w.RPS, w.OursRPS/w.RPS, ms(w.P50us), ms(w.P99us), w.Non2xx+w.Errors)
	}
	p("\n")
}

// httpGlance is one line per store: ours and the best peer on each shape.
func (r *report) httpGlance(p func(string, ...any)) {
	h := r.hr
	p("| store | ")
	for _, sh := range h.shapes {
		p("%s: req/s (of bare) | ", sh)
	}
	p("best peer: %s |\n|---|", strings.Join(h.shapes, " / "))
	for range h.shapes {
		p("---|")
	}
	p("---|\n")
	p("| bare Gin | ")
	for _, sh := range h.shapes {
		v, _ := h.rps("bare", sh)
		p("%s | ", thousands(v))
	}
	p(" |\n")
	for _, be := range harness.Backends {
		if be.Family == harness.Bare || (!be.Ours && !be.Prototype) {
			continue
		}
		name := string(be.Family)
		if be.Prototype {
			name = display(be)
		}
		p("| %s | ", name)
		for _, sh := range h.shapes {
			v, ok := h.rps(be.Name, sh)
			if !ok {
				p("— | ")
				continue
			}
			ratio, _ := h.ratio(be.Name, "bare", sh)
			p("%s (%.2f) | ", thousands(v), ratio)
		}
		var ps []string
		var who []string
		for _, sh := range h.shapes {
			peer, v := h.bestPeer(be.Family, sh)
			if peer == nil {
				ps = append(ps, "—")
				continue
			}
			ps = append(ps, thousands(v))
			if n := display(peer); !slices.Contains(who, n) {
				who = append(who, n)
			}
		}
		if be.Prototype {
			p("(as redis above) |\n")
			continue
		}
		p("%s (%s) |\n", strings.Join(ps, " / "), strings.Join(who, ", "))
	}
	p("\n")
}

func (r *report) httpTargets(p func(string, ...any)) {
	h := r.hr
	var ts []target
	for _, f := range []harness.Family{harness.Memory, harness.Cookie} {
		be := oursOf(f)
		if be == nil {
			continue
		}
		for _, sh := range []string{"read", "write-many"} {
			what := fmt.Sprintf("%s %s ≥ 90%% of bare Gin's requests per second", f, sh)
			v, ok := h.ratio(be.Name, "bare", sh)
			if !ok {
				ts = append(ts, target{what: what, measured: "not measured", missing: true})
				continue
			}
			srv, _ := h.stat(be.Name, sh, func(c harness.HTTPCell) float64 { return c.ServerCPUus })
			bare, _ := h.stat("bare", sh, func(c harness.HTTPCell) float64 { return c.ServerCPUus })
			ts = append(ts, target{what: what, met: v >= 0.9,
				measured: fmt.Sprintf("%.2f (server CPU %.1f µs vs %.1f per request: +%.1f)", v, srv, bare, srv-bare)})
		}
	}
	for _, f := range []harness.Family{harness.Memory, harness.Cookie, harness.Memcached, harness.Redis} {
		be := oursOf(f)
		if be == nil {
			continue
		}
		for _, sh := range h.shapes {
			peer, _ := h.bestPeer(f, sh)
			if peer == nil {
				continue
			}
			what := fmt.Sprintf("%s %s: ours ahead of the best peer (%s)", f, sh, display(peer))
			v, ok := h.ratio(be.Name, peer.Name, sh)
			if !ok {
				ts = append(ts, target{what: what, measured: "not measured", missing: true})
				continue
			}
			ours, _ := h.rps(be.Name, sh)
			theirs, _ := h.rps(peer.Name, sh)
			ts = append(ts, target{what: what, met: v > 1, measured: fmt.Sprintf("%.0f vs %.0f req/s: %.2f×", ours, theirs, v)})
		}
		var errs int64
		for _, sh := range h.shapes {
			errs += h.sum(be.Name, sh, func(c harness.HTTPCell) int64 { return c.Non2xx + c.Transport })
		}
		ts = append(ts, target{what: fmt.Sprintf("%s: no error on any shape", f), met: errs == 0, measured: fmt.Sprintf("%d errors", errs)})
		if f != harness.Cookie {
			if _, ok := h.rps(be.Name, "hot"); ok {
				l := h.sum(be.Name, "hot", func(c harness.HTTPCell) int64 { return max(c.Lost, 0) })
				inc := h.sum(be.Name, "hot", func(c harness.HTTPCell) int64 { return c.Incremented })
				ts = append(ts, target{what: fmt.Sprintf("%s hot: no lost update", f), met: l == 0, measured: fmt.Sprintf("%d lost of %d increments", l, inc)})
			}
		}
	}
	nMet := 0
	for _, t := range ts {
		if t.met {
			nMet++
		}
	}
	p("**Targets (issue 14)**: %d of %d met in this run (ratios within each pass; the analysis below says why a target is missed).\n\n", nMet, len(ts))
	p("| target | this run | met |\n|---|---|---|\n")
	for _, t := range ts {
		mark := "**no**"
		switch {
		case t.missing:
			mark = "n/a"
		case t.met:
			mark = "yes"
		}
		p("| %s | %s | %s |\n", t.what, t.measured, mark)
	}
	p("\n")
}

// drawHTTPChart draws the requests per second of every backend on every
// shape, as groups of horizontal bars.
func drawHTTPChart(h *httpReport, path string) error {
	var bes []*harness.Backend
	for _, be := range harness.Backends {
		for _, sh := range h.shapes {
			if _, ok := h.rps(be.Name, sh); ok {
				bes = append(bes, be)
				break
			}
		}
	}
	if len(bes) == 0 {
		return fmt.Errorf("no HTTP cells")
	}
	slices.Reverse(bes) // NominalY puts the first name at the bottom
	names := make([]string, len(bes))
	for i, be := range bes {
		names[i] = display(be)
	}
	pl := plot.New()
	pl.Title.Text = fmt.Sprintf("Requests per second over loopback HTTP, %d connections, load from another process (higher is better)", h.res.Conns)
	pl.Title.TextStyle.Font.Size = vg.Points(10)
	pl.X.Label.Text = "requests per second"
	pl.X.Min = 0
	cols := []color.RGBA{
		{R: 0x4c, G: 0x9b, B: 0xe8, A: 0xff},
		{R: 0xf2, G: 0xa1, B: 0x4b, A: 0xff},
		{R: 0xd6, G: 0x45, B: 0x45, A: 0xff},
		{R: 0x5a, G: 0xae, B: 0x61, A: 0xff},
	}
	barH := vg.Points(5)
	top := 0.0
	for i, sh := range h.shapes {
		vals := make(plotter.Values, len(bes))
		for j, be := range bes {
			vals[j], _ = h.rps(be.Name, sh)
			top = max(top, vals[j])
		}
		bars, err := plotter.NewBarChart(vals, barH)
		if err != nil {
			return err
		}
		bars.Horizontal = true
		bars.Color = cols[i%len(cols)]
		bars.LineStyle.Width = 0
		bars.Offset = barH * vg.Length(float64(len(h.shapes))/2-0.5-float64(i))
		pl.Add(bars)
		pl.Legend.Add(sh, bars)
	}
	pl.Legend.Top = true
	pl.Legend.Left = false
	pl.X.Max = top * 1.4 // room for the legend
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
			ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v/1000, 'f', -1, 64) + "k"})
		}
		return ts
	})
	pl.NominalY(names...)
	pl.Add(plotter.NewGrid())
	return pl.Save(18*vg.Centimeter, vg.Length(float64(len(bes)*len(h.shapes))*0.3)*vg.Centimeter+4*vg.Centimeter, path)
}
