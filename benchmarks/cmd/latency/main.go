// Command latency serves every backend (ours and the peers') over real
// loopback HTTP, on 127.0.0.1 only, and drives each with 1, 16 and 64
// concurrent keep-alive clients for a bounded time, reporting requests per
// second and the p50, p90, p99 and max latency of read and write requests.
// In the same run it counts lost updates: N concurrent increments of one
// session's counter, for each backend.
//
//	go run ./cmd/latency                 # 2 s per cell, writes results/latency.json
//	go run ./cmd/latency -quick          # 100 ms per cell, for CI
//
// It starts its own memcached and redis-server on free loopback ports.
// Clients and server share the machine's cores, as the numbers say.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sessionware/sessions/benchmarks/harness"
)

// maxPerClient bounds every load loop in count as well as in time.
const maxPerClient = 1_000_000

func main() {
	var (
		cell     = flag.Duration("d", 2*time.Second, "measured time per cell (backend, shape, clients)")
		warmup   = flag.Duration("warmup", 200*time.Millisecond, "unmeasured warm-up per cell")
		quick    = flag.Bool("quick", false, "CI mode: 100 ms cells, 20 ms warm-up (overrides -d and -warmup)")
		clients  = flag.String("clients", "1,16,64", "concurrent keep-alive clients per cell, comma-separated")
		shapes   = flag.String("shapes", "read,write", "request shapes, comma-separated")
		backends = flag.String("backends", "", "backends to run, comma-separated (default all)")
		lostN    = flag.Int("lost", 100, "concurrent increments in the lost-update count (0: skip)")
		rounds   = flag.Int("rounds", 3, "rounds of the lost-update count per backend (quick: 1)")
		out      = flag.String("out", "results/latency.json", "where to write the results as JSON")
	)
	flag.Parse()
	if *quick {
		*cell, *warmup, *rounds = 100*time.Millisecond, 20*time.Millisecond, 1
	}
	var concs []int
	for _, f := range strings.Split(*clients, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 256 {
			log.Fatalf("-clients: %q is not a count between 1 and 256", f)
		}
		concs = append(concs, n)
	}
	var shs []harness.Shape
	for _, f := range strings.Split(*shapes, ",") {
		sh, ok := harness.ShapeByName(strings.TrimSpace(f))
		if !ok || sh.Mode != harness.Serial {
			log.Fatalf("-shapes: unknown shape %q", f)
		}
		shs = append(shs, sh)
	}
	var bes []*harness.Backend
	for _, be := range harness.Backends {
		if !be.Prototype { // measured by the benchmarks and cmd/httpbench
			bes = append(bes, be)
		}
	}
	if *backends != "" {
		bes = nil
		for _, f := range strings.Split(*backends, ",") {
			be, ok := harness.BackendByName(strings.TrimSpace(f))
			if !ok {
				log.Fatalf("-backends: unknown backend %q", f)
			}
			bes = append(bes, be)
		}
	}

	env, err := harness.Start()
	if err != nil {
		log.Fatal(err)
	}
	defer env.Close()

	res := harness.Results{
		Date:        time.Now().UTC().Format(time.RFC3339),
		CellSeconds: cell.Seconds(),
		Quick:       *quick,
		GOMAXPROCS:  runtime.GOMAXPROCS(0),
	}
	fmt.Printf("%-22s %-6s %4s %9s %9s %9s %9s %9s %6s\n", "backend", "shape", "cli", "req/s", "p50 us", "p90 us", "p99 us", "max us", "errors")
	for _, be := range bes {
		cells, lost, err := runBackend(env, be, shs, concs, *cell, *warmup, *lostN, max(*rounds, 1))
		if err != nil {
			env.Close()
			log.Fatal(err)
		}
		res.Cells = append(res.Cells, cells...)
		if lost != nil {
			res.Lost = append(res.Lost, *lost)
		}
	}
	if len(res.Lost) > 0 {
		fmt.Printf("\nlost updates: %d concurrent increments of one session, %d round(s)\n", *lostN, max(*rounds, 1))
		for _, l := range res.Lost {
			fmt.Printf("%-22s survived %4d/%d %v  errors %d  %s\n", l.Backend, l.Survived, l.N*l.Rounds, l.PerRound, l.Errors, l.Note)
		}
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Println("\nwrote", *out)
}

func runBackend(env *harness.Env, be *harness.Backend, shs []harness.Shape, concs []int, cell, warmup time.Duration, lostN, rounds int) ([]harness.LatencyCell, *harness.LostUpdate, error) {
	app, err := be.Open(env)
	if err != nil {
		return nil, nil, err
	}
	defer app.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: app.Handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	var cells []harness.LatencyCell
	for _, sh := range shs {
		for _, n := range concs {
			c, err := runCell(app, base, sh, n, cell, warmup)
			if err != nil {
				return nil, nil, fmt.Errorf("%s %s x%d: %w", be.Name, sh.Name, n, err)
			}
			fmt.Printf("%-22s %-6s %4d %9.0f %9.0f %9.0f %9.0f %9.0f %6d\n", c.Backend, c.Shape, c.Clients, c.RPS, c.P50us, c.P90us, c.P99us, c.MaxUs, c.Errors)
			cells = append(cells, c)
		}
	}
	if lostN <= 0 || be.Family == harness.Bare {
		return cells, nil, nil
	}
	lost := &harness.LostUpdate{Backend: be.Name, Family: be.Family, Ours: be.Ours, N: lostN, Rounds: rounds}
	var notes []string
	for range rounds {
		survived, errs, note, err := countLost(app, base, lostN)
		if err != nil {
			return nil, nil, fmt.Errorf("%s lost updates: %w", be.Name, err)
		}
		lost.Survived += survived
		lost.PerRound = append(lost.PerRound, survived)
		lost.Errors += errs
		if note != "" && !slices.Contains(notes, note) {
			notes = append(notes, note)
		}
	}
	lost.Note = strings.Join(notes, "; ")
	return cells, lost, nil
}

func newClient(conns int) (*http.Client, *http.Transport) {
	tr := &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, tr
}

// do sends one request and reads the whole response.
func do(c *http.Client, method, url, cookie string) (*http.Response, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return nil, err
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp, err
}

func runCell(app *harness.App, base string, sh harness.Shape, n int, cell, warmup time.Duration) (harness.LatencyCell, error) {
	// One session per client, as for separate browsers.
	cookies := make([]string, n)
	if app.Backend.Family != harness.Bare {
		for i := range cookies {
			c, err := harness.Seed(app.Handler, sh.Session)
			if err != nil {
				return harness.LatencyCell{}, err
			}
			cookies[i] = c
		}
	}
	client, tr := newClient(n)
	defer tr.CloseIdleConnections()
	url := base + sh.Path

	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		all       []time.Duration
		errs      int
		firstErr  error
		start     = time.Now()
		measureAt = start.Add(warmup)
		stopAt    = measureAt.Add(cell)
		hardStop  = stopAt.Add(10 * time.Second)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat := make([]time.Duration, 0, 4096)
			var nerr int
			var ferr error
			for range maxPerClient {
				t0 := time.Now()
				// Past the cell's end, a client that has no measured
				// request yet (a slow first connection on a busy
				// machine) sends one more, within a hard limit.
				if !t0.Before(stopAt) && (len(lat) > 0 || nerr > 0 || !t0.Before(hardStop)) {
					break
				}
				resp, err := do(client, sh.Method, url, cookies[i])
				d := time.Since(t0)
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
				if !t0.Before(measureAt) || !time.Now().Before(stopAt) {
					if err != nil {
						nerr++
						if ferr == nil {
							ferr = err
						}
						continue
					}
					lat = append(lat, d)
				}
			}
			mu.Lock()
			all = append(all, lat...)
			errs += nerr
			if firstErr == nil {
				firstErr = ferr
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(measureAt).Seconds()
	if len(all) == 0 {
		return harness.LatencyCell{}, fmt.Errorf("no successful request (%d errors, first: %v)", errs, firstErr)
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[int(p*float64(len(all)-1))]) / float64(time.Microsecond)
	}
	return harness.LatencyCell{
		Backend:  app.Backend.Name,
		Family:   app.Backend.Family,
		Ours:     app.Backend.Ours,
		Shape:    sh.Name,
		Clients:  n,
		Requests: len(all),
		Errors:   errs,
		Seconds:  elapsed,
		RPS:      float64(len(all)) / elapsed,
		P50us:    pct(0.50),
		P90us:    pct(0.90),
		P99us:    pct(0.99),
		MaxUs:    float64(all[len(all)-1]) / float64(time.Microsecond),
	}, nil
}

// countLost seeds one session (n = 0), sends n increments of it at once
// over n connections, and reads the counter back. A cookie backend's state
// travels in the cookie: the count is read with the cookie of the response
// that arrived last, as a browser would keep it.
func countLost(app *harness.App, base string, n int) (survived, errs int, note string, err error) {
	cookie, err := harness.Seed(app.Handler, "small")
	if err != nil {
		return 0, 0, "", err
	}
	client, tr := newClient(n)
	defer tr.CloseIdleConnections()
	// Open the n connections first, so that the increments start together.
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = do(client, http.MethodGet, base+"/untouched", "")
		}()
	}
	wg.Wait()

	var (
		mu     sync.Mutex
		last   = cookie
		start  = make(chan struct{})
		lastEr error
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := do(client, http.MethodPost, base+"/incr", cookie)
			mu.Lock()
			defer mu.Unlock()
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
			if err != nil {
				errs++
				lastEr = err
				return
			}
			if c := harness.CookieFrom(resp.Cookies()); c != "" {
				last = c
			}
		}()
	}
	close(start)
	wg.Wait()

	req, err := http.NewRequest(http.MethodGet, base+"/count", nil)
	if err != nil {
		return 0, 0, "", err
	}
	req.Header.Set("Cookie", last)
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, "", err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, 0, "", err
	}
	got, err := strconv.Atoi(strings.TrimSpace(string(body)))
	if err != nil {
		return 0, 0, "", fmt.Errorf("GET /count: %q", body)
	}
	if app.Backend.Family == harness.Cookie {
		note = "state lives in the cookie: last write wins by design"
	}
	if errs > 0 {
		note = strings.TrimSpace(note + " error: " + lastEr.Error())
	}
	return got, errs, note, nil
}
