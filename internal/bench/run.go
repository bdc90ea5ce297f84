// Package bench is hookline's load harness, behind `hookline bench`. It
// starts (or targets) a hookline server and a receiver of its own, creates
// an app with endpoints through the public API, publishes messages that
// carry their sequence number and send time, and measures what a user
// would: messages accepted per second, deliveries per second,
// publish-to-delivery latency, lost and duplicate deliveries, and the
// server's CPU time and memory. Every run is bounded in count and time and
// stops by itself.
//
// The figures are meant to be reproduced by anyone on their own hardware,
// so the harness uses only what a user has: the HTTP API, a loopback
// receiver, and /proc.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Report is the outcome of a benchmark run, as --json writes it.
type Report struct {
	// Hookline is the version of the benchmark binary.
	Hookline string    `json:"hookline_version"`
	Machine  Machine   `json:"machine"`
	Args     []string  `json:"args"`
	Started  time.Time `json:"started"`
	Results  []Result  `json:"results"`
	// Summary holds the median and range of each scenario's figures, per
	// binary, when scenarios ran more than once or on a baseline too.
	Summary []RunsSummary `json:"summary,omitempty"`
}

// Result holds the figures of one scenario.
type Result struct {
	Scenario    string `json:"scenario"`
	Description string `json:"description"`
	// Binary is "baseline" for a run on the --baseline binary and "this"
	// for one on this binary when there is a baseline; Round numbers the
	// runs of a scenario from 1 when it runs more than once.
	Binary string `json:"binary,omitempty"`
	Round  int    `json:"round,omitempty"`
	// Error says why the scenario did not complete; its figures then
	// cover what ran.
	Error string `json:"error,omitempty"`

	Endpoints   int      `json:"endpoints"`
	PayloadSize int      `json:"payload_size"`
	Concurrency int      `json:"concurrency"`
	Rate        float64  `json:"rate,omitempty"`
	Count       int64    `json:"count,omitempty"`
	Duration    string   `json:"duration"`
	FailRate    float64  `json:"fail_rate,omitempty"`
	SinkDelay   string   `json:"sink_delay,omitempty"`
	ServeArgs   []string `json:"serve_args,omitempty"`

	// Sent counts publish requests; Accepted those answered 202 (200 for
	// the ceiling); Errors the rest by status, or "network".
	Sent           int64            `json:"sent"`
	Accepted       int64            `json:"accepted"`
	Errors         map[string]int64 `json:"errors,omitempty"`
	PublishSeconds float64          `json:"publish_seconds"`
	// AcceptedPerSec is Accepted over the publish phase, from the first
	// send to the last answer. For the ceiling it is requests per second.
	AcceptedPerSec float64 `json:"accepted_per_sec"`
	// PublishLatency is from a message's send (its due time in an open
	// loop) to its 202.
	PublishLatency Summary `json:"publish_latency"`

	// Expected is Accepted × Endpoints: the deliveries owed.
	Expected int64 `json:"expected_deliveries"`
	// Delivered counts distinct (message, endpoint) pairs received.
	Delivered int64 `json:"delivered"`
	// Lost counts accepted pairs never delivered within the drain wait.
	Lost int64 `json:"lost"`
	// Duplicates counts deliveries beyond the first of a pair.
	Duplicates int64 `json:"duplicates"`
	// Unacked counts pairs delivered whose publish got no 202.
	Unacked int64 `json:"unacked_delivered,omitempty"`
	// FailedAnswers counts the receiver's deliberate 500s.
	FailedAnswers int64 `json:"failed_answers,omitempty"`
	// Abandoned counts requests the down receiver held whose sender went
	// away (the backlog's killed server); they are sent again.
	Abandoned int64 `json:"abandoned,omitempty"`
	// DeliverySeconds runs from the first delivery to the last (for the
	// backlog, from the receiver coming up to the last).
	DeliverySeconds  float64 `json:"delivery_seconds"`
	DeliveriesPerSec float64 `json:"deliveries_per_sec"`
	// Latency is publish-to-delivery of first deliveries: from the send
	// time in the payload to the receiver reading it.
	Latency Summary `json:"latency"`

	Server *ServerStats `json:"server,omitempty"`
	// BenchCPUSeconds is the CPU time of the benchmark process itself
	// (publishers and receiver) during the scenario; for the ceiling, of
	// its client and server.
	BenchCPUSeconds float64 `json:"bench_cpu_seconds"`
	// OtherCPUSeconds is the machine's process CPU time during the
	// scenario less the server's and the benchmark's: other processes
	// competing for the cores, which make every figure lower than it would
	// be.
	OtherCPUSeconds float64 `json:"other_cpu_seconds"`
	// IRQCPUSeconds is interrupt and softirq time, charged to no process:
	// much of loopback TCP's cost. StealSeconds is time a virtual
	// machine's CPUs waited for the host.
	IRQCPUSeconds float64 `json:"irq_cpu_seconds"`
	StealSeconds  float64 `json:"steal_seconds"`
	// WallSeconds is the scenario's duration from set-up to tear-down.
	WallSeconds float64 `json:"wall_seconds"`

	Backlog *BacklogStats `json:"backlog,omitempty"`
	Hostile *HostileStats `json:"hostile,omitempty"`
	Growth  *GrowthStats  `json:"growth,omitempty"`

	// Notes qualify the figures, such as server flags a --target server
	// did not get.
	Notes []string `json:"notes,omitempty"`
}

// ServerStats are the server process's figures for a scenario.
type ServerStats struct {
	PID     int    `json:"pid"`
	Version string `json:"version,omitempty"`
	// StartupMS is the start-up time of the server the scenario started,
	// on an empty database unless --db named an existing one.
	StartupMS float64 `json:"startup_ms,omitempty"`
	// CPUSeconds is user plus system time used from the first publish to
	// the end of the drain.
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUPerMessageUS and CPUPerDeliveryUS divide CPUSeconds by the
	// messages accepted and the deliveries made.
	CPUPerMessageUS  float64 `json:"cpu_per_message_us"`
	CPUPerDeliveryUS float64 `json:"cpu_per_delivery_us"`
	// PeakRSSMiB is the largest resident set the process had (VmHWM).
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	// StopSeconds is how long a graceful stop (SIGTERM) took.
	StopSeconds float64 `json:"stop_seconds,omitempty"`
}

// BacklogStats are the backlog scenario's own figures.
type BacklogStats struct {
	Messages     int64  `json:"messages"`
	SinkDownMode string `json:"sink_down_mode"`
	// AcceptedFirstTenthPerSec and AcceptedLastTenthPerSec are the
	// accepted rate over the first and the last tenth of the publish
	// phase: equal if the growing backlog does not slow publishing.
	AcceptedFirstTenthPerSec float64 `json:"accepted_first_tenth_per_sec"`
	AcceptedLastTenthPerSec  float64 `json:"accepted_last_tenth_per_sec"`
	// AcceptedPerSecond counts the 202s of each second of the publish
	// phase, the shape of any slowdown as the backlog grows.
	AcceptedPerSecond []int64 `json:"accepted_per_second"`
	// PeakRSSMiBPublish is the peak RSS of the server that took the
	// backlog; PeakRSSMiBDrain that of the restarted one that drained it.
	PeakRSSMiBPublish float64 `json:"peak_rss_mib_publish"`
	PeakRSSMiBDrain   float64 `json:"peak_rss_mib_drain,omitempty"`
	// RestartStartupMS is the start-up of a server on the backlog
	// database after the one that took the backlog was killed: opening the
	// database, recovering its write-ahead log, and returning the dead
	// server's claimed deliveries to the queue.
	RestartStartupMS float64 `json:"restart_startup_ms,omitempty"`
	// DrainSeconds runs from the receiver coming up to the last delivery.
	DrainSeconds float64 `json:"drain_seconds"`
	DrainPerSec  float64 `json:"drain_per_sec"`
	// RSS samples the server's resident set through the scenario.
	RSS []RSSSample `json:"rss"`
}

// RSSSample is one reading of the server's resident set.
type RSSSample struct {
	Seconds float64 `json:"t"`
	MiB     float64 `json:"mib"`
	Phase   string  `json:"phase"`
}

// Run runs the scenarios opts selects and returns their report. version is
// the benchmark's own hookline version; args the command line, for the
// record; progress receives a line per phase. A scenario that fails is
// reported with its error and the run goes on; Run then also returns an
// error.
func Run(ctx context.Context, opts Options, version string, args []string, progress io.Writer) (*Report, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Target == "" && opts.Server == "" {
		return nil, errors.New("bench: no server binary to start")
	}
	rep := &Report{Hookline: version, Machine: ReadMachine(), Args: args, Started: time.Now().UTC()}
	type side struct{ label, bin string }
	sides := []side{{"", opts.Server}}
	if opts.Baseline != "" {
		sides = []side{{"baseline", opts.Baseline}, {"this", opts.Server}}
	}
	rounds := opts.repeat()
	var errs []error
	for _, sc := range opts.scenarios() {
		for round := 1; round <= rounds && ctx.Err() == nil; round++ {
			order := sides
			if round%2 == 0 && len(sides) == 2 {
				// A, B, then B, A: the machine's drift over a series of
				// runs then favours neither binary.
				order = []side{sides[1], sides[0]}
			}
			for _, sd := range order {
				if ctx.Err() != nil {
					break
				}
				ro := opts
				ro.Server = sd.bin
				r := &runner{opts: ro, progress: progress}
				if rounds > 1 || sd.label != "" {
					r.label = strings.Trim(sd.label+"-"+strconv.Itoa(round), "-")
				}
				id := Result{Scenario: sc.Name, Binary: sd.label}
				if rounds > 1 {
					id.Round = round
				}
				name := id.name()
				r.logf("%s: %s", name, sc.Description)
				res := r.measured(ctx, sc)
				res.Binary, res.Round = id.Binary, id.Round
				if res.Error != "" {
					errs = append(errs, fmt.Errorf("scenario %s: %s", name, res.Error))
				}
				rep.Results = append(rep.Results, res)
			}
		}
	}
	if rounds > 1 || opts.Baseline != "" {
		rep.Summary = Summarize(rep.Results)
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return rep, errors.Join(errs...)
}

// profileName names a scenario's profiles: the scenario, and which run
// of it when it runs more than once, such as "max.baseline-2".
func profileName(scenario, label string) string {
	if label == "" {
		return scenario
	}
	return scenario + "." + label
}

// WriteJSON writes the report, indented, to path.
func (rep *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

type runner struct {
	opts     Options
	progress io.Writer
	// label tells apart the profiles of a scenario's runs when it runs
	// more than once, such as "baseline-2"; empty for a single run.
	label string
}

func (r *runner) logf(format string, args ...any) {
	if r.progress != nil {
		fmt.Fprintf(r.progress, "bench: "+format+"\n", args...)
	}
}

// target is the server a scenario runs against.
type target struct {
	base, token string
	pid         int
	srv         *Server // nil for --target
}

func newResult(sc Scenario) Result {
	res := Result{
		Scenario: sc.Name, Description: sc.Description, Endpoints: sc.Endpoints, PayloadSize: sc.PayloadSize,
		Concurrency: sc.Concurrency, Rate: sc.Rate, Count: sc.Count, Duration: sc.Duration.String(),
		FailRate: sc.FailRate, ServeArgs: sc.ServeArgs,
	}
	if sc.SinkDelay > 0 {
		res.SinkDelay = sc.SinkDelay.String()
	}
	return res
}

// scenario runs one scenario from start to finish: its own receiver, its
// own server and database, its own app.
func (r *runner) scenario(ctx context.Context, sc Scenario) (res Result) {
	if sc.Ceiling {
		return r.ceiling(ctx, sc)
	}
	if sc.Growth {
		return r.growth(ctx, sc)
	}
	if sc.Floor {
		return r.floor(ctx, sc)
	}
	res = newResult(sc)
	fail := func(err error) Result {
		res.Error = err.Error()
		r.logf("%s: %v", sc.Name, err)
		return res
	}
	dir, err := os.MkdirTemp("", "hookline-bench-")
	if err != nil {
		return fail(err)
	}
	// The directory goes unless the scenario went wrong: then its database
	// and server logs are what explains it. The deferred stop of the
	// server below runs first, so the database is closed by then.
	defer func() {
		if r.opts.Keep || res.Error != "" || res.Lost > 0 {
			r.logf("%s: kept %s (database and server logs)", sc.Name, dir)
			return
		}
		os.RemoveAll(dir)
	}()
	run := strings.ToLower(rand.Text()[:12])
	sink, err := StartSink(run, SinkOptions{Endpoints: sc.Endpoints, FailRate: sc.FailRate, Delay: sc.SinkDelay})
	if err != nil {
		return fail(err)
	}
	defer sink.Close()

	tg := target{base: strings.TrimRight(r.opts.Target, "/"), token: r.opts.Token, pid: r.opts.ServerPID}
	serveArgs := r.serveArgs(sc)
	res.ServeArgs = nil
	if r.opts.Target != "" && len(serveArgs) > 0 {
		note := fmt.Sprintf("the scenario runs its server with %s; give the --target server these flags for comparable figures",
			strings.Join(serveArgs, " "))
		res.Notes = append(res.Notes, note)
		r.logf("%s: note: %s", sc.Name, note)
	}
	db := r.opts.DB
	if db == "" {
		db = filepath.Join(dir, "hookline.db")
	}
	var prof *profiler
	if r.opts.ProfileDir != "" {
		addr, err := freeAddr()
		if err != nil {
			return fail(err)
		}
		prof = &profiler{dir: r.opts.ProfileDir, name: profileName(sc.Name, r.label), addr: addr, logf: r.logf}
		serveArgs = append(slices.Clip(serveArgs), "--debug-addr="+addr)
	}
	if r.opts.Target == "" {
		tg.token = "bench-" + rand.Text()
		srv, err := r.startServer(ctx, dir, db, serveArgs, tg.token, "server")
		if err != nil {
			return fail(err)
		}
		tg.base, tg.pid, tg.srv = srv.URL, srv.PID, srv
		res.ServeArgs = serveArgs
		res.Server = &ServerStats{PID: srv.PID, Version: srv.Version, StartupMS: ms(srv.Startup)}
		r.logf("%s: server %s (pid %d) up in %s", sc.Name, srv.Version, srv.PID, srv.Startup.Round(time.Millisecond))
		defer func() {
			if tg.srv == nil {
				return
			}
			took, err := tg.srv.Stop(time.Minute)
			if res.Server != nil && res.Backlog == nil {
				res.Server.StopSeconds = round3(took.Seconds())
			}
			if err != nil && res.Error == "" {
				res.Error = "stop server: " + err.Error()
			}
		}()
	} else if tg.pid > 0 {
		res.Server = &ServerStats{PID: tg.pid}
	}

	api := &apiClient{base: tg.base, token: tg.token, hc: NewClient(4)}
	appID, err := api.createApp(ctx, "bench-"+run)
	if err != nil {
		return fail(fmt.Errorf("create app: %w", err))
	}
	for i := range sc.Endpoints {
		if err := api.createEndpoint(ctx, appID, fmt.Sprintf("e%d", i), sink.URL(i)); err != nil {
			return fail(fmt.Errorf("create endpoint: %w", err))
		}
	}
	r.logf("%s: app %s with %d endpoint(s); publishing", sc.Name, appID, sc.Endpoints)

	accepted := &SeqSet{}
	client := NewLoadClient(sc.Concurrency)
	defer client.CloseIdleConnections()
	load := &Load{
		URL: api.publishURL(appID), Token: tg.token, PayloadSize: sc.PayloadSize, Concurrency: sc.Concurrency,
		Rate: sc.Rate, Count: sc.Count, Duration: sc.Duration, Client: client, Accepted: accepted,
	}
	afterPublish := func() {}
	if sc.Hostile {
		hctx, stop := context.WithCancel(ctx)
		defer stop()
		wait, err := startHostile(hctx, api, run)
		if err != nil {
			return fail(err)
		}
		r.logf("%s: hostile clients started", sc.Name)
		afterPublish = func() {
			stop()
			res.Hostile = wait()
		}
	}
	began := time.Now()
	if prof != nil {
		var ready func() bool
		if sc.Backlog {
			// The backlog's cost grows with it: profile its last part,
			// or its end if publishing stops short.
			ready = func() bool { return accepted.Len() >= sc.Count*7/10 || load.finished.Load() }
		}
		prof.startCPU(ctx, profileSeconds(sc), ready)
	}
	if sc.Backlog {
		err = r.backlog(ctx, sc, &res, sink, load, &tg, dir, db, serveArgs, began, prof)
	} else {
		err = r.steady(ctx, sc, &res, sink, load, tg, began, afterPublish)
		prof.wait()
		prof.allocs(ctx)
	}
	r.tallyResult(&res, sink.Tally(), accepted)
	if err != nil {
		return fail(err)
	}
	r.logf("%s: accepted %d (%.0f/s), delivered %d (%.0f/s), lost %d, duplicates %d, p50 %.2f ms, p99 %.2f ms",
		sc.Name, res.Accepted, res.AcceptedPerSec, res.Delivered, res.DeliveriesPerSec, res.Lost, res.Duplicates,
		res.Latency.P50, res.Latency.P99)
	return res
}

// measured runs a scenario and adds what the machine did meanwhile: the
// benchmark's own CPU time, and the time the server and the benchmark
// cannot account for, which says whether the figures had the machine to
// themselves.
func (r *runner) measured(ctx context.Context, sc Scenario) Result {
	began := time.Now()
	bench0, benchErr := ReadCPU(os.Getpid())
	sys0, sysErr := ReadSystemCPU()
	res := r.scenario(ctx, sc)
	res.WallSeconds = round3(time.Since(began).Seconds())
	bench1, err1 := ReadCPU(os.Getpid())
	sys1, err2 := ReadSystemCPU()
	if errors.Join(benchErr, sysErr, err1, err2) != nil || res.WallSeconds <= 0 {
		return res
	}
	res.BenchCPUSeconds = round3((bench1.Total() - bench0.Total()).Seconds())
	d := sys1.Sub(sys0)
	res.IRQCPUSeconds, res.StealSeconds = round3(d.IRQ.Seconds()), round3(d.Steal.Seconds())
	var srvCPU float64
	if res.Server != nil {
		srvCPU = res.Server.CPUSeconds
	}
	res.OtherCPUSeconds = round3(max(d.Busy.Seconds()-res.BenchCPUSeconds-srvCPU, 0))
	w := res.WallSeconds
	// A tenth of a core is noise from the kernel and idle daemons; more
	// means something else was running.
	if cores := res.OtherCPUSeconds / w; cores > 0.1 {
		res.Notes = append(res.Notes, fmt.Sprintf("other processes used %.1f CPU-seconds (%.2f cores on average) during this scenario: its figures are lower than the machine can do",
			res.OtherCPUSeconds, cores))
	}
	if cores := res.StealSeconds / w; cores > 0.1 {
		res.Notes = append(res.Notes, fmt.Sprintf("the host took %.1f CPU-seconds (%.2f cores on average) from this virtual machine during this scenario: its figures are lower than the machine can do",
			res.StealSeconds, cores))
	}
	r.logf("%s: cores used over %.1fs: server %.2f, benchmark %.2f, irq %.2f, other processes %.2f, stolen by the host %.2f",
		sc.Name, w, srvCPU/w, res.BenchCPUSeconds/w, res.IRQCPUSeconds/w, res.OtherCPUSeconds/w, res.StealSeconds/w)
	return res
}

// serveArgs returns the server flags of a scenario: its own, less any the
// user also gives, then the user's.
func (r *runner) serveArgs(sc Scenario) []string {
	var out []string
	for _, a := range sc.ServeArgs {
		name, _, _ := strings.Cut(a, "=")
		if !slices.ContainsFunc(r.opts.ServeArgs, func(u string) bool { return u == name || strings.HasPrefix(u, name+"=") }) {
			out = append(out, a)
		}
	}
	return append(out, r.opts.ServeArgs...)
}

func (r *runner) startServer(ctx context.Context, dir, db string, serveArgs []string, token, name string) (*Server, error) {
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--allow-private-networks"}, serveArgs...)
	// A restart on a large backlog may take a while; a hung one must not
	// hang the benchmark.
	return StartServer(ctx, r.opts.Server, args, childEnv(token), filepath.Join(dir, name+".log"), 5*time.Minute)
}

// steady publishes with the receiver up, calls afterPublish, then waits
// for the deliveries.
func (r *runner) steady(ctx context.Context, sc Scenario, res *Result, sink *Sink, load *Load, tg target, began time.Time,
	afterPublish func()) error {
	mon := startMonitor(tg.pid, began, "run")
	lr := load.Run(ctx)
	afterPublish()
	r.publishResult(res, lr)
	r.logf("%s: published %d, accepted %d in %.1fs; waiting for deliveries", sc.Name, lr.Sent, lr.Accepted, lr.Seconds())
	err := r.waitDeliveries(ctx, sink.Tally(), load.Accepted, sc.Endpoints, tg)
	cpu, peak, _ := mon.finish()
	if res.Server != nil {
		res.Server.CPUSeconds = round3(cpu.Seconds())
		res.Server.PeakRSSMiB = mib(peak)
	}
	return err
}

// backlog publishes with the receiver down, kills the server and restarts
// it on the backlog (a started server only), brings the receiver up and
// measures the drain.
func (r *runner) backlog(ctx context.Context, sc Scenario, res *Result, sink *Sink, load *Load, tg *target,
	dir, db string, serveArgs []string, began time.Time, prof *profiler) error {
	mode, _ := ParseSinkMode(r.opts.SinkDownMode)
	bs := &BacklogStats{Messages: sc.Count, SinkDownMode: r.opts.SinkDownMode}
	res.Backlog = bs
	if err := sink.SetMode(mode); err != nil {
		return err
	}
	mon := startMonitor(tg.pid, began, "publish")
	lr := load.Run(ctx)
	r.publishResult(res, lr)
	bs.AcceptedFirstTenthPerSec, bs.AcceptedLastTenthPerSec = tenths(lr.PerSecond)
	bs.AcceptedPerSecond = lr.PerSecond
	cpu, peak, samples := mon.finish()
	bs.PeakRSSMiBPublish = mib(peak)
	bs.RSS = samples
	r.logf("%s: %d accepted with the receiver down in %.1fs (%.0f/s; first tenth %.0f/s, last tenth %.0f/s)",
		sc.Name, lr.Accepted, lr.Seconds(), res.AcceptedPerSec, bs.AcceptedFirstTenthPerSec, bs.AcceptedLastTenthPerSec)
	if ctx.Err() != nil {
		return ctx.Err()
	}

	// The profiles are of the server taking the backlog, whose cost grows
	// with it; they must be written before it is killed.
	prof.wait()
	prof.allocs(ctx)
	if tg.srv != nil {
		// Kill the server holding the backlog, as a crash would: a
		// graceful stop would wait for the requests the held receiver never
		// answers, and turning them away instead would make failed attempts
		// that the retry schedule delays. The restarted server returns the
		// deliveries the dead one had claimed to the queue when it opens
		// the database.
		tg.srv.Kill()
		tg.srv = nil
		srv, err := r.startServer(ctx, dir, db, serveArgs, tg.token, "restarted")
		if err != nil {
			return fmt.Errorf("restart on the backlog: %w", err)
		}
		tg.srv, tg.pid = srv, srv.PID
		bs.RestartStartupMS = ms(srv.Startup)
		r.logf("%s: killed and restarted on the backlog in %s", sc.Name, srv.Startup.Round(time.Millisecond))
	}

	r.logf("%s: receiver up; draining", sc.Name)
	mon2 := startMonitor(tg.pid, began, "drain")
	up := time.Now()
	if err := sink.SetMode(SinkUp); err != nil {
		return err
	}
	err := r.waitDeliveries(ctx, sink.Tally(), load.Accepted, sc.Endpoints, *tg)
	cpu2, peak2, samples2 := mon2.finish()
	bs.RSS = append(bs.RSS, samples2...)
	if st := sink.Tally().Stats(); st.Last.After(up) {
		bs.DrainSeconds = round3(st.Last.Sub(up).Seconds())
		bs.DrainPerSec = math.Round(float64(st.Distinct) / st.Last.Sub(up).Seconds())
	}
	if res.Server != nil {
		res.Server.CPUSeconds = round3((cpu + cpu2).Seconds())
		res.Server.PeakRSSMiB = max(mib(peak), mib(peak2))
		if r.opts.Target == "" {
			bs.PeakRSSMiBDrain = mib(peak2)
		}
	}
	return err
}

// publishResult fills in the publishing figures.
func (r *runner) publishResult(res *Result, lr *LoadResult) {
	res.Sent, res.Accepted, res.Errors = lr.Sent, lr.Accepted, lr.Errors
	if len(res.Errors) == 0 {
		res.Errors = nil
	}
	res.PublishSeconds = round3(lr.Seconds())
	if s := lr.Seconds(); s > 0 {
		res.AcceptedPerSec = math.Round(float64(lr.Accepted) / s)
	}
	res.PublishLatency = lr.Ack.Summary()
}

// tallyResult fills in the delivery figures from the receiver's tally.
func (r *runner) tallyResult(res *Result, t *Tally, accepted *SeqSet) {
	st := t.Stats()
	res.Expected = accepted.Len() * int64(res.Endpoints)
	res.Delivered, res.Duplicates, res.FailedAnswers, res.Abandoned = st.Distinct, st.Duplicates, st.Failed, st.Abandoned
	res.Lost, res.Unacked = t.Missing(accepted)
	if st.Last.After(st.First) {
		res.DeliverySeconds = round3(st.Last.Sub(st.First).Seconds())
		res.DeliveriesPerSec = math.Round(float64(st.Distinct) / st.Last.Sub(st.First).Seconds())
	}
	if res.Backlog != nil && res.Backlog.DrainSeconds > 0 {
		res.DeliverySeconds, res.DeliveriesPerSec = res.Backlog.DrainSeconds, res.Backlog.DrainPerSec
	}
	res.Latency = st.Latency.Summary()
	if res.Server != nil {
		if res.Accepted > 0 {
			res.Server.CPUPerMessageUS = math.Round(res.Server.CPUSeconds * 1e6 / float64(res.Accepted))
		}
		if res.Delivered > 0 {
			res.Server.CPUPerDeliveryUS = math.Round(res.Server.CPUSeconds * 1e6 / float64(res.Delivered))
		}
	}
}

// waitDeliveries waits until every accepted message has reached every
// endpoint, or no delivery has come for the drain timeout, or a started
// server has exited. Once all have come it waits a second more, to let the
// server write its results, so that its CPU time covers the whole work of
// every message.
func (r *runner) waitDeliveries(ctx context.Context, t *Tally, accepted *SeqSet, endpoints int, tg target) error {
	expected := accepted.Len() * int64(endpoints)
	last, lastChange, lastCheck := t.Distinct(), time.Now(), time.Time{}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var exited <-chan struct{}
	if tg.srv != nil {
		exited = tg.srv.Exited()
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return fmt.Errorf("the server exited while delivering; its log ends:\n%s", tg.srv.LogTail(2048))
		case <-tick.C:
		}
		now := time.Now()
		d := t.Distinct()
		if d >= expected && now.Sub(lastCheck) >= time.Second {
			// Distinct can reach the count with deliveries of messages
			// whose 202 was lost, so check the pairs themselves.
			lastCheck = now
			if lost, _ := t.Missing(accepted); lost == 0 {
				waitContext(ctx, time.Second)
				return nil
			}
		}
		if d != last {
			last, lastChange = d, now
		}
		if now.Sub(lastChange) >= r.opts.DrainTimeout {
			r.logf("no delivery for %s with %d of %d delivered; counting the rest as lost", r.opts.DrainTimeout, d, expected)
			return nil
		}
	}
}

// ceiling measures plain Go HTTP: a keep-alive client and a server that
// answers 200 in this process, sharing the machine as the benchmark and
// hookline do.
func (r *runner) ceiling(ctx context.Context, sc Scenario) Result {
	res := newResult(sc)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		res.Error = err.Error()
		return res
	}
	srv := &http.Server{Handler: ceilingServer(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: discardLog}
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(ln) }) //nolint:errcheck // ends with ErrServerClosed
	defer func() {
		srv.Close()
		wg.Wait()
	}()
	client := NewClient(sc.Concurrency)
	defer client.CloseIdleConnections()
	load := &Load{
		URL: "http://" + ln.Addr().String() + "/", PayloadSize: sc.PayloadSize, Concurrency: sc.Concurrency,
		Rate: sc.Rate, Count: sc.Count, Duration: sc.Duration, Client: NetClient{client}, Status: http.StatusOK,
	}
	lr := load.Run(ctx)
	r.publishResult(&res, lr)
	r.logf("%s: %.0f requests/s", sc.Name, res.AcceptedPerSec)
	return res
}

// monitor samples a process's CPU time and resident set while a phase
// runs.
type monitor struct {
	pid    int
	phase  string
	began  time.Time
	cpu0   ProcCPU
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	sample []RSSSample
}

// rssInterval is how often the monitor reads the resident set: often
// enough to see the backlog's growth, rarely enough to cost nothing.
const rssInterval = 500 * time.Millisecond

func startMonitor(pid int, began time.Time, phase string) *monitor {
	m := &monitor{pid: pid, phase: phase, began: began, stop: make(chan struct{}), done: make(chan struct{})}
	if pid <= 0 {
		close(m.done)
		return m
	}
	m.cpu0, _ = ReadCPU(pid)
	go func() {
		defer close(m.done)
		t := time.NewTicker(rssInterval)
		defer t.Stop()
		for {
			if mem, err := ReadMem(pid); err == nil {
				m.mu.Lock()
				m.sample = append(m.sample, RSSSample{Seconds: round3(time.Since(began).Seconds()), MiB: mib(mem.RSS), Phase: phase})
				m.mu.Unlock()
			}
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// finish stops sampling and returns the CPU time used since the start,
// the peak resident set (VmHWM) and the samples.
func (m *monitor) finish() (time.Duration, int64, []RSSSample) {
	if m.pid <= 0 {
		return 0, 0, nil
	}
	close(m.stop)
	<-m.done
	cpu, _ := ReadCPU(m.pid)
	mem, _ := ReadMem(m.pid)
	m.mu.Lock()
	defer m.mu.Unlock()
	return cpu.Total() - m.cpu0.Total(), mem.Peak, m.sample
}

// tenths returns the mean rate of the first and the last tenth of a
// per-second series, leaving out the last second, which is partial.
func tenths(perSecond []int64) (first, last float64) {
	full := perSecond
	if len(full) > 1 {
		full = full[:len(full)-1]
	}
	if len(full) == 0 {
		return 0, 0
	}
	n := max(len(full)/10, 1)
	mean := func(s []int64) float64 {
		var sum int64
		for _, v := range s {
			sum += v
		}
		return math.Round(float64(sum) / float64(len(s)))
	}
	return mean(full[:n]), mean(full[len(full)-n:])
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e4) / 1e2 }

func mib(b int64) float64 { return math.Round(float64(b)/(1<<20)*10) / 10 }

func round3(f float64) float64 { return math.Round(f*1e3) / 1e3 }
