package redis_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/redis"
)

// TestLoadsEarlierRecords writes the hashes that the release before the
// Store contract change (commit 4998c71) stored into the test Redis with
// HSET, as that release left them, and loads them: the current Load reads
// what that release's Load read, and a Touch and a Save work on them.
// The samples in testdata/format were made by
// memcached/testdata/format/generate_test.go at that commit.
func TestLoadsEarlierRecords(t *testing.T) {
	paths, err := filepath.Glob("testdata/format/*.json")
	if err != nil || len(paths) < 2 {
		t.Fatalf("samples: %v, %v", paths, err)
	}
	srv := testserver.Redis(t)
	client := newClient(t, srv.Addr)
	s := redis.New(client)
	ctx := context.Background()
	for _, p := range paths {
		var smp struct {
			Fields      map[string]string `json:"fields"`
			WantData    string            `json:"want_data"`
			WantVersion uint64            `json:"want_version"`
			WantTouched int64             `json:"want_touched_ms"`
		}
		b, err := os.ReadFile(p)
		if err == nil {
			err = json.Unmarshal(b, &smp)
		}
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		key := filepath.Base(p)
		var args []any
		for f, v := range smp.Fields {
			if f == "d" {
				d, err := hex.DecodeString(v)
				if err != nil {
					t.Fatal(err)
				}
				args = append(args, f, d)
			} else {
				args = append(args, f, v)
			}
		}
		if err := client.HSet(ctx, "session:"+key, args...).Err(); err != nil {
			t.Fatal(err)
		}
		want, _ := hex.DecodeString(smp.WantData)
		r, err := s.Load(ctx, key)
		if err != nil {
			t.Fatalf("%s: Load: %v", key, err)
		}
		if !bytes.Equal(r.Data, want) || r.Version != smp.WantVersion {
			t.Errorf("%s: Load = %x version %d, want %x version %d", key, r.Data, r.Version, want, smp.WantVersion)
		}
		if smp.WantTouched == 0 && !r.Touched.IsZero() || smp.WantTouched != 0 && r.Touched.UnixMilli() != smp.WantTouched {
			t.Errorf("%s: Touched %v, want %d ms (0: none)", key, r.Touched, smp.WantTouched)
		}
		at := time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)
		if err := s.Touch(ctx, key, time.Minute, at); err != nil {
			t.Fatal(err)
		}
		if r, err := s.Load(ctx, key); err != nil || !r.Touched.Equal(at) || r.Version != smp.WantVersion {
			t.Fatalf("%s: after Touch: %+v, %v", key, r, err)
		}
		if _, err := s.Save(ctx, key, []byte("new"), smp.WantVersion, time.Minute); err != nil {
			t.Fatalf("%s: Save with the version of the earlier record: %v", key, err)
		}
	}
}
