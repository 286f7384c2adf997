package memcached

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/sessionware/sessions/internal/testserver"
)

// sample is an item that an earlier release stored, and what that
// release's Load returned for it (testdata/format, made by
// testdata/format/generate_test.go at commit 4998c71).
type sample struct {
	name        string
	Flags       uint32 `json:"flags"`
	Value       string `json:"value"`
	WantData    string `json:"want_data"`
	WantTouched int64  `json:"want_touched_ms"`
}

func readSamples(t *testing.T) []sample {
	t.Helper()
	paths, err := filepath.Glob("testdata/format/*.json")
	if err != nil || len(paths) < 3 {
		t.Fatalf("samples: %v, %v", paths, err)
	}
	var out []sample
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s := sample{name: filepath.Base(p)}
		if err := json.Unmarshal(b, &s); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		out = append(out, s)
	}
	return out
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodesEarlierItems: items stored by the release before the Store
// contract change (commit 4998c71), with 0, 3 and 64 stamps, read as that
// release read them.
func TestDecodesEarlierItems(t *testing.T) {
	for _, s := range readSamples(t) {
		r, err := decode(&memcache.Item{Key: "session:k", Value: unhex(t, s.Value), Flags: s.Flags, CasID: 7}, DefaultMaxRecordSize)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if !bytes.Equal(r.Data, unhex(t, s.WantData)) || r.Version != 7 {
			t.Errorf("%s: data %x version %d, want %s version 7", s.name, r.Data, r.Version, s.WantData)
		}
		if got := r.Touched; s.WantTouched == 0 && !got.IsZero() || s.WantTouched != 0 && got.UnixMilli() != s.WantTouched {
			t.Errorf("%s: Touched %v, want %d ms (0: none)", s.name, got, s.WantTouched)
		}
	}
}

// TestTouchCompactsEarlierItems stores each sample as that release did
// and touches it: an item that reached 64 stamps is rewritten with one,
// the others gain one, and the data is never lost.
func TestTouchCompactsEarlierItems(t *testing.T) {
	srv := testserver.Memcached(t)
	raw := memcache.New(srv.Addr)
	s := New(memcache.New(srv.Addr))
	ctx := context.Background()
	at := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, smp := range readSamples(t) {
		value, data := unhex(t, smp.Value), unhex(t, smp.WantData)
		if err := raw.Set(&memcache.Item{Key: "session:" + smp.name, Value: value, Flags: smp.Flags, Expiration: 60}); err != nil {
			t.Fatal(err)
		}
		if err := s.Touch(ctx, smp.name, time.Minute, at); err != nil {
			t.Fatalf("%s: Touch: %v", smp.name, err)
		}
		r, err := s.Load(ctx, smp.name)
		if err != nil || !bytes.Equal(r.Data, data) || !r.Touched.Equal(at) {
			t.Fatalf("%s: after Touch: %x, Touched %v, %v", smp.name, r.Data, r.Touched, err)
		}
		it, err := raw.Get("session:" + smp.name)
		if err != nil {
			t.Fatal(err)
		}
		stamps, want := (len(it.Value)-len(data))/stampLen, (len(value)-len(data))/stampLen+1
		if want > maxStamps {
			want = 1
		}
		if stamps != want {
			t.Errorf("%s: %d stamps after Touch, want %d", smp.name, stamps, want)
		}
	}
}
