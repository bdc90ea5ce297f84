package bench

import (
	"cmp"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// PlotSeries is one line of a CPU plot: the server's CPU per message at
// each offered rate, and, when Total is set, a dashed line of the CPU of
// every process but the benchmark (the server and its database).
type PlotSeries struct {
	Label  string
	Points []PlotPoint
	Total  bool
}

// PlotPoint is one offered rate's figures, the medians of its runs.
type PlotPoint struct {
	Rate float64
	// ServerUS is the server's CPU per message in µs; TotalUS adds the
	// other processes' (on a quiet machine, the database's).
	ServerUS, TotalUS float64
}

// ReadPlotSeries reads a report written by --json and returns the figures
// of its open-loop runs (those with a rate) that ended without error. A
// path ending in "#baseline" or "#this" takes only that binary's runs of
// a report made with --baseline.
func ReadPlotSeries(path, label string) (PlotSeries, error) {
	path, binary, filtered := strings.Cut(path, "#")
	b, err := os.ReadFile(path)
	if err != nil {
		return PlotSeries{}, err
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return PlotSeries{}, fmt.Errorf("%s: not a report written by hookline bench --json: %w", path, err)
	}
	byRate := map[float64][][2]float64{}
	for _, r := range rep.Results {
		if r.Rate <= 0 || r.Error != "" || r.Server == nil || r.Accepted == 0 {
			continue
		}
		if filtered && r.Binary != binary {
			continue
		}
		other := r.OtherCPUSeconds / float64(r.Accepted) * 1e6
		byRate[r.Rate] = append(byRate[r.Rate], [2]float64{r.Server.CPUPerMessageUS, r.Server.CPUPerMessageUS + other})
	}
	if len(byRate) == 0 {
		return PlotSeries{}, fmt.Errorf("%s: no open-loop run to plot; run the curve with hookline bench --scenario curve --json %s", path, path)
	}
	s := PlotSeries{Label: label}
	for rate, runs := range byRate {
		srv, tot := make([]float64, len(runs)), make([]float64, len(runs))
		for i, r := range runs {
			srv[i], tot[i] = r[0], r[1]
		}
		s.Points = append(s.Points, PlotPoint{Rate: rate, ServerUS: median(srv), TotalUS: median(tot)})
	}
	slices.SortFunc(s.Points, func(a, b PlotPoint) int { return cmp.Compare(a.Rate, b.Rate) })
	return s, nil
}

func median(v []float64) float64 {
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// plotColors are the lines' colours, in turn.
var plotColors = []string{"#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df"}

// WritePlot draws the series as an SVG chart of CPU per message (µs, log
// scale) against the offered rate (messages/s, log scale).
func WritePlot(w io.Writer, title string, series []PlotSeries) error {
	const (
		width, height          = 780, 420
		left, right, top, bott = 70, 230, 40, 50
	)
	xmin, xmax, ymin, ymax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, p := range s.Points {
			xmin, xmax = min(xmin, p.Rate), max(xmax, p.Rate)
			ymin, ymax = min(ymin, p.ServerUS), max(ymax, p.ServerUS)
			if s.Total {
				ymax = max(ymax, p.TotalUS)
			}
		}
	}
	if math.IsInf(xmin, 0) || xmin <= 0 || ymin <= 0 {
		return fmt.Errorf("plot: no positive figures to draw")
	}
	// The rates' own span, a little wider, across; whole decades up.
	xlo, xhi := math.Log10(xmin)-0.1, math.Log10(xmax)+0.1
	ylo, yhi := math.Floor(math.Log10(ymin)), math.Ceil(math.Log10(ymax))
	if yhi == ylo {
		yhi++
	}
	px := func(x float64) float64 {
		return left + (math.Log10(x)-xlo)/(xhi-xlo)*(width-left-right)
	}
	py := func(y float64) float64 {
		return height - bott - (math.Log10(y)-ylo)/(yhi-ylo)*(height-top-bott)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="14" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
	for e := math.Floor(xlo); e <= xhi; e++ {
		for _, m := range []float64{1, 2, 5} {
			x := m * math.Pow(10, e)
			if math.Log10(x) < xlo || math.Log10(x) > xhi {
				continue
			}
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#d0d7de"/>`+"\n", px(x), top, px(x), height-bott)
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", px(x), height-bott+16, plotNumber(x))
		}
	}
	for e := ylo; e <= yhi; e++ {
		for _, m := range []float64{1, 2, 5} {
			y := m * math.Pow(10, e)
			if math.Log10(y) > yhi+1e-9 {
				break
			}
			fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#d0d7de"/>`+"\n", left, py(y), width-right, py(y))
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, py(y)+4, plotNumber(y))
		}
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">offered rate, messages/s</text>`+"\n", (left+width-right)/2, height-12)
	fmt.Fprintf(&b, `<text transform="translate(16 %d) rotate(-90)" text-anchor="middle">CPU per message, µs</text>`+"\n", (top+height-bott)/2)
	legend := top + 10
	for i, s := range series {
		color := plotColors[i%len(plotColors)]
		line := func(val func(PlotPoint) float64, dash, name string) {
			var pts []string
			for _, p := range s.Points {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(p.Rate), py(val(p))))
			}
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" stroke-dasharray="%s" points="%s"/>`+"\n", color, dash, strings.Join(pts, " "))
			for _, p := range s.Points {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s at %s/s: %.0f µs</title></circle>`+"\n",
					px(p.Rate), py(val(p)), color, html.EscapeString(name), plotNumber(p.Rate), val(p))
			}
			fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2" stroke-dasharray="%s"/>`+"\n", width-right+10, legend, width-right+34, legend, color, dash)
			fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", width-right+40, legend+4, html.EscapeString(name))
			legend += 18
		}
		line(func(p PlotPoint) float64 { return p.ServerUS }, "none", s.Label+": server")
		if s.Total {
			line(func(p PlotPoint) float64 { return p.TotalUS }, "6 4", s.Label+": server + database")
		}
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// plotNumber writes an axis figure: 50, 200, 1k, 10k.
func plotNumber(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%gk", v/1000)
	}
	return fmt.Sprintf("%g", v)
}
