package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// pageFlags are --limit and --iterator, which page through a list: the
// commands print one page, and the iterator of the next.
type pageFlags struct {
	limit    uint64
	iterator string
}

func (p *pageFlags) bind(cmd *cobra.Command) {
	cmd.Flags().Uint64Var(&p.limit, "limit", 50, "how many to list, 1 to 250")
	cmd.Flags().StringVar(&p.iterator, "iterator", "", "list from this point on: the iterator a previous page printed")
}

// check refuses a limit the API would refuse.
func (p *pageFlags) check() error {
	if p.limit < 1 || p.limit > 250 {
		return usagef("--limit %d: want 1 to 250", p.limit)
	}
	return nil
}

// options returns the limit and iterator as the SDK takes them.
func (p *pageFlags) options() (*uint64, *string) {
	var it *string
	if p.iterator != "" {
		it = &p.iterator
	}
	return &p.limit, it
}

// more says on errOut how to list the next page, when there is one.
func more(errOut io.Writer, done bool, iterator *string) {
	if !done && iterator != nil {
		fmt.Fprintf(errOut, "More: run the command again with --iterator %s\n", *iterator)
	}
}

// listTable prints a page of a list as a table with header, a row of
// cells per item, and says how to get the next page when there is one.
func listTable[T any](cmd *cobra.Command, header []string, items []T, cells func(*T) []string, done bool, iterator *string) error {
	tw := newTable(cmd.OutOrStdout(), header...)
	for i := range items {
		row(tw, cells(&items[i])...)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	more(cmd.ErrOrStderr(), done, iterator)
	return nil
}

// newTable returns a tabwriter for a table with the given header.
func newTable(w io.Writer, header ...string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	return tw
}

// row writes one row of a table.
func row(tw *tabwriter.Writer, cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = "-"
		}
	}
	fmt.Fprintln(tw, strings.Join(cells, "\t"))
}

// fields prints name: value lines, aligned, for one item.
func fields(w io.Writer, kv ...string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i := 0; i+1 < len(kv); i += 2 {
		v := kv[i+1]
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s:\t%s\n", kv[i], v)
	}
	return tw.Flush()
}

// when formats a time for a table, in local time.
func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format(time.DateTime)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// formatMap prints a map as k=v pairs, sorted.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

// metadataFlag reads repeated --metadata key=value flags.
func metadataFlag(vals []string) (*map[string]string, error) {
	if vals == nil {
		return nil, nil
	}
	m := map[string]string{}
	for _, v := range vals {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k == "" {
			return nil, usagef("--metadata %q: want key=value", v)
		}
		m[k] = val
	}
	return &m, nil
}

// resourceRun is the body of a client command: it gets the SDK client,
// and its output flag is already checked.
type resourceRun func(cmd *cobra.Command, args []string, c *sdkClient) error

// runWith wraps a resourceRun in a RunE that checks the output flag and
// clientCommand has cmd run run with a client of the server, and binds the
// client's flags and out's to it.
func clientCommand(cmd *cobra.Command, getenv func(string) string, out *outputFlag, run resourceRun) {
	var cf clientFlags
	cmd.RunE = runWith(getenv, &cf, out, run)
	cf.bind(cmd, getenv)
	out.bind(cmd)
}

// makes the client first.
func runWith(getenv func(string) string, cf *clientFlags, out *outputFlag, run resourceRun) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if out != nil {
			if err := out.check(); err != nil {
				return err
			}
		}
		c, err := cf.sdk(getenv)
		if err != nil {
			return err
		}
		return run(cmd, args, c)
	}
}

// clientHelp is the paragraph every client command's help ends with.
const clientHelp = `The API token is read from HOOKLINE_TOKEN (or HOOKLINE_ADMIN_TOKEN); the
server from --server or HOOKLINE_SERVER. --output json prints the API's JSON
answer as is. The exit status is 0 on success, 1 when the server refused or
could not be reached (the API's code and detail on stderr), 2 for a bad
command line.`
