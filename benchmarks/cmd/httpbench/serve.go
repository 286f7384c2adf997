package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"time"

	"github.com/sessionware/sessions/benchmarks/harness"
)

// serveMain is `httpbench serve`: one backend's Gin engine (the routes of
// package harness) served by net/http on a free loopback port. It prints
// the address on stdout, then serves until its standard input closes (the
// orchestrator closes it, or dies), and exits.
func serveMain(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var (
		backend    = fs.String("backend", "bare", "the backend to serve (a name of harness.Backends)")
		mcAddr     = fs.String("memcached", "", "memcached's address")
		redisAddr  = fs.String("redis", "", "redis-server's address")
		cpuProfile = fs.String("cpuprofile", "", "write a CPU profile of the whole serving time here")
		blockProf  = fs.String("blockprofile", "", "write a block profile here (every blocking event)")
		mutexProf  = fs.String("mutexprofile", "", "write a mutex profile here")
		traceFile  = fs.String("trace", "", "write an execution trace here")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	be, ok := harness.BackendByName(*backend)
	if !ok {
		return fmt.Errorf("unknown backend %q", *backend)
	}
	app, err := be.Open(&harness.Env{MemcachedAddr: *mcAddr, RedisAddr: *redisAddr})
	if err != nil {
		return err
	}
	defer app.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: app.Handler, ReadHeaderTimeout: 10 * time.Second}
	stop, err := startProfiles(*cpuProfile, *blockProf, *mutexProf, *traceFile)
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Println(ln.Addr().String())
	// Serve until stdin closes: the orchestrator's end of the pipe.
	_, _ = bufio.NewReader(os.Stdin).ReadString(0)
	_ = srv.Close()
	<-served
	return stop()
}

// startProfiles starts the profiles asked for and returns what stops and
// writes them.
func startProfiles(cpu, block, mutex, tr string) (func() error, error) {
	var stops []func() error
	if cpu != "" {
		f, err := os.Create(cpu)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		stops = append(stops, func() error { pprof.StopCPUProfile(); return f.Close() })
	}
	if tr != "" {
		f, err := os.Create(tr)
		if err != nil {
			return nil, err
		}
		if err := trace.Start(f); err != nil {
			return nil, err
		}
		stops = append(stops, func() error { trace.Stop(); return f.Close() })
	}
	write := func(name, path string) func() error {
		return func() error {
			f, err := os.Create(path)
			if err != nil {
				return err
			}
			if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
				return err
			}
			return f.Close()
		}
	}
	if block != "" {
		runtime.SetBlockProfileRate(1)
		stops = append(stops, write("block", block))
	}
	if mutex != "" {
		runtime.SetMutexProfileFraction(1)
		stops = append(stops, write("mutex", mutex))
	}
	return func() error {
		for _, s := range stops {
			if err := s(); err != nil {
				return err
			}
		}
		return nil
	}, nil
}
