package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCurveScenarios checks that "curve" adds one open-loop point per
// curve rate, after the scenarios named with it, and that "all" leaves
// the curve out.
func TestCurveScenarios(t *testing.T) {
	t.Parallel()
	o, err := parse("--scenario", "rate-200,curve")
	if err != nil {
		t.Fatal(err)
	}
	got := o.scenarios()
	if len(got) != 1+len(CurveRates) || got[0].Name != "rate-200" || got[0].Rate != 200 {
		t.Fatalf("scenarios = %d, first %+v; want rate-200 then %d curve points", len(got), got[0], len(CurveRates))
	}
	for i, rate := range CurveRates {
		sc := got[1+i]
		if sc.Rate != float64(rate) || sc.Count != int64(rate)*5 {
			t.Errorf("curve point %d: rate %v count %d, want %d and %d", i, sc.Rate, sc.Count, rate, rate*5)
		}
	}
	fo, err := parse("--scenario", "floor-curve")
	if err != nil {
		t.Fatal(err)
	}
	floor := fo.scenarios()
	if len(floor) != len(CurveRates) {
		t.Fatalf("floor-curve: %d scenarios, want %d", len(floor), len(CurveRates))
	}
	for i, sc := range floor {
		if !sc.Floor || sc.Rate != float64(CurveRates[i]) || !strings.HasPrefix(sc.Name, "floor-curve-") {
			t.Errorf("floor curve point %d: %s floor %v rate %v, want a floor point at %d", i, sc.Name, sc.Floor, sc.Rate, CurveRates[i])
		}
	}
	all, err := parse("--scenario", "all")
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range all.scenarios() {
		if strings.HasPrefix(sc.Name, "curve-") || sc.Floor {
			t.Errorf("all runs %s", sc.Name)
		}
	}
}

// TestPlot reads a report's open-loop runs, takes the median of each
// rate's runs, and draws one point per rate.
func TestPlot(t *testing.T) {
	t.Parallel()
	run := func(rate float64, cpu, other float64) Result {
		return Result{Scenario: "curve", Rate: rate, Accepted: 1000, OtherCPUSeconds: other,
			Server: &ServerStats{CPUPerMessageUS: cpu}}
	}
	rep := Report{Results: []Result{
		run(100, 900, 0.2), run(100, 700, 0.2), run(100, 800, 0.2),
		run(1000, 300, 0.1),
		{Scenario: "max", Accepted: 5000, Server: &ServerStats{CPUPerMessageUS: 90}}, // closed loop: left out
		{Scenario: "curve", Rate: 500, Error: "lost 3 deliveries"},                   // failed: left out
	}}
	path := filepath.Join(t.TempDir(), "r.json")
	b, _ := json.Marshal(rep)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := ReadPlotSeries(path, "SQLite")
	if err != nil {
		t.Fatal(err)
	}
	want := []PlotPoint{{Rate: 100, ServerUS: 800, TotalUS: 1000}, {Rate: 1000, ServerUS: 300, TotalUS: 400}}
	if len(s.Points) != len(want) {
		t.Fatalf("points %+v, want %+v", s.Points, want)
	}
	for i := range want {
		if s.Points[i] != want[i] {
			t.Errorf("point %d = %+v, want %+v", i, s.Points[i], want[i])
		}
	}
	s.Total = true
	var svg strings.Builder
	if err := WritePlot(&svg, "CPU", []PlotSeries{s}); err != nil {
		t.Fatal(err)
	}
	out := svg.String()
	if n := strings.Count(out, "<polyline"); n != 2 {
		t.Errorf("%d lines, want 2: the server's and the total", n)
	}
	if n := strings.Count(out, "<circle"); n != 4 {
		t.Errorf("%d points, want 4", n)
	}
	if !strings.Contains(out, "SQLite: server at 100/s: 800 µs") {
		t.Error("the point at 100/s does not carry its figure")
	}
	rep.Results[3].Binary = "baseline"
	b, _ = json.Marshal(rep)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := ReadPlotSeries(path+"#baseline", "before"); err != nil || len(s.Points) != 1 || s.Points[0].Rate != 1000 {
		t.Errorf("the baseline's runs: %+v, %v; want the one at 1000/s", s.Points, err)
	}
	if _, err := ReadPlotSeries(filepath.Join(t.TempDir(), "none.json"), "x"); err == nil {
		t.Error("a missing report was read")
	}
}
