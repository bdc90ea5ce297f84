package bench

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"text/tabwriter"
)

// RunsSummary is the median and range of a scenario's figures over its runs
// on one binary, for a scenario that ran more than once (--repeat,
// --baseline). Runs that failed are left out.
type RunsSummary struct {
	Scenario string `json:"scenario"`
	Binary   string `json:"binary,omitempty"`
	Runs     int    `json:"runs"`
	// AcceptedPerSec is requests per second for the ceiling.
	AcceptedPerSec   Spread `json:"accepted_per_sec"`
	DeliveriesPerSec Spread `json:"deliveries_per_sec"`
	// P50MS and P99MS are publish-to-delivery latencies; the request's for
	// the ceiling.
	P50MS Spread `json:"p50_ms"`
	P99MS Spread `json:"p99_ms"`
	// ServerCPUPerMessageUS and ServerCPUPerDeliveryUS are 0 for the
	// ceiling, which has no server.
	ServerCPUPerMessageUS  Spread `json:"server_cpu_per_message_us"`
	ServerCPUPerDeliveryUS Spread `json:"server_cpu_per_delivery_us"`
	// Lost and Duplicates add up every run's.
	Lost       int64 `json:"lost"`
	Duplicates int64 `json:"duplicates"`
}

// Spread is the median, least and greatest of a figure over runs.
type Spread struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

func spreadOf(vs []float64) Spread {
	if len(vs) == 0 {
		return Spread{}
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Spread{Median: m, Min: s[0], Max: s[len(s)-1]}
}

// Summarize groups results by scenario and binary, in the order they
// first appear, and summarizes each group.
func Summarize(results []Result) []RunsSummary {
	type key struct{ scenario, binary string }
	var order []key
	groups := map[key][]Result{}
	for _, r := range results {
		if r.Error != "" {
			continue
		}
		k := key{r.Scenario, r.Binary}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	out := make([]RunsSummary, 0, len(order))
	for _, k := range order {
		rs := groups[k]
		var acc, del, p50, p99, cpuMsg, cpuDel []float64
		s := RunsSummary{Scenario: k.scenario, Binary: k.binary, Runs: len(rs)}
		for _, r := range rs {
			lat := r.Latency
			if r.Scenario == "ceiling-http" {
				lat = r.PublishLatency
			}
			acc, del = append(acc, r.AcceptedPerSec), append(del, r.DeliveriesPerSec)
			p50, p99 = append(p50, lat.P50), append(p99, lat.P99)
			if r.Server != nil {
				cpuMsg, cpuDel = append(cpuMsg, r.Server.CPUPerMessageUS), append(cpuDel, r.Server.CPUPerDeliveryUS)
			}
			s.Lost += r.Lost
			s.Duplicates += r.Duplicates
		}
		s.AcceptedPerSec, s.DeliveriesPerSec = spreadOf(acc), spreadOf(del)
		s.P50MS, s.P99MS = spreadOf(p50), spreadOf(p99)
		s.ServerCPUPerMessageUS, s.ServerCPUPerDeliveryUS = spreadOf(cpuMsg), spreadOf(cpuDel)
		out = append(out, s)
	}
	return out
}

// writeSummary writes the summaries as a table: median [least–greatest]
// per figure, and, where a scenario ran on a baseline and on this binary,
// the change of each median from the baseline's.
func writeSummary(w io.Writer, sums []RunsSummary) error {
	if len(sums) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nmedian [least–greatest] of each scenario's runs:\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tbinary\truns\taccepted/s\tdeliveries/s\tp50 ms\tp99 ms\tsrv CPU µs/msg\tsrv CPU µs/delivery\tlost\tdup\t")
	var base *RunsSummary
	for i := range sums {
		s := &sums[i]
		binary := s.Binary
		if binary == "" {
			binary = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t\n", s.Scenario, binary, s.Runs,
			spreadText(s.AcceptedPerSec, num), spreadText(s.DeliveriesPerSec, num), spreadText(s.P50MS, ms2), spreadText(s.P99MS, ms2),
			spreadText(s.ServerCPUPerMessageUS, num), spreadText(s.ServerCPUPerDeliveryUS, num), s.Lost, s.Duplicates)
		switch {
		case s.Binary == "baseline":
			base = s
		case s.Binary == "this" && base != nil && base.Scenario == s.Scenario:
			fmt.Fprintf(tw, "%s\tchange\t\t%s\t%s\t%s\t%s\t%s\t%s\t\t\t\n", s.Scenario,
				change(base.AcceptedPerSec, s.AcceptedPerSec), change(base.DeliveriesPerSec, s.DeliveriesPerSec),
				change(base.P50MS, s.P50MS), change(base.P99MS, s.P99MS),
				change(base.ServerCPUPerMessageUS, s.ServerCPUPerMessageUS), change(base.ServerCPUPerDeliveryUS, s.ServerCPUPerDeliveryUS))
			base = nil
		}
	}
	return tw.Flush()
}

func spreadText(s Spread, format func(float64) string) string {
	if s == (Spread{}) {
		return "-"
	}
	return format(s.Median) + " [" + format(s.Min) + "–" + format(s.Max) + "]"
}

func ms2(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

// change is the relative change of a median from the baseline's, such as
// "+12%".
func change(from, to Spread) string {
	if from.Median == 0 {
		return "-"
	}
	return fmt.Sprintf("%+.0f%%", (to.Median-from.Median)/from.Median*100)
}
