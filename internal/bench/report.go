package bench

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteTable writes the report as a table, one row per scenario, followed
// by the figures that fit no column: the backlog's, the growth scenario's
// own table, and errors.
func (rep *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	if slices.ContainsFunc(rep.Results, func(r Result) bool { return r.Growth == nil }) {
		fmt.Fprintln(tw, "scenario\taccepted/s\tdeliveries/s\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\tlost\tdup\terrors\tsrv CPU µs/msg\tsrv RSS MiB\t")
	}
	for _, r := range rep.Results {
		if r.Growth != nil {
			continue
		}
		name := r.name()
		cpu, rss := "-", "-"
		if r.Server != nil && r.Server.CPUSeconds > 0 {
			cpu = strconv.FormatFloat(r.Server.CPUPerMessageUS, 'f', 0, 64)
			rss = strconv.FormatFloat(r.Server.PeakRSSMiB, 'f', 1, 64)
		}
		lat := r.Latency
		deliveries, lost, dup := num(r.DeliveriesPerSec), strconv.FormatInt(r.Lost, 10), strconv.FormatInt(r.Duplicates, 10)
		if r.Scenario == "ceiling-http" {
			// The ceiling has no deliveries; its latency is the request's.
			lat, deliveries, lost, dup = r.PublishLatency, "-", "-", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\t%s\t%s\t\n",
			name, num(r.AcceptedPerSec), deliveries, lat.P50, lat.P90, lat.P99, lat.P999, lat.Max,
			lost, dup, errorSummary(r.Errors), cpu, rss)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := writeSummary(w, rep.Summary); err != nil {
		return err
	}
	for _, r := range rep.Results {
		if b := r.Backlog; b != nil {
			fmt.Fprintf(w, "\nbacklog: %d messages accepted with the receiver down (%s) at %s/s (first tenth %s/s, last tenth %s/s);\n",
				r.Accepted, b.SinkDownMode, num(r.AcceptedPerSec), num(b.AcceptedFirstTenthPerSec), num(b.AcceptedLastTenthPerSec))
			fmt.Fprintf(w, "  peak RSS %.1f MiB while accepting", b.PeakRSSMiBPublish)
			if b.RestartStartupMS > 0 {
				fmt.Fprintf(w, ", %.1f MiB while draining; killed and restarted on the backlog in %.0f ms", b.PeakRSSMiBDrain, b.RestartStartupMS)
			}
			fmt.Fprintf(w, ";\n  drained %d deliveries in %.1f s: %s/s\n", r.Delivered, b.DrainSeconds, num(b.DrainPerSec))
		}
	}
	for _, r := range rep.Results {
		if h := r.Hostile; h != nil {
			rss := "-"
			if r.Server != nil {
				rss = strconv.FormatFloat(r.Server.PeakRSSMiB, 'f', 1, 64)
			}
			fmt.Fprintf(w, "\n%s: peak RSS %s MiB; health p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d probes, %d failed, %d over 1 s);\n",
				r.name(), rss, h.Health.P50, h.Health.P99, h.Health.Max, h.Health.Count, h.HealthFailed, h.HealthSlow)
			fmt.Fprintf(w, "  legitimate messages accepted %s/s, lost %d; hostile requests: %s\n",
				num(r.AcceptedPerSec), r.Lost, hostileSummary(h.Requests))
		}
	}
	for _, r := range rep.Results {
		if r.Growth != nil {
			if err := r.Growth.WriteTable(w, r.name()); err != nil {
				return err
			}
		}
	}
	var startups []string
	for _, r := range rep.Results {
		if r.Server != nil && r.Server.StartupMS > 0 {
			startups = append(startups, fmt.Sprintf("%s %.0f", r.name(), r.Server.StartupMS))
		}
	}
	if len(startups) > 0 {
		fmt.Fprintf(w, "\nserver start-up (ms, fresh database): %s\n", strings.Join(startups, ", "))
	}
	for _, r := range rep.Results {
		for _, n := range r.Notes {
			fmt.Fprintf(w, "\n%s: %s\n", r.name(), n)
		}
		if r.Error != "" {
			fmt.Fprintf(w, "\n%s failed: %s\n", r.name(), r.Error)
		}
	}
	return nil
}

// name is the scenario's name, with the binary and the round when it ran
// more than once, such as "max (baseline) #2".
func (r *Result) name() string {
	name := r.Scenario
	if r.Binary != "" {
		name += " (" + r.Binary + ")"
	}
	if r.Round > 0 {
		name += " #" + strconv.Itoa(r.Round)
	}
	return name
}

// num formats a rate without decimals, with thousands separated.
func num(f float64) string {
	s := strconv.FormatFloat(f, 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// errorSummary lists error counts by status, such as "503:12 network:1",
// or "0".
func errorSummary(errs map[string]int64) string {
	if len(errs) == 0 {
		return "0"
	}
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s:%d", k, errs[k]))
	}
	return strings.Join(parts, " ")
}

// hostileSummary lists the hostile requests by kind and answer, in a
// stable order.
func hostileSummary(counts map[string]int64) string {
	keys := slices.Sorted(maps.Keys(counts))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, counts[k])
	}
	return strings.Join(parts, ", ")
}
