package urlsecret

import (
	"strings"
	"testing"
)

func TestAmbiguousUserInfo(t *testing.T) {
	for raw, want := range map[string]bool{
		"redis://u:pw@host:6379/0":         false,
		"redis://host:6379/0":              false,
		"redis://:p@ss@host":               false, // the last "@" ends it
		"redis://u:12/45@host":             true,
		"redis://u:12?45@host":             true,
		"redis://u:12#45@host":             true,
		"redis://u:12%2F45@host":           false,
		"memcached://host/path@x":          true, // a "/" before the last "@"
		"redis://host:6379/0?x=1":          false,
		"u:12/45@host":                     false, // no "://", no user info
		"unix://u:pw@/run/redis.sock?db=1": false,
	} {
		if got := AmbiguousUserInfo(raw); got != want {
			t.Errorf("AmbiguousUserInfo(%q) = %v, want %v", raw, got, want)
		}
	}
}

func TestScrub(t *testing.T) {
	for _, tc := range []struct {
		url     string
		secrets []string // none may remain in the scrubbed message
	}{
		{"redis://u:hunter2@host:6379/0", []string{"hunter2"}},
		{"redis://:hunter2@host", []string{"hunter2"}},
		{"redis://u:p@ss@host", []string{"p@ss"}},
		{"redis://u:hunter2%2Fx@host", []string{"hunter2%2Fx", "hunter2/x"}},
		{"redis://u:hunter2/x@host", []string{"hunter2/x", "hunter2%2Fx"}},
		{"redis://u:hunter2?x@host", []string{"hunter2?x", "hunter2%3Fx"}},
		{"redis://u:hunter2@h/0?addr=x@y", []string{"hunter2"}},
		{"redis://u:hunter2@[::1", []string{"hunter2"}},   // url.Parse refuses it
		{"u:hunter2@localhost:6379", []string{"hunter2"}}, // no scheme
		{"redis+sentinel://h?password=hunter2&sentinel_password=s3cr%20t", []string{"hunter2", "s3cr t", "s3cr%20t", "s3cr+t"}},
		{"redis://h?Password=hunter2&x=%zz", []string{"hunter2"}}, // another option does not parse
		{"redis://u:hunter2@h?password=hunter2ab", []string{"hunter2", "hunter2ab"}},
	} {
		msg := "error about " + tc.url + ": " + strings.Join(tc.secrets, " and ")
		got := Scrub(msg, tc.url)
		for _, s := range tc.secrets {
			if strings.Contains(got, s) {
				t.Errorf("Scrub(%q) = %q shows %q", tc.url, got, s)
			}
		}
		if strings.Contains(got, "xxxxxab") {
			t.Errorf("Scrub(%q) = %q left part of a longer secret", tc.url, got)
		}
		if !strings.HasPrefix(got, "error about ") {
			t.Errorf("Scrub(%q) = %q changed what is not a secret", tc.url, got)
		}
	}
	if got := Scrub("redis://host:6379 refused", "redis://host:6379"); got != "redis://host:6379 refused" {
		t.Errorf("Scrub without secrets = %q", got)
	}
}
