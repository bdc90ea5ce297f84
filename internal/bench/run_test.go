package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildOut  []byte
)

// hooklineBinary builds the hookline command of this repository once: the
// benchmark starts servers as child processes, and this test binary is not
// one.
func hooklineBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds hookline and runs real servers; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to build hookline with")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hookline-bench-test-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "hookline")
		buildOut, buildErr = exec.Command(goTool, "build", "-o", binPath, "github.com/hookline/hookline/cmd/hookline").CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("build hookline: %v\n%s", buildErr, buildOut)
	}
	return binPath
}

// runBench runs the benchmark as the command does and fails the test,
// with the progress it printed, if the run fails.
func runBench(t *testing.T, opts Options) *Report {
	t.Helper()
	var progress bytes.Buffer
	rep, err := Run(context.Background(), opts, "test", []string{"hookline", "bench"}, &progress)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	return rep
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// TestRealRun runs the max scenario briefly against a real server and
// checks the accounting end to end: every accepted message delivered once,
// and the server measured. It asserts no speed.
func TestRealRun(t *testing.T) {
	t.Parallel()
	bin := hooklineBinary(t)
	opts := DefaultOptions()
	opts.Server = bin
	opts.Scenarios = []string{"max"}
	opts.Duration, opts.Concurrency = time.Second, 8
	opts.Overrides = map[string]bool{"duration": true, "concurrency": true}
	opts.JSON = filepath.Join(t.TempDir(), "report.json")
	rep := runBench(t, opts)
	if len(rep.Results) != 1 {
		t.Fatalf("%d results, want 1", len(rep.Results))
	}
	r := rep.Results[0]
	if r.Accepted == 0 || r.Sent != r.Accepted || r.Errors != nil {
		t.Errorf("sent %d, accepted %d, errors %v", r.Sent, r.Accepted, r.Errors)
	}
	if r.Delivered != r.Accepted || r.Expected != r.Accepted || r.Lost != 0 || r.Duplicates != 0 {
		t.Errorf("accepted %d, delivered %d, lost %d, duplicates %d", r.Accepted, r.Delivered, r.Lost, r.Duplicates)
	}
	if r.Latency.Count != uint64(r.Delivered) || r.Latency.P50 <= 0 || r.Latency.Max < r.Latency.P99 {
		t.Errorf("latency = %+v", r.Latency)
	}
	if r.Server == nil || r.Server.CPUSeconds <= 0 || r.Server.PeakRSSMiB <= 0 || r.Server.StartupMS <= 0 || r.Server.Version == "" {
		t.Errorf("server = %+v", r.Server)
	}

	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "max") || !strings.Contains(table.String(), "accepted/s") {
		t.Errorf("table:\n%s", table.String())
	}
	if err := rep.WriteJSON(opts.JSON); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(opts.JSON)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil || back.Results[0].Accepted != r.Accepted || back.Machine.Cores < 1 {
		t.Errorf("JSON report does not read back: %v", err)
	}
}

// TestRealCompare runs a scenario twice on a baseline binary and twice on
// this one, alternating, and checks the order and the summary.
func TestRealCompare(t *testing.T) {
	t.Parallel()
	bin := hooklineBinary(t)
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	baseline := filepath.Join(t.TempDir(), "hookline-baseline")
	if err := os.WriteFile(baseline, b, 0o755); err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.Server, opts.Baseline, opts.Repeat = bin, baseline, 2
	opts.Scenarios = []string{"max"}
	opts.Duration, opts.Concurrency = time.Second, 4
	opts.Overrides = map[string]bool{"duration": true, "concurrency": true}
	rep := runBench(t, opts)
	var order []string
	for _, r := range rep.Results {
		order = append(order, fmt.Sprintf("%s #%d", r.Binary, r.Round))
		if r.Accepted == 0 || r.Delivered != r.Accepted || r.Lost != 0 || r.Server == nil || r.Server.CPUSeconds <= 0 {
			t.Errorf("%s #%d: accepted %d, delivered %d, lost %d, server %+v", r.Binary, r.Round, r.Accepted, r.Delivered, r.Lost, r.Server)
		}
	}
	if want := []string{"baseline #1", "this #1", "this #2", "baseline #2"}; !slices.Equal(order, want) {
		t.Errorf("runs in the order %q, want %q", order, want)
	}
	if len(rep.Summary) != 2 || rep.Summary[0].Binary != "baseline" || rep.Summary[1].Binary != "this" ||
		rep.Summary[0].Runs != 2 || rep.Summary[1].AcceptedPerSec.Median <= 0 {
		t.Errorf("summary = %+v", rep.Summary)
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"max (baseline) #2", "max (this) #1", "median [least–greatest]", "change"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
}

// TestRealBacklog runs a small backlog: publish with the receiver holding,
// restart the server on the backlog, drain. Nothing may be lost across the
// restart.
func TestRealBacklog(t *testing.T) {
	t.Parallel()
	bin := hooklineBinary(t)
	opts := DefaultOptions()
	opts.Server = bin
	opts.Scenarios = []string{"backlog"}
	opts.BacklogCount, opts.Concurrency = 500, 8
	opts.Overrides = map[string]bool{"concurrency": true}
	rep, err := Run(context.Background(), opts, "test", nil, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	r := rep.Results[0]
	if r.Accepted != 500 || r.Delivered != 500 || r.Lost != 0 {
		t.Errorf("accepted %d, delivered %d, lost %d; want 500, 500, 0", r.Accepted, r.Delivered, r.Lost)
	}
	b := r.Backlog
	if b == nil || b.RestartStartupMS <= 0 || b.PeakRSSMiBPublish <= 0 || b.PeakRSSMiBDrain <= 0 || len(b.RSS) == 0 {
		t.Errorf("backlog = %+v", b)
	}
}

// TestStartServerFails checks that a server that cannot start is reported
// with its own words rather than waited for.
func TestStartServerFails(t *testing.T) {
	t.Parallel()
	bin := hooklineBinary(t)
	dir := t.TempDir()
	_, err := StartServer(context.Background(), bin, []string{"serve", "--addr", "not-an-address"}, childEnv("bench-token-0123456789"),
		filepath.Join(dir, "log"), time.Minute)
	if err == nil || !strings.Contains(err.Error(), "--addr") {
		t.Errorf("StartServer with a bad --addr: %v", err)
	}
}
