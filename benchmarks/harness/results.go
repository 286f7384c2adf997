package harness

// Results is what cmd/latency writes (as JSON) and cmd/report reads.
type Results struct {
	Date        string        `json:"date"`
	CellSeconds float64       `json:"cell_seconds"`
	Quick       bool          `json:"quick"`
	GOMAXPROCS  int           `json:"gomaxprocs"`
	Cells       []LatencyCell `json:"cells"`
	Lost        []LostUpdate  `json:"lost"`
}

// LatencyCell is one backend, shape and client count over real loopback
// HTTP.
type LatencyCell struct {
	Backend  string  `json:"backend"`
	Family   Family  `json:"family"`
	Ours     bool    `json:"ours"`
	Shape    string  `json:"shape"`
	Clients  int     `json:"clients"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	P50us    float64 `json:"p50_us"`
	P90us    float64 `json:"p90_us"`
	P99us    float64 `json:"p99_us"`
	MaxUs    float64 `json:"max_us"`
}

// LostUpdate is N concurrent increments of one session's counter.
type LostUpdate struct {
	Backend  string `json:"backend"`
	Family   Family `json:"family"`
	Ours     bool   `json:"ours"`
	N        int    `json:"n"` // increments per round
	Rounds   int    `json:"rounds"`
	Survived int    `json:"survived"` // over all rounds, of N*Rounds
	// PerRound is how many survived in each round.
	PerRound []int `json:"per_round"`
	// Errors counts increments answered with an error status.
	Errors int `json:"errors"`
	// Note explains the result where it needs it.
	Note string `json:"note,omitempty"`
}

// HTTPResults is what cmd/httpbench writes (as JSON) and cmd/report reads:
// every backend served by a server process of its own over loopback HTTP,
// driven by a load process of its own.
type HTTPResults struct {
	Date        string  `json:"date"`
	CellSeconds float64 `json:"cell_seconds"`
	Conns       int     `json:"conns"`
	Passes      int     `json:"passes"`
	Quick       bool    `json:"quick"`
	// Sessions is how many pre-created sessions the read and write-many
	// shapes rotate through.
	Sessions int `json:"sessions"`
	// LoadAvg is /proc/loadavg's 1-minute figure before and after the run.
	LoadAvgBefore float64    `json:"loadavg_before"`
	LoadAvgAfter  float64    `json:"loadavg_after"`
	Cells         []HTTPCell `json:"cells"`
	// Wrk is wrk's run on the bare Gin server beside ours, when wrk is
	// installed: the check that our load process is not the bottleneck.
	Wrk []WrkCell `json:"wrk,omitempty"`
	// WrkMissing says why there is no wrk figure.
	WrkMissing string `json:"wrk_missing,omitempty"`
}

// HTTPCell is one backend on one shape over loopback HTTP, in one pass.
type HTTPCell struct {
	Backend string  `json:"backend"`
	Family  Family  `json:"family"`
	Ours    bool    `json:"ours"`
	Shape   string  `json:"shape"`
	Pass    int     `json:"pass"`
	Conns   int     `json:"conns"`
	Seconds float64 `json:"seconds"`
	// Requests answered 2xx within the measured window.
	Requests int64   `json:"requests"`
	RPS      float64 `json:"rps"`
	P50us    float64 `json:"p50_us"`
	P90us    float64 `json:"p90_us"`
	P99us    float64 `json:"p99_us"`
	MaxUs    float64 `json:"max_us"`
	// Non2xx counts responses with another status; Transport the
	// requests that got no response (a refused or broken connection, a
	// malformed response, a timeout).
	Non2xx    int64  `json:"non_2xx"`
	Transport int64  `json:"transport"`
	FirstErr  string `json:"first_error,omitempty"`
	// ServerCPUus and LoadCPUus are the CPU time (user and system) the
	// server and the load process spent per answered request within the
	// window, in µs (from /proc, 10 ms ticks).
	ServerCPUus float64 `json:"server_cpu_us"`
	LoadCPUus   float64 `json:"load_cpu_us"`
	// Hot shape: increments answered 2xx over the whole cell (warm-up
	// included), the counter read back after it, and their difference,
	// the lost updates (server-side stores only: -1 when not counted).
	Incremented int64 `json:"incremented,omitempty"`
	Counter     int64 `json:"counter,omitempty"`
	Lost        int64 `json:"lost"`
}

// WrkCell is one wrk run against the bare Gin server.
type WrkCell struct {
	Shape   string  `json:"shape"`
	Pass    int     `json:"pass"`
	Threads int     `json:"threads"`
	Conns   int     `json:"conns"`
	RPS     float64 `json:"rps"`
	// OursRPS is our load process's figure on the same shape, run right
	// before it.
	OursRPS float64 `json:"ours_rps"`
	P50us   float64 `json:"p50_us"`
	P99us   float64 `json:"p99_us"`
	Non2xx  int64   `json:"non_2xx"`
	Errors  int64   `json:"errors"`
}
