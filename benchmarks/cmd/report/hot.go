package main

import (
	"fmt"
	"strings"

	"github.com/sessionware/sessions/benchmarks/harness"
)

// hotStats is one backend's hot shape over every pass of a run: the
// counts summed, the rates as medians.
type hotStats struct {
	requests float64 // b.N summed over the passes
	failed   float64 // requests not answered 200
	lost     float64 // increments answered 200 that the counter does not show
	nsOp     float64 // median wall time over b.N
	rt       float64 // median round trips per request
	hasRT    bool
}

// hot returns backend's hot shape, false if it did not run.
func (b *bench) hot(backend string) (hotStats, bool) {
	name := reqName(backend, "hot")
	m := b.vals[name]
	if len(m["ns/op"]) == 0 {
		return hotStats{}, false
	}
	s := hotStats{nsOp: median(m["ns/op"])}
	for i, n := range m["N"] {
		s.requests += n
		if i < len(m["failed"]) {
			s.failed += m["failed"][i]
		}
		if i < len(m["lost"]) {
			s.lost += m["lost"][i]
		}
	}
	s.rt, s.hasRT = b.get(name, "rt/op")
	return s, true
}

func (s hotStats) rps() float64 { return 1e9 / s.nsOp }

func (s hotStats) failedCell() string {
	return fmt.Sprintf("%s of %s", count(s.failed), count(s.requests))
}

// lostCell is the lost increments and their share of those answered 200.
func (s hotStats) lostCell() string {
	kept := s.requests - s.failed
	if s.lost == 0 || kept <= 0 {
		return count(s.lost)
	}
	return fmt.Sprintf("%s (%.0f%%)", count(s.lost), 100*s.lost/kept)
}

func (s hotStats) rtCell() string {
	if !s.hasRT {
		return "—"
	}
	return fmt.Sprintf("%.2f", s.rt)
}

// count formats a count with thousands separators.
func count(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// bestHotPeer returns the peer of f with the most requests per second on
// the hot shape, or nil.
func bestHotPeer(b *bench, f harness.Family) (*harness.Backend, hotStats) {
	var best *harness.Backend
	var bs hotStats
	for _, p := range peers(f) {
		if s, ok := b.hot(p.Name); ok && (best == nil || s.rps() > bs.rps()) {
			best, bs = p, s
		}
	}
	return best, bs
}

// hot is the hot-session section: every backend with 64 clients on one
// session, its targets, and the before/after table when it was run.
func (r *report) hot(p func(string, ...any)) {
	if _, ok := r.b.hot("memory"); !ok {
		return
	}
	p("## Hot session: %d clients on one session\n\n", harness.HotClients)
	p("The hot shape (`go test -bench 'Request//shape=hot'`): %d goroutines send b.N `POST /incr` between them, ", harness.HotClients)
	p("all on one session, in process through the same Gin engine and handlers as the other shapes. Every request ")
	p("carries the session cookie of the latest response, as the tabs of one browser share its cookie jar. Ours adds ")
	p("one with `Session.Update`; the peers get, add one and set (gin-contrib then `Save`s). After the run the counter ")
	p("is read back: an increment answered 200 that the counter does not show is a **lost update**; a request answered ")
	p("anything but 200 is a **failure**. Counts are summed over the %d pass(es) of the run; requests per second ", r.b.count)
	p("(b.N over the wall time) and round trips per request are medians. \"ours / best peer\" divides our requests per ")
	p("second by the best peer's on the same store.\n\n")
	p("On the cookie stores (ours and gin-contrib's) the session travels in the cookie: concurrent requests that carry ")
	p("one cookie each send back their own successor and the browser keeps the last, so their updates are lost by ")
	p("design, for ours too; `Update` cannot help there.\n\n")
	p("| store | backend | req/s | failed | lost updates | round trips / request | ours / best peer |\n")
	p("|---|---|---|---|---|---|---|\n")
	if s, ok := r.b.hot("bare"); ok {
		p("| (no session) | bare Gin | %s | %s | | | |\n", count(s.rps()), s.failedCell())
	}
	for _, f := range harness.Families {
		be := oursOf(f)
		if be == nil {
			continue
		}
		ours, ok := r.b.hot(be.Name)
		if !ok {
			continue
		}
		vs := "—"
		if peer, ps := bestHotPeer(r.b, f); peer != nil {
			vs = fmt.Sprintf("**%s** (%s)", ratio(ours.rps()/ps.rps()), display(peer))
		}
		p("| %s | **%s** | %s | %s | %s | %s | %s |\n", f, display(be), count(ours.rps()), ours.failedCell(), ours.lostCell(), ours.rtCell(), vs)
		for _, peer := range peers(f) {
			s, ok := r.b.hot(peer.Name)
			if !ok {
				continue
			}
			p("| | %s | %s | %s | %s | %s | |\n", display(peer), count(s.rps()), s.failedCell(), s.lostCell(), s.rtCell())
		}
	}
	p("\n")
	r.hotTargets(p)
	r.hotBeforeAfter(p)
}

func (r *report) hotTargets(p func(string, ...any)) {
	var ts []target
	for _, f := range []harness.Family{harness.Memory, harness.Memcached, harness.Redis} {
		be := oursOf(f)
		if be == nil {
			continue
		}
		s, ok := r.b.hot(be.Name)
		if !ok {
			continue
		}
		ts = append(ts,
			target{what: string(f) + ": no failed request", measured: s.failedCell(), met: s.failed == 0},
			target{what: string(f) + ": no lost update", measured: count(s.lost) + " lost", met: s.lost == 0})
		if f == harness.Memory {
			continue
		}
		ts = append(ts, target{what: string(f) + ": at most 2 round trips per request", measured: s.rtCell(), met: s.hasRT && s.rt <= 2})
		for _, peer := range peers(f) {
			ps, ok := r.b.hot(peer.Name)
			if !ok {
				continue
			}
			ts = append(ts, target{
				what:     fmt.Sprintf("%s: requests per second ≥ %s's", f, display(peer)),
				measured: fmt.Sprintf("%s vs %s: %s", count(s.rps()), count(ps.rps()), ratio(s.rps()/ps.rps())),
				met:      s.rps() >= ps.rps(),
			})
		}
	}
	if len(ts) == 0 {
		return
	}
	p("Targets of the hot session (%d clients, loopback stores):\n\n", harness.HotClients)
	p("| target | this run | met |\n|---|---|---|\n")
	for _, t := range ts {
		mark := "**no**"
		if t.met {
			mark = "yes"
		}
		p("| %s | %s | %s |\n", t.what, t.measured, mark)
	}
	p("\n")
}

// hotBeforeAfter compares the hot shape on the library before lanes and
// compare-and-swap Renew/Destroy with the current one, run in alternating
// passes by benchmarks/run.sh before.
func (r *report) hotBeforeAfter(p func(string, ...any)) {
	if r.before == nil || r.after == nil {
		return
	}
	p("### Before and after lanes\n\n")
	p("`benchmarks/run.sh before` built the same hot benchmark against the library at %s ", code(r.before.header["library"]))
	p("(before Renew/Destroy as compare-and-swap with tombstones and before lanes) and at %s, ", code(r.after.header["library"]))
	p("and ran the two in alternating passes (%d each) on this machine, %s. Ours only; ", r.before.count, r.before.header["date"])
	p("the peers are the same code in both.\n\n")
	p("| store | round trips / request: before | after | failed: before | after | lost updates: before | after | req/s: before | after |\n")
	p("|---|---|---|---|---|---|---|---|---|\n")
	for _, f := range harness.Families {
		be := oursOf(f)
		if be == nil {
			continue
		}
		b, ok1 := r.before.hot(be.Name)
		a, ok2 := r.after.hot(be.Name)
		if !ok1 || !ok2 {
			continue
		}
		p("| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", f, b.rtCell(), a.rtCell(), b.failedCell(), a.failedCell(),
			count(b.lost), count(a.lost), count(b.rps()), count(a.rps()))
	}
	p("\n")
}

func code(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return "`" + s + "`"
}
