package redis_test

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/redis"
)

// password is the password of the servers that require one here.
const password = "s3cr3t-Pw-42"

// wantCheckError fails the test unless opening rawURL fails the start-up
// check within the check's 2 s (and some slack), with an error that wraps
// redis.ErrCheck, holds every piece of want, and shows no password.
func wantCheckError(t *testing.T, rawURL string, want ...string) {
	t.Helper()
	start := time.Now()
	s, err := redis.Open(rawURL)
	took := time.Since(start)
	if err == nil {
		s.Close()
		t.Fatalf("Open(%q) succeeded", rawURL)
	}
	t.Logf("Open failed after %v: %v", took.Round(time.Millisecond), err)
	if !errors.Is(err, redis.ErrCheck) {
		t.Errorf("the error does not wrap redis.ErrCheck: %v", err)
	}
	for _, w := range append(want, "check=false") {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the error does not say %q: %v", w, err)
		}
	}
	if strings.Contains(err.Error(), password) || strings.Contains(err.Error(), "wrong-pw") {
		t.Errorf("the error shows a password: %v", err)
	}
	if took > 2*time.Second+slack {
		t.Errorf("the check took %v", took)
	}
}

func TestStartupCheck(t *testing.T) {
	t.Parallel()
	srv := testserver.Redis(t, "--requirepass", password)
	host := "redis://" + srv.Addr

	t.Run("RightPassword", func(t *testing.T) {
		openURL(t, "redis://:"+password+"@"+srv.Addr)
	})
	t.Run("WrongPassword", func(t *testing.T) {
		wantCheckError(t, "redis://:wrong-pw@"+srv.Addr+"/0", host+"/0", "WRONGPASS", "refused the credentials")
	})
	t.Run("WrongUser", func(t *testing.T) {
		wantCheckError(t, "redis://alice:"+password+"@"+srv.Addr, host, "WRONGPASS", "refused the credentials")
	})
	t.Run("NoPassword", func(t *testing.T) {
		wantCheckError(t, host, host, "NOAUTH", "refused the credentials")
	})
	t.Run("Unreachable", func(t *testing.T) {
		addr := freeAddr(t)
		wantCheckError(t, "redis://:"+password+"@"+addr, "redis://"+addr, "cannot reach", "connection refused")
	})
	t.Run("Frozen", func(t *testing.T) {
		frozen := testserver.Redis(t)
		frozen.Freeze()
		defer frozen.Thaw()
		wantCheckError(t, "redis://"+frozen.Addr, "redis://"+frozen.Addr, "did not answer in time")
	})
	t.Run("Unchecked", func(t *testing.T) {
		// Nothing answers, and with check=false Open does not even dial.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		s := openURL(t, "redis://:wrong-pw@"+l.Addr().String()+"?check=false")
		_ = l.(*net.TCPListener).SetDeadline(time.Now().Add(100 * time.Millisecond))
		if c, err := l.Accept(); err == nil {
			c.Close()
			t.Fatal("Open with check=false connected")
		}
		_ = s
		openURL(t, "redis://:wrong-pw@"+srv.Addr+"?check=false") // the requests fail, not Open
		openURL(t, "redis://"+freeAddr(t)+"?check=false")
	})
}

// TestStartupCheckSentinel checks through a Sentinel: the master's
// credentials (the password option), and Sentinels that cannot be
// reached.
func TestStartupCheckSentinel(t *testing.T) {
	t.Parallel()
	master := testserver.Redis(t, "--requirepass", password)
	sentinel := testserver.RedisSentinel(t, "mymaster", master, nil, "sentinel auth-pass mymaster "+password)
	base := "redis+sentinel://" + sentinel.Addr + "/0?master_name=mymaster"
	openURL(t, base+"&password="+password)
	wantCheckError(t, base+"&password=wrong-pw", "redis+sentinel://"+sentinel.Addr+"/0", "WRONGPASS")
	addr := freeAddr(t)
	wantCheckError(t, "redis+sentinel://"+addr+"/0?master_name=mymaster&password="+password, "redis+sentinel://"+addr+"/0")
	// A name the Sentinel does not know.
	wantCheckError(t, "redis+sentinel://"+sentinel.Addr+"/0?master_name=other&password="+password, "redis+sentinel://"+sentinel.Addr+"/0", "master_name")
}

// TestStartupCheckCluster checks a cluster URL: its nodes answer, or
// none can be reached.
func TestStartupCheckCluster(t *testing.T) {
	t.Parallel()
	c := testserver.RedisCluster(t, 1, 0)
	openURL(t, "redis+cluster://"+c.Masters[0].Addr)
	addr := freeAddr(t)
	wantCheckError(t, "redis+cluster://:"+password+"@"+addr, "redis+cluster://"+addr, "cannot reach")
}

// freeAddr returns a loopback address where nothing listens.
func freeAddr(t *testing.T) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(testserver.FreePort(t)))
}
