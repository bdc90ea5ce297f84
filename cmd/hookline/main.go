// Command hookline is the hookline webhook server and its tools.
//
//	hookline serve     run the API and the delivery engine
//	hookline migrate   apply database migrations and exit
//	hookline db copy   copy an installation between databases, such as SQLite to PostgreSQL
//	hookline version   print the version and the revision it was built from
//
// and the client commands, which call a running server's API: app,
// endpoint, event-type, msg, attempt, source, token and listen.
//
// Every setting is a flag and an environment variable; `hookline serve
// --help` lists them. The exit status is 0 on success, 1 when the command
// ran and failed (an API error, an unreachable server) and 2 when it was
// not run as given (an unknown command or flag, a missing argument or
// setting).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/hookline/hookline/internal/buildinfo"
)

// version is this build's version and revision, as `hookline version`
// prints it.
var version = buildinfo.Read().String()

// Exit statuses of the command line.
const (
	exitFailed = 1 // the command ran and failed
	exitUsage  = 2 // the command was not run as given
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Main(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hookline:", err)
		os.Exit(exitCode(err))
	}
}

// usageError is an error in how a command was invoked: it was not run.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }

func (e *usageError) Unwrap() error { return e.err }

// usagef returns a usageError.
func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// exitCode is the exit status for an error Main returned.
func exitCode(err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailed
}

// Main runs the hookline command line with the given arguments, output and
// environment, until ctx ends (for serve) or the command is done. An
// error it returns is a *usageError when the command was not run as given:
// unknown, with bad flags or arguments, or missing a setting.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	return run(ctx, args, os.Stdin, stdout, stderr, getenv)
}

// run is Main with the standard input, which msg publish --file - reads.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	root := &cobra.Command{
		Use:           "hookline",
		Short:         "hookline is a self-hosted webhook platform: it sends and receives webhooks",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(serveCommand(getenv), migrateCommand(getenv), dbCommand(), benchCommand(getenv), versionCommand())
	root.AddCommand(sourceCommand(getenv), listenCommand(getenv), tokenCommand(getenv))
	root.AddCommand(appCommand(getenv), endpointCommand(getenv), eventTypeCommand(getenv), msgCommand(getenv),
		attemptCommand(getenv), receiverCommand())
	ran := false
	markRun(root, &ran)
	err := root.ExecuteContext(ctx)
	if err != nil && !ran {
		// Cobra refused the command line before running anything: an
		// unknown command or flag, a bad flag value, a wrong number of
		// arguments, a required flag not set.
		var ue *usageError
		if !errors.As(err, &ue) {
			err = &usageError{err}
		}
	}
	return err
}

// markRun makes every command of the tree set *ran when its RunE starts,
// which tells an error of the command from one of the command line. A
// group of commands (hookline app) prints its help, and refuses an
// unknown subcommand, which cobra would otherwise answer with the help and
// success.
func markRun(cmd *cobra.Command, ran *bool) {
	if !cmd.Runnable() && cmd.HasParent() && cmd.HasSubCommands() {
		cmd.Args = cobra.ArbitraryArgs
		cmd.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("unknown command %q for %q; see %s --help", args[0], cmd.CommandPath(), cmd.CommandPath())
			}
			return cmd.Help()
		}
	}
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(cmd *cobra.Command, args []string) error {
			*ran = true
			return run(cmd, args)
		}
	}
	for _, sub := range cmd.Commands() {
		markRun(sub, ran)
	}
}

func versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of hookline and the revision it was built from",
		Long: `Print the version of hookline and the VCS revision it was built from, as Go
recorded them in the binary. Deliveries carry the same in their User-Agent.`,
		Args: cobra.NoArgs,
		Run:  func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), "hookline", version) },
	}
}
