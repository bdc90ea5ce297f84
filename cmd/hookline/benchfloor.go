package main

import (
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/hookline/hookline/internal/bench"
)

func benchFloorCommand() *cobra.Command {
	var opts bench.FloorOptions
	cmd := &cobra.Command{
		Use:   "floor-server",
		Short: "Run the floor server that the floor-* scenarios measure hookline against",
		Long: `floor-server runs the least a webhook server must do for each message: it
reads an HTTP POST, writes its body to --file and flushes it to disk
(fdatasync) before it answers 202, then POSTs the body to --deliver-to with
a keep-alive client. Writes that come while a flush runs share the next one,
as in a database's group commit. It keeps no tables, indexes or records.

"hookline bench --scenario floor-100,floor-1000" starts it and measures its
CPU per message at those rates with the same load and receiver as hookline's
rate-* scenarios: what no server can go below on this machine. The
benchmark's --serve-arg values go to it. It runs until it is sent SIGINT or
SIGTERM.`,
		Example: `  hookline bench --scenario rate-100,floor-100,rate-1000,floor-1000
  hookline bench --scenario floor-100,floor-1000 --serve-arg=--no-flush   # without the flush`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return bench.ServeFloor(ctx, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Addr, "addr", "127.0.0.1:0", "address to listen on")
	f.StringVar(&opts.File, "file", "floor.log", "file each message is written to and flushed; it is reused from the start past 64 MiB")
	f.StringVar(&opts.DeliverTo, "deliver-to", "", "URL each accepted message is POSTed to (required)")
	f.BoolVar(&opts.NoFlush, "no-flush", false, "answer 202 without flushing the file to disk, to measure what the flush costs (not durable)")
	_ = cmd.MarkFlagRequired("deliver-to")
	return cmd
}
