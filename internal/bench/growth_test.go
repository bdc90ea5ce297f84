package bench

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/fill"
	"github.com/hookline/hookline/internal/store/postgres"
	"github.com/hookline/hookline/internal/store/postgres/pgtest"
	"github.com/hookline/hookline/internal/store/sqlite"
)

// openStore opens a --db value as the command does.
func openStore(ctx context.Context, db string) (store.Store, error) {
	if isPostgres(db) {
		return postgres.Open(ctx, db, postgres.Options{})
	}
	return sqlite.Open(ctx, db)
}

// TestGrowth runs the growth scenario at tiny sizes on each store and
// checks its plumbing: the database holds the rows the fill claims, and
// every figure of the report is filled in. It asserts no speed.
func TestGrowth(t *testing.T) {
	t.Parallel()
	bin := hooklineBinary(t)
	for _, tc := range []struct {
		name string
		db   func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "hookline.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.URL(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := tc.db(t)
			opts := DefaultOptions()
			opts.Server, opts.DB, opts.Open = bin, db, openStore
			opts.Scenarios = []string{"growth"}
			opts.GrowthSizes = []int64{2000, 5000}
			opts.Duration = 300 * time.Millisecond
			opts.Overrides = map[string]bool{"duration": true}
			rep := runBench(t, opts)
			g := rep.Results[0].Growth
			if g == nil || len(g.Sizes) != 2 {
				t.Fatalf("growth figures %+v; want two sizes", g)
			}
			if g.Store != tc.name {
				t.Errorf("store %q, want %q", g.Store, tc.name)
			}
			for _, s := range g.Sizes {
				for _, f := range GrowthFigures() {
					if v := f.Value(&s); v <= 0 {
						t.Errorf("at %d messages: %s is %v; want it measured", s.Messages, f.Name, v)
					}
				}
				if s.Startup.Count != growthStarts || s.FillSeconds <= 0 || s.DiskBytes <= 0 || s.PruneRows <= 0 || s.UpkeepPruned <= 0 {
					t.Errorf("at %d messages: start-ups %d, fill %v s, %d bytes, %d rows pruned, %d by the upkeep; want each measured",
						s.Messages, s.Startup.Count, s.FillSeconds, s.DiskBytes, s.PruneRows, s.UpkeepPruned)
				}
			}
			if len(g.Change) != len(GrowthFigures()) {
				t.Errorf("changes of %d figures, want %d: %v", len(g.Change), len(GrowthFigures()), g.Change)
			}

			// The rows the fill claims are in the database, beside the
			// measurements' own app.
			last := g.Sizes[1]
			if last.Messages != 5000 || last.Received != fill.Received(5000) {
				t.Errorf("grew to %d messages and %d received; want 5000 and %d", last.Messages, last.Received, fill.Received(5000))
			}
			st, err := openStore(context.Background(), db)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			got := map[string]int64{}
			err = st.(store.Copier).Dump(context.Background(), func(r store.Record) error {
				if (r.Message != nil && r.Message.AppID == g.App) || (r.Delivery != nil && r.Delivery.AppID == g.App) ||
					(r.Attempt != nil && r.Attempt.AppID == g.App) {
					return nil
				}
				got[r.Kind()]++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]int64{"message": last.Messages, "delivery": last.Deliveries, "attempt": last.Attempts, "received": last.Received}
			for k := range got {
				if _, ok := want[k]; !ok {
					delete(got, k)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("rows of the grown history (-claimed +read back):\n%s", diff)
			}

			var table bytes.Buffer
			if err := rep.WriteTable(&table); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"5,000", "change", "msg-deep", "prune rows/s"} {
				if !strings.Contains(table.String(), want) {
					t.Errorf("table lacks %q:\n%s", want, table.String())
				}
			}
		})
	}
}

func TestGrowthJudge(t *testing.T) {
	t.Parallel()
	size := func(n int64, maxRate, first float64) GrowthSize {
		g := GrowthSize{Messages: n, MaxPerSec: maxRate, BytesPerMessage: 1000, Lists: map[string]Summary{}}
		for _, name := range listRoutes {
			g.Lists[name] = Summary{P99: 10}
		}
		g.Lists["msg-first"] = Summary{P99: first}
		return g
	}
	gs := &GrowthStats{Sizes: []GrowthSize{size(1000, 1000, 10), size(10000, 850, 60)}}
	gs.judge()
	if got := gs.Change["max msg/s"]; got != -15 {
		t.Errorf("max msg/s changed %v%%, want -15%%", got)
	}
	flags := strings.Join(gs.Flags, "\n")
	for _, want := range []string{"msg-first p99 ms: 60.0 ms at 10,000 messages, over 50 ms", "msg-first p99 ms: +500.0%"} {
		if !strings.Contains(flags, want) {
			t.Errorf("flags lack %q:\n%s", want, flags)
		}
	}
	if strings.Contains(flags, "max msg/s") || strings.Contains(flags, "bytes/msg") {
		t.Errorf("flags a figure within its target:\n%s", flags)
	}
}

func TestUpkeepPruned(t *testing.T) {
	t.Parallel()
	log := `time=2026-12-06T23:48:24.709Z level=INFO msg="upkeep leader" node_id=n leading=true
time=2026-12-06T23:48:25.720Z level=INFO msg=retention node_id=n rows_pruned=18000 before=2026-11-24T23:48:06Z
{"time":"2026-12-06T23:49:00Z","level":"INFO","msg":"retention","node_id":"n","rows_pruned":2000,"before":"2026-11-24T23:48:06Z"}
`
	if got := upkeepPruned([]byte(log)); got != 20000 {
		t.Errorf("upkeepPruned = %d, want 20000", got)
	}
	json := `{"time":"2026-12-06T23:49:00Z","level":"INFO","msg":"upkeep leader","node_id":"n","leading":true}`
	for _, tc := range []struct {
		log  string
		want bool
	}{
		{log, true},
		{json, true},
		{strings.Replace(log, "leading=true", "leading=false", 1), false},
		{strings.Replace(json, "true", "false", 1), false},
	} {
		if got := leaderRE.MatchString(strings.SplitN(tc.log, "\n", 2)[0]); got != tc.want {
			t.Errorf("leaderRE matches %q: %v, want %v", tc.log, got, tc.want)
		}
	}
}
