// Command hookline is the hookline webhook server and its tools.
//
//	hookline serve     run the API and the delivery engine
//	hookline migrate   apply database migrations and exit
//	hookline db copy   copy an installation between databases, such as SQLite to PostgreSQL
//	hookline version   print the version
//
// Every setting is a flag and an environment variable; `hookline serve
// --help` lists them.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Main(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "hookline:", err)
		os.Exit(1)
	}
}

// Main runs the hookline command line with the given arguments, output and
// environment, until ctx ends (for serve) or the command is done.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	root := &cobra.Command{
		Use:           "hookline",
		Short:         "hookline is a self-hosted webhook platform: it sends and receives webhooks",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(serveCommand(getenv), migrateCommand(getenv), dbCommand(), benchCommand(getenv), &cobra.Command{
		Use:   "version",
		Short: "Print the version of hookline",
		Args:  cobra.NoArgs,
		Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), "hookline", version) },
	})
	root.AddCommand(sourceCommand(getenv), listenCommand(getenv), tokenCommand(getenv))
	return root.ExecuteContext(ctx)
}
