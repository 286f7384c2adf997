package backends_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/backends"
	"github.com/sessionware/sessions/internal/testapp"
	"github.com/sessionware/sessions/internal/testserver"
	"github.com/sessionware/sessions/memory"
	"github.com/sessionware/sessions/redis"
	"github.com/sessionware/sessions/storetest"
)

// secret is a password or key that no error message may contain.
const secret = "hunter2-Pa55"

// openCase is one URL given to Open.
type openCase struct {
	name string
	url  string
	keys []string // Config.Keys
	// On success, the store's type; on failure, substrings the error must
	// contain.
	wantType string
	wantErr  []string
}

// runOpenCases opens every case through Config.Open and checks the result.
func runOpenCases(t *testing.T, cases []openCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := backends.Config{Store: tc.url, Keys: tc.keys}.Open()
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Open(%q): %v", tc.url, err)
				}
				if got := fmt.Sprintf("%T", s); got != tc.wantType {
					t.Errorf("Open(%q) gave a %s, want %s", tc.url, got, tc.wantType)
				}
				c, ok := s.(io.Closer)
				if _, sealer := s.(sessions.Sealer); !ok && !sealer {
					t.Fatalf("Open(%q) gave a %T, a server store that is not an io.Closer", tc.url, s)
				}
				if ok {
					if err := c.Close(); err != nil {
						t.Errorf("Close: %v", err)
					}
				}
				return
			}
			if err == nil {
				if c, ok := s.(io.Closer); ok {
					c.Close()
				}
				t.Fatalf("Open(%q) succeeded, want an error containing %q", tc.url, tc.wantErr)
			}
			if s != nil {
				t.Errorf("Open(%q) returned a store and an error", tc.url)
			}
			checkConfigErr(t, err, tc.wantErr...)
		})
	}
}

// checkConfigErr checks that err wraps ErrConfig, contains want and no
// secret.
func checkConfigErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if !errors.Is(err, backends.ErrConfig) {
		t.Errorf("error %q does not wrap ErrConfig", err)
	}
	msg := err.Error()
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not contain %q", msg, w)
		}
	}
	for _, s := range []string{secret, "hunter2", "Pa55"} {
		if strings.Contains(msg, s) {
			t.Errorf("error %q reveals a secret", msg)
		}
	}
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error %q spans several lines", msg)
	}
}

func TestOpenMemory(t *testing.T) {
	const typ = "*memory.Store"
	runOpenCases(t, []openCase{
		{name: "Default", url: "", wantType: typ},
		{name: "Plain", url: "memory://", wantType: typ},
		{name: "Slash", url: "memory:///", wantType: typ},
		{name: "UpperCaseScheme", url: "MEMORY://", wantType: typ},
		{name: "Spaces", url: "  memory://  ", wantType: typ},
		{name: "Options", url: "memory://?max_entries=10000&cleanup=30s", wantType: typ},
		{name: "NoCleanup", url: "memory://?cleanup=0", wantType: typ},
		{name: "Unbounded", url: "memory://?max_entries=0", wantType: typ},
		{name: "KeysIgnored", url: "memory://", keys: []string{"not even base64"}, wantType: typ},

		{name: "UnknownOption", url: "memory://?size=10", wantErr: []string{`unknown option "size"`, "accepted: max_entries (", "cleanup ("}},
		{name: "NegativeMaxEntries", url: "memory://?max_entries=-1", wantErr: []string{"max_entries", `"-1"`, "out of range", "integer ≥ 0"}},
		{name: "MaxEntriesNotANumber", url: "memory://?max_entries=lots", wantErr: []string{"max_entries", "not an integer"}},
		{name: "MaxEntriesEmpty", url: "memory://?max_entries=", wantErr: []string{"max_entries", "not an integer"}},
		{name: "CleanupWithoutUnit", url: "memory://?cleanup=5", wantErr: []string{"cleanup", "not a duration", "30s"}},
		{name: "NegativeCleanup", url: "memory://?cleanup=-1s", wantErr: []string{"cleanup", "out of range"}},
		{name: "RepeatedOption", url: "memory://?max_entries=1&max_entries=2", wantErr: []string{"max_entries is given 2 times"}},
		{name: "Host", url: "memory://localhost", wantErr: []string{"nothing may follow", "memory://?max_entries=N&cleanup=DURATION"}},
		{name: "Fragment", url: "memory://#x", wantErr: []string{"fragment"}},
		{name: "MalformedQuery", url: "memory://?max_entries=%zz", wantErr: []string{"malformed options", "accepted: max_entries"}},
	})
}

func TestOpenSchemes(t *testing.T) {
	runOpenCases(t, []openCase{
		{name: "UnknownScheme", url: "mysql://localhost/sessions", wantErr: []string{`unknown store scheme "mysql"`, "accepted: memory://, cookie://, memcached://, redis://, rediss://"}},
		{name: "UnknownSchemeWithPassword", url: "postgres://u:" + secret + "@db/x", wantErr: []string{`"postgres"`, "accepted: memory://"}},
		{name: "NoScheme", url: "localhost:6379", wantErr: []string{`scheme followed by "://"`, "accepted: memory://"}},
		{name: "NoSchemeWithPassword", url: ":" + secret + "@localhost:6379", wantErr: []string{`scheme followed by "://"`}},
		{name: "EmptyScheme", url: "://x", wantErr: []string{`scheme followed by "://"`}},
		{name: "ControlCharacters", url: "evil\n\rlog://", wantErr: []string{`unknown store scheme "evil??log"`}},
		{name: "SchemeTypo", url: "memroy://", wantErr: []string{`"memroy"`, "memory://"}},
	})
}

func TestOpenRedis(t *testing.T) {
	const typ = "*redis.Store"
	runOpenCases(t, []openCase{
		// check=false: nothing listens at these addresses (redis_test.go
		// checks the start-up check).
		{name: "Plain", url: "redis://127.0.0.1:6379?check=false", wantType: typ},
		{name: "DB", url: "redis://127.0.0.1:6379/2?check=false", wantType: typ},
		{name: "Password", url: "redis://:" + secret + "@127.0.0.1:6379/0?check=false", wantType: typ},
		{name: "Prefix", url: "redis://127.0.0.1:6379?prefix=shop:&dial_timeout=1s&check=false", wantType: typ},
		{name: "MaxRecord", url: "redis+cluster://127.0.0.1:7000?max_record=2097152&addr=127.0.0.1:7001&check=false", wantType: typ},
		{name: "TLS", url: "rediss://user:" + secret + "@redis.example.com:6380?check=false", wantType: typ},
		{name: "Unix", url: "unix:///run/redis.sock?db=1&check=false", wantType: typ},
		{name: "Cluster", url: "redis+cluster://127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002&check=false", wantType: typ},
		{name: "Sentinel", url: "redis+sentinel://127.0.0.1:26379/0?master_name=mymaster&addr=127.0.0.1:26380&check=false", wantType: typ},
		{name: "Wait", url: "redis+sentinel://127.0.0.1:26379/0?master_name=mymaster&wait=1&wait_timeout=200ms&check=false", wantType: typ},

		{name: "UnknownOption", url: "redis://:" + secret + "@127.0.0.1:6379/0?bogus=1", wantErr: []string{"bogus", "accepted: prefix, max_record (", "go-redis's URL options", "dial_timeout"}},
		{name: "BadDB", url: "redis://:" + secret + "@127.0.0.1:6379/notadb", wantErr: []string{"notadb"}},
		{name: "EmptyPrefix", url: "redis://127.0.0.1:6379?prefix=", wantErr: []string{"prefix"}},
		{name: "ZeroMaxRecord", url: "redis://:" + secret + "@127.0.0.1:6379?max_record=0", wantErr: []string{"max_record", "from 1 to 536870912"}},
		{name: "PasswordOption", url: "redis+sentinel://127.0.0.1:26379/0?master_name=m&password=" + secret + "&bogus=1", wantErr: []string{"bogus"}},
		{name: "SentinelWithoutMaster", url: "redis+sentinel://127.0.0.1:26379", wantErr: []string{"master_name"}},
		{name: "BadCheck", url: "redis://:" + secret + "@127.0.0.1:6379?check=no-thanks", wantErr: []string{"invalid check", "true or false"}},
		{name: "BadWait", url: "redis://:" + secret + "@127.0.0.1:6379?wait=all", wantErr: []string{"invalid wait", "the replicas each write waits for"}},
		{name: "MalformedWithPassword", url: "redis://:" + secret + "@127.0.0.1:port/0", wantErr: []string{"redis"}},
		{name: "EscapedPassword", url: "redis://:hunter2%2FPa55@127.0.0.1:6379/x", wantErr: []string{"redis"}},
	})
}

func TestOpenEmptyURL(t *testing.T) {
	for _, u := range []string{"", "   "} {
		s, err := backends.Open(u)
		if err == nil {
			s.(io.Closer).Close()
			t.Fatalf("Open(%q) succeeded; want an error (Config{} means memory://, Open(\"\") is a mistake)", u)
		}
		checkConfigErr(t, err, "empty", "accepted: memory://")
	}
}

func TestOpenMemoryIsUsable(t *testing.T) {
	storetest.Run(t, func(t *testing.T) sessions.Backend {
		s, err := backends.Open("memory://?cleanup=1s")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.(io.Closer).Close() })
		return s
	})
}

func TestOpenRedisIsUsable(t *testing.T) {
	srv := testserver.Redis(t)
	s, err := backends.Open("redis://" + srv.Addr + "/0?prefix=backends-test:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.(io.Closer).Close() })
	if _, ok := s.(sessions.Toucher); !ok {
		t.Errorf("the Redis store lost its Touch method: %T", s)
	}
	roundTrip(t, s)
	keys, err := s.(*redis.Store).Client().Keys(t.Context(), "*").Result()
	if err != nil || len(keys) != 1 || !strings.HasPrefix(keys[0], "backends-test:") {
		t.Errorf("keys in Redis = %q (%v), want one with the prefix backends-test:", keys, err)
	}
}

// TestOpenRedisMaxRecord checks that max_record reaches the store.
func TestOpenRedisMaxRecord(t *testing.T) {
	srv := testserver.Redis(t)
	saveEdge(t, "redis://"+srv.Addr+"?max_record=10", 10)
	saveEdge(t, "redis://"+srv.Addr, redis.DefaultMaxRecordSize)
}

// roundTrip stores a value in a session through real HTTP and reads it
// back with the cookie.
func roundTrip(t *testing.T, store sessions.Backend) {
	t.Helper()
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.Use(sessions.Sessions("session", store))
	r.POST("/", func(c *gin.Context) {
		sessions.Default(c).Set("n", 42)
		c.Status(http.StatusNoContent)
	})
	r.GET("/", func(c *gin.Context) {
		n, _ := sessions.Get[int](sessions.Default(c), "n")
		c.String(http.StatusOK, "%d", n)
	})
	a := testapp.New(t, r)
	if resp, _ := a.Do("POST", "/"); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST: %s", resp.Status)
	}
	if resp, body := a.Do("GET", "/"); resp.StatusCode != http.StatusOK || body != "42" {
		t.Fatalf("GET: %s %q, want 200 \"42\"", resp.Status, body)
	}
}

func TestStoresKeepTheirInterfaces(t *testing.T) {
	s, err := backends.Open("memory://")
	if err != nil {
		t.Fatal(err)
	}
	defer s.(io.Closer).Close()
	if _, ok := s.(*memory.Store); !ok {
		t.Errorf("memory:// gave a %T, want *memory.Store", s)
	}
	if _, ok := s.(sessions.Toucher); !ok {
		t.Errorf("memory:// lost Touch")
	}
}

func TestFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name, store, keys string
		want              backends.Config
		scheme            string
	}{
		{name: "Unset", want: backends.Config{}, scheme: "memory"},
		{name: "Memcached", store: "memcached://a:11211,b:11211", want: backends.Config{Store: "memcached://a:11211,b:11211"}, scheme: "memcached"},
		{name: "OneKey", store: "cookie://", keys: "k1", want: backends.Config{Store: "cookie://", Keys: []string{"k1"}}, scheme: "cookie"},
		{name: "KeysWithSpaces", store: "Cookie://", keys: " k1 , k2,,k3 ", want: backends.Config{Store: "Cookie://", Keys: []string{"k1", "k2", "k3"}}, scheme: "cookie"},
		{name: "NoScheme", store: "localhost", want: backends.Config{Store: "localhost"}, scheme: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(backends.EnvStore, tc.store)
			t.Setenv(backends.EnvKeys, tc.keys)
			got := backends.FromEnv()
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("FromEnv() = %#v, want %#v", got.Keys, tc.want.Keys)
				t.Errorf("FromEnv().Store = %q, want %q", got.Store, tc.want.Store)
			}
			if s := got.Scheme(); s != tc.scheme {
				t.Errorf("Scheme() = %q, want %q", s, tc.scheme)
			}
		})
	}
}

func TestConfigFieldTags(t *testing.T) {
	for _, tc := range []struct{ field, json, yaml string }{
		{"Store", "store,omitempty", "store,omitempty"},
		{"Keys", "keys,omitempty", "keys,omitempty"},
	} {
		f, ok := reflect.TypeFor[backends.Config]().FieldByName(tc.field)
		if !ok {
			t.Fatalf("no field %s", tc.field)
		}
		if got := f.Tag.Get("json"); got != tc.json {
			t.Errorf("%s: json tag %q, want %q", tc.field, got, tc.json)
		}
		if got := f.Tag.Get("yaml"); got != tc.yaml {
			t.Errorf("%s: yaml tag %q, want %q", tc.field, got, tc.yaml)
		}
	}
	var c backends.Config
	if err := json.Unmarshal([]byte(`{"store": "memory://?max_entries=5", "keys": ["a", "b"]}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.Store != "memory://?max_entries=5" || !reflect.DeepEqual(c.Keys, []string{"a", "b"}) {
		t.Errorf("decoded %q %q", c.Store, c.Keys)
	}
}

func TestConfigPrintingHidesSecrets(t *testing.T) {
	c := backends.Config{
		Store: "redis://user:" + secret + "@cache:6379/0?password=" + secret + "&prefix=x",
		Keys:  []string{secret + "key1", secret + "key2"},
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "sessions", c)
	for _, out := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), fmt.Sprint(&c), logged.String()} {
		if strings.Contains(out, "hunter2") || strings.Contains(out, "key1") {
			t.Errorf("printed config reveals a secret: %s", out)
		}
		if !strings.Contains(out, "redis://cache:6379/0") {
			t.Errorf("printed config %s does not show the redacted URL redis://cache:6379/0", out)
		}
	}
	if !strings.Contains(fmt.Sprint(c), "keys=2 (hidden)") {
		t.Errorf("String() = %q, want it to count the keys", c)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "memory://",
		"memory://?max_entries=5": "memory://",
		"REDIS://u:" + secret + "@h:1/2?x=y#frag": "redis://h:1/2",
		"redis://:p@ss@h:1":                       "redis://h:1",
		"memcached://a:1,b:2?prefix=p":            "memcached://a:1,b:2",
		"nonsense":                                "(unparsable URL)",
		"x://a\nb":                                "x://a?b",
	} {
		if got := backends.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitKeys(t *testing.T) {
	for in, want := range map[string][]string{
		"":          nil,
		" , ,":      nil,
		"a":         {"a"},
		"a,b":       {"a", "b"},
		" a ,\tb\n": {"a", "b"},
	} {
		if got := backends.SplitKeys(in); !reflect.DeepEqual(got, want) {
			t.Errorf("SplitKeys(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPasswordsWithReservedCharactersNeverLeak(t *testing.T) {
	for _, raw := range []string{
		"redis://:S3cret#Pw@localhost:6379",
		"redis://:S3cret?Pw@localhost:6379",
		"redis://user:12345#Pw@localhost:6379",
		"redis://user:12345?Pw@localhost:6379",
		"redis://user:12/45Pw@localhost:6379",
		"memory://:S3cretPw@localhost:6379",
		"memcached://:S3cret?Pw@localhost:11211",
	} {
		_, err := backends.Open(raw)
		if err == nil {
			t.Errorf("Open(%q) succeeded", raw)
			continue
		}
		for _, secret := range []string{"S3cret", "Pw@", "12345", "12/45"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("Open(%q): the error shows %q: %v", raw, secret, err)
			}
			if strings.Contains(backends.Redact(raw), secret) {
				t.Errorf("Redact(%q) = %q shows %q", raw, backends.Redact(raw), secret)
			}
		}
	}
}
