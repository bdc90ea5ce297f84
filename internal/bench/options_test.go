package bench

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// parse binds fresh options to a flag set and parses args as the command
// does.
func parse(args ...string) (Options, error) {
	o := DefaultOptions()
	fs := pflag.NewFlagSet("bench", pflag.ContinueOnError)
	fs.SetOutput(&strings.Builder{})
	o.Bind(fs)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.SetOverrides(fs)
	return o, o.Validate()
}

func TestFlagValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		// wantErr is a part of the error message, "" for none.
		wantErr string
	}{
		{"defaults", nil, ""},
		{"every scenario", []string{"--scenario", "all"}, ""},
		{"repeated and comma-separated", []string{"--scenario", "max,rate-100", "--scenario=flaky"}, ""},
		{"unknown scenario", []string{"--scenario", "fastest"}, `--scenario "fastest": no such scenario`},
		{"the curve", []string{"--scenario", "curve"}, ""},
		{"the curve at one rate", []string{"--scenario", "curve", "--rate", "100"}, "the curve runs at rates of its own"},
		{"no scenario", []string{"--scenario="}, "--scenario: name at least one"},
		{"target without token", []string{"--target", "http://127.0.0.1:8071"}, "--token: required with --target"},
		{"target not a URL", []string{"--target", "127.0.0.1:8071", "--token", "t"}, "want the server's base URL"},
		{"target with serve args", []string{"--target", "http://h:1", "--token", "t", "--serve-arg=--workers=8"}, "--serve-arg: only for a server"},
		{"target with db", []string{"--target", "http://h:1", "--token", "t", "--db", "x.db"}, "--db: only for a server"},
		{"target with pid", []string{"--target", "http://h:1", "--token", "t", "--server-pid", "42"}, ""},
		{"pid without target", []string{"--server-pid", "42"}, "--server-pid: only with --target"},
		{"token without target", []string{"--token", "t"}, "--token: only with --target"},
		{"zero endpoints", []string{"--endpoints", "0"}, "--endpoints 0"},
		{"tiny payload", []string{"--payload-size", "10"}, "--payload-size 10"},
		{"zero concurrency", []string{"--concurrency", "0"}, "--concurrency 0"},
		{"negative rate", []string{"--rate", "-5"}, "--rate -5"},
		{"zero duration", []string{"--duration", "0s"}, "--duration 0s"},
		{"zero count", []string{"--count", "0"}, "--count 0"},
		{"fail rate of 1", []string{"--fail-rate", "1"}, "--fail-rate 1"},
		{"negative sink delay", []string{"--sink-delay", "-1s"}, "--sink-delay -1s"},
		{"explicit zero backlog", []string{"--backlog-count", "0"}, "--backlog-count 0"},
		{"bad down mode", []string{"--sink-down-mode", "off"}, "--sink-down-mode: want hold, refuse or 503"},
		{"short drain timeout", []string{"--drain-timeout", "10ms"}, "--drain-timeout 10ms"},
		{"serve arg the bench owns", []string{"--serve-arg=--addr=127.0.0.1:9"}, "the benchmark sets --addr itself"},
		{"db as serve arg", []string{"--serve-arg", "--db=x.db"}, "use the benchmark's own --db"},
		{"profile to a missing directory", []string{"--profile", "/nonexistent/dir"}, "want an existing directory"},
		{"profile with a target", []string{"--target", "http://h:1", "--token", "t", "--profile", "."}, "--profile: only for a server"},
		{"profile and debug-addr", []string{"--profile", ".", "--serve-arg=--debug-addr=127.0.0.1:6060"}, "--profile sets --debug-addr itself"},
		{"profile", []string{"--profile", "."}, ""},
		{"baseline not a file", []string{"--baseline", "/nonexistent/hookline"}, "want an executable hookline binary"},
		{"baseline not executable", []string{"--baseline", "options_test.go"}, "want an executable hookline binary"},
		{"baseline with a target", []string{"--target", "http://h:1", "--token", "t", "--baseline", "/bin/sh"}, "--baseline: only for servers"},
		{"baseline", []string{"--baseline", "/bin/sh", "--repeat", "2"}, ""},
		{"negative repeat", []string{"--repeat", "-1"}, "--repeat -1"},
		{"too many repeats", []string{"--repeat", "51"}, "--repeat 51"},
		{"growth", []string{"--scenario", "growth", "--growth-sizes", "20000,200000"}, ""},
		{"growth sizes decreasing", []string{"--scenario", "growth", "--growth-sizes", "200000,20000"}, "give the sizes in increasing order"},
		{"growth size too small", []string{"--growth-sizes", "10"}, "--growth-sizes 10: want 1000 to"},
		{"growth with a target", []string{"--scenario", "growth", "--target", "http://h:1", "--token", "t"}, "the growth scenario fills the database"},
		{"growth with a baseline", []string{"--scenario", "growth", "--baseline", "/bin/sh"}, "run it once with each binary"},
		{"not a number", []string{"--rate", "fast"}, `invalid argument "fast"`},
		{"unknown flag", []string{"--speed", "9"}, "unknown flag: --speed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parse(tt.args...)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("error %v, want none", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestScenarioOverrides(t *testing.T) {
	t.Parallel()
	find := func(scs []Scenario, name string) Scenario {
		t.Helper()
		for _, s := range scs {
			if s.Name == name {
				return s
			}
		}
		t.Fatalf("scenario %s not selected", name)
		return Scenario{}
	}

	o, err := parse("--scenario", "all")
	if err != nil {
		t.Fatal(err)
	}
	all := o.scenarios()
	if len(all) != len(Scenarios())-3 || slices.ContainsFunc(all, func(s Scenario) bool { return s.Growth || s.Floor }) {
		t.Fatalf("all selected %d scenarios, want every one but growth and the two floors, %d", len(all), len(Scenarios())-3)
	}
	if got := find(all, "backlog").Count; got != 100_000 {
		t.Errorf("backlog within all: count %d, want 100000", got)
	}
	if got := find(all, "rate-1000"); got.Count != 10_000 {
		t.Errorf("rate-1000 count %d, want rate × duration = 10000", got.Count)
	}

	o, _ = parse("--scenario", "backlog")
	if got := find(o.scenarios(), "backlog").Count; got != 1_000_000 {
		t.Errorf("backlog alone: count %d, want 1000000", got)
	}
	o, _ = parse("--scenario", "all", "--backlog-count", "5000")
	if got := find(o.scenarios(), "backlog").Count; got != 5000 {
		t.Errorf("--backlog-count 5000: count %d", got)
	}

	o, _ = parse("--scenario", "fanout-10,max", "--duration", "3s", "--concurrency", "7", "--payload-size", "2048")
	scs := o.scenarios()
	if scs[0].Name != "fanout-10" {
		t.Errorf("scenarios run in order %s, %s; want the order given", scs[0].Name, scs[1].Name)
	}
	fan := find(scs, "fanout-10")
	if fan.Duration != 3*time.Second || fan.Count != 0 || fan.Concurrency != 7 || fan.PayloadSize != 2048 || fan.Endpoints != 10 {
		t.Errorf("fanout-10 with overrides = %+v", fan)
	}

	o, _ = parse("--scenario", "max", "--count", "500")
	if got := find(o.scenarios(), "max"); got.Count != 500 || got.Duration != time.Hour {
		t.Errorf("--count alone: count %d duration %s, want 500 and the 1h guard", got.Count, got.Duration)
	}
	o, _ = parse("--scenario", "rate-100", "--rate", "50", "--duration", "2s")
	if got := find(o.scenarios(), "rate-100"); got.Rate != 50 || got.Count != 100 {
		t.Errorf("rate override: rate %g count %d, want 50 and 100", got.Rate, got.Count)
	}

	// A scenario's own server flag gives way to the user's.
	o, _ = parse("--scenario", "flaky", "--serve-arg=--retry-schedule=0s,1s", "--serve-arg=--workers=8")
	r := &runner{opts: o}
	got := r.serveArgs(find(o.scenarios(), "flaky"))
	if strings.Join(got, " ") != "--retry-schedule=0s,1s --workers=8" {
		t.Errorf("serve args = %q", got)
	}
	o, _ = parse("--scenario", "flaky")
	r = &runner{opts: o}
	if got := r.serveArgs(find(o.scenarios(), "flaky")); len(got) != 1 || got[0] != flakySchedule {
		t.Errorf("flaky's own serve args = %q", got)
	}
}

func TestTenths(t *testing.T) {
	t.Parallel()
	series := []int64{100, 100, 90, 90, 90, 90, 90, 90, 50, 50, 50, 3}
	first, last := tenths(series)
	// 11 full seconds (the partial last one left out): a tenth is 1.
	if first != 100 || last != 50 {
		t.Errorf("tenths = %g, %g; want 100, 50", first, last)
	}
	if f, l := tenths(nil); f != 0 || l != 0 {
		t.Errorf("tenths(nil) = %g, %g", f, l)
	}
	if f, l := tenths([]int64{7}); f != 7 || l != 7 {
		t.Errorf("tenths of one partial second = %g, %g", f, l)
	}
}
