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
// acknowledges neither. The second run finds its own version and writes
// again, so a WAIT on its connection waits for that write, replicated
// after the first: it reports 0 replicas, not the 1 it would report at
// once for a connection that had written nothing.
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
