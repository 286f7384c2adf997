package sessions

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestParseID(t *testing.T) {
	id, key := newID()
	raw, ok := parseID(id)
	if !ok {
		t.Fatalf("parseID rejects newID's %q", id)
	}
	if storeKey(&raw) != key {
		t.Fatal("the store key of a parsed ID differs from newID's")
	}
	if want, _ := base64.RawURLEncoding.DecodeString(id); string(raw[:]) != string(want) {
		t.Fatal("parseID decodes differently from encoding/base64")
	}
	seen := map[string]bool{}
	for range 1000 {
		id, _ := newID()
		if seen[id] {
			t.Fatal("newID repeated itself")
		}
		seen[id] = true
	}
	for _, bad := range []string{
		"", id[:42], id + "A", strings.Repeat("A", 42) + "B", // non-canonical last character
		strings.Repeat("A", 42) + "=", strings.Repeat("+", 43), strings.Repeat("/", 43),
		strings.Repeat("A", 42) + "\x00", strings.Repeat("é", 21) + "A",
	} {
		if _, ok := parseID(bad); ok {
			t.Errorf("parseID accepts %q", bad)
		}
	}
}

func FuzzParseID(f *testing.F) {
	id, _ := newID()
	f.Add(id)
	f.Add(strings.Repeat("A", 43))
	f.Fuzz(func(t *testing.T, s string) {
		raw, ok := parseID(s)
		want, err := base64.RawURLEncoding.Strict().DecodeString(s)
		strict := err == nil && len(want) == 32 && len(s) == idLen
		if ok != strict {
			t.Fatalf("parseID(%q) = %v, encoding/base64 strict says %v", s, ok, strict)
		}
		if ok && string(raw[:]) != string(want) {
			t.Fatalf("parseID(%q) decodes differently", s)
		}
	})
}
