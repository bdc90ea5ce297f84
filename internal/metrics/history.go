package metrics

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// historyMinutes is how far back a History reaches: a day of minutes.
const historyMinutes = 24 * 60

// Sample is what a node counted in one step of time.
type Sample struct {
	// Start is when the step began.
	Start time.Time
	// Published counts the messages published.
	Published float64
	// Succeeded, Retried and Failed count the delivery attempts by what
	// became of their delivery.
	Succeeded, Retried, Failed float64
	// Accepted and Rejected count the requests received on inbound
	// sources: stored, or refused (failed verification, too large, ...).
	Accepted, Rejected float64
}

func (s *Sample) add(o Sample) {
	s.Published += o.Published
	s.Succeeded += o.Succeeded
	s.Retried += o.Retried
	s.Failed += o.Failed
	s.Accepted += o.Accepted
	s.Rejected += o.Rejected
}

func (s Sample) minus(o Sample) Sample {
	return Sample{Published: s.Published - o.Published, Succeeded: s.Succeeded - o.Succeeded,
		Retried: s.Retried - o.Retried, Failed: s.Failed - o.Failed,
		Accepted: s.Accepted - o.Accepted, Rejected: s.Rejected - o.Rejected}
}

// History keeps a node's counts per minute for the last day, read from
// its counters once a minute, for the console's charts. It costs the hot
// paths nothing: the counters are there for /metrics anyway.
type History struct {
	m   *Metrics
	now func() time.Time

	mu      sync.Mutex
	minutes [historyMinutes]Sample
	// latest is the index in minutes of the newest step; n how many
	// steps are filled.
	latest, n int
	// totals are the counters' values at the last reading.
	totals Sample
}

// NewHistory returns a History of m's counters; now tells the time, nil
// meaning time.Now.
func (m *Metrics) NewHistory(now func() time.Time) *History {
	if now == nil {
		now = time.Now
	}
	h := &History{m: m, now: now}
	h.totals = h.read()
	return h
}

// Run reads the counters every minute until ctx ends.
func (h *History) Run(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.Tick()
		}
	}
}

// Tick records what was counted since the last tick as the newest minute.
func (h *History) Tick() {
	totals := h.read()
	now := h.now().Truncate(time.Minute)
	h.mu.Lock()
	defer h.mu.Unlock()
	step := totals.minus(h.totals)
	h.totals = totals
	step.Start = now.Add(-time.Minute)
	h.latest = (h.latest + 1) % historyMinutes
	h.minutes[h.latest] = step
	h.n = min(h.n+1, historyMinutes)
}

// Series returns count steps of size step (a whole number of minutes),
// oldest first, ending with the newest minute recorded. Steps before the
// history began are zero, with their start times.
func (h *History) Series(step time.Duration, count int) []Sample {
	per := max(int(step/time.Minute), 1)
	h.mu.Lock()
	defer h.mu.Unlock()
	end := h.now().Truncate(time.Minute)
	if h.n > 0 {
		end = h.minutes[h.latest].Start.Add(time.Minute)
	}
	out := make([]Sample, count)
	for i := range out {
		out[i].Start = end.Add(-time.Duration((count-i)*per) * time.Minute)
	}
	for k := 0; k < h.n; k++ {
		s := h.minutes[(h.latest-k+historyMinutes)%historyMinutes]
		back := k / per // steps back from the newest
		if back >= count {
			break
		}
		out[count-1-back].add(s)
	}
	return out
}

// read sums the counters the history keeps.
func (h *History) read() Sample {
	m := h.m
	s := Sample{Published: value(m.published), Succeeded: value(m.success), Retried: value(m.retry), Failed: value(m.failure)}
	ch := make(chan prometheus.Metric, 64)
	go func() {
		m.inbound.Collect(ch)
		close(ch)
	}()
	for c := range ch {
		var d dto.Metric
		if c.Write(&d) != nil || d.Counter == nil {
			continue
		}
		result := ""
		for _, l := range d.Label {
			if l.GetName() == "result" {
				result = l.GetValue()
			}
		}
		if result == "accepted" || result == "duplicate" {
			s.Accepted += d.Counter.GetValue()
		} else {
			s.Rejected += d.Counter.GetValue()
		}
	}
	return s
}

func value(c prometheus.Counter) float64 {
	var d dto.Metric
	if c.Write(&d) != nil || d.Counter == nil {
		return 0
	}
	return d.Counter.GetValue()
}

// SourceCount is what a node counted on one source since it started.
type SourceCount struct {
	// Source is the source's ID, or OtherSource for the sources beyond
	// the labelled ones.
	Source             string
	Accepted, Rejected float64
}

// Sources returns what this node counted per source since it started,
// the sources with the most requests first.
func (h *History) Sources() []SourceCount {
	by := map[string]*SourceCount{}
	ch := make(chan prometheus.Metric, 64)
	go func() {
		h.m.inbound.Collect(ch)
		close(ch)
	}()
	for c := range ch {
		var d dto.Metric
		if c.Write(&d) != nil || d.Counter == nil {
			continue
		}
		var source, result string
		for _, l := range d.Label {
			switch l.GetName() {
			case "source":
				source = l.GetValue()
			case "result":
				result = l.GetValue()
			}
		}
		sc := by[source]
		if sc == nil {
			sc = &SourceCount{Source: source}
			by[source] = sc
		}
		if result == Accepted || result == Duplicate {
			sc.Accepted += d.Counter.GetValue()
		} else {
			sc.Rejected += d.Counter.GetValue()
		}
	}
	out := make([]SourceCount, 0, len(by))
	for _, sc := range by {
		if sc.Accepted+sc.Rejected > 0 {
			out = append(out, *sc)
		}
	}
	slices.SortFunc(out, func(a, b SourceCount) int {
		if c := cmp.Compare(b.Accepted+b.Rejected, a.Accepted+a.Rejected); c != 0 {
			return c
		}
		return strings.Compare(a.Source, b.Source)
	})
	return out
}
