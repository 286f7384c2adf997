package gincontrib

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/bradfitz/gomemcache/memcache"
	ginsessions "github.com/gin-contrib/sessions"
	gincookie "github.com/gin-contrib/sessions/cookie"
	ginmemcached "github.com/gin-contrib/sessions/memcached"
	ginredis "github.com/gin-contrib/sessions/redis"
	"github.com/gin-gonic/gin"
)

// secretNote is a type that only the legacy program registers with gob:
// this test process never does (only TestLegacyProcess, in a child
// process, calls gob.Register on it).
type secretNote struct{ Text string }

const legacyProcessEnv = "GINCONTRIB_LEGACY_PROCESS"

// TestLegacyProcess is the legacy program of TestUnregisteredGobType, run
// in a child process: it registers secretNote, logs in on the store that
// the environment names (cookie, redis or memcached, at an address),
// sets a secretNote value, and prints the session cookie. Run directly,
// it does nothing.
func TestLegacyProcess(t *testing.T) {
	spec := os.Getenv(legacyProcessEnv)
	if spec == "" {
		return
	}
	gob.Register(secretNote{})
	kind, addr, _ := strings.Cut(spec, ",")
	var store ginsessions.Store
	switch kind {
	case "cookie":
		store = gincookie.NewStore(hashA, blockA)
	case "redis":
		var err error
		if store, err = ginredis.NewStore(4, "tcp", addr, "", "", hashA, blockA); err != nil {
			t.Fatal(err)
		}
	case "memcached":
		store = ginmemcached.NewStore(memcache.New(addr), memcachedPrefix, hashA, blockA)
	default:
		t.Fatalf("unknown store %q", kind)
	}
	app := gin.New()
	app.Use(ginsessions.Sessions(cookieName, store))
	app.POST("/login", func(c *gin.Context) {
		s := ginsessions.Default(c)
		s.Set("user", "alice")
		s.Set("note", secretNote{Text: "only the old program knows this type"})
		if err := s.Save(); err != nil {
			c.String(500, err.Error())
		}
	})
	fmt.Printf("COOKIE\t%s\n", login(t, app).Value)
}

// TestUnregisteredGobType: the legacy program stored a value of a type it
// registered with gob and this program does not. Find returns an error
// wrapping ErrUndecodable that names the type; nothing panics, and no
// half-read session comes back.
func TestUnregisteredGobType(t *testing.T) {
	s := startServers(t)
	for _, k := range kinds(s) {
		t.Run(k.name, func(t *testing.T) {
			addr := map[string]string{"redis": s.redis.Addr, "memcached": s.memcache.Addr}[k.name]
			cmd := exec.Command(os.Args[0], "-test.run=^TestLegacyProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), legacyProcessEnv+"="+k.name+","+addr)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("legacy process: %v\n%s%s", err, out, stderr.Bytes())
			}
			var value string
			for sc := bufio.NewScanner(bytes.NewReader(out)); sc.Scan(); {
				if v, ok := strings.CutPrefix(sc.Text(), "COOKIE\t"); ok {
					value = v
				}
			}
			if value == "" {
				t.Fatalf("the legacy process printed no cookie:\n%s", out)
			}
			l, err := k.reader(pairs(hashA, blockA)).Find(t.Context(), request(&http.Cookie{Name: cookieName, Value: value}))
			if l != nil || !errors.Is(err, ErrUndecodable) {
				t.Fatalf("Find = %v, %v; want an error wrapping ErrUndecodable", l, err)
			}
			if !strings.Contains(err.Error(), "not registered") || !strings.Contains(err.Error(), "gincontrib.secretNote") {
				t.Errorf("error %q does not say which type is not registered", err)
			}
		})
	}
}
