// Package urlsecret keeps the passwords of store URLs out of error
// messages. Package redis and package backends both report errors about
// URLs that may hold a password; both use it, so that they agree on what a
// secret is.
package urlsecret

import (
	"cmp"
	"net/url"
	"slices"
	"strings"
)

// AmbiguousUserInfo reports whether the user info of rawURL (what lies
// between "://" and the last "@") holds a "/", "?" or "#". Such a character
// ends the authority early: url.Parse reads the rest of the password as a
// path, options or a fragment, which an error message would then show (or,
// after "#", drops the host without a word). A URL without "://" has no
// user info.
func AmbiguousUserInfo(rawURL string) bool {
	_, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return false
	}
	at := strings.LastIndex(rest, "@")
	return at >= 0 && strings.ContainsAny(rest[:at], "/?#")
}

// Scrub returns msg with every secret of rawURL replaced by "xxxxx". The
// secrets are the password of the URL's user info and the values of its
// options whose name contains "password", each as written, decoded, and
// encoded as url.QueryEscape and url.PathEscape would. rawURL is read by
// hand, so a URL that url.Parse refuses is scrubbed too.
func Scrub(msg, rawURL string) string {
	for _, s := range secrets(rawURL) {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	return msg
}

// secrets returns the secrets of rawURL, longest first, so that no part of
// a longer one is left behind when a shorter one is replaced.
func secrets(rawURL string) []string {
	var out []string
	add := func(s string) {
		if s == "" {
			return
		}
		out = append(out, s, url.QueryEscape(s), url.PathEscape(s))
		if d, err := url.PathUnescape(s); err == nil && d != s {
			out = append(out, d, url.QueryEscape(d), url.PathEscape(d))
		}
	}
	_, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		rest = rawURL
	}
	// The password is what follows the first ":" of the user info, which
	// ends at the last "@" of the authority; a password with an unescaped
	// "/" ends the authority early, so take the last "@" of the whole
	// rest as well.
	password := func(s string) {
		if at := strings.LastIndex(s, "@"); at >= 0 {
			if _, pw, ok := strings.Cut(s[:at], ":"); ok {
				add(pw)
			}
		}
	}
	authority, _, _ := strings.Cut(rest, "/")
	password(authority)
	password(rest)
	if _, query, ok := strings.Cut(rest, "?"); ok {
		query, _, _ = strings.Cut(query, "#")
		q, _ := url.ParseQuery(query) // the options that parse, even if some do not
		for k, vs := range q {
			if strings.Contains(strings.ToLower(k), "password") {
				for _, v := range vs {
					add(v)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b))
	})
	return slices.Compact(out)
}
