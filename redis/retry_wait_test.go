package redis

import (
	"context"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/sessionware/sessions/internal/testserver"
)

// TestARetriedSaveIsReplicatedAgain runs the save script twice with the
// same arguments, as go-redis does when it sends a pipeline again on a new
// connection after losing the reply, with the replica frozen so that it
// acknowledges neither: a WAIT on the second connection reports 0
// replicas, not success. Here, on Redis 7.0, that holds with or without
// the write the script makes when it finds its own version, since 7.0 sets
// a connection's WAIT offset after every command; Redis 7.2 and later set
// it only after a write, and there the script's second write is what
// makes it hold (see saveScript).
func TestARetriedSaveIsReplicatedAgain(t *testing.T) {
	master := testserver.Redis(t)
	replica := testserver.RedisReplica(t, master)
	client := goredis.NewClient(&goredis.Options{Addr: master.Addr})
	defer client.Close()
	ctx := context.Background()
	args := []any{"0", strconv.FormatUint(newVersion(0), 10), "data", millis(time.Minute)}

	replica.Freeze()
	defer replica.Thaw()
	first, second := client.Conn(), client.Conn()
	defer first.Close()
	defer second.Close()
	for i, c := range []*goredis.Conn{first, second} {
		if n, err := saveScript.Run(ctx, c, []string{"k"}, args...).Int64(); err != nil || n != 1 {
			t.Fatalf("run %d of the save script: %d %v, want 1", i+1, n, err)
		}
	}
	acks, err := second.Wait(ctx, 1, 200*time.Millisecond).Result()
	if err != nil {
		t.Fatal(err)
	}
	if acks != 0 {
		t.Fatalf("WAIT after the retried save counts %d replicas with the replica frozen: the retry wrote nothing", acks)
	}
}
