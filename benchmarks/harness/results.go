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
