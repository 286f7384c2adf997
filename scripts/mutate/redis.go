package main

// Mutations of the Redis store's failure handling: the request budget,
// the start-up check and waiting for replicas (docs/redis.md).
func init() {
	mutations = append(mutations,
		mutation{
			name: "redis: Open leaves ContextTimeoutEnabled off (the budget does not reach the sockets)",
			file: "redis/timeouts.go", old: "*contextDeadlines = true", new: "*contextDeadlines = false",
			pkgs: []string{"./redis/"}, run: "TestTheRequestDeadlineBoundsEveryCall", timeout: "120s",
		},
		mutation{
			name: "redis: Open's 1 s read timeout not applied",
			file: "redis/timeouts.go", old: "*read = openReadTimeout", new: "_ = openReadTimeout",
			pkgs: []string{"./redis/"}, run: "TestWithoutADeadlineOpensTimeoutsBoundACall", timeout: "120s",
		},
		mutation{
			name: "redis: Open's 1 s pool timeout not applied",
			file: "redis/timeouts.go", old: "*pool = openPoolTimeout", new: "_ = openPoolTimeout",
			pkgs: []string{"./redis/"}, run: "TestPoolWaitIsBounded", timeout: "120s",
		},
		mutation{
			name: "redis: context_timeout_enabled=false accepted",
			file: "redis/open.go", old: "err != nil || !on {\n\t\t\treturn nil, false, errContextTimeouts", new: "err != nil && on {\n\t\t\treturn nil, false, errContextTimeouts",
			pkgs: []string{"./redis/"}, run: "TestOpen/Errors",
		},
		mutation{
			name: "redis: start-up check skipped",
			file: "redis/open.go", old: "if p.check {", new: "if false {",
			pkgs: []string{"./redis/", "./backends/"}, run: "TestStartupCheck|TestOpenRedisChecksTheServer|TestTLSWithPassword",
		},
		mutation{
			name: "redis: check=false ignored",
			file: "redis/open.go", old: "if check, err = strconv.ParseBool(v); err != nil {", new: "if _, err = strconv.ParseBool(v); err != nil {",
			pkgs: []string{"./redis/", "./backends/"}, run: "TestStartupCheck/Unchecked|TestOpenRedisChecksTheServer",
		},
		mutation{
			name: "backends: a failed Redis check reads as a wrong URL (no redis.ErrCheck, the options listed)",
			file: "backends/redis.go", old: "if errors.Is(err, redis.ErrCheck) {", new: "if errors.Is(err, redis.ErrCheck) && false {",
			pkgs: []string{"./backends/"}, run: "TestOpenRedisChecksTheServer",
		},
		mutation{
			name: "redis: wait= parsed, not applied",
			file: "redis/open.go", old: "opts = append(opts, WithWait(wait.replicas, wait.timeout))", new: "_ = WithWait(wait.replicas, wait.timeout)",
			pkgs: []string{"./redis/"}, run: "TestWait$/URL",
		},
		mutation{
			name: "redis: saves do not wait (WithWait ignored)",
			file: "redis/redis.go", old: "if s.wait.replicas > 0 {", new: "if false {",
			pkgs: []string{"./redis/"}, run: "TestWait$/WithWait",
		},
		mutation{
			name: "redis: WAIT's answer ignored",
			file: "redis/wait.go", old: "if got < int64(s.wait.replicas) {", new: "if false {",
			pkgs: []string{"./redis/"}, run: "TestWait$|TestWaitCluster",
		},
		mutation{
			name: "redis: WAIT sent on another connection than the write",
			file: "redis/wait.go",
			old:  "acks = goredis.NewIntCmd(ctx, \"wait\", s.wait.replicas, timeout.Milliseconds())\n\t\t\t_ = p.Process(ctx, acks)",
			new:  "acks = c.Wait(ctx, s.wait.replicas, timeout)",
			pkgs: []string{"./redis/"}, run: "TestWait$",
		},
		mutation{
			name: "redis: WAIT's timeout not cut to the request's budget",
			file: "redis/wait.go", old: "d = min(d, time.Until(deadline)-waitMargin)", new: "_ = deadline",
			pkgs: []string{"./redis/"}, run: "TestWait$/URL",
		},
		mutation{
			name: "redis: a wait timeout the read timeout would cut accepted",
			file: "redis/wait.go", old: "if read > 0 && w.timeout+waitMargin > read {", new: "if false {",
			pkgs: []string{"./redis/"}, run: "TestWaitNeedsAPinnableClient|TestOpen/Errors",
		},
		mutation{
			name: "redis: WithWait accepted on a client that cannot pin a connection",
			file: "redis/wait.go", old: "\tdefault:\n\t\treturn fmt.Errorf(\"redis: waiting for replicas needs", new: "\tdefault:\n\t\treturn nil\n\t\treturn fmt.Errorf(\"redis: waiting for replicas needs",
			pkgs: []string{"./redis/"}, run: "TestWaitNeedsAPinnableClient",
		},
	)
}
