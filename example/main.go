package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/backends"
)

const (
	defaultAddr     = ":8080"
	shutdownTimeout = 10 * time.Second
)

func main() {
	if os.Getenv(gin.EnvGinMode) == "" {
		gin.SetMode(gin.ReleaseMode)
	}
	// Libraries' own lines, such as the memory store's eviction warnings,
	// in the format of run's.
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the process at once, during the graceful shutdown
	}()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done, then shuts down gracefully. It reads the
// flags from args and ADDR, SESSION_STORE and SESSION_KEYS from the
// environment, and logs to stderr. If ready is not nil, it receives the
// address the server listens on.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	goredis.SetLogger(redisLogger{logger}) // go-redis logs through slog too

	fs := flag.NewFlagSet("example", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := defaultAddr
	if a := os.Getenv("ADDR"); a != "" {
		addr = a
	}
	fs.StringVar(&addr, "addr", addr, "`address` to listen on (default from ADDR, else "+defaultAddr+")")
	secure := fs.Bool("secure", false, "mark the session cookie Secure (serve behind HTTPS)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: example [-addr host:port] [-secure]")
		fmt.Fprintln(stderr, "environment: ADDR, SESSION_STORE (default memory://), SESSION_KEYS (for cookie://)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; see -h", fs.Args())
	}

	cfg := backends.FromEnv()
	if cfg.Scheme() == "cookie" && len(cfg.Keys) == 0 {
		key := make([]byte, backends.KeySize)
		rand.Read(key)
		cfg.Keys = []string{base64.StdEncoding.EncodeToString(key)}
		logger.Warn("SESSION_KEYS is not set: sealing cookies with a random key, so sessions will not survive a restart; set SESSION_KEYS to base64 32-byte keys (head -c 32 /dev/urandom | base64)")
	}
	store, err := cfg.Open()
	if err != nil {
		return fmt.Errorf("session store (%s): %w", backends.EnvStore, err)
	}
	defer func() {
		if c, ok := store.(io.Closer); ok {
			if err := c.Close(); err != nil {
				logger.Warn("closing the session store", "error", err)
			}
		}
	}()

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           newApp(store, logger, sessions.WithSecure(*secure)),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("listening", "addr", ln.Addr().String(), "sessions", cfg)
	if ready != nil {
		ready <- ln.Addr().String()
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing requests in flight", "timeout", shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// redisLogger sends go-redis's own log lines (such as failed dials while
// Redis is down) to slog, so that every line the app writes is structured.
type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.WarnContext(ctx, strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "), "component", "go-redis")
}
