package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/hookline/hookline/internal/bench"
	"github.com/hookline/hookline/internal/store"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func benchCommand(getenv func(string) string) *cobra.Command {
	opts := bench.DefaultOptions()
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure hookline's throughput, latency and resource use on this machine",
		Long: `Measure hookline's throughput, latency and resource use on this machine.

bench starts a hookline server of its own (this binary, with a new SQLite
database per scenario) and a receiver on 127.0.0.1, creates an app and its
endpoints through the API, publishes messages and measures: messages
accepted per second, deliveries per second, publish-to-delivery latency
(p50 to max), lost and duplicate deliveries, and the server's CPU time and
peak memory. With --target it uses a running server instead.

Scenarios (--scenario, repeatable, or all):
  ceiling-http  plain Go HTTP in one process, no hookline: the machine's ceiling
  max           as fast as the server answers, 1 endpoint
  rate-100, rate-200, rate-1000, rate-5000
                a fixed offered rate (open loop), 1 endpoint
  fanout-10, fanout-100
                each message to 10 or 100 endpoints
  backlog       receiver down while --backlog-count messages are accepted,
                server killed and restarted on the backlog, then receiver up:
                the drain
  flaky         receiver answers 10% of deliveries with 500
  payload-64k   64 KiB payloads
  hostile       200 messages/s while hostile clients flood a receive URL with
                1 MB bodies, publish payloads nested 500,000 deep and list
                large items: peak memory, health-check latency and the
                legitimate messages still accepted
  growth        not part of all: grows one database (--db, a new SQLite file
                by default) to each of --growth-sizes messages, with their
                deliveries and attempts and up to 100,000 received requests,
                through the store's bulk load; at each size it measures
                start-up, max publish rate, publish p99 at 1,000/s, the
                message and attempt list routes, the retention prune and
                the size on disk per message, each phase bounded by
                --duration (default 5s). Fill progress and its rate go to
                stderr; see docs/growth.md.
  floor-100, floor-1000
                not part of all: the same load and receiver against the
                floor server ("hookline bench floor-server --help"), which
                only reads each message, writes and flushes it, answers 202
                and POSTs it on: the least CPU a message can cost here
  curve         not part of all: 5 s at each of 50, 100, 200, 500, 1,000,
                2,000, 5,000 and 10,000 messages/s, for the server's CPU per
                message against the rate; draw it with "hookline bench plot"
  floor-curve   not part of all: the curve against the floor server

Figures on a shared or virtual machine vary by a fifth from run to run.
To compare two builds, give the other one with --baseline: each scenario
then runs on a server started from each binary in turn (A, B, B, A, ...),
--repeat times each, and the table adds the median and range of each
figure and the change from the baseline.

Every run is bounded and stops by itself; "--scenario all" takes a few
minutes. It prints a table on stdout and, with --json, writes every figure
with the machine and the flags to a file. Progress goes to stderr.`,
		Example: `  hookline bench
  hookline bench --scenario all --json bench.json
  hookline bench --scenario backlog --backlog-count 1000000
  hookline bench --scenario growth --growth-sizes 1000000,10000000 --json growth.json
  hookline bench --scenario growth --db 'postgres://postgres@127.0.0.1:5432/hookline_growth?sslmode=disable'
  hookline bench --scenario max --concurrency 256 --serve-arg=--workers=512
  hookline bench --scenario max,fanout-10 --baseline ./hookline-main --repeat 3
  hookline bench --target http://127.0.0.1:8071 --token "$HOOKLINE_ADMIN_TOKEN" --server-pid 4242`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.SetOverrides(cmd.Flags())
			if opts.Token == "" && opts.Target != "" {
				// The token may come from the environment, as for serve,
				// to keep it out of the process list.
				opts.Token = getenv("HOOKLINE_ADMIN_TOKEN")
			}
			if err := opts.Validate(); err != nil {
				return err
			}
			if opts.Target == "" {
				exe, err := os.Executable()
				if err != nil {
					return fmt.Errorf("find this binary to start the server: %w", err)
				}
				opts.Server = exe
			}
			opts.Open = func(ctx context.Context, db string) (store.Store, error) {
				return openStore(ctx, db, slog.New(slog.DiscardHandler))
			}
			rep, runErr := bench.Run(cmd.Context(), opts, version, givenFlags(cmd.Flags()), cmd.ErrOrStderr())
			if rep == nil {
				return runErr
			}
			fmt.Fprintln(cmd.OutOrStdout())
			if err := rep.WriteTable(cmd.OutOrStdout()); err != nil {
				return err
			}
			if opts.JSON != "" {
				if err := rep.WriteJSON(opts.JSON); err != nil {
					return fmt.Errorf("write --json: %w", err)
				}
			}
			return runErr
		},
	}
	opts.Bind(cmd.Flags())
	cmd.AddCommand(benchPlotCommand(), benchFloorCommand())
	return cmd
}

// givenFlags returns the command line as the flags were given, for the
// report, with the token left out.
func givenFlags(fs *pflag.FlagSet) []string {
	out := []string{"hookline", "bench"}
	fs.Visit(func(f *pflag.Flag) {
		switch v := f.Value.(type) {
		case pflag.SliceValue:
			for _, s := range v.GetSlice() {
				out = append(out, "--"+f.Name+"="+s)
			}
		default:
			val := f.Value.String()
			if f.Name == "token" {
				val = "<redacted>"
			}
			out = append(out, "--"+f.Name+"="+val)
		}
	})
	return out
}
