package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions/internal/testserver"
)

// runMainEnv makes the test binary run main instead of the tests, for
// TestSignalShutdown.
const runMainEnv = "SESSIONWARE_EXAMPLE_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Args = os.Args[:1]
		main()
		os.Exit(0)
	}
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// startRun runs run in the background with args and the environment env
// (on top of an empty SESSION_STORE, SESSION_KEYS and ADDR), and returns
// the address it listens on, its log, and a function that stops it and
// returns run's error.
func startRun(t *testing.T, env map[string]string, args ...string) (string, *syncBuffer, func() error) {
	t.Helper()
	for _, k := range []string{"SESSION_STORE", "SESSION_KEYS", "ADDR"} {
		t.Setenv(k, env[k])
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, logs, ready) }()
	select {
	case addr := <-ready:
		stopped := false
		var err error
		stop := func() error {
			if !stopped {
				cancel()
				err, stopped = <-done, true
			}
			return err
		}
		t.Cleanup(func() { stop() })
		return addr, logs, stop
	case err := <-done:
		cancel()
		t.Fatalf("run: %v\n%s", err, logs)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("run did not start listening within 10s:\n%s", logs)
	}
	panic("unreachable")
}

func TestRunAddr(t *testing.T) {
	port := strconv.Itoa(testserver.FreePort(t))
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"Flag", nil, []string{"-addr", "127.0.0.1:" + port}, "127.0.0.1:" + port},
		{"Env", map[string]string{"ADDR": "127.0.0.1:" + port}, nil, "127.0.0.1:" + port},
		{"FlagOverEnv", map[string]string{"ADDR": "127.0.0.1:1"}, []string{"-addr=127.0.0.1:" + port}, "127.0.0.1:" + port},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, logs, stop := startRun(t, tc.env, tc.args...)
			want(t, "address", addr, tc.want)
			resp, err := http.Get("http://" + addr + "/api/session")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			want(t, "status", resp.StatusCode, http.StatusOK)
			if err := stop(); err != nil {
				t.Fatalf("run after cancel: %v", err)
			}
			out := logs.String()
			for _, s := range []string{"msg=listening", "sessions.store=memory://", "msg=\"shutting down", "msg=stopped", "path=/api/session status=200"} {
				if !strings.Contains(out, s) {
					t.Errorf("the log lacks %q:\n%s", s, out)
				}
			}
		})
	}
}

// TestRunDefaultAddr checks the default address without binding it.
func TestRunDefaultAddr(t *testing.T) {
	want(t, "defaultAddr", defaultAddr, ":8080")
}

func TestRunCookieWithoutKeys(t *testing.T) {
	addr, logs, stop := startRun(t, map[string]string{"SESSION_STORE": "cookie://"}, "-addr", "127.0.0.1:0")
	resp, err := http.Post("http://"+addr+"/api/login", "application/json", strings.NewReader(`{"username": "alice"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want(t, "login status", resp.StatusCode, http.StatusOK)
	stop()
	out := logs.String()
	want(t, "warnings", strings.Count(out, "level=WARN"), 1)
	if !strings.Contains(out, "SESSION_KEYS is not set") || !strings.Contains(out, "will not survive a restart") {
		t.Errorf("no warning about the random key:\n%s", out)
	}
	want(t, "logged store", strings.Contains(out, "sessions.store=cookie:// sessions.keys=1"), true)
}

func TestRunCookieWithKeys(t *testing.T) {
	_, logs, stop := startRun(t, map[string]string{"SESSION_STORE": "cookie://", "SESSION_KEYS": testKey}, "-addr", "127.0.0.1:0")
	stop()
	if out := logs.String(); strings.Contains(out, "WARN") || strings.Contains(out, testKey) {
		t.Errorf("with SESSION_KEYS set: a warning or the key in the log:\n%s", out)
	}
}

func TestRunBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"UnknownScheme", map[string]string{"SESSION_STORE": "mongodb://localhost"}, nil, []string{"SESSION_STORE", `unknown store scheme "mongodb"`, "memory://, cookie://"}},
		{"BadOption", map[string]string{"SESSION_STORE": "redis://:hunter2@127.0.0.1:6379/0?bogus=1"}, nil, []string{"SESSION_STORE", "bogus"}},
		{"BadKey", map[string]string{"SESSION_STORE": "cookie://", "SESSION_KEYS": "hunter2"}, nil, []string{"key 1 of 1"}},
		{"UnknownFlag", nil, []string{"-port", "80"}, []string{"flag provided but not defined: -port"}},
		{"Arguments", nil, []string{"extra"}, []string{"unexpected arguments"}},
		{"BusyAddress", nil, []string{"-addr", "256.0.0.1:1"}, []string{"listen"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"SESSION_STORE", "SESSION_KEYS", "ADDR"} {
				t.Setenv(k, tc.env[k])
			}
			var logs bytes.Buffer
			err := run(context.Background(), tc.args, &logs, nil)
			if err == nil {
				t.Fatal("run succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) && !strings.Contains(logs.String(), w) {
					t.Errorf("error %q (log %q) does not contain %q", err, logs.String(), w)
				}
			}
			if strings.Contains(err.Error()+logs.String(), "hunter2") {
				t.Errorf("a secret in the error or the log: %v\n%s", err, logs.String())
			}
		})
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &out, nil); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "SESSION_STORE") {
		t.Errorf("-h: %v\n%s", err, out.String())
	}
}

// TestSignalShutdown runs the real main in a child process, and checks that
// SIGTERM and SIGINT stop it gracefully: a request in flight completes, the
// process exits 0 and says so in its log.
func TestSignalShutdown(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			addr := "127.0.0.1:" + strconv.Itoa(testserver.FreePort(t))
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), runMainEnv+"=1", "ADDR="+addr, "SESSION_STORE=memory://", "SESSION_KEYS=")
			var stderr syncBuffer
			cmd.Stderr, cmd.Stdout = &stderr, io.Discard
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var waitErr error
			exited := make(chan struct{})
			go func() { waitErr = cmd.Wait(); close(exited) }()
			t.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
			})
			deadline := time.Now().Add(15 * time.Second)
			for {
				conn, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
				if err == nil {
					conn.Close()
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the server did not listen on %s:\n%s", addr, stderr.String())
				}
				time.Sleep(50 * time.Millisecond)
			}

			// A request whose body is still arriving when the signal comes.
			pr, pw := io.Pipe()
			respc := make(chan int, 1)
			go func() {
				resp, err := http.Post("http://"+addr+"/api/login", "application/json", pr)
				if err != nil {
					respc <- -1
					return
				}
				resp.Body.Close()
				respc <- resp.StatusCode
			}()
			pw.Write([]byte(`{"username": `))
			time.Sleep(200 * time.Millisecond) // the request is in flight
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
			pw.Write([]byte(`"alice"}`))
			pw.Close()
			want(t, "status of the request in flight", <-respc, http.StatusOK)

			select {
			case <-exited:
				if waitErr != nil {
					t.Errorf("exit: %v\n%s", waitErr, stderr.String())
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("the process did not exit after %v:\n%s", sig, stderr.String())
			}
			out := stderr.String()
			for _, s := range []string{"shutting down", "msg=stopped", "path=/api/login status=200"} {
				if !strings.Contains(out, s) {
					t.Errorf("the log lacks %q:\n%s", s, out)
				}
			}
			if strings.Contains(out, "[GIN") {
				t.Errorf("gin's debug output in the log (not in release mode):\n%s", out)
			}
		})
	}
}
