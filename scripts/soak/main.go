// Command soak runs the example app under a long mixed load on every
// backend, and the memory store's bound under a million new sessions, and
// fails if anything went wrong. It is `make soak`, not part of `make test`:
//
//	go run ./scripts/soak                       every backend, 200,000 requests each
//	go run ./scripts/soak -requests 20000 -backends redis,memory
//
// For each backend it builds the example (go build ./example), starts the
// servers it needs (memcached, redis-server) and the example on loopback
// ports, and sends at least -requests requests from -clients clients, each
// cycling through a visit: log in, read, add two items, read, add two
// more, read, log out (the JSON API). On server-side stores the two adds
// of a pair go at once, as from two tabs. Every answer must be 200, and
// every read must show exactly the cart the client's acknowledged adds
// made. Then, in this process, it creates -sessions distinct sessions on a
// memory store with its default bound, and checks that the bound holds and
// that the heap after a GC stays flat once the store is full.
//
// It prints the figures as Markdown (requests per second, latency, errors,
// the example's memory, the heap per checkpoint) for docs/faults.md, and
// exits 1 if any check failed. Run it from the repository root; it needs
// memcached and redis-server (make deps).
package main

import (
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

func main() {
	requests := flag.Int64("requests", 200_000, "requests per backend, at least")
	clients := flag.Int("clients", 64, "concurrent clients per backend")
	sessionsN := flag.Int("sessions", 1_000_000, "distinct sessions created on the bounded memory store (0: skip)")
	only := flag.String("backends", "memory,cookie,memcached,redis", "backends to soak, comma-separated")
	flag.Parse()
	if err := run(*requests, *clients, *sessionsN, strings.Split(*only, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(requests int64, clients, sessionsN int, only []string) error {
	dir, err := os.MkdirTemp("", "soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("soak: %d cores (GOMAXPROCS %d), %d clients, at least %d requests per backend; logs in %s\n\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), clients, requests, dir)

	example := filepath.Join(dir, "example")
	build := exec.Command("go", "build", "-o", example, "./example")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build ./example (run the soak from the repository root): %w", err)
	}

	failed := false
	fmt.Println("| backend | requests | time | req/s | p50 | p99 | max | unexpected answers | acknowledged adds checked | example RSS end / peak |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	var details []string
	for _, name := range only {
		if name = strings.TrimSpace(name); name == "" {
			continue
		}
		res, rss, peak, err := soakBackend(name, example, dir, requests, clients)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		p := res.problems
		fmt.Printf("| %s | %d | %v | %.0f | %v | %v | %v | %d | %d | %.0f / %.0f MB |\n", name, res.requests,
			res.elapsed.Round(100*time.Millisecond), float64(res.requests)/res.elapsed.Seconds(),
			percentile(res.latency, 50).Round(10*time.Microsecond), percentile(res.latency, 99).Round(10*time.Microsecond),
			percentile(res.latency, 100).Round(time.Millisecond), p.n, res.adds, float64(rss)/1024, float64(peak)/1024)
		if p.n > 0 {
			failed = true
			details = append(details, fmt.Sprintf("%s: %d unexpected answers, the first: %s", name, p.n, strings.Join(p.first, "; ")))
		}
	}
	for _, d := range details {
		fmt.Println("\n" + d)
	}

	if sessionsN > 0 {
		fmt.Printf("\nmemory store, default bound, %d new sessions in this process:\n\n", sessionsN)
		fmt.Println("| sessions created | held | evicted | refused | heap after GC | heap in use |")
		fmt.Println("|---:|---:|---:|---:|---:|---:|")
		start := time.Now()
		points, probs := boundRun(sessionsN)
		for _, p := range points {
			fmt.Printf("| %d | %d | %d | %d | %s | %s |\n", p.created, p.entries, p.evictions, p.refused, mb(p.heapAlloc), mb(p.heapInuse))
		}
		fmt.Printf("\n%d sessions in %v (%.0f/s)\n", sessionsN, time.Since(start).Round(100*time.Millisecond), float64(sessionsN)/time.Since(start).Seconds())
		if probs.n > 0 {
			failed = true
			fmt.Printf("\nmemory bound: %d problems, the first: %s\n", probs.n, strings.Join(probs.first, "; "))
		}
	}
	if failed {
		return fmt.Errorf("checks failed (above)")
	}
	fmt.Println("\nsoak: every check passed")
	return nil
}

// soakBackend starts what backend needs and the example on it, runs the
// load, and returns its result and the example's memory (KiB).
func soakBackend(name, example, dir string, requests int64, clients int) (loadResult, int, int, error) {
	env := []string{"GIN_MODE=release"}
	switch name {
	case "memory":
		env = append(env, "SESSION_STORE=memory://")
	case "cookie":
		key := make([]byte, 32)
		rand.Read(key)
		env = append(env, "SESSION_STORE=cookie://", "SESSION_KEYS="+base64.StdEncoding.EncodeToString(key))
	case "memcached":
		srv, err := startMemcached()
		if err != nil {
			return loadResult{}, 0, 0, err
		}
		defer srv.stop()
		env = append(env, "SESSION_STORE=memcached://"+srv.addr)
	case "redis":
		srv, err := startRedis()
		if err != nil {
			return loadResult{}, 0, 0, err
		}
		defer srv.stop()
		env = append(env, "SESSION_STORE=redis://"+srv.addr)
	default:
		return loadResult{}, 0, 0, fmt.Errorf("unknown backend (want memory, cookie, memcached or redis)")
	}
	app, err := start(example, func(port int) []string { return []string{"-addr", fmt.Sprintf("127.0.0.1:%d", port)} },
		env, filepath.Join(dir, name+".log"))
	if err != nil {
		return loadResult{}, 0, 0, err
	}
	defer app.stop()
	res := runLoad("http://"+app.addr, clients, requests, name != "cookie")
	rss, peak := app.memKB()
	return res, rss, peak, nil
}
