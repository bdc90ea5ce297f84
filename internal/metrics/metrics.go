// Package metrics counts what a hookline node does and serves the counts
// at GET /metrics in Prometheus's text format.
//
// A Metrics owns its registry: nothing is registered with the Prometheus
// client's global one, so that each server, and each test, counts apart.
// The packages that count declare the small interface they need and are
// handed a *Metrics by cmd/hookline. Every label value a hot path uses is
// looked up once, where it is first known (a route when it is registered,
// an outcome when the Metrics is made, a source when it first sends), so
// that counting is an atomic add and never allocates. A nil *Metrics
// counts nothing, which is how a server with metrics off runs.
package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
)

// DefaultSourceLabels is how many sources get a label of their own on
// hookline_inbound_requests_total when Options.SourceLabels is zero.
const DefaultSourceLabels = 50

// OtherSource is the source label of the requests to the sources beyond
// Options.SourceLabels.
const OtherSource = "other"

// Inbound results, the result label of hookline_inbound_requests_total.
const (
	Accepted   = "accepted"   // verified and stored (2xx), or a handshake answered
	Rejected   = "rejected"   // failed verification (401)
	Duplicate  = "duplicate"  // verified, and a repeat of a delivery ID already stored (2xx)
	TooLarge   = "too_large"  // over the source's body limit (413)
	Overloaded = "overloaded" // no room under the memory bounds (503)
)

var inboundResults = [...]string{Accepted, Rejected, Duplicate, TooLarge, Overloaded}

// Delivery outcomes, the outcome label of hookline_deliveries_total.
const (
	Success = "success" // the attempt got a 2xx: the delivery is done
	Retry   = "retry"   // the attempt failed and the delivery will be attempted again
	Failure = "failure" // the attempt failed and the delivery gives up
)

// Options configure a Metrics.
type Options struct {
	// Gauges, when set, is read at scrape time for the backlog and the
	// disabled endpoints, at most once per GaugeTTL.
	Gauges store.Gauger
	// GaugeTTL is how long a read of Gauges answers scrapes. Default 2s.
	GaugeTTL time.Duration
	// SourceLabels is how many sources get a label of their own on
	// hookline_inbound_requests_total, the first to send since start;
	// the requests to the others are counted under OtherSource. Zero
	// means DefaultSourceLabels; negative labels none.
	SourceLabels int
	// Now tells the time the oldest due delivery's age is measured at.
	// Default time.Now.
	Now func() time.Time
	// Logger receives errors reading the gauges and serving scrapes.
	// Default: discard.
	Logger *slog.Logger
}

// Metrics holds a node's counters and the registry they are served from.
type Metrics struct {
	reg *prometheus.Registry
	log *slog.Logger

	published prometheus.Counter
	// outcomes are hookline_deliveries_total's children by outcome.
	success, retry, failure prometheus.Counter
	attempt                 prometheus.Histogram
	latency                 prometheus.Histogram

	inbound      *prometheus.CounterVec
	sourceLabels int
	sourcesMu    sync.RWMutex
	sources      map[string]*[len(inboundResults)]prometheus.Counter
	other        *[len(inboundResults)]prometheus.Counter

	apiRequests *prometheus.CounterVec
	apiDuration *prometheus.HistogramVec
}

// New returns a Metrics with every hookline metric, the Go runtime's and
// the process's registered.
func New(opts Options) *Metrics {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.SourceLabels == 0 {
		opts.SourceLabels = DefaultSourceLabels
	}
	m := &Metrics{
		reg:          prometheus.NewRegistry(),
		log:          opts.Logger,
		sourceLabels: max(opts.SourceLabels, 0),
		sources:      map[string]*[len(inboundResults)]prometheus.Counter{},
	}
	m.published = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hookline_messages_published_total",
		Help: "Messages published through the API (POST /api/v1/app/{app_id}/msg), not counting a repeated eventId.",
	})
	deliveries := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookline_deliveries_total",
		Help: "Delivery attempts by what became of the delivery: success (2xx, done), retry (failed, another attempt is scheduled) or failure (failed, no attempt left or not retriable).",
	}, []string{"outcome"})
	m.success = deliveries.WithLabelValues(Success)
	m.retry = deliveries.WithLabelValues(Retry)
	m.failure = deliveries.WithLabelValues(Failure)
	m.attempt = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hookline_delivery_duration_seconds",
		Help:    "Duration of each delivery attempt's HTTP request, from sending it to reading the response or giving up on it.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30},
	})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hookline_delivery_latency_seconds",
		Help:    "Time from a message's publish to its successful delivery to an endpoint, retries included.",
		Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 48 * 3600},
	})
	m.inbound = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookline_inbound_requests_total",
		Help: "Requests to inbound receive URLs by source ID (\"other\" beyond --metrics-source-labels) and result: accepted, rejected (401), duplicate, too_large (413) or overloaded (503).",
	}, []string{"source", "result"})
	m.other = m.sourceCounters(OtherSource)
	m.apiRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hookline_api_requests_total",
		Help: "API requests by route (the pattern the request matched, \"unmatched\" for none) and status code.",
	}, []string{"route", "code"})
	m.apiDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "hookline_api_request_duration_seconds",
		Help:    "Duration of API requests by route, from routing to the handler's return.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route"})
	m.reg.MustRegister(m.published, deliveries, m.attempt, m.latency, m.inbound, m.apiRequests, m.apiDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if opts.Gauges != nil {
		m.reg.MustRegister(newGauges(opts, m.log))
	}
	return m
}

// Handler serves the metrics in the format the scraper asks for.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:            slogErrorLog{m.log},
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	})
}

// Registry is the registry the metrics are served from, for tests and for
// registering more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Published counts n messages published.
func (m *Metrics) Published(n int) {
	if m == nil {
		return
	}
	m.published.Add(float64(n))
}

// Attempted counts a delivery attempt by the delivery's status after it:
// hookline.StatusSuccess, StatusPending (to be retried) or StatusFail. took
// is the duration of its HTTP request, zero when it made none; latency is
// the time since the message was published, counted for a success.
func (m *Metrics) Attempted(status hookline.Status, took, latency time.Duration) {
	if m == nil {
		return
	}
	switch status {
	case hookline.StatusSuccess:
		m.success.Inc()
		m.latency.Observe(max(latency, 0).Seconds())
	case hookline.StatusPending:
		m.retry.Inc()
	default:
		m.failure.Inc()
	}
	if took > 0 {
		m.attempt.Observe(took.Seconds())
	}
}

// Received counts a request to a source's receive URL by its result, one
// of Accepted, Rejected, Duplicate, TooLarge and Overloaded.
func (m *Metrics) Received(sourceID, result string) {
	if m == nil {
		return
	}
	i := resultIndex(result)
	if i < 0 {
		return
	}
	m.sourcesMu.RLock()
	c, ok := m.sources[sourceID]
	m.sourcesMu.RUnlock()
	if !ok {
		c = m.newSource(sourceID)
	}
	c[i].Inc()
}

// newSource returns the counters of a source first seen: its own while
// fewer than sourceLabels sources have theirs, the other sources' after.
func (m *Metrics) newSource(sourceID string) *[len(inboundResults)]prometheus.Counter {
	m.sourcesMu.Lock()
	defer m.sourcesMu.Unlock()
	if c, ok := m.sources[sourceID]; ok {
		return c
	}
	if len(m.sources) >= m.sourceLabels {
		return m.other
	}
	c := m.sourceCounters(sourceID)
	m.sources[sourceID] = c
	return c
}

func (m *Metrics) sourceCounters(label string) *[len(inboundResults)]prometheus.Counter {
	var c [len(inboundResults)]prometheus.Counter
	for i, r := range inboundResults {
		c[i] = m.inbound.WithLabelValues(label, r)
	}
	return &c
}

func resultIndex(result string) int {
	for i, r := range inboundResults {
		if r == result {
			return i
		}
	}
	return -1
}

// UnmatchedRoute is the route label of API requests that matched no
// route (404 and 405).
const UnmatchedRoute = "unmatched"

// Route returns the function that counts a request to the route of the
// pattern, with its status code and duration: looked up once per pattern,
// it counts without allocating. Nil when m is nil.
func (m *Metrics) Route(pattern string) func(code int, took time.Duration) {
	if m == nil {
		return nil
	}
	r := &route{pattern: pattern, requests: m.apiRequests, durations: m.apiDuration}
	empty := map[int]prometheus.Counter{}
	r.codes.Store(&empty)
	return r.observe
}

// route counts the requests to one route. Its children are made on first
// use, so that the routes nobody calls add no series; those by status code
// are kept in a map that is replaced, never changed, so that reading it
// takes no lock.
type route struct {
	pattern   string
	requests  *prometheus.CounterVec
	durations *prometheus.HistogramVec
	mu        sync.Mutex
	codes     atomic.Pointer[map[int]prometheus.Counter]
	duration  atomic.Pointer[prometheus.Observer]
}

func (r *route) observe(code int, took time.Duration) {
	c, ok := (*r.codes.Load())[code]
	if !ok {
		c = r.newCode(code)
	}
	c.Inc()
	d := r.duration.Load()
	if d == nil {
		o := r.durations.WithLabelValues(r.pattern)
		r.duration.CompareAndSwap(nil, &o)
		d = r.duration.Load()
	}
	(*d).Observe(took.Seconds())
}

func (r *route) newCode(code int) prometheus.Counter {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.codes.Load()
	if c, ok := old[code]; ok {
		return c
	}
	codes := make(map[int]prometheus.Counter, len(old)+1)
	for k, v := range old {
		codes[k] = v
	}
	c := r.requests.WithLabelValues(r.pattern, strconv.Itoa(code))
	codes[code] = c
	r.codes.Store(&codes)
	return c
}

// slogErrorLog passes the errors of serving a scrape to the logger.
type slogErrorLog struct{ log *slog.Logger }

func (l slogErrorLog) Println(v ...any) {
	l.log.Error("serve metrics", "err", fmt.Sprint(v...))
}

// gauges reads the store's gauges at scrape time, at most once per TTL.
type gauges struct {
	st  store.Gauger
	ttl time.Duration
	now func() time.Time
	log *slog.Logger

	pending, oldest, disabled *prometheus.Desc

	mu     sync.Mutex
	readAt time.Time
	last   store.Gauges
	ok     bool
}

func newGauges(opts Options, log *slog.Logger) *gauges {
	g := &gauges{st: opts.Gauges, ttl: opts.GaugeTTL, now: opts.Now, log: log,
		pending: prometheus.NewDesc("hookline_deliveries_pending",
			"Deliveries not finished: waiting for their first attempt or a retry, or being sent. Read from the database, so every node reports the same value.", nil, nil),
		oldest: prometheus.NewDesc("hookline_oldest_pending_delivery_age_seconds",
			"How long the pending delivery that has been due longest has been due: 0 when every pending delivery waits for a later time. Read from the database.", nil, nil),
		disabled: prometheus.NewDesc("hookline_endpoints_disabled",
			"Endpoints disabled, by the operator, the app, or for failing. Read from the database.", nil, nil),
	}
	if g.ttl <= 0 {
		g.ttl = 2 * time.Second
	}
	if g.now == nil {
		g.now = time.Now
	}
	return g
}

// Describe implements prometheus.Collector.
func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- g.pending
	ch <- g.oldest
	ch <- g.disabled
}

// Collect implements prometheus.Collector. A read that fails leaves the
// gauges out of the scrape rather than reporting stale or zero values,
// so that an alert on them sees the gap.
func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	v, ok := g.read()
	if !ok {
		return
	}
	age := 0.0
	if !v.OldestDue.IsZero() {
		age = max(g.now().Sub(v.OldestDue).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(g.pending, prometheus.GaugeValue, float64(v.Pending))
	ch <- prometheus.MustNewConstMetric(g.oldest, prometheus.GaugeValue, age)
	ch <- prometheus.MustNewConstMetric(g.disabled, prometheus.GaugeValue, float64(v.EndpointsDisabled))
}

// read returns the store's gauges, read afresh when the last read is older
// than the TTL. Concurrent scrapes wait for one read.
func (g *gauges) read() (store.Gauges, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := time.Now()
	if g.ok && now.Sub(g.readAt) < g.ttl {
		return g.last, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := g.st.GaugesRead(ctx)
	if err != nil {
		g.log.Error("read gauges", "err", err)
		g.ok = false
		return store.Gauges{}, false
	}
	g.last, g.readAt, g.ok = v, now, true
	return v, true
}
