package web

import (
	"fmt"
	"time"

	"github.com/hookline/hookline/internal/metrics"
)

// History is a node's counts over time (metrics.History), for the
// console's charts.
type History interface {
	Series(step time.Duration, count int) []metrics.Sample
	Sources() []metrics.SourceCount
}

// chart is a bar chart drawn as SVG by the page: each bar stacks its
// series, bottom first.
type chart struct {
	// Label describes the chart for screen readers; Total sums it.
	Label string
	Total string
	// Series name the stacks, with their CSS class, for the legend.
	Series []chartSeries
	Bars   []chartBar
	// Width and Height are the SVG's viewBox.
	Width, Height int
	// Axis labels the first and last bar.
	First, Last string
}

type chartSeries struct{ Name, Class string }

type chartBar struct {
	// Title says the bar's step and counts, shown on hover.
	Title string
	Rects []chartRect
}

type chartRect struct {
	X, Y, W, H float64
	Class      string
}

const (
	chartWidth  = 600
	chartHeight = 120
)

// newChart draws samples, each bar stacking what values reads off a
// sample, in the order of series.
func newChart(label string, samples []metrics.Sample, step time.Duration, series []chartSeries, values func(metrics.Sample) []float64) chart {
	c := chart{Label: label, Series: series, Width: chartWidth, Height: chartHeight}
	peak, total := 0.0, 0.0
	for _, s := range samples {
		sum := 0.0
		for _, v := range values(s) {
			sum += v
		}
		peak, total = max(peak, sum), total+sum
	}
	c.Total = fmt.Sprintf("%.0f", total)
	w := float64(chartWidth) / float64(max(len(samples), 1))
	layout := "15:04"
	if step >= time.Hour {
		layout = "2 Jan 15:04"
	}
	for i, s := range samples {
		vs := values(s)
		b := chartBar{Title: s.Start.UTC().Format(layout) + " UTC:"}
		y := float64(chartHeight)
		for j, v := range vs {
			b.Title += fmt.Sprintf(" %.0f %s", v, series[j].Name)
			if v <= 0 || peak == 0 {
				continue
			}
			h := v / peak * (chartHeight - 4)
			y -= h
			b.Rects = append(b.Rects, chartRect{X: float64(i)*w + w*0.1, Y: y, W: w * 0.8, H: h, Class: series[j].Class})
		}
		c.Bars = append(c.Bars, b)
	}
	if len(samples) > 0 {
		c.First = samples[0].Start.UTC().Format(layout)
		c.Last = samples[len(samples)-1].Start.UTC().Format(layout)
	}
	return c
}
