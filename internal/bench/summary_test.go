package bench

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSummarize(t *testing.T) {
	run := func(binary string, accepted, p50, cpu float64, lost int64) Result {
		return Result{Scenario: "max", Binary: binary, AcceptedPerSec: accepted, DeliveriesPerSec: accepted,
			Latency: Summary{P50: p50, P99: 2 * p50}, Lost: lost, Server: &ServerStats{CPUPerMessageUS: cpu, CPUPerDeliveryUS: cpu}}
	}
	results := []Result{
		run("baseline", 5000, 10, 200, 0), run("this", 6000, 8, 160, 0),
		run("this", 7000, 6, 150, 0), run("baseline", 4000, 12, 220, 1),
		run("baseline", 4500, 11, 210, 0), run("this", 6500, 7, 155, 0),
		{Scenario: "max", Binary: "this", Error: "server did not start", AcceptedPerSec: 1},
	}
	got := Summarize(results)
	want := []RunsSummary{
		{Scenario: "max", Binary: "baseline", Runs: 3, AcceptedPerSec: Spread{4500, 4000, 5000}, DeliveriesPerSec: Spread{4500, 4000, 5000},
			P50MS: Spread{11, 10, 12}, P99MS: Spread{22, 20, 24}, ServerCPUPerMessageUS: Spread{210, 200, 220},
			ServerCPUPerDeliveryUS: Spread{210, 200, 220}, Lost: 1},
		{Scenario: "max", Binary: "this", Runs: 3, AcceptedPerSec: Spread{6500, 6000, 7000}, DeliveriesPerSec: Spread{6500, 6000, 7000},
			P50MS: Spread{7, 6, 8}, P99MS: Spread{14, 12, 16}, ServerCPUPerMessageUS: Spread{155, 150, 160},
			ServerCPUPerDeliveryUS: Spread{155, 150, 160}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("summaries (-want +got):\n%s", diff)
	}
	if s := spreadOf([]float64{4, 1, 3, 2}); s != (Spread{2.5, 1, 4}) {
		t.Errorf("spread of an even count = %+v, want the mean of the middle two", s)
	}

	var b bytes.Buffer
	if err := writeSummary(&b, got); err != nil {
		t.Fatal(err)
	}
	var changeRow string
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.Contains(line, "change") {
			changeRow = strings.Join(strings.Fields(line), " ")
		}
	}
	// accepted +44%, deliveries +44%, p50 -36%, p99 -36%, CPU -26% twice.
	if changeRow != "max change +44% +44% -36% -36% -26% -26%" {
		t.Errorf("change row %q in:\n%s", changeRow, b.String())
	}
	if !strings.Contains(b.String(), "4,500 [4,000–5,000]") {
		t.Errorf("no median and range of the baseline's accepted/s in:\n%s", b.String())
	}
}
