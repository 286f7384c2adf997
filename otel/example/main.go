// Command example is a small shop (log in, fill a cart, log out) whose
// session middleware reports OpenTelemetry metrics through package
// sessionsotel. It lives in the otel module, not beside the main example,
// so that the sessions module never depends on OpenTelemetry. From the
// otel directory:
//
//	go run ./example                          # http://localhost:8080, metrics on stdout every 10 s
//	go run ./example -metrics-interval 2s
//	go run ./example -metrics none            # no metrics: no observer installed
//	SESSION_STORE=redis://localhost:6379/0 go run ./example
//
// The store comes from SESSION_STORE (default memory://, see package
// backends), and its scheme names the store in the metrics. Metrics go to
// stdout as JSON (the SDK's stdoutmetric exporter), and once more at
// shutdown (SIGINT or SIGTERM); logs go to stderr. An application would
// use its own exporter instead (OTLP, Prometheus): see
// docs/observability.md.
//
// Routes:
//
//	GET  /         {"user": string or null, "cart": {item: qty}}
//	POST /login    form username: log in (new session ID)
//	POST /cart     form item: add one to the cart
//	POST /logout   end the session
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
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/exporters/stdout/stdoutmetric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/backends"
	sessionsotel "github.com/sessionware/sessions/otel"
)

const (
	defaultAddr     = ":8080"
	shutdownTimeout = 10 * time.Second
	maxName         = 64 // bytes of a username or an item
)

func main() {
	gin.SetMode(gin.ReleaseMode)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done, then shuts down gracefully and exports
// the metrics a last time. It reads the flags from args and
// SESSION_STORE and SESSION_KEYS from the environment, writes metrics to
// stdout and logs to stderr. If ready is not nil, it receives the address
// the server listens on.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- string) (err error) {
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	fs := flag.NewFlagSet("example", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", defaultAddr, "`address` to listen on")
	exporter := fs.String("metrics", "stdout", "where metrics go: stdout (JSON) or none")
	interval := fs.Duration("metrics-interval", 10*time.Second, "how often metrics are exported")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q; see -h", fs.Args())
	}
	if *interval <= 0 {
		return fmt.Errorf("-metrics-interval %v: must be positive", *interval)
	}

	cfg := backends.FromEnv()
	if cfg.Scheme() == "cookie" && len(cfg.Keys) == 0 {
		key := make([]byte, backends.KeySize)
		rand.Read(key)
		cfg.Keys = []string{base64.StdEncoding.EncodeToString(key)}
		logger.Warn("SESSION_KEYS is not set: sealing cookies with a random key, so sessions will not survive a restart")
	}
	var opts []sessions.Option
	switch *exporter {
	case "none":
	case "stdout":
		exp, err := stdoutmetric.New(stdoutmetric.WithWriter(stdout))
		if err != nil {
			return err
		}
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(*interval))))
		defer func() {
			// The last export: what the final requests did.
			if serr := mp.Shutdown(context.Background()); serr != nil && err == nil {
				err = fmt.Errorf("metrics: %w", serr)
			}
		}()
		obs, err := sessionsotel.New(mp, sessionsotel.WithStore(cfg.Scheme()))
		if err != nil {
			return err
		}
		opts = append(opts, sessions.WithObserver(obs))
	default:
		return fmt.Errorf("-metrics %q: want stdout or none", *exporter)
	}

	store, err := cfg.Open()
	if err != nil {
		return fmt.Errorf("session store (%s): %w", backends.EnvStore, err)
	}
	defer func() {
		if c, ok := store.(io.Closer); ok {
			_ = c.Close()
		}
	}()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           newShop(store, opts...),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("listening", "addr", ln.Addr().String(), "sessions", cfg, "metrics", *exporter, "interval", *interval)
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
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}

// newShop returns the shop's handler over sessions kept in store, with
// opts added to the Sessions middleware's.
func newShop(store sessions.Backend, opts ...sessions.Option) *gin.Engine {
	r := gin.New()
	r.Use(sessions.Sessions("session", store, append([]sessions.Option{sessions.WithIdleTimeout(30 * time.Minute)}, opts...)...))
	r.GET("/", func(c *gin.Context) {
		s := sessions.Default(c)
		var user any
		if u, ok := sessions.Get[string](s, "user"); ok {
			user = u
		}
		cart, _ := sessions.Get[map[string]int](s, "cart")
		c.JSON(http.StatusOK, gin.H{"user": user, "cart": cart})
	})
	r.POST("/login", func(c *gin.Context) {
		name := c.PostForm("username")
		if name == "" || len(name) > maxName {
			c.JSON(http.StatusBadRequest, gin.H{"error": fmt.Sprintf("username: 1 to %d bytes", maxName)})
			return
		}
		s := sessions.Default(c)
		s.Renew() // a new ID at login
		s.Set("user", name)
		c.JSON(http.StatusOK, gin.H{"user": name})
	})
	r.POST("/cart", func(c *gin.Context) {
		item := c.PostForm("item")
		if item == "" || len(item) > maxName {
			c.JSON(http.StatusBadRequest, gin.H{"error": fmt.Sprintf("item: 1 to %d bytes", maxName)})
			return
		}
		sessions.Default(c).Update("cart", func(old any) any {
			cart, _ := old.(map[string]int)
			if cart == nil {
				cart = map[string]int{}
			}
			cart[item]++
			return cart
		})
		c.JSON(http.StatusOK, gin.H{"item": item})
	})
	r.POST("/logout", func(c *gin.Context) {
		sessions.Default(c).Destroy()
		c.JSON(http.StatusOK, gin.H{})
	})
	return r
}
