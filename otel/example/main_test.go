package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// exported is the part of stdoutmetric's JSON the test reads.
type exported struct {
	ScopeMetrics []struct {
		Scope   struct{ Name string }
		Metrics []struct {
			Name string
			Unit string
			Data struct {
				DataPoints []struct {
					Attributes []struct {
						Key   string
						Value struct{ Value any }
					}
					Value float64 // a counter's
					Count uint64  // a histogram's
				}
			}
		}
	}
}

// TestMetricsOnStdout runs the example on a free loopback port with the
// memory store, logs in, adds to the cart and logs out over HTTP, stops
// it, and reads the metrics it printed at shutdown: one session created,
// renewed and destroyed, and the store calls by operation.
func TestMetricsOnStdout(t *testing.T) {
	t.Setenv("SESSION_STORE", "memory://")
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stdout, stderr bytes.Buffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-metrics-interval", "1h"}, &stdout, &stderr, ready)
	}()
	var base string
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	for _, step := range []struct{ path, form, want string }{
		{"/cart", "item=tea", `{"item":"tea"}`},
		{"/login", "username=alice", `{"user":"alice"}`},
		{"/cart", "item=tea", `{"item":"tea"}`},
		{"/logout", "", `{}`},
	} {
		resp, err := client.Post(base+step.path, "application/x-www-form-urlencoded", strings.NewReader(step.form))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != step.want {
			t.Fatalf("POST %s = %d %s, want 200 %s", step.path, resp.StatusCode, body, step.want)
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}

	var last exported
	dec := json.NewDecoder(&stdout)
	for {
		var e exported
		if err := dec.Decode(&e); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("metrics output: %v", err)
		}
		last = e
	}
	got := map[string]float64{}
	for _, sm := range last.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, dp := range m.Data.DataPoints {
				key, store := m.Name, any(nil)
				for _, a := range dp.Attributes {
					switch a.Key {
					case "sessions.store.name":
						store = a.Value.Value
					default:
						key += " " + a.Value.Value.(string)
					}
				}
				if store != "memory" {
					t.Fatalf("%s: store %v, want memory (SESSION_STORE's scheme)", m.Name, store)
				}
				got[key] += dp.Value + float64(dp.Count)
			}
		}
	}
	// The first add: a save. The login: a load, a save under the new ID and
	// one of the old record's tombstone. The second add: a load, a save.
	// The logout: a load, the tombstone's save.
	want := map[string]float64{
		"sessions.created": 1, "sessions.renewed": 1, "sessions.destroyed": 1,
		"sessions.store.duration load ok": 3, "sessions.store.duration save ok": 5,
	}
	if !equal(got, want) {
		t.Fatalf("exported %v, want %v\n%s", got, want, stdout.String())
	}
}

func equal(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestMetricsFlag: a -metrics value other than stdout or none stops the
// example at start-up with an error that says what is accepted; none
// installs no observer.
func TestMetricsFlag(t *testing.T) {
	err := run(context.Background(), []string{"-metrics", "prometheus"}, io.Discard, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "want stdout or none") {
		t.Fatalf("-metrics prometheus: %v", err)
	}
	t.Setenv("SESSION_STORE", "memory://")
	ctx, stop := context.WithCancel(context.Background())
	var stdout bytes.Buffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-metrics", "none"}, &stdout, io.Discard, ready)
	}()
	addr := <-ready
	resp, err := http.PostForm("http://"+addr+"/cart", url.Values{"item": {"tea"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if stdout.Len() != 0 {
		t.Fatalf("-metrics none printed %q", stdout.String())
	}
}
