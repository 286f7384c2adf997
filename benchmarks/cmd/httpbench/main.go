// Command httpbench drives every backend (ours and the peers') over real
// loopback HTTP with a load generator that runs in a process of its own,
// as wrk would, and writes the results as JSON for cmd/report.
//
//	go run ./cmd/httpbench                      # 3 s per cell, writes results/http.json
//	go run ./cmd/httpbench -quick               # 300 ms cells: the never-rot check
//	go run ./cmd/httpbench -backends bare,redis -shapes hot -passes 3
//
// For every cell (a backend and a shape, in every pass) it starts a fresh
// server process (`httpbench serve`: the backend's Gin engine on a free
// loopback port) and a load process (`httpbench load`: 64 keep-alive
// connections for a fixed time), both this same binary, so that the server
// never shares a heap or a scheduler with the load, and the state one cell
// leaves (sessions in memory, a heap grown by the new shape) never reaches
// the next. It starts memcached and redis-server itself, on free loopback
// ports, once for the run. The cells of one shape run one after the other,
// bare Gin first, so that the ratios to bare Gin compare cells that ran
// within a minute or so of each other.
//
// When wrk is installed, each pass also runs wrk (2 threads, the same
// connections and time) against bare Gin right after our load process did,
// on read and write-many: the check that our load process is not the
// bottleneck.
//
// It asserts nothing about speed. It exits with an error, after writing the
// results, when a backend of ours (or a prototype) answered a request with
// an error: a bug, not a measurement.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sessionware/sessions/benchmarks/harness"
)

func main() {
	if len(os.Args) > 1 {
		var err error
		switch os.Args[1] {
		case "serve":
			err = serveMain(os.Args[2:])
		case "load":
			err = loadMain(os.Args[2:])
		default:
			err = run(os.Args[1:])
		}
		if err != nil {
			log.Fatalf("httpbench %s: %v", os.Args[1], err)
		}
		return
	}
	if err := run(nil); err != nil {
		log.Fatalf("httpbench: %v", err)
	}
}

// config is what the orchestrator runs.
type config struct {
	d, warmup  time.Duration
	conns      int
	sessions   int
	passes     int
	shapes     []httpShape
	backends   []*harness.Backend
	wrk        string // "auto" (when installed) or "off"
	profileDir string
	quick      bool
}

// errCells says that some cells answered with errors.
var errCells = errors.New("some cells had errors: see their first error above")

func run(args []string) error {
	fs := flag.NewFlagSet("httpbench", flag.ContinueOnError)
	var (
		d        = fs.Duration("d", 3*time.Second, "measured time per cell")
		warmup   = fs.Duration("warmup", 500*time.Millisecond, "unmeasured warm-up per cell")
		conns    = fs.Int("conns", 64, "keep-alive connections of the load process")
		sessions = fs.Int("sessions", 256, "pre-created sessions the read and write-many shapes rotate over")
		passes   = fs.Int("passes", 1, "passes over every cell (the report shows medians)")
		shapes   = fs.String("shapes", "read,write-many,hot,new", "shapes, comma-separated")
		backends = fs.String("backends", "", "backends, comma-separated (default all; bare Gin is always run first)")
		wrk      = fs.String("wrk", "auto", "auto: also run wrk against bare Gin when it is installed; off")
		profile  = fs.String("profile", "", "write the server's CPU profile of each cell into this directory")
		quick    = fs.Bool("quick", false, "never-rot mode: 300 ms cells, 100 ms warm-up, 16 sessions")
		out      = fs.String("out", "results/http.json", "where to write the results")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := config{d: *d, warmup: *warmup, conns: *conns, sessions: *sessions, passes: max(*passes, 1), wrk: *wrk, profileDir: *profile, quick: *quick}
	if *quick {
		cfg.d, cfg.warmup, cfg.sessions = 300*time.Millisecond, 100*time.Millisecond, 16
	}
	for _, f := range strings.Split(*shapes, ",") {
		sh, ok := shapeByName(strings.TrimSpace(f))
		if !ok {
			return fmt.Errorf("-shapes: unknown shape %q", f)
		}
		cfg.shapes = append(cfg.shapes, sh)
	}
	bare, _ := harness.BackendByName("bare")
	cfg.backends = []*harness.Backend{bare}
	if *backends == "" {
		for _, be := range harness.Backends {
			if be != bare {
				cfg.backends = append(cfg.backends, be)
			}
		}
	} else {
		for _, f := range strings.Split(*backends, ",") {
			be, ok := harness.BackendByName(strings.TrimSpace(f))
			if !ok {
				return fmt.Errorf("-backends: unknown backend %q", f)
			}
			if be != bare {
				cfg.backends = append(cfg.backends, be)
			}
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	env, err := harness.Start()
	if err != nil {
		return err
	}
	defer env.Close()

	res := harness.HTTPResults{
		Date: time.Now().UTC().Format(time.RFC3339), CellSeconds: cfg.d.Seconds(), Conns: cfg.conns,
		Passes: cfg.passes, Quick: cfg.quick, Sessions: cfg.sessions, LoadAvgBefore: loadAvg(),
	}
	wrkPath := ""
	if cfg.wrk == "auto" {
		if p, err := exec.LookPath("wrk"); err == nil {
			wrkPath = p
		} else {
			res.WrkMissing = "wrk is not installed (`command -v wrk` finds nothing)"
		}
	} else {
		res.WrkMissing = "not run (-wrk off)"
	}
	fmt.Printf("%-24s %-10s %4s %9s %8s %8s %8s %7s %9s %9s %6s\n", "backend", "shape", "pass", "req/s", "p50 ms", "p99 ms", "srv µs", "load µs", "non-2xx", "transport", "lost")
	for pass := 1; pass <= cfg.passes; pass++ {
		for _, sh := range cfg.shapes {
			for _, be := range cfg.backends {
				c, err := runCell(self, env, cfg, be, sh, pass)
				if err != nil {
					return fmt.Errorf("%s %s (pass %d): %w", be.Name, sh.name, pass, err)
				}
				lost := ""
				if c.Lost >= 0 && sh.name == "hot" {
					lost = strconv.FormatInt(c.Lost, 10)
				}
				fmt.Printf("%-24s %-10s %4d %9.0f %8.2f %8.2f %8.1f %7.1f %9d %9d %6s\n", be.Name, sh.name, pass, c.RPS, c.P50us/1000, c.P99us/1000, c.ServerCPUus, c.LoadCPUus, c.Non2xx, c.Transport, lost)
				if c.FirstErr != "" && c.Non2xx+c.Transport > 0 {
					fmt.Printf("    first error: %.200s\n", c.FirstErr)
				}
				res.Cells = append(res.Cells, c)
				if be.Family == harness.Bare && wrkPath != "" && (sh.name == "read" || sh.name == "write-many") {
					w, err := runWrk(self, wrkPath, env, cfg, sh)
					if err != nil {
						return fmt.Errorf("wrk on bare %s: %w", sh.name, err)
					}
					w.Pass, w.OursRPS = pass, c.RPS
					fmt.Printf("%-24s %-10s %4d %9.0f %8.2f %8.2f   (wrk -t%d -c%d; ours %.0f: %.2f× wrk)\n", "bare (wrk)", sh.name, pass, w.RPS, w.P50us/1000, w.P99us/1000, w.Threads, w.Conns, c.RPS, c.RPS/w.RPS)
					res.Wrk = append(res.Wrk, w)
				}
			}
		}
	}
	res.LoadAvgAfter = loadAvg()
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("load average %.2f before, %.2f after; wrote %s\n", res.LoadAvgBefore, res.LoadAvgAfter, *out)
	for _, c := range res.Cells {
		if be, _ := harness.BackendByName(c.Backend); (be.Ours || be.Prototype) && c.Non2xx+c.Transport > 0 {
			return errCells
		}
	}
	return nil
}

// server is a running `httpbench serve`.
type server struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	addr  string
}

// startServer starts a server process for be and waits for its address.
func startServer(self string, env *harness.Env, be *harness.Backend, extra ...string) (*server, error) {
	args := append([]string{"serve", "-backend", be.Name, "-memcached", env.MemcachedAddr, "-redis", env.RedisAddr}, extra...)
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("the server process printed no address: %w", err)
	}
	s.addr = strings.TrimSpace(line)
	return s, nil
}

// stop closes the server's stdin, which ends it, and waits (killing it
// after 10 s).
func (s *server) stop() {
	_ = s.stdin.Close()
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

func runCell(self string, env *harness.Env, cfg config, be *harness.Backend, sh httpShape, pass int) (harness.HTTPCell, error) {
	var extra []string
	if cfg.profileDir != "" {
		if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
			return harness.HTTPCell{}, err
		}
		extra = append(extra, "-cpuprofile", filepath.Join(cfg.profileDir, fmt.Sprintf("%s-%s-%d.cpu", be.Name, sh.name, pass)))
	}
	srv, err := startServer(self, env, be, extra...)
	if err != nil {
		return harness.HTTPCell{}, err
	}
	defer srv.stop()
	// Lost updates are counted on server-side stores: on a cookie store
	// the last write wins by design, and bare Gin keeps no counter.
	count := be.Family != harness.Bare && be.Family != harness.Cookie
	cmd := exec.Command(self, "load", "-addr", srv.addr, "-shape", sh.name, "-conns", strconv.Itoa(cfg.conns),
		"-sessions", strconv.Itoa(cfg.sessions), "-d", cfg.d.String(), "-warmup", cfg.warmup.String(),
		"-server-pid", strconv.Itoa(srv.cmd.Process.Pid), "-count="+strconv.FormatBool(count))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.Output()
	if err != nil {
		return harness.HTTPCell{}, fmt.Errorf("load process: %w", err)
	}
	var c harness.HTTPCell
	if err := json.Unmarshal(out, &c); err != nil {
		return harness.HTTPCell{}, fmt.Errorf("load process output %.200q: %w", out, err)
	}
	c.Backend, c.Family, c.Ours, c.Pass = be.Name, be.Family, be.Ours, pass
	if sh.name != "hot" {
		c.Lost = -1
	}
	return c, nil
}

// loadAvg is the 1-minute load average, or -1.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f, _, _ := strings.Cut(string(b), " ")
	v, err := strconv.ParseFloat(f, 64)
	if err != nil {
		return -1
	}
	return v
}

var errNoWrkFigure = errors.New("no Requests/sec line in wrk's output")

// runWrk runs wrk (2 threads, cfg.conns connections, cfg.d) against a
// fresh bare Gin server on shape sh, after cfg.warmup of the same.
func runWrk(self, wrk string, env *harness.Env, cfg config, sh httpShape) (harness.WrkCell, error) {
	bare, _ := harness.BackendByName("bare")
	srv, err := startServer(self, env, bare)
	if err != nil {
		return harness.WrkCell{}, err
	}
	defer srv.stop()
	script, err := os.CreateTemp("", "httpbench-*.lua")
	if err != nil {
		return harness.WrkCell{}, err
	}
	defer os.Remove(script.Name())
	if _, err := fmt.Fprintf(script, "wrk.method = %q\n", sh.method); err != nil {
		return harness.WrkCell{}, err
	}
	if err := script.Close(); err != nil {
		return harness.WrkCell{}, err
	}
	url := "http://" + srv.addr + sh.path
	secs := func(d time.Duration) string { return strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second))) + "s" }
	if cfg.warmup > 0 {
		warm := exec.Command(wrk, "-t2", "-c"+strconv.Itoa(cfg.conns), "-d1s", "-s", script.Name(), url)
		if out, err := warm.CombinedOutput(); err != nil {
			return harness.WrkCell{}, fmt.Errorf("%v: %s", err, out)
		}
	}
	out, err := exec.Command(wrk, "-t2", "-c"+strconv.Itoa(cfg.conns), "-d"+secs(cfg.d), "--latency", "-s", script.Name(), url).CombinedOutput()
	if err != nil {
		return harness.WrkCell{}, fmt.Errorf("%v: %s", err, out)
	}
	w, err := parseWrk(string(out))
	if err != nil {
		return w, fmt.Errorf("%w: %s", err, out)
	}
	w.Shape, w.Threads, w.Conns = sh.name, 2, cfg.conns
	return w, nil
}

// parseWrk reads wrk's summary: Requests/sec, the 50% and 99% latencies
// (--latency), non-2xx responses and socket errors.
func parseWrk(out string) (harness.WrkCell, error) {
	var w harness.WrkCell
	found := false
	for _, line := range strings.Split(out, "\n") {
		fs := strings.Fields(line)
		switch {
		case len(fs) == 2 && fs[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(fs[1], 64)
			if err != nil {
				return w, err
			}
			w.RPS, found = v, true
		case len(fs) == 2 && fs[0] == "50%":
			w.P50us = wrkDuration(fs[1])
		case len(fs) == 2 && fs[0] == "99%":
			w.P99us = wrkDuration(fs[1])
		case strings.HasPrefix(strings.TrimSpace(line), "Non-2xx or 3xx responses:"):
			w.Non2xx, _ = strconv.ParseInt(fs[len(fs)-1], 10, 64)
		case strings.HasPrefix(strings.TrimSpace(line), "Socket errors:"):
			// Socket errors: connect 0, read 0, write 0, timeout 0
			for _, f := range fs[2:] {
				if n, err := strconv.ParseInt(strings.TrimSuffix(f, ","), 10, 64); err == nil {
					w.Errors += n
				}
			}
		}
	}
	if !found {
		return w, errNoWrkFigure
	}
	return w, nil
}

// wrkDuration parses wrk's "812.00us", "1.23ms" or "1.01s" into µs.
func wrkDuration(s string) float64 {
	for _, u := range []struct {
		suffix string
		us     float64
	}{{"us", 1}, {"ms", 1000}, {"s", 1e6}, {"m", 60e6}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0
			}
			return f * u.us
		}
	}
	return 0
}
