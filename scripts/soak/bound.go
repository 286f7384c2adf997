package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/memory"
)

// checkpoint is the memory store and the heap after some sessions were
// created, after a GC.
type checkpoint struct {
	created   int
	entries   int    // store.Len()
	evictions uint64 // store.Evictions()
	refused   uint64 // store.Refused()
	heapAlloc uint64 // bytes of live heap objects after runtime.GC
	heapInuse uint64
}

// boundRun creates n distinct sessions, each with a user and a small cart,
// through the Sessions middleware on a memory store with its default bound
// (memory.DefaultMaxEntries), in this process, from GOMAXPROCS goroutines,
// without a network. It takes ten checkpoints and returns them, with what
// went wrong: the bound passed, a session not created, evictions and
// entries that do not add up to the sessions created, or a heap that grew
// by 10% or more after the store had turned over once (checked when n is
// at least three times the bound).
func boundRun(n int) ([]checkpoint, *problems) {
	store := memory.New(memory.WithLogger(nil))
	defer store.Close()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(sessions.Sessions("session", store))
	var next atomic.Int64
	r.POST("/", func(c *gin.Context) {
		s := sessions.Default(c)
		s.Set("user", "u"+strconv.FormatInt(next.Add(1), 10))
		s.Set("cart", map[string]int{"apple": 1})
		c.String(http.StatusOK, "ok")
	})
	probs := &problems{}
	var points []checkpoint
	step := n / 10
	workers := runtime.GOMAXPROCS(0)
	for created := 0; created < n; {
		batch := min(step, n-created)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < batch; i += workers {
					req := httptest.NewRequest("POST", "/", nil)
					rec := httptest.NewRecorder()
					r.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK || rec.Header().Get("Set-Cookie") == "" {
						probs.add("a new session: %d %q, cookie %q", rec.Code, rec.Body.String(), rec.Header().Get("Set-Cookie"))
					}
				}
			}()
		}
		wg.Wait()
		created += batch
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		p := checkpoint{
			created: created, entries: store.Len(), evictions: store.Evictions(), refused: store.Refused(),
			heapAlloc: ms.HeapAlloc, heapInuse: ms.HeapInuse,
		}
		points = append(points, p)
		if p.entries > memory.DefaultMaxEntries {
			probs.add("%d sessions created: the store holds %d, over its bound of %d", created, p.entries, memory.DefaultMaxEntries)
		}
		if uint64(p.entries)+p.evictions != uint64(created) || p.refused != 0 {
			probs.add("%d sessions created: %d held, %d evicted, %d refused", created, p.entries, p.evictions, p.refused)
		}
	}
	// Flat: once the store has turned over once (from the checkpoint at
	// twice its bound on, by when its maps have grown to their working
	// size), the heap after a GC grows by less than 10%.
	for i, p := range points {
		if p.created < 2*memory.DefaultMaxEntries {
			continue
		}
		if last := points[len(points)-1]; i < len(points)-1 && float64(last.heapAlloc) > 1.10*float64(p.heapAlloc) {
			probs.add("the heap grew from %s at %d sessions to %s at %d: not flat", mb(p.heapAlloc), p.created, mb(last.heapAlloc), last.created)
		}
		break
	}
	return points, probs
}

// mb formats bytes as megabytes.
func mb(b uint64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
