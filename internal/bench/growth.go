package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/fill"
)

// GrowthStats are the growth scenario's figures, one row per size, and how
// they changed from the first size to the last.
type GrowthStats struct {
	// Store is "sqlite" or "postgres".
	Store string `json:"store"`
	// App is the app the measurements publish to, apart from the grown
	// history's apps.
	App   string       `json:"app"`
	Sizes []GrowthSize `json:"sizes"`
	// Change is each figure's change from the first size to the last, in
	// percent, by the figure's name (see GrowthFigures).
	Change map[string]float64 `json:"change_percent,omitempty"`
	// Flags name the figures that miss the targets: a degradation of
	// more than 20% from the first size to the last, or a list route
	// slower than 50 ms at the 99th percentile.
	Flags []string `json:"flags,omitempty"`
}

// GrowthSize holds the figures measured on the database grown to one size.
type GrowthSize struct {
	// Messages, Deliveries, Attempts and Received count the rows the fill
	// made, in all, up to this size; the measurements then add their own
	// messages in an app of their own.
	Messages   int64 `json:"messages"`
	Deliveries int64 `json:"deliveries"`
	Attempts   int64 `json:"attempts"`
	Received   int64 `json:"received"`
	// FillSeconds and FillRowsPerSec are those of the growth from the
	// previous size, through the store's bulk load.
	FillSeconds    float64 `json:"fill_seconds"`
	FillRowsPerSec float64 `json:"fill_rows_per_sec"`
	// DiskBytes is the database's size on disk after the fill (SQLite:
	// file and write-ahead log; PostgreSQL: its tables with indexes and
	// TOAST), and BytesPerMessage that over the messages it holds: the
	// history's and those the measurements of the smaller sizes published.
	DiskBytes       int64   `json:"disk_bytes"`
	BytesPerMessage float64 `json:"bytes_per_message"`
	// Startup is the server's start-up over several starts on the grown
	// database.
	Startup Summary `json:"startup"`
	// MaxPerSec is the publish rate of a closed loop, with the latency of
	// its answers in MaxLatency.
	MaxPerSec  float64 `json:"max_accepted_per_sec"`
	MaxLatency Summary `json:"max_publish_latency"`
	// Rate1000 is the publish latency (send to 202) at an open-loop 1,000
	// messages per second.
	Rate1000 Summary `json:"rate_1000_publish_latency"`
	// Lists are the latencies of the list routes, by name: msg-first,
	// msg-deep, msg-rare-type, msg-window, attempt-first, attempt-deep.
	Lists map[string]Summary `json:"lists"`
	// PruneRows and PruneRowsPerSec are what the store's RetentionPrune
	// changed, called as the server's upkeep calls it (1,000 messages and
	// 1,000 attempts a call) back to back, with the server stopped;
	// PruneCall is the time of each call.
	PruneRows       int64   `json:"prune_rows"`
	PruneRowsPerSec float64 `json:"prune_rows_per_sec"`
	PruneCall       Summary `json:"prune_call"`
	// PruneRate1000 is the publish latency at an open-loop 1,000 messages
	// per second on a server started with a --retention that leaves its
	// upkeep old rows to prune, and UpkeepPruned the rows that upkeep
	// reported pruning by the time it was stopped.
	PruneRate1000 Summary `json:"prune_rate_1000_publish_latency"`
	UpkeepPruned  int64   `json:"upkeep_pruned_rows"`
}

// GrowthFigure is one figure of the growth table.
type GrowthFigure struct {
	Name string
	// Millis is true for a latency in milliseconds, shown with decimals.
	Millis bool
	// Higher is true when a higher value is better.
	Higher bool
	// List marks a list route's p99, which has a target of its own.
	List bool
	// Target is false for figures about the benchmark rather than the
	// server, which no target applies to.
	Target bool
	Value  func(*GrowthSize) float64
}

// worse returns by how many percent a change of pct percent makes the
// figure worse.
func (f GrowthFigure) worse(pct float64) float64 {
	if f.Higher {
		return -pct
	}
	return pct
}

// listRoutes are the list routes measured, in the table's order.
var listRoutes = []string{"msg-first", "msg-deep", "msg-rare-type", "msg-window", "attempt-first", "attempt-deep"}

// GrowthFigures returns the figures of the growth table, in its order.
func GrowthFigures() []GrowthFigure {
	figs := []GrowthFigure{
		{Name: "fill rows/s", Higher: true, Value: func(g *GrowthSize) float64 { return g.FillRowsPerSec }},
		{Name: "bytes/msg", Target: true, Value: func(g *GrowthSize) float64 { return g.BytesPerMessage }},
		{Name: "start-up p50 ms", Millis: true, Target: true, Value: func(g *GrowthSize) float64 { return g.Startup.P50 }},
		{Name: "max msg/s", Higher: true, Target: true, Value: func(g *GrowthSize) float64 { return g.MaxPerSec }},
		{Name: "p99 ms at 1000/s", Millis: true, Target: true, Value: func(g *GrowthSize) float64 { return g.Rate1000.P99 }},
	}
	for _, name := range listRoutes {
		figs = append(figs, GrowthFigure{Name: name + " p99 ms", Millis: true, List: true, Target: true,
			Value: func(g *GrowthSize) float64 { return g.Lists[name].P99 }})
	}
	return append(figs,
		GrowthFigure{Name: "prune rows/s", Higher: true, Target: true, Value: func(g *GrowthSize) float64 { return g.PruneRowsPerSec }},
		GrowthFigure{Name: "p99 ms at 1000/s pruning", Millis: true, Target: true, Value: func(g *GrowthSize) float64 { return g.PruneRate1000.P99 }},
	)
}

// Growth targets: how much a figure may degrade from the first size to
// the last, and the slowest a list route may be at its 99th percentile.
const (
	growthMaxDegradePct = 20
	growthMaxListP99MS  = 50
)

// growthStarts is how many times the server is started on each size to
// measure its start-up; listRequests bounds the requests of each list
// route, as does the scenario's duration.
const (
	growthStarts = 3
	listRequests = 100
)

// growth runs the growth scenario: one database grown through the sizes,
// measured at each.
func (r *runner) growth(ctx context.Context, sc Scenario) (res Result) {
	res = newResult(sc)
	gs := &GrowthStats{Store: "sqlite"}
	res.Growth = gs
	fail := func(err error) Result {
		res.Error = err.Error()
		r.logf("%s: %v", sc.Name, err)
		return res
	}
	if r.opts.Open == nil {
		return fail(errors.New("no way to open the database: Options.Open is not set"))
	}
	dir, err := os.MkdirTemp("", "hookline-bench-")
	if err != nil {
		return fail(err)
	}
	defer func() {
		if r.opts.Keep || res.Error != "" {
			r.logf("%s: kept %s (database and server logs)", sc.Name, dir)
			return
		}
		os.RemoveAll(dir)
	}()
	db := r.opts.DB
	if db == "" {
		db = filepath.Join(dir, "hookline.db")
	}
	if isPostgres(db) {
		gs.Store = "postgres"
	}
	sizes := r.opts.GrowthSizes
	h := &fill.History{End: time.Now().UTC(), Span: 30 * 24 * time.Hour, Total: sizes[len(sizes)-1]}
	if err := r.checkEmpty(ctx, db); err != nil {
		return fail(err)
	}
	run := strings.ToLower(rand.Text()[:12])
	sink, err := StartSink(run, SinkOptions{Endpoints: 1})
	if err != nil {
		return fail(err)
	}
	defer sink.Close()
	token := "bench-" + rand.Text()
	g := &grower{r: r, sc: sc, h: h, db: db, dir: dir, token: token, sink: sink, run: run}
	var have fill.Counts
	for _, n := range sizes {
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
		size, err := g.size(ctx, &have, n)
		gs.Sizes, gs.App = append(gs.Sizes, size), g.appID
		if err != nil {
			return fail(fmt.Errorf("at %d messages: %w", n, err))
		}
	}
	gs.judge()
	return res
}

// isPostgres reports whether a --db value names a PostgreSQL database.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// checkEmpty refuses a database that holds an installation already: the
// growth scenario's sizes are those of a database it grew from empty.
func (r *runner) checkEmpty(ctx context.Context, db string) error {
	st, err := r.opts.Open(ctx, db)
	if err != nil {
		return fmt.Errorf("open --db: %w", err)
	}
	defer st.Close()
	apps, _, err := st.AppList(ctx, store.Page{Limit: 1})
	if err != nil {
		return fmt.Errorf("check --db is empty: %w", err)
	}
	if len(apps) > 0 {
		return fmt.Errorf("--db %s already holds apps; the growth scenario grows a database from empty, so give it a new one (for PostgreSQL: createdb hookline_growth, then --db postgres://.../hookline_growth)", redactDB(db))
	}
	return nil
}

// redactDB leaves a password out of a database URL.
func redactDB(db string) string {
	u, err := url.Parse(db)
	if err != nil || u.User == nil {
		return db
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// grower measures one database as it grows.
type grower struct {
	r          *runner
	sc         Scenario
	h          *fill.History
	db, dir    string
	token, run string
	sink       *Sink
	// appID and the endpoint to the sink are made on the first size's
	// server, for the messages the measurements publish; published counts
	// those accepted.
	appID     string
	published int64
}

// size grows the database from what it has to n messages and measures it.
func (g *grower) size(ctx context.Context, have *fill.Counts, n int64) (GrowthSize, error) {
	r, name := g.r, g.sc.Name
	gz := GrowthSize{Lists: map[string]Summary{}}
	st, err := r.opts.Open(ctx, g.db)
	if err != nil {
		return gz, fmt.Errorf("open --db: %w", err)
	}
	defer func() {
		if st != nil {
			st.Close()
		}
	}()
	r.logf("%s: filling to %d messages", name, n)
	began, last := time.Now(), time.Now()
	c, err := g.h.Grow(ctx, st, have.Messages, n, func(p fill.Progress) {
		if time.Since(last) >= 2*time.Second {
			last = time.Now()
			r.logf("%s: fill: %d of %d messages, %d rows, %.0f rows/s", name, have.Messages+p.Done.Messages, n,
				p.Done.Rows(), float64(p.Done.Rows())/p.Elapsed.Seconds())
		}
	})
	if err != nil {
		return gz, err
	}
	secs := time.Since(began).Seconds()
	have.Messages += c.Messages
	have.Deliveries += c.Deliveries
	have.Attempts += c.Attempts
	have.Received += c.Received
	gz.Messages, gz.Deliveries, gz.Attempts, gz.Received = have.Messages, have.Deliveries, have.Attempts, have.Received
	gz.FillSeconds = round3(secs)
	if secs > 0 {
		gz.FillRowsPerSec = math.Round(float64(c.Rows()) / secs)
	}
	r.logf("%s: filled to %d messages: %d rows in %.1fs (%.0f rows/s)", name, n, c.Rows(), secs, gz.FillRowsPerSec)

	if sz, ok := st.(store.Sizer); ok {
		if err := sz.Settle(ctx); err != nil {
			return gz, err
		}
		if gz.DiskBytes, err = sz.DiskSize(ctx); err != nil {
			return gz, err
		}
		gz.BytesPerMessage = math.Round(float64(gz.DiskBytes) / float64(gz.Messages+g.published))
	}
	if err := g.prune(ctx, st, &gz); err != nil {
		return gz, err
	}
	// The prune changed old pages, which the checkpoint its WAL sets off
	// would write out under the measurements that follow.
	if sz, ok := st.(store.Sizer); ok {
		if err := sz.Settle(ctx); err != nil {
			return gz, err
		}
	}
	err = st.Close()
	st = nil
	if err != nil {
		return gz, fmt.Errorf("close the filled database: %w", err)
	}
	return gz, g.serve(ctx, &gz)
}

// pruneCall is how many messages, and as many attempts, one RetentionPrune
// call changes: the server's upkeep's batch.
const pruneCall = 1000

// prune calls the store's RetentionPrune as the server's upkeep does,
// back to back, with a cutoff at two fifths of the history, until it has
// caught up or twice the scenario's duration has passed. It runs with the
// server stopped because a SQLite database serves one process; the
// server's own upkeep paces its calls, which serve measures.
func (g *grower) prune(ctx context.Context, st store.Store, gz *GrowthSize) error {
	m, ok := st.(store.Maintainer)
	if !ok {
		return errors.New("this store has no retention prune (store.Maintainer)")
	}
	cutoff := g.h.MessageTime(gz.Messages * 2 / 5)
	var calls Histogram
	began := time.Now()
	deadline := began.Add(2 * g.sc.Duration)
	for time.Now().Before(deadline) {
		t := time.Now()
		n, err := m.RetentionPrune(ctx, cutoff, pruneCall)
		if err != nil {
			return err
		}
		calls.Record(time.Since(t))
		gz.PruneRows += int64(n)
		if n < 2*pruneCall {
			break
		}
	}
	gz.PruneCall = calls.Summary()
	if s := time.Since(began).Seconds(); s > 0 {
		gz.PruneRowsPerSec = math.Round(float64(gz.PruneRows) / s)
	}
	g.r.logf("%s: retention prune: %d rows in %d calls, %.0f rows/s, p99 %.1f ms a call", g.sc.Name, gz.PruneRows,
		calls.Count(), gz.PruneRowsPerSec, gz.PruneCall.P99)
	return nil
}

// serve starts servers on the grown database and measures through them:
// start-up, publishing, the list routes, and publishing while the
// server's upkeep prunes.
func (g *grower) serve(ctx context.Context, gz *GrowthSize) error {
	r, name := g.r, g.sc.Name
	args := append(r.serveArgs(g.sc), "--retention=0")
	var srv *Server
	defer func() {
		if srv != nil {
			srv.Stop(time.Minute) //nolint:errcheck // a failed measurement is reported already
		}
	}()
	var starts Histogram
	for i := range growthStarts {
		if srv != nil {
			if _, err := srv.Stop(time.Minute); err != nil {
				srv = nil
				return err
			}
		}
		var err error
		srv, err = r.startServer(ctx, g.dir, g.db, args, g.token, fmt.Sprintf("server-%d-%d", gz.Messages, i))
		if err != nil {
			return err
		}
		starts.Record(srv.Startup)
	}
	gz.Startup = starts.Summary()
	r.logf("%s: server start-up p50 %.0f ms, max %.0f ms", name, gz.Startup.P50, gz.Startup.Max)

	api := &apiClient{base: srv.URL, token: g.token, hc: NewClient(4)}
	if g.appID == "" {
		var err error
		if g.appID, err = api.createApp(ctx, "bench-"+g.run); err != nil {
			return fmt.Errorf("create app: %w", err)
		}
		if err := api.createEndpoint(ctx, g.appID, "e0", g.sink.URL(0)); err != nil {
			return fmt.Errorf("create endpoint: %w", err)
		}
	}
	lr, err := g.publish(ctx, api, 0)
	if err != nil {
		return err
	}
	gz.MaxPerSec = math.Round(float64(lr.Accepted) / lr.Seconds())
	gz.MaxLatency = lr.Ack.Summary()
	if lr, err = g.publish(ctx, api, 1000); err != nil {
		return err
	}
	gz.Rate1000 = lr.Ack.Summary()
	r.logf("%s: publishing: max %.0f/s, p99 at 1000/s %.2f ms", name, gz.MaxPerSec, gz.Rate1000.P99)

	if err := g.lists(ctx, api, gz); err != nil {
		return err
	}

	// A server whose upkeep finds old payloads to prune: those older than
	// three fifths of the history, beyond the two fifths prune took.
	_, err = srv.Stop(time.Minute)
	srv = nil
	if err != nil {
		return err
	}
	retention := max(time.Since(g.h.MessageTime(gz.Messages*3/5)).Truncate(time.Second), time.Hour)
	logName := fmt.Sprintf("server-%d-prune", gz.Messages)
	srv, err = r.startServer(ctx, g.dir, g.db, append(r.serveArgs(g.sc), fmt.Sprintf("--retention=%s", retention)), g.token, logName)
	if err != nil {
		return err
	}
	api.base = srv.URL
	// The upkeep starts pruning once the node leads, which on PostgreSQL
	// may wait for the last server's session to let go of the lock, and
	// logs what it pruned at the end of a round.
	logPath := filepath.Join(g.dir, logName+".log")
	if err := waitLog(ctx, logPath, leaderRE, upkeepWait); err != nil {
		return err
	}
	if lr, err = g.publish(ctx, api, 1000); err != nil {
		return err
	}
	gz.PruneRate1000 = lr.Ack.Summary()
	if err := waitLog(ctx, logPath, upkeepRE, upkeepWait); err != nil {
		return err
	}
	_, err = srv.Stop(time.Minute)
	srv = nil
	if err != nil {
		return err
	}
	if b, err := os.ReadFile(logPath); err == nil {
		gz.UpkeepPruned = upkeepPruned(b)
	}
	r.logf("%s: p99 at 1000/s while the upkeep prunes %.2f ms (it pruned %d rows)", name, gz.PruneRate1000.P99, gz.UpkeepPruned)
	return nil
}

// publish publishes to the measurements' app for the scenario's duration,
// in a closed loop or at rate, and waits for the deliveries, so that they
// do not weigh on what is measured next.
func (g *grower) publish(ctx context.Context, api *apiClient, rate float64) (*LoadResult, error) {
	conc := g.sc.Concurrency
	if rate > 0 {
		conc = 256
	}
	client := NewLoadClient(conc)
	defer client.CloseIdleConnections()
	load := &Load{URL: api.publishURL(g.appID), Token: g.token, PayloadSize: g.sc.PayloadSize, Concurrency: conc,
		Rate: rate, Duration: g.sc.Duration, Client: client}
	if rate > 0 {
		load.Count = int64(rate * g.sc.Duration.Seconds())
	}
	lr := load.Run(ctx)
	if lr.Accepted == 0 {
		return lr, fmt.Errorf("publishing: no message accepted (%s)", errorSummary(lr.Errors))
	}
	if len(lr.Errors) > 0 {
		g.r.logf("%s: publishing errors: %s", g.sc.Name, errorSummary(lr.Errors))
	}
	g.published += lr.Accepted
	g.settle(ctx)
	return lr, nil
}

// settle waits until the receiver has had a delivery for every message
// published, or none has come for 30 seconds. The phases number their
// messages from 0 alike, so it counts every delivery, first or not.
func (g *grower) settle(ctx context.Context) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last int64
	lastChange := time.Now()
	for ctx.Err() == nil {
		st := g.sink.Tally().Stats()
		got := st.Distinct + st.Duplicates
		if got >= g.published {
			return
		}
		if got != last {
			last, lastChange = got, time.Now()
		}
		if time.Since(lastChange) > 30*time.Second {
			g.r.logf("%s: %d of %d deliveries after 30 s without one; going on", g.sc.Name, got, g.published)
			return
		}
		<-tick.C
	}
}

// lists times the list routes on the largest app and its busiest
// endpoint: first pages, pages from the middle of the history, a rare
// event type and an hour's window.
func (g *grower) lists(ctx context.Context, api *apiClient, gz *GrowthSize) error {
	app, ep := url.PathEscape(g.h.AppID(0)), url.PathEscape(g.h.EndpointID(0, 0))
	msgs := "/api/v1/app/" + app + "/msg"
	atts := "/api/v1/app/" + app + "/attempt/endpoint/" + ep
	mid := g.h.MessageTime(gz.Messages / 2)
	midQ := url.QueryEscape(mid.Format(time.RFC3339Nano))
	firstBefore := func(path string) (string, error) {
		var out struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if err := api.call(ctx, http.MethodGet, path+"?limit=1&before="+midQ, nil, &out); err != nil {
			return "", err
		}
		if len(out.Data) == 0 {
			return "", fmt.Errorf("GET %s: nothing before the middle of the history", path)
		}
		return out.Data[0].ID, nil
	}
	midMsg, err := firstBefore(msgs)
	if err != nil {
		return err
	}
	midAttempt, err := firstBefore(atts)
	if err != nil {
		return err
	}
	routes := map[string]string{
		"msg-first":     msgs + "?limit=50",
		"msg-deep":      msgs + "?limit=50&iterator=" + url.QueryEscape(midMsg),
		"msg-rare-type": msgs + "?limit=50&event_types=" + url.QueryEscape(fill.RareEventType),
		"msg-window": msgs + "?limit=50&after=" + url.QueryEscape(mid.Add(-time.Hour).Format(time.RFC3339Nano)) +
			"&before=" + midQ,
		"attempt-first": atts + "?limit=50",
		"attempt-deep":  atts + "?limit=50&iterator=" + url.QueryEscape(midAttempt),
	}
	for _, name := range listRoutes {
		s, err := timedGet(ctx, api, routes[name], listRequests, g.sc.Duration)
		if err != nil {
			return err
		}
		gz.Lists[name] = s
		g.r.logf("%s: %s: p50 %.2f ms, p99 %.2f ms over %d requests", g.sc.Name, name, s.P50, s.P99, s.Count)
	}
	return nil
}

// upkeepRE matches the server's log line of a round of retention
// pruning, in the text or the JSON log format.
var upkeepRE = regexp.MustCompile(`"?msg"?[=:]"?retention\b.*?"?rows_pruned"?[=:](\d+)`)

// leaderRE matches the server's log line when it becomes the upkeep's
// leader, in the text or the JSON log format.
var leaderRE = regexp.MustCompile(`"?msg"?[=:]"upkeep leader".*?"?leading"?[=:]true`)

// upkeepWait bounds the waits for the upkeep's log lines: a node tries to
// lead once a minute, and a round logs within half a minute.
const upkeepWait = 2 * time.Minute

// waitLog waits until the log at path has a line that re matches, for at
// most d.
func waitLog(ctx context.Context, path string, re *regexp.Regexp, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		if b, err := os.ReadFile(path); err == nil && re.Match(b) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s has no line matching %s after %s; is the upkeep running?", path, re, d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// upkeepPruned sums the rows the server's upkeep logged pruning.
func upkeepPruned(log []byte) int64 {
	var n int64
	for _, m := range upkeepRE.FindAllSubmatch(log, -1) {
		v, _ := strconv.ParseInt(string(m[1]), 10, 64)
		n += v
	}
	return n
}

// timedGet sends GET path n times, one after the other, until d passes,
// and returns the latencies of the answers, which must be 200.
func timedGet(ctx context.Context, api *apiClient, path string, n int, d time.Duration) (Summary, error) {
	var hist Histogram
	deadline := time.Now().Add(d)
	for i := 0; i < n && (i == 0 || time.Now().Before(deadline)); i++ {
		began := time.Now()
		if err := api.call(ctx, http.MethodGet, path, nil, nil); err != nil {
			return hist.Summary(), err
		}
		hist.Record(time.Since(began))
	}
	return hist.Summary(), nil
}

// judge works out the change of each figure from the first size to the
// last and flags those that miss a target.
func (gs *GrowthStats) judge() {
	if len(gs.Sizes) == 0 {
		return
	}
	first, last := &gs.Sizes[0], &gs.Sizes[len(gs.Sizes)-1]
	gs.Change = map[string]float64{}
	gs.Flags = nil
	for _, f := range GrowthFigures() {
		if f.List {
			for _, s := range gs.Sizes {
				if v := f.Value(&s); v > growthMaxListP99MS {
					gs.Flags = append(gs.Flags, fmt.Sprintf("%s: %.1f ms at %s messages, over %d ms", f.Name, v, num(float64(s.Messages)), growthMaxListP99MS))
				}
			}
		}
		a, b := f.Value(first), f.Value(last)
		if len(gs.Sizes) < 2 || a == 0 {
			continue
		}
		pct := math.Round((b-a)/a*1000) / 10
		gs.Change[f.Name] = pct
		if f.Target && f.worse(pct) > growthMaxDegradePct {
			gs.Flags = append(gs.Flags, fmt.Sprintf("%s: %s from %s to %s messages, more than %d%% worse", f.Name, signedPct(pct),
				num(float64(first.Messages)), num(float64(last.Messages)), growthMaxDegradePct))
		}
	}
}

// WriteTable writes the growth figures as a table, one row per size,
// then their change from the first size to the last, a "!" beside each
// figure that misses a target, and what each flag means.
func (gs *GrowthStats) WriteTable(w io.Writer, name string) error {
	fmt.Fprintf(w, "\n%s on %s: p99 of each list route; p50 of start-up\n", name, gs.Store)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	figs := GrowthFigures()
	fmt.Fprint(tw, "messages\t")
	for _, f := range figs {
		fmt.Fprintf(tw, "%s\t", strings.TrimSuffix(strings.TrimSuffix(f.Name, " p99 ms"), " p50 ms"))
	}
	fmt.Fprintln(tw)
	for i := range gs.Sizes {
		s := &gs.Sizes[i]
		fmt.Fprintf(tw, "%s\t", num(float64(s.Messages)))
		for _, f := range figs {
			v := f.Value(s)
			mark := ""
			if f.List && v > growthMaxListP99MS {
				mark = "!"
			}
			fmt.Fprintf(tw, "%s%s\t", growthValue(f, v), mark)
		}
		fmt.Fprintln(tw)
	}
	if len(gs.Sizes) > 1 {
		fmt.Fprint(tw, "change\t")
		for _, f := range figs {
			pct, ok := gs.Change[f.Name]
			cell := "-"
			if ok {
				cell = signedPct(pct)
				if f.Target && f.worse(pct) > growthMaxDegradePct {
					cell += "!"
				}
			}
			fmt.Fprintf(tw, "%s\t", cell)
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "list routes, all on the largest app: msg = GET /api/v1/app/{app}/msg, attempt = GET /api/v1/app/{app}/attempt/endpoint/{ep}; "+
		"first page, deep (from the middle of the history), rare event type, an hour's window")
	fmt.Fprintf(w, "targets: no figure more than %d%% worse from the first size to the last; list routes under %d ms p99 (fill rows/s is the benchmark's own)\n",
		growthMaxDegradePct, growthMaxListP99MS)
	for _, f := range gs.Flags {
		fmt.Fprintf(w, "  misses: %s\n", f)
	}
	return nil
}

// growthValue formats a figure: rates and sizes without decimals,
// latencies with two.
func growthValue(f GrowthFigure, v float64) string {
	if f.Millis {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return num(v)
}

// signedPct formats a change in percent with its sign.
func signedPct(p float64) string { return fmt.Sprintf("%+.1f%%", p) }
