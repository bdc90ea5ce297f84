package bench

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/hookline/hookline/internal/store"
)

// maxGrowth is the largest size of the growth scenario: a billion
// messages, far beyond any run that ends in a day.
const maxGrowth = 1_000_000_000

// Options configure a benchmark run: which scenarios, against which
// server, and any settings that override the scenarios' own.
type Options struct {
	// Scenarios are the scenario names to run, in order; "all" runs every
	// scenario.
	Scenarios []string

	// Server is the hookline binary started as the server under test. The
	// command sets it to its own executable; tests to a binary they built.
	Server string
	// DB is passed to the server's --db; empty means a fresh SQLite file
	// in a temporary directory for each scenario.
	DB string
	// ServeArgs are extra arguments for `hookline serve`.
	ServeArgs []string
	// Baseline, when set, is another hookline binary to compare Server
	// with: each scenario runs on a server started from each in turn.
	Baseline string
	// Repeat is how many times each scenario runs (on each binary, with a
	// Baseline); 0 means once, or 3 with a Baseline.
	Repeat int

	// Target, when set, is the base URL of a running server to use
	// instead of starting one; Token is its admin token, and ServerPID,
	// when set, its process, whose CPU and memory are then measured.
	Target    string
	Token     string
	ServerPID int

	// The load; each replaces the scenarios' own value when its flag was
	// given (see Overrides), and is otherwise unused.
	Endpoints   int
	PayloadSize int
	Concurrency int
	Rate        float64
	Duration    time.Duration
	Count       int64
	FailRate    float64
	SinkDelay   time.Duration

	// BacklogCount is how many messages the backlog scenario publishes
	// while the receiver is down; 0 means 1,000,000, or 100,000 when
	// running all scenarios, to keep that run short.
	BacklogCount int64
	// SinkDownMode is how the receiver is down in the backlog scenario:
	// hold, refuse or 503.
	SinkDownMode string

	// DrainTimeout is how long to wait for deliveries after publishing
	// while none arrive, before counting the missing ones as lost.
	DrainTimeout time.Duration

	// JSON, when set, is the file the full report is written to.
	JSON string
	// ProfileDir, when set, receives a CPU and an allocation profile of
	// the started server for each scenario, taken through its
	// --debug-addr.
	ProfileDir string
	// Keep keeps each scenario's temporary directory, with the server's
	// database and logs; one whose scenario failed or lost deliveries is
	// kept anyway.
	Keep bool

	// GrowthSizes are the message counts the growth scenario grows its
	// database to, in order, measuring at each.
	GrowthSizes []int64
	// Open opens the store of a --db value (a SQLite file or a
	// postgres:// URL), for the growth scenario to fill; the command sets
	// it, as only it knows the concrete stores.
	Open func(ctx context.Context, db string) (store.Store, error)

	// Overrides names the load settings given explicitly, by flag name;
	// only these replace a scenario's own values.
	Overrides map[string]bool
}

// DefaultOptions returns the options of `hookline bench` with no flags.
func DefaultOptions() Options {
	return Options{
		Scenarios:    []string{"max"},
		SinkDownMode: "hold",
		DrainTimeout: time.Minute,
		GrowthSizes:  []int64{1_000_000, 10_000_000},
	}
}

// overridable are the flags whose values replace those of a scenario.
var overridable = []string{"endpoints", "payload-size", "concurrency", "rate", "duration", "count", "fail-rate", "sink-delay"}

// Bind defines o's flags on fs with o's values as defaults.
func (o *Options) Bind(fs *pflag.FlagSet) {
	fs.StringSliceVar(&o.Scenarios, "scenario", o.Scenarios,
		"scenario to run, repeatable or comma-separated, or all: "+strings.Join(ScenarioNames(), ", "))
	fs.StringVar(&o.DB, "db", o.DB, "database the started server uses, passed to its --db (default: a new SQLite file per scenario in a temporary directory)")
	fs.StringArrayVar(&o.ServeArgs, "serve-arg", o.ServeArgs,
		"extra argument for the started server's serve command, repeatable, such as --serve-arg=--workers=512; the floor scenarios give it to the floor server instead")
	fs.StringVar(&o.Baseline, "baseline", o.Baseline,
		"another hookline binary to compare with, such as one built from an earlier commit: each scenario runs on a server started from it and from this binary in turn, and the table adds both medians and the change")
	fs.IntVar(&o.Repeat, "repeat", o.Repeat,
		"how many times to run each scenario (on each binary with --baseline); the table then adds the median and range of each figure (default 1, or 3 with --baseline)")
	fs.StringVar(&o.Target, "target", o.Target, "base URL of a running hookline server to use instead of starting one, such as http://127.0.0.1:8071")
	fs.StringVar(&o.Token, "token", o.Token, "admin API token of the --target server (default: HOOKLINE_ADMIN_TOKEN)")
	fs.IntVar(&o.ServerPID, "server-pid", o.ServerPID, "process ID of the --target server, to measure its CPU time and memory (same machine only)")
	fs.IntVar(&o.Endpoints, "endpoints", o.Endpoints, "number of endpoints, each subscribed to every event (default: the scenario's own)")
	fs.IntVar(&o.PayloadSize, "payload-size", o.PayloadSize, "size of each message's JSON payload in bytes (default: the scenario's own)")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency,
		"concurrent publishers in a closed loop, or most requests in flight with --rate (default: the scenario's own)")
	fs.Float64Var(&o.Rate, "rate", o.Rate, "offered rate in messages per second, an open loop; 0 publishes as fast as answers come (default: the scenario's own)")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "how long to publish (default: the scenario's own)")
	fs.Int64Var(&o.Count, "count", o.Count, "how many messages to publish at most; publishing also stops at --duration if given (default: the scenario's own)")
	fs.Float64Var(&o.FailRate, "fail-rate", o.FailRate, "share of deliveries the receiver answers 500, from 0 to 0.9 (default: the scenario's own)")
	fs.DurationVar(&o.SinkDelay, "sink-delay", o.SinkDelay, "how long the receiver waits before answering each delivery; each delayed answer closes its connection (default: the scenario's own)")
	fs.Int64Var(&o.BacklogCount, "backlog-count", o.BacklogCount,
		"messages the backlog scenario publishes while the receiver is down (default 1000000, or 100000 within --scenario all)")
	fs.StringVar(&o.SinkDownMode, "sink-down-mode", o.SinkDownMode,
		"how the receiver is down in the backlog scenario: hold (accept and answer nothing until up), refuse (port closed) or 503; "+
			"with refuse and 503 the retry schedule, not the server, decides when the backlog drains")
	fs.DurationVar(&o.DrainTimeout, "drain-timeout", o.DrainTimeout,
		"after publishing, how long to wait with no new delivery before counting the missing ones as lost")
	fs.Int64SliceVar(&o.GrowthSizes, "growth-sizes", o.GrowthSizes,
		"message counts the growth scenario grows one database to, in increasing order, measuring at each; each adds its deliveries and attempts, and a tenth as many received requests up to 100000")
	fs.StringVar(&o.JSON, "json", o.JSON, "file to write the full report to, as JSON")
	fs.StringVar(&o.ProfileDir, "profile", o.ProfileDir,
		"directory to write, per scenario, Go CPU, allocation, mutex and block profiles of the started server and a CPU profile of the benchmark's own load and receiver over the same span (read them with go tool pprof)")
	fs.BoolVar(&o.Keep, "keep", o.Keep, "keep each scenario's temporary directory with the server's database and logs (kept anyway when a scenario fails or loses deliveries)")
}

// SetOverrides records which load flags were given on fs, after parsing.
func (o *Options) SetOverrides(fs *pflag.FlagSet) {
	o.Overrides = map[string]bool{}
	for _, name := range overridable {
		if f := fs.Lookup(name); f != nil && f.Changed {
			o.Overrides[name] = true
		}
	}
	if f := fs.Lookup("backlog-count"); f != nil && f.Changed {
		o.Overrides["backlog-count"] = true
	}
}

// Validate checks the options and says which flag to fix.
func (o *Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(o.Scenarios) == 0 {
		bad("--scenario: name at least one scenario: %s, or all", strings.Join(ScenarioNames(), ", "))
	}
	for _, s := range o.Scenarios {
		if (s == "curve" || s == "floor-curve") && o.Overrides["rate"] {
			bad("--rate with --scenario %s: the curve runs at rates of its own", s)
		}
		if s != "all" && s != "curve" && s != "floor-curve" && !slices.Contains(ScenarioNames(), s) {
			bad("--scenario %q: no such scenario; choose from %s, all, curve or floor-curve", s, strings.Join(ScenarioNames(), ", "))
		}
	}
	if o.Target != "" {
		if u, err := url.Parse(o.Target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("--target %q: want the server's base URL, such as http://127.0.0.1:8071", o.Target)
		}
		if o.Token == "" {
			bad("--token: required with --target (the server's HOOKLINE_ADMIN_TOKEN)")
		}
		if len(o.ServeArgs) > 0 {
			bad("--serve-arg: only for a server the benchmark starts, not with --target")
		}
		if o.DB != "" {
			bad("--db: only for a server the benchmark starts, not with --target")
		}
		if o.ProfileDir != "" {
			bad("--profile: only for a server the benchmark starts; profile a --target server through its own --debug-addr")
		}
		if o.Baseline != "" {
			bad("--baseline: only for servers the benchmark starts, not with --target")
		}
	} else {
		if o.Token != "" {
			bad("--token: only with --target; a started server gets a generated token")
		}
		if o.ServerPID != 0 {
			bad("--server-pid: only with --target; a started server is measured anyway")
		}
	}
	if o.Baseline != "" {
		if st, err := os.Stat(o.Baseline); err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0 {
			bad("--baseline %q: want an executable hookline binary, such as one built with go build -o hookline-old ./cmd/hookline", o.Baseline)
		}
	}
	if slices.Contains(o.Scenarios, "growth") {
		if o.Target != "" {
			bad("--target: the growth scenario fills the database of a server it starts itself; leave out --target")
		}
		if o.Baseline != "" {
			bad("--baseline: the growth scenario fills a database for one binary; run it once with each binary instead")
		}
	}
	if len(o.GrowthSizes) == 0 {
		bad("--growth-sizes: give at least one message count, such as 1000000,10000000")
	}
	for i, n := range o.GrowthSizes {
		if n < 1000 || n > maxGrowth {
			bad("--growth-sizes %d: want 1000 to %d messages", n, int64(maxGrowth))
		}
		if i > 0 && n <= o.GrowthSizes[i-1] {
			bad("--growth-sizes: %d after %d: give the sizes in increasing order, as the database grows from one to the next", n, o.GrowthSizes[i-1])
		}
	}
	if o.Repeat < 0 || o.Repeat > 50 {
		bad("--repeat %d: want 1 to 50", o.Repeat)
	}
	if o.ServerPID < 0 {
		bad("--server-pid %d: want a process ID", o.ServerPID)
	}
	set := o.Overrides
	if set["endpoints"] && (o.Endpoints < 1 || o.Endpoints > 1000) {
		bad("--endpoints %d: want 1 to 1000", o.Endpoints)
	}
	if set["payload-size"] && (o.PayloadSize < 64 || o.PayloadSize > 16<<20) {
		bad("--payload-size %d: want 64 to 16777216 bytes (above 1 MiB also raise the server's --max-body-bytes with --serve-arg)", o.PayloadSize)
	}
	if set["concurrency"] && (o.Concurrency < 1 || o.Concurrency > 10000) {
		bad("--concurrency %d: want 1 to 10000", o.Concurrency)
	}
	if set["rate"] && (o.Rate < 0 || o.Rate > 1e6) {
		bad("--rate %g: want 0 (as fast as possible) to 1000000 messages per second", o.Rate)
	}
	if set["duration"] && (o.Duration <= 0 || o.Duration > 24*time.Hour) {
		bad("--duration %s: want more than 0 and at most 24h", o.Duration)
	}
	if set["count"] && (o.Count < 1 || o.Count > maxSeq) {
		bad("--count %d: want 1 to %d", o.Count, maxSeq)
	}
	if set["fail-rate"] && (o.FailRate < 0 || o.FailRate > 0.9) {
		bad("--fail-rate %g: want 0 to 0.9", o.FailRate)
	}
	if set["sink-delay"] && (o.SinkDelay < 0 || o.SinkDelay > time.Minute) {
		bad("--sink-delay %s: want 0 to 1m", o.SinkDelay)
	}
	if o.BacklogCount < 0 || o.BacklogCount > maxSeq || (o.Overrides["backlog-count"] && o.BacklogCount == 0) {
		bad("--backlog-count %d: want 1 to %d", o.BacklogCount, maxSeq)
	}
	if o.ProfileDir != "" {
		if st, err := os.Stat(o.ProfileDir); err != nil || !st.IsDir() {
			bad("--profile %q: want an existing directory", o.ProfileDir)
		}
	}
	if _, err := ParseSinkMode(o.SinkDownMode); err != nil {
		bad("--sink-down-mode: %v", err)
	}
	if o.DrainTimeout < time.Second || o.DrainTimeout > time.Hour {
		bad("--drain-timeout %s: want 1s to 1h", o.DrainTimeout)
	}
	for _, a := range o.ServeArgs {
		for _, owned := range []string{"--addr", "--allow-private-networks"} {
			if a == owned || strings.HasPrefix(a, owned+"=") {
				bad("--serve-arg %q: the benchmark sets %s itself", a, owned)
			}
		}
		if a == "--db" || strings.HasPrefix(a, "--db=") {
			bad("--serve-arg %q: use the benchmark's own --db", a)
		}
		if o.ProfileDir != "" && (a == "--debug-addr" || strings.HasPrefix(a, "--debug-addr=")) {
			bad("--serve-arg %q: --profile sets --debug-addr itself", a)
		}
	}
	return errors.Join(errs...)
}

// repeat returns how many times each scenario runs on each binary.
func (o *Options) repeat() int {
	switch {
	case o.Repeat > 0:
		return o.Repeat
	case o.Baseline != "":
		return 3
	}
	return 1
}

// scenarios returns the scenarios the options select, with the overrides
// applied; "curve" and "floor-curve" add the points of their curves after
// the others.
func (o *Options) scenarios() []Scenario {
	all := slices.Contains(o.Scenarios, "all")
	var out []Scenario
	seen := map[string]bool{}
	for _, sc := range Scenarios() {
		if !slices.Contains(o.Scenarios, sc.Name) && (!all || sc.Growth || sc.Floor) {
			continue
		}
		if seen[sc.Name] {
			continue
		}
		seen[sc.Name] = true
		out = append(out, o.apply(sc, all))
	}
	// Run in the order given, as the user may want the cheap ones first.
	if !all {
		slices.SortStableFunc(out, func(a, b Scenario) int {
			return slices.Index(o.Scenarios, a.Name) - slices.Index(o.Scenarios, b.Name)
		})
	}
	if slices.Contains(o.Scenarios, "curve") {
		for _, sc := range curve(false) {
			out = append(out, o.apply(sc, false))
		}
	}
	if slices.Contains(o.Scenarios, "floor-curve") {
		for _, sc := range curve(true) {
			out = append(out, o.apply(sc, false))
		}
	}
	return out
}

// apply returns sc with the explicitly given load settings in place of its
// own.
func (o *Options) apply(sc Scenario, all bool) Scenario {
	set := o.Overrides
	if set["endpoints"] && !sc.Ceiling {
		sc.Endpoints = o.Endpoints
	}
	if set["payload-size"] {
		sc.PayloadSize = o.PayloadSize
	}
	if set["concurrency"] {
		sc.Concurrency = o.Concurrency
	}
	if set["rate"] && !sc.Backlog {
		sc.Rate = o.Rate
	}
	switch {
	case set["count"] && set["duration"]:
		sc.Count, sc.Duration = o.Count, o.Duration
	case set["count"]:
		// A count alone is the bound; the duration only guards against a
		// run that would never end.
		sc.Count, sc.Duration = o.Count, time.Hour
	case set["duration"]:
		sc.Duration = o.Duration
		if !sc.Backlog {
			sc.Count = 0
		}
	}
	if set["fail-rate"] {
		sc.FailRate = o.FailRate
	}
	if set["sink-delay"] {
		sc.SinkDelay = o.SinkDelay
	}
	if sc.Backlog {
		switch {
		case o.BacklogCount > 0:
			sc.Count = o.BacklogCount
		case all:
			sc.Count = 100_000
		default:
			sc.Count = 1_000_000
		}
	}
	// A rate scenario's count is its rate times its duration.
	if sc.Rate > 0 && !set["count"] {
		sc.Count = int64(sc.Rate * sc.Duration.Seconds())
	}
	return sc
}
