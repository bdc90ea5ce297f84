package bench

import (
	"fmt"
	"time"
)

// Scenario is one measured situation: a load, a receiver's behaviour and
// the server settings it needs.
type Scenario struct {
	Name        string
	Description string
	// Endpoints is how many endpoints each message fans out to.
	Endpoints   int
	PayloadSize int
	Concurrency int
	// Rate, when positive, publishes on a fixed timeline (open loop).
	Rate float64
	// Count and Duration bound the publishing; Count 0 means none.
	Count    int64
	Duration time.Duration
	// FailRate and SinkDelay shape the receiver's answers.
	FailRate  float64
	SinkDelay time.Duration
	// ServeArgs are server flags the scenario needs, put before the
	// user's own --serve-arg values; a flag the user also gives is left
	// out, so the user's wins.
	ServeArgs []string
	// Backlog publishes with the receiver down, kills the server and
	// restarts it on the backlog, then brings the receiver up and measures
	// the drain.
	Backlog bool
	// Ceiling measures plain Go HTTP with no hookline: the machine's limit.
	Ceiling bool
	// Hostile attacks the server while the load publishes: floods of
	// large bodies to a receive URL, deeply nested payloads and lists of
	// large items through the API, with the health check probed
	// throughout. The load is the legitimate traffic that must still pass.
	Hostile bool
	// Growth grows one database through the sizes of --growth-sizes and
	// measures at each how the server's costs grow with what it holds;
	// Duration bounds each of its timed phases. It takes long, so "all"
	// leaves it out.
	Growth bool
	// Floor runs the load and the receiver against a floor server (see
	// ServeFloor) instead of hookline: the least CPU a durable message
	// costs on this machine at the scenario's rate. "all" leaves it out.
	Floor bool
}

// flakySchedule retries quickly, so that the flaky scenario ends in
// seconds: eight attempts make the chance of a message failing all of them
// at a 10% failure rate 1 in 10^8.
const flakySchedule = "--retry-schedule=0s,100ms,200ms,400ms,800ms,1s,2s,5s"

// Scenarios returns every scenario with its defaults, sized so that all of
// them together finish in a few minutes on two cores.
func Scenarios() []Scenario {
	return []Scenario{
		{Name: "ceiling-http", Description: "plain Go HTTP keep-alive POSTs of 1 KiB, client and server in one process, no hookline: the machine's ceiling",
			PayloadSize: 1024, Concurrency: 64, Duration: 5 * time.Second, Ceiling: true},
		{Name: "max", Description: "closed loop, as fast as the server answers, 1 endpoint",
			Endpoints: 1, PayloadSize: 1024, Concurrency: 128, Duration: 15 * time.Second},
		{Name: "rate-100", Description: "open loop at 100 messages/s, 1 endpoint",
			Endpoints: 1, PayloadSize: 1024, Concurrency: 64, Rate: 100, Duration: 10 * time.Second},
		{Name: "rate-200", Description: "open loop at 200 messages/s, 1 endpoint",
			Endpoints: 1, PayloadSize: 1024, Concurrency: 64, Rate: 200, Duration: 10 * time.Second},
		{Name: "rate-1000", Description: "open loop at 1,000 messages/s, 1 endpoint",
			Endpoints: 1, PayloadSize: 1024, Concurrency: 256, Rate: 1000, Duration: 10 * time.Second},
		{Name: "rate-5000", Description: "open loop at 5,000 messages/s, 1 endpoint",
			Endpoints: 1, PayloadSize: 1024, Concurrency: 256, Rate: 5000, Duration: 10 * time.Second},
		{Name: "fanout-10", Description: "each message to 10 endpoints, closed loop; deliveries/s is the figure",
			Endpoints: 10, PayloadSize: 1024, Concurrency: 64, Count: 10_000, Duration: 5 * time.Minute},
		{Name: "fanout-100", Description: "each message to 100 endpoints, closed loop; deliveries/s is the figure",
			Endpoints: 100, PayloadSize: 1024, Concurrency: 64, Count: 1_000, Duration: 5 * time.Minute},
		{Name: "backlog", Description: "receiver down while messages are accepted, server killed and restarted on the backlog, then receiver up: drain",
			Endpoints: 1, PayloadSize: 1024, Concurrency: 128, Duration: time.Hour, Backlog: true,
			// Requests the held receiver does not answer must not time out
			// into the retry schedule, or the drain would wait for it; the
			// lease must cover four request timeouts.
			ServeArgs: []string{"--request-timeout=1h", "--lease=4h"}},
		{Name: "flaky", Description: "open loop at 1,000 messages/s, receiver answers 10% with 500, fast retry schedule",
			Endpoints: 1, PayloadSize: 1024, Concurrency: 256, Rate: 1000, Duration: 10 * time.Second, FailRate: 0.1,
			ServeArgs: []string{flakySchedule}},
		{Name: "hostile", Description: "open loop at 200 messages/s, 1 endpoint, while hostile clients flood a receive URL with 1 MB bodies, publish payloads nested 500,000 deep and list large items; peak RSS and health latency are the figures",
			Endpoints: 1, PayloadSize: 1024, Concurrency: 64, Rate: 200, Duration: 20 * time.Second, Hostile: true},
		{Name: "payload-64k", Description: "closed loop with 64 KiB payloads, 1 endpoint",
			Endpoints: 1, PayloadSize: 64 << 10, Concurrency: 32, Duration: 10 * time.Second},
		{Name: "floor-100", Description: "open loop at 100 messages/s, 1 endpoint, against the floor server instead of hookline: HTTP in, one write and fdatasync, 202, HTTP out",
			Endpoints: 1, PayloadSize: 1024, Concurrency: 64, Rate: 100, Duration: 10 * time.Second, Floor: true},
		{Name: "floor-1000", Description: "open loop at 1,000 messages/s, 1 endpoint, against the floor server instead of hookline: HTTP in, one write and fdatasync, 202, HTTP out",
			Endpoints: 1, PayloadSize: 1024, Concurrency: 256, Rate: 1000, Duration: 10 * time.Second, Floor: true},
		{Name: "growth", Description: "one database grown through --growth-sizes messages with their deliveries, attempts and received requests; at each size: start-up, publishing, list routes, retention prune, size on disk",
			Endpoints: 1, PayloadSize: 1024, Concurrency: 128, Duration: 5 * time.Second, Growth: true},
	}
}

// CurveRates are the offered rates of the curve: one short open-loop run
// at each, for the server's CPU per message against the rate.
var CurveRates = []int{50, 100, 200, 500, 1000, 2000, 5000, 10000}

// curve returns the scenarios of the curve, which "--scenario curve"
// selects and "all" leaves out; with floor, those of the floor server's
// curve, which "--scenario floor-curve" selects.
func curve(floor bool) []Scenario {
	var out []Scenario
	for _, rate := range CurveRates {
		sc := Scenario{Name: fmt.Sprintf("curve-%d", rate),
			Description: fmt.Sprintf("curve point: open loop at %d messages/s for 5 s, 1 endpoint", rate),
			Endpoints:   1, PayloadSize: 1024, Concurrency: 256, Rate: float64(rate), Duration: 5 * time.Second}
		if floor {
			sc.Name, sc.Floor = "floor-"+sc.Name, true
			sc.Description += ", against the floor server"
		}
		out = append(out, sc)
	}
	return out
}

// ScenarioNames returns the names of every scenario, in the order "all"
// runs them (all but growth and the floor).
func ScenarioNames() []string {
	var names []string
	for _, s := range Scenarios() {
		names = append(names, s.Name)
	}
	return names
}
