// Command mutate checks that the tests catch the mistakes that matter: it
// applies each mutation below to the source, one at a time, runs the tests
// named for it, and expects them to fail. It restores every file it
// changed, also when interrupted. Run it from the repository root:
//
//	go run ./scripts/mutate            every mutation
//	go run ./scripts/mutate lifetime   those whose name contains "lifetime"
//
// It needs the test servers the tests start (make deps).
package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"time"
)

// mutation is one code change that a test must catch.
type mutation struct {
	name     string
	file     string // relative to the repository root
	old, new string // old must occur exactly once in file
	pkgs     []string
	dir      string // where go test runs, relative to the repository root: a module of its own (otel); default the root
	run      string // go test -run pattern
	timeout  string // go test -timeout, for a mutation that makes a test hang; default 60s
}

var mutations = []mutation{
	{
		name: "budget: a fired Done timer goes back to the pool",
		file: "commitctx.go",
		old:  "\tif dt.t.Stop() {\n\t\tdoneTimers.Put(dt)",
		new:  "\tif dt.t.Stop() || true {\n\t\tdoneTimers.Put(dt)",
		pkgs: []string{"."}, run: "TestDoneTimersAreReusedOnlyOpen",
	},
	{
		name: "budget: a pooled Done timer is not armed again",
		file: "commitctx.go",
		old:  "\t\tdt.t.Reset(d)\n",
		new:  "\n",
		pkgs: []string{"."}, run: "TestDoneTimersAreReusedOnlyOpen|TestStoreCallsShareOneBudget",
	},
	{
		name: "renew: an unknown outcome deletes the new record",
		file: "persist_server.go",
		old:  "\t\tif !errors.Is(err, ErrConflict) {\n\t\t\t// The swap may have landed",
		new:  "\t\tif false {\n\t\t\t// The swap may have landed",
		pkgs: []string{"."}, run: "TestRenewWithAnUnknownOutcome",
	},
	{
		name: "renew: the error answer drops the new cookie",
		file: "response.go",
		old:  "\tif !s.keepCookie {\n\t\ts.dropCookie(h)",
		new:  "\tif true {\n\t\ts.dropCookie(h)",
		pkgs: []string{"."}, run: "TestRenewWithAnUnknownOutcome",
	},
	{
		name: "owners: a session that changed owner is still listed",
		file: "owners.go",
		old:  "if o, h, ok := m.ownerOf(&rec); !ok || o != owner || h != d.handle {",
		new:  "if o, h, ok := m.ownerOf(&rec); false && (!ok || o != owner || h != d.handle) {",
		pkgs: []string{"./memory/"}, run: "TestConformance/HTTP/SignOut",
	},
	{
		name: "observer: every Destroy counted as a session ended",
		file: "commit.go",
		old:  "ended := s.ops&opDestroy != 0 && (s.oldKey != \"\" || isSealed && s.clientCookie)",
		new:  "ended := s.ops&opDestroy != 0 || isSealed",
		pkgs: []string{"."}, run: "TestDestroyedCountsSessionsEnded",
	},
	{
		name: "owners: a load does not check the owner's index",
		file: "persist_server.go",
		old:  "err != nil || !listed {",
		new:  "err != nil || !listed && false {",
		pkgs: []string{"./memory/"}, run: "TestConformance/HTTP/(SignOut|LostOwner)",
	},
	{
		name: "owners: Renew leaves the index entry at the old key",
		file: "commit.go",
		old:  "enroll := s.ops&(opEnroll|opRenew) != 0",
		new:  "enroll := s.ops&(opEnroll) != 0",
		pkgs: []string{"./memory/"}, run: "TestConformance/HTTP/SignOut",
	},
	{
		name: "owners: a revocation keeps the others in the index",
		file: "owners.go",
		old:  "\t\t\tif drop(d.handle, mine) {",
		new:  "\t\t\tkept = append(kept, d)\n\t\t\tif drop(d.handle, mine) {",
		pkgs: []string{"./memory/"}, run: "TestConformance/HTTP/SignOut",
	},
	{
		name: "migration: a legacy session migrated again",
		file: "migration.go",
		old:  "\tif !first {\n\t\treturn // migrated before",
		new:  "\tif !first && false {\n\t\treturn // migrated before",
		pkgs: []string{"."}, run: "TestMigration|TestLogoutBeforeMigration",
	},
	{
		name: "migration: logout does not end the legacy session",
		file: "session.go",
		old:  "\t\ts.endingLegacy = s.legacy()\n",
		new:  "\n",
		pkgs: []string{"."}, run: "TestMigration|TestLogoutBeforeMigration",
	},
	{
		name: "migration: a failed claim is not a failed load",
		file: "migration.go",
		old:  "\tif err != nil {\n\t\ts.data, s.err = loadFailed",
		new:  "\tif false {\n\t\ts.data, s.err = loadFailed",
		pkgs: []string{"."}, run: "TestMigrationWhileTheStoreIsDown",
	},
	{
		name: "features: flash categories share one list",
		file: "session.go",
		old:  "return flashKey + \":\" + category[0]",
		new:  "return flashKey",
		pkgs: []string{"./memory/"}, run: "TestConformance/HTTP/FlashCategories",
	},
	{
		name: "features: WithPersist(false) ignored",
		file: "meta.go",
		old:  "\treturn m.cfg.persist\n",
		new:  "\treturn true\n",
		pkgs: []string{"./memory/"}, run: "TestConformance/HTTP/BrowserSessionCookies",
	},
	{
		name: "features: RememberMe does not resend the cookie",
		file: "persist_server.go",
		old:  "if s.isNew || s.ops&(opRenew|opResend) != 0 {",
		new:  "if s.isNew || s.ops&(opRenew) != 0 {",
		pkgs: []string{"./memory/"}, run: "TestConformance/HTTP/RememberMe",
	},
	{
		name: "features: SetLifetime not enforced",
		file: "meta.go",
		old:  "\t\t\treturn time.UnixMilli(ms)\n",
		new:  "\t\t\t_ = ms\n",
		pkgs: []string{"./memory/", "./cookie/"}, run: "TestConformance/HTTP/SetLifetime",
	},
	{
		name: "features: the header token ignored",
		file: "httpcookie.go",
		old:  "\t\t\ts.viaHeader = true\n",
		new:  "\t\t\ts.viaHeader = false\n",
		pkgs: []string{"./memory/"}, run: "TestConformance/HTTP/HeaderTokens",
	},
	{
		name: "features: the header does not win over a cookie",
		file: "httpcookie.go",
		old:  "\t\t\t}\n\t\t\treturn\n\t\t}\n\t}\n\teachCookie(",
		new:  "\t\t\t}\n\t\t}\n\t}\n\teachCookie(",
		pkgs: []string{"./memory/"}, run: "TestConformance/HTTP/HeaderTokens",
	},
	{
		name: "budget: the commit gets the whole budget again",
		file: "commitctx.go",
		old:  "s.m.cfg.storeTimeout - s.sctx.spent",
		new:  "s.m.cfg.storeTimeout",
		pkgs: []string{"."}, run: "TestStoreCallsShareOneBudget",
	},
	{
		name: "budget: the handler's time counts against it",
		file: "load.go",
		old:  "\ts.endStoreCalls()\n\tif s.data == loaded && !found {",
		new:  "\tif s.data == loaded && !found {",
		pkgs: []string{"."}, run: "TestHandlerTimeDoesNotCountAgainstTheBudget",
	},
	{
		name: "lifetime check removed",
		file: "expiry.go",
		old:  "if !now.Before(m.expires(r)) {\n\t\treturn false\n\t}",
		new:  "",
		pkgs: []string{"."}, run: "TestAbsoluteLifetime",
	},
	{
		name: "idle refresh every idle/2 instead of idle/4",
		file: "expiry.go",
		old:  "min(idle/4, time.Minute)",
		new:  "min(idle/2, time.Minute)",
		pkgs: []string{"."}, run: "TestIdleRefresh",
	},
	{
		name: "Clear keeps keys a concurrent request added",
		file: "replay.go",
		old:  "if s.ops&opClear != 0 {",
		new:  "if false {",
		pkgs: []string{"."}, run: "TestClearRemovesKeysAConcurrentRequestAdded",
	},
	{
		name: "an empty session stored after Renew",
		file: "commit.go",
		old:  "write = false // never store an empty new session",
		new:  "",
		pkgs: []string{"."}, run: "TestRenewOfAnEmptyNewSessionStoresNothing",
	},
	{
		name: "Max-Age=0 sent to a client that had no cookie",
		file: "commit.go",
		old:  "s.ops&opDestroy != 0 && s.isNew && s.clientCookie",
		new:  "s.ops&opDestroy != 0 && s.isNew",
		pkgs: []string{"."}, run: "TestDestroyWithoutACookieSendsNoCookie",
	},
	{
		name: "compare-and-swap replay does not re-run Update functions",
		file: "replay.go",
		old:  "for _, fn := range sl.updates {\n\t\t\tv = fn(v)\n\t\t}",
		new:  "v = sl.val",
		pkgs: []string{"."}, run: "TestConcurrentUpdateReplaysOnConflict",
	},
	{
		name: "a moved session read as destroyed (Renew without a tombstone to follow)",
		file: "replay.go",
		old:  "if tomb.movedTo == \"\" {\n\t\t\ts.startNew(s.m.cfg.now())",
		new:  "if true {\n\t\t\ts.startNew(s.m.cfg.now())",
		pkgs: []string{"./memory/"}, run: "TestConformance/Races/UpdateLoadedBeforeRenew",
	},
	{
		name: "a Renew that lost to another Renew keeps its own ID",
		file: "replay.go",
		old:  "\t\t\ts.ops &^= opRenew\n",
		new:  "\n",
		pkgs: []string{"./memory/"}, run: "TestConformance/Races/TwoRenews",
	},
	{
		name: "commits bound to the request's cancellation",
		file: "commitctx.go",
		old:  "if !time.Now().Before(c.deadline) {",
		new:  "if c.parent.Err() != nil || !time.Now().Before(c.deadline) {",
		pkgs: []string{"./memory/"}, run: "TestConformance/Races/LogoutLandsWhenTheClientHangsUp",
	},
	{
		name: "no turns for a hot session's commits",
		file: "persist_server.go",
		old:  "if s.isNew { // a new session's random key races with nobody",
		new:  "if true {",
		pkgs: []string{"."}, run: "TestHotSessionLosesNothingAndTakesTurns",
	},
	{
		name: "queued commits of a hot session not carried along",
		file: "lane.go",
		old:  "if len(taken) == maxCombined || !w.s.combinable() {",
		new:  "if true {",
		pkgs: []string{"."}, run: "TestQueuedCommitsRideOnOneSave",
	},
	{
		name: "a carried request's panic takes its carrier down",
		file: "carry.go",
		old:  "if r := recover(); r != nil {\n\t\t\tpanicked = r",
		new:  "if r := recover(); r != nil {\n\t\t\tpanic(r)",
		pkgs: []string{"."}, run: "TestAPanicInAQueuedCommitStaysWithItsRequest",
	},
	{
		name: "a queued request waits past its commit timeout",
		file: "lane.go",
		old:  "\tcase <-ctx.Done():\n\t\tln.mu.Lock()",
		new:  "\tcase <-make(chan struct{}):\n\t\tln.mu.Lock()",
		pkgs: []string{"."}, run: "TestAQueuedCommitGivesUpAtItsTimeout", timeout: "5s",
	},
	{
		name: "lifetime check removed (every store)",
		file: "expiry.go",
		old:  "if !now.Before(m.expires(r)) {\n\t\treturn false\n\t}",
		new:  "",
		pkgs: []string{"./memory/", "./cookie/"}, run: "TestConformance/HTTP/LifetimeEndsAUsedSession",
	},
	{
		name: "idle refresh every idle/2 (every store)",
		file: "expiry.go",
		old:  "min(idle/4, time.Minute)",
		new:  "min(idle/2, time.Minute)",
		pkgs: []string{"./memory/", "./cookie/"}, run: "TestConformance/HTTP/RefreshAfterAQuarterOfTheIdleTimeout",
	},
	{
		name: "replay without Update functions (every store)",
		file: "replay.go",
		old:  "for _, fn := range sl.updates {\n\t\t\tv = fn(v)\n\t\t}",
		new:  "v = sl.val",
		pkgs: []string{"./memory/"}, run: "TestConformance/HTTP/UpdateAfterAConcurrentCommitIsReplayed",
	},
	{
		name: "a logout whose load failed is dropped",
		file: "session.go",
		old:  "if s.data == loadFailed && s.key != \"\" {",
		new:  "if false {",
		pkgs: []string{"."}, run: "TestLogoutLandsWhenTheLoadFailed",
	},
	{name: "memory:// max_entries parsed, not applied", file: "backends/memory.go", old: "opts = append(opts, memory.WithMaxEntries(n))", new: "_ = memory.WithMaxEntries(n)", pkgs: []string{"./backends/"}, run: "TestMemoryMaxEntriesIsApplied"},
	{name: "memory:// cleanup parsed, not applied", file: "backends/memory.go", old: "opts = append(opts, memory.WithCleanupInterval(d))", new: "_ = memory.WithCleanupInterval(d)", pkgs: []string{"./backends/"}, run: "TestMemoryCleanupIsApplied"},
	{name: "memcached:// timeout parsed, not applied", file: "backends/memcached.go", old: "opts = append(opts, memcached.WithTimeout(d))", new: "_ = memcached.WithTimeout(d)", pkgs: []string{"./backends/"}, run: "TestOpenMemcachedClientOptions"},
	{name: "memcached:// max_idle parsed, not applied", file: "backends/memcached.go", old: "opts = append(opts, memcached.WithMaxIdleConns(n))", new: "_ = memcached.WithMaxIdleConns(n)", pkgs: []string{"./backends/"}, run: "TestOpenMemcachedClientOptions"},
	{name: "memcached Open ignores WithTimeout", file: "memcached/options.go", old: "client.Timeout = o.timeout", new: "_ = o.timeout", pkgs: []string{"./backends/"}, run: "TestOpenMemcachedClientOptions"},
	{name: "memcached Open ignores WithMaxIdleConns", file: "memcached/options.go", old: "client.MaxIdleConns = o.maxIdleConns", new: "_ = o.maxIdleConns", pkgs: []string{"./backends/"}, run: "TestOpenMemcachedClientOptions"},
	{name: "memcached stamps never compacted", file: "memcached/store.go", old: "if stamps >= maxStamps {", new: "if false && stamps >= maxStamps {", pkgs: []string{"./memcached/"}, run: "TestTouchCompactsStamps"},
	{name: "memcached compaction overwrites a concurrent save", file: "memcached/store.go", old: "c = command{verb: verbCAS, key: k, item: it, ttl: ttl}", new: "c = command{verb: verbDelete, key: k}\n\t_ = s.exec(ctx, &c)\n\tc = command{verb: verbAdd, key: k, item: it, ttl: ttl}", pkgs: []string{"./memcached/"}, run: "TestCompactionLosesToASave"},
	{name: "memcached stamps its own clock", file: "memcached/store.go", old: "binary.BigEndian.PutUint64(stamp[:], uint64(at.UnixMilli()))", new: "binary.BigEndian.PutUint64(stamp[:], uint64(time.Now().UnixMilli()))", pkgs: []string{"./memcached/"}, run: "TestTouchKeepsDataAndStampsTime"},
	{name: "memcached reads the first stamp", file: "memcached/store.go", old: "binary.BigEndian.Uint64(v[len(v)-stampLen:])", new: "binary.BigEndian.Uint64(v[n:])", pkgs: []string{"./memcached/"}, run: "TestDecodesEarlierItems"},
	{name: "memory store stamps its own clock", file: "memory/memory.go", old: "deadline(now, ttl), at.UnixNano()", new: "deadline(now, ttl), now", pkgs: []string{"./memory/"}, run: "TestTouchRecordsTheGivenTime"},
	{name: "redis stamps its own clock", file: "redis/redis.go", old: "strconv.FormatInt(at.UnixMilli(), 10)", new: "strconv.FormatInt(time.Now().UnixMilli(), 10)", pkgs: []string{"./redis/"}, run: "TestLayout"},
	{name: "redis TTL rounded down", file: "redis/redis.go", old: "if ttl%time.Millisecond > 0 {", new: "if false {", pkgs: []string{"./redis/"}, run: "TestMillisRoundsUp"},
	{name: "registered backend's error shows the password", file: "backends/backends.go", old: "printable(urlsecret.Scrub(err.Error(), raw))", new: "printable(err.Error())", pkgs: []string{"./backends/"}, run: "TestRegisteredBackendErrorsAreConfigErrors"},
	{name: "only the first cookie of the name is tried", file: "httpcookie.go", old: "if v != \"\" && !yield(v) {", new: "if v != \"\" {\n\t\t\t\tyield(v)", pkgs: []string{"."}, run: "TestAPlantedCookieOfTheSameNameDoesNotHideTheSession"},
	{name: "a cookie path with ; accepted", file: "httpcookie.go", old: "c.path[0] != '/' || !cookieText(c.path)", new: "c.path[0] != '/'", pkgs: []string{"."}, run: "TestCookieAttributesThatWouldInjectPanicAtStartup"},
	{name: "a __Host- cookie without Secure accepted", file: "httpcookie.go", old: "case strings.HasPrefix(name, \"__Host-\") && (!c.secure || c.path != \"/\" || c.domain != \"\"):", new: "case false:", pkgs: []string{"."}, run: "TestCookieNamePrefixes"},
	{name: "a corrupt record answered 503", file: "load.go", old: "case errors.Is(err, ErrMalformed), errors.Is(err, ErrCorrupt):", new: "case errors.Is(err, ErrMalformed):", pkgs: []string{"."}, run: "TestACorruptRecordIsANewSessionNotAnOutage"},
	{name: "decoding allocates before checking", file: "codec.go", old: "if err := d.checkAny(0); err != nil || len(d.buf) != 0 {", new: "if false {", pkgs: []string{"."}, run: "TestHostileInputIsRefusedWithoutAllocating"},
	{name: "a map of duplicate keys accepted", file: "codec_decode.go", old: "if m.MapIndex(k).IsValid() {", new: "if false {", pkgs: []string{"."}, run: "TestDuplicateMapKeysAreRefused"},
	{name: "a record with a key twice accepted", file: "record.go", old: "if len(d.buf) != 0 || duplicateKeys(keyBytes, n) {", new: "if len(d.buf) != 0 {", pkgs: []string{"."}, run: "TestHostileInputIsRefusedWithoutAllocating"},
	{name: "exact types at any depth (types made from input, kept for good)", file: "codec_decode.go", old: "const maxTyped = 2", new: "const maxTyped = 64", pkgs: []string{"."}, run: "TestFreshDescriptorsKeepTheHeapFlat", timeout: "20s"},
	{name: "a logout while the store is down leaves the cookie", file: "response.go", old: "if s.ops&opDestroy != 0 && s.clientCookie {", new: "if false {", pkgs: []string{"."}, run: "TestLogoutWhileTheStoreIsDownExpiresTheCookie"},
	{name: "memory: unbounded by default", file: "memory/memory.go", old: "o := options{maxEntries: DefaultMaxEntries,", new: "o := options{maxEntries: 0,", pkgs: []string{"./memory/"}, run: "TestDefaultBound"},
	{name: "memory: the bound not kept", file: "memory/memory.go", old: "if sh.bound > 0 && len(sh.entries) >= sh.bound {", new: "if false {", pkgs: []string{"./memory/"}, run: "TestBoundHolds"},
	{name: "memory: the bound rounded up to 64 equal shards", file: "memory/evict.go", old: "if i < n%shardCount {", new: "if n%shardCount != 0 {", pkgs: []string{"./memory/"}, run: "TestBoundHolds"},
	{name: "memory: a Load does not protect the session", file: "memory/evict.go", old: "sh.protected.pushBack(e)\n\tsh.rebalance(now)", new: "sh.probation.pushBack(e)", pkgs: []string{"./memory/"}, run: "TestFloodDoesNotLogOutReturningUsers"},
	{name: "memory: a full shard evicts protected sessions first", file: "memory/evict.go", old: "e := sh.probation.front()\n\tif e == nil {", new: "e := sh.protected.front()\n\tif e == nil {\n\t\te = sh.probation.front()\n\t}\n\tif e == nil {", pkgs: []string{"./memory/"}, run: "TestFloodDoesNotLogOutReturningUsers"},
	{name: "memory: protected sessions sent back whatever their share", file: "memory/evict.go", old: "if sh.protected.len <= sh.protectedMax {", new: "if sh.protected.len == 0 {", pkgs: []string{"./memory/"}, run: "TestFloodDoesNotLogOutReturningUsers"},
	{name: "memory: protected sessions never sent back", file: "memory/evict.go", old: "if sh.protected.len <= sh.protectedMax {", new: "if true {", pkgs: []string{"./memory/"}, run: "TestTheLeastRecentlyLoadedGoesBackToProbation"},
	{name: "memory: protected kept in the order of promotion, not of the last Load", file: "memory/evict.go", old: "e.unlink()\n\te.loaded = now.mono\n\tsh.protected.pushBack(e)", new: "e.loaded = now.mono\n\tif e.list != &sh.protected {\n\t\te.unlink()\n\t\tsh.protected.pushBack(e)\n\t}", pkgs: []string{"./memory/"}, run: "TestTheLeastRecentlyLoadedGoesBackToProbation"},
	{name: "memory: a session in use sent back and evicted", file: "memory/evict.go", old: "return now.mono-e.loaded < sh.inUse && e.expires > now.wall", new: "return false", pkgs: []string{"./memory/"}, run: "TestASessionInUseIsNotEvicted"},
	{name: "memory: no in-use window by default", file: "memory/memory.go", old: "inUse: DefaultInUse,", new: "inUse: 0,", pkgs: []string{"./memory/"}, run: "TestASessionInUseIsNotEvicted"},
	{name: "memory: a shard full of sessions in use evicts one", file: "memory/evict.go", old: "if e == nil {\n\t\treturn false, false\n\t}", new: "if e == nil {\n\t\te = sh.protected.front()\n\t}", pkgs: []string{"./memory/"}, run: "TestASessionInUseIsNotEvicted"},
	{name: "memory: evictions not counted", file: "memory/memory.go", old: "s.evictions.Add(1)", new: "", pkgs: []string{"./memory/"}, run: "TestFloodDoesNotLogOutReturningUsers"},
	{name: "memory: refusals not counted", file: "memory/memory.go", old: "s.refused.Add(1)", new: "", pkgs: []string{"./memory/"}, run: "TestASessionInUseIsNotEvicted"},
	{name: "memory: a warning at every eviction", file: "memory/evict.go", old: "r.next.Store(int64(now.mono + reportEvery))", new: "", pkgs: []string{"./memory/"}, run: "TestEvictionsAreLogged"},
	{name: "memcached bad framing not ErrCorrupt (503 until the TTL)", file: "memcached/store.go", old: `(flags %d, %d bytes): %w", it.Key, it.Flags, len(it.Value), sessions.ErrCorrupt)`, new: `(flags %d, %d bytes): %v", it.Key, it.Flags, len(it.Value), sessions.ErrCorrupt)`, pkgs: []string{"./memcached/"}, run: "TestCorruptItemIsANewSession"},
	{name: "memcached stamps that are not whole accepted", file: "memcached/store.go", old: "n > uint64(len(it.Value)) || (uint64(len(it.Value))-n)%stampLen != 0", new: "n > uint64(len(it.Value))", pkgs: []string{"./memcached/"}, run: "TestCorruptItemIsANewSession/StampsNotWhole"},
	{name: "memcached max record size not checked on Load", file: "memcached/store.go", old: "if n > maxRecord {", new: "if false {", pkgs: []string{"./memcached/"}, run: "TestOversizedItemIsANewSession"},
	{name: "memcached max record size off by one on Load", file: "memcached/store.go", old: "if n > maxRecord {", new: "if n >= maxRecord {", pkgs: []string{"./memcached/"}, run: "TestMaxRecordSize"},
	{name: "memcached Save sends data over the max record size", file: "memcached/store.go", old: "if len(data) > s.maxRecord {", new: "if false {", pkgs: []string{"./memcached/"}, run: "TestMaxRecordSize"},
	{name: "memcached WithMaxRecordSize ignored", file: "memcached/store.go", old: "maxRecord: o.maxRecordSize()", new: "maxRecord: DefaultMaxRecordSize", pkgs: []string{"./memcached/"}, run: "TestMaxRecordSize/Option"},
	{name: "memcached WithMaxRecordSize(0) is not the default", file: "memcached/options.go", old: "if o.maxRecord <= 0 {", new: "if o.maxRecord < 0 {", pkgs: []string{"./memcached/"}, run: "TestMaxRecordSize/Default"},
	{name: "memcached reply for another key used", file: "memcached/store.go", old: "if it.Key != k {", new: "if false {", pkgs: []string{"./memcached/"}, run: "TestReplyForAnotherKey"},
	{name: "memcached reply for another key called corrupt", file: "memcached/store.go", old: `fmt.Errorf("%w: asked for %q, got %q", errOtherKey, k, it.Key)`, new: `fmt.Errorf("%w: asked for %q, got %q", sessions.ErrCorrupt, k, it.Key)`, pkgs: []string{"./memcached/"}, run: "TestReplyForAnotherKey"},
	{name: "memcached reply for another key not retried", file: "memcached/errors.go", old: "!brokenConn(err) && !errors.Is(err, errOtherKey)", new: "!brokenConn(err)", pkgs: []string{"./memcached/"}, run: "TestReplyForAnotherKey"},
	{name: "memcached gat for another key stamped", file: "memcached/command.go", old: "if it, err = s.client.GetAndTouch(k, exp); err == nil {", new: "if it, err = s.client.GetAndTouch(k, exp); false {", pkgs: []string{"./memcached/"}, run: "TestReplyForAnotherKey"},
	{name: "memcached transport errors called corrupt", file: "memcached/store.go", old: "\t\treturn sessions.Record{}, err\n\t}\n\treturn decode(it, s.maxRecord)", new: "\t\treturn sessions.Record{}, fmt.Errorf(\"%w: %w\", sessions.ErrCorrupt, err)\n\t}\n\treturn decode(it, s.maxRecord)", pkgs: []string{"./memcached/"}, run: "TestReplyCutOffInTransit"},
	{name: "memcached:// max_record parsed, not applied", file: "backends/memcached.go", old: "opts = append(opts, memcached.WithMaxRecordSize(n))", new: "_ = memcached.WithMaxRecordSize(n)", pkgs: []string{"./backends/"}, run: "TestOpenMemcachedMaxRecord"},
	{name: "redis WRONGTYPE not ErrCorrupt (503 until the TTL)", file: "redis/redis.go", old: `if goredis.HasErrorPrefix(err, "WRONGTYPE") {`, new: "if false {", pkgs: []string{"./redis/"}, run: "TestCorruptKeyIsANewSession/String"},
	{name: "redis every server error called corrupt", file: "redis/redis.go", old: `goredis.HasErrorPrefix(err, "WRONGTYPE")`, new: `goredis.HasErrorPrefix(err, "")`, pkgs: []string{"./redis/"}, run: "TestServerAndNetworkErrorsAreNotCorruption"},
	{name: "redis transport errors called corrupt", file: "redis/redis.go", old: "\t\treturn sessions.Record{}, err\n\t}\n\tif len(vals) != 3 {", new: "\t\treturn sessions.Record{}, fmt.Errorf(\"%w: %w\", sessions.ErrCorrupt, err)\n\t}\n\tif len(vals) != 3 {", pkgs: []string{"./redis/"}, run: "TestReplyCutOffInTransit"},
	{name: "redis unreadable hash not ErrCorrupt (503 until the TTL)", file: "redis/redis.go", old: `"redis: key %q holds %s: %w", k, holds, sessions.ErrCorrupt)`, new: `"redis: key %q holds %s: %v", k, holds, sessions.ErrCorrupt)`, pkgs: []string{"./redis/"}, run: "TestCorruptKeyIsANewSession/NoVersion"},
	{name: "redis hash without data read as no session", file: "redis/redis.go", old: `return sessions.Record{}, corrupt(k, "a hash without data")`, new: "return sessions.Record{}, sessions.ErrNotFound", pkgs: []string{"./redis/"}, run: "TestCorruptKeyIsANewSession/NoData"},
	{name: "redis version 0 accepted", file: "redis/redis.go", old: "if err != nil || version == 0 {", new: "if err != nil {", pkgs: []string{"./redis/"}, run: "TestCorruptKeyIsANewSession/VersionZero"},
	{name: "redis bad touch time ignored", file: "redis/redis.go", old: "ms, err := strconv.ParseInt(ts, 10, 64)\n\t\tif err != nil {", new: "ms, err := strconv.ParseInt(ts, 10, 64)\n\t\tif false && err != nil {", pkgs: []string{"./redis/"}, run: "TestCorruptKeyIsANewSession/TouchTimeNotANumber"},
	{name: "redis max record size not checked on Load", file: "redis/redis.go", old: "if len(data) > s.maxRecord {\n\t\treturn sessions.Record{}", new: "if false {\n\t\treturn sessions.Record{}", pkgs: []string{"./redis/"}, run: "TestOversizedRecordIsANewSession"},
	{name: "redis max record size off by one on Load", file: "redis/redis.go", old: "if len(data) > s.maxRecord {\n\t\treturn sessions.Record{}", new: "if len(data) >= s.maxRecord {\n\t\treturn sessions.Record{}", pkgs: []string{"./redis/"}, run: "TestMaxRecordSize"},
	{name: "redis Save sends data over the max record size", file: "redis/redis.go", old: "if len(data) > s.maxRecord {\n\t\treturn 0,", new: "if false {\n\t\treturn 0,", pkgs: []string{"./redis/"}, run: "TestMaxRecordSize"},
	{name: "redis WithMaxRecordSize ignored", file: "redis/redis.go", old: "maxRecord: o.maxRecordSize()", new: "maxRecord: DefaultMaxRecordSize", pkgs: []string{"./redis/"}, run: "TestMaxRecordSize/Option"},
	{name: "redis WithMaxRecordSize(0) is not the default", file: "redis/options.go", old: "if o.maxRecord <= 0 {", new: "if o.maxRecord < 0 {", pkgs: []string{"./redis/"}, run: "TestMaxRecordSize/Default"},
	{name: "redis:// max_record parsed, not applied (redis.Open)", file: "redis/open.go", old: "opts = append(opts, WithMaxRecordSize(n))", new: "_ = WithMaxRecordSize(n)", pkgs: []string{"./redis/"}, run: "TestOpenMaxRecord"},
	{name: "redis:// max_record parsed, not applied (backends)", file: "redis/open.go", old: "opts = append(opts, WithMaxRecordSize(n))", new: "_ = WithMaxRecordSize(n)", pkgs: []string{"./backends/"}, run: "TestOpenRedisMaxRecord"},
	{name: "redis Open's options before the URL's", file: "redis/open.go", old: "newStore(client, true, append(urlOpts, opts...))", new: "newStore(client, true, append(opts, urlOpts...))", pkgs: []string{"./redis/"}, run: "TestOpenMaxRecord"},
}

func main() {
	filter := ""
	if len(os.Args) > 1 {
		filter = os.Args[1]
	}
	restore := map[string][]byte{}
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt)
	go func() {
		<-interrupted
		for f, b := range restore {
			_ = os.WriteFile(f, b, 0o644)
		}
		os.Exit(2)
	}()
	caught, missed := 0, 0
	for _, m := range mutations {
		if !strings.Contains(m.name, filter) {
			continue
		}
		src, err := os.ReadFile(m.file)
		if err != nil {
			fail("%s: %v", m.name, err)
		}
		if n := strings.Count(string(src), m.old); n != 1 {
			fail("%s: the text to change occurs %d times in %s (the code moved: update the mutation)", m.name, n, m.file)
		}
		restore[m.file] = src
		if err := os.WriteFile(m.file, []byte(strings.Replace(string(src), m.old, m.new, 1)), 0o644); err != nil {
			fail("%s: %v", m.name, err)
		}
		start := time.Now()
		timeout := m.timeout
		if timeout == "" {
			timeout = "60s"
		}
		args := append([]string{"test", "-count=1", "-timeout=" + timeout, "-run", m.run}, m.pkgs...)
		cmd := exec.Command("go", args...)
		cmd.Dir = m.dir
		out, err := cmd.CombinedOutput()
		_ = os.WriteFile(m.file, src, 0o644)
		delete(restore, m.file)
		if err != nil && (strings.Contains(string(out), "--- FAIL") || strings.Contains(string(out), "panic: test timed out")) {
			caught++
			fmt.Printf("caught  %-60s %s\n", m.name, time.Since(start).Round(time.Millisecond))
			continue
		}
		missed++
		fmt.Printf("MISSED  %-60s (go %s)\n%s\n", m.name, strings.Join(args, " "), out)
	}
	fmt.Printf("%d caught, %d missed\n", caught, missed)
	if missed > 0 {
		os.Exit(1)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "mutate: "+format+"\n", args...)
	os.Exit(2)
}
