package main

// The fault suite's mutations (internal/faultsuite): each breaks what a
// user sees when the network between the app and its store fails.
func init() {
	mutations = append(mutations,
		mutation{
			name: "faults: memcached transport error read as no session",
			file: "memcached/store.go",
			old:  "\t\treturn sessions.Record{}, err\n\t}\n\treturn decode(it, s.maxRecord)",
			new:  "\t\treturn sessions.Record{}, sessions.ErrNotFound\n\t}\n\treturn decode(it, s.maxRecord)",
			pkgs: []string{"./internal/faultsuite/"}, run: "TestFaults/memcached/CutMidReply",
		},
		mutation{
			name: "faults: redis transport error read as no session",
			file: "redis/redis.go",
			old:  "\t\treturn sessions.Record{}, err\n\t}\n\tif len(vals) != 3 {",
			new:  "\t\treturn sessions.Record{}, sessions.ErrNotFound\n\t}\n\tif len(vals) != 3 {",
			pkgs: []string{"./internal/faultsuite/"}, run: "TestFaults/redis/CutMidReply",
		},
		mutation{
			name: "faults: a load that failed starts a new session",
			file: "load.go",
			old:  "case errors.Is(err, ErrMalformed), errors.Is(err, ErrCorrupt):",
			new:  "case err != nil:",
			pkgs: []string{"./internal/faultsuite/"}, run: "TestFaults/memcached/CutMidReply",
		},
		mutation{
			name: "faults: the proxy's Cut forwards whole replies",
			file: "internal/faultproxy/proxy.go",
			old:  "dir == down && len(b) > left {",
			new:  "false && dir == down && len(b) > left {",
			pkgs: []string{"./internal/faultproxy/", "./internal/faultsuite/"}, run: "TestCut|TestFaults/memcached/CutMidReply",
		},
		mutation{
			name: "faults: the proxy's Stall forwards",
			file: "internal/faultproxy/proxy.go",
			old:  "\t\tcase stall:\n\t\t\thold()\n\t\t\tselect {",
			new:  "\t\tcase stall:\n\t\t\tbreak\n\t\t\tselect {",
			pkgs: []string{"./internal/faultsuite/"}, run: "TestFaults/memcached/Stall",
		},
	)
}
