package main

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/hookline/hookline/internal/bench"
)

func benchPlotCommand() *cobra.Command {
	var (
		out, title string
		totals     []string
	)
	cmd := &cobra.Command{
		Use:   "plot LABEL=REPORT.json...",
		Short: "Draw the CPU per message against the offered rate from bench reports, as SVG",
		Long: `Draw the server's CPU per message against the offered rate, both on log
scales, from reports that "hookline bench --json" wrote: one line per
report, from its open-loop runs (the curve, rate-100, rate-1000, ...), the
median of the runs at each rate. Name each report's line with LABEL=. For
a report made with --baseline, REPORT.json#baseline and REPORT.json#this
take one binary's runs.

With --total LABEL, that report also gets a dashed line of the CPU of
every process but the benchmark's own, per message: on a quiet machine,
the server and its PostgreSQL.`,
		Example: `  hookline bench --scenario curve --json sqlite.json
  hookline bench --scenario curve --db postgres://127.0.0.1/hookline --json pg.json
  hookline bench plot --out cpu.svg --total PostgreSQL SQLite=sqlite.json PostgreSQL=pg.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var series []bench.PlotSeries
			for _, a := range args {
				label, path, ok := strings.Cut(a, "=")
				if !ok || label == "" || path == "" {
					return fmt.Errorf("%q: want LABEL=REPORT.json, such as SQLite=sqlite.json", a)
				}
				s, err := bench.ReadPlotSeries(path, label)
				if err != nil {
					return err
				}
				s.Total = slices.Contains(totals, label)
				series = append(series, s)
			}
			var b bytes.Buffer
			if err := bench.WritePlot(&b, title, series); err != nil {
				return err
			}
			if out == "" || out == "-" {
				_, err := cmd.OutOrStdout().Write(b.Bytes())
				return err
			}
			if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
				return fmt.Errorf("write --out: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "SVG file to write (default: standard output)")
	cmd.Flags().StringVar(&title, "title", "Server CPU per message against the offered rate", "title above the chart")
	cmd.Flags().StringArrayVar(&totals, "total", nil, "label of a report that also gets a dashed line of the server's and the other processes' CPU per message, repeatable")
	return cmd
}
