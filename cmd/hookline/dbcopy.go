package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/spf13/cobra"
)

func dbCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Work on hookline databases: copy an installation between them",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(dbCopyCommand())
	return cmd
}

func dbCopyCommand() *cobra.Command {
	var (
		from, to string
		batch    int
		resume   bool
	)
	cmd := &cobra.Command{
		Use:   "copy --from DB --to DB",
		Short: "Copy an installation from one database to another, such as from SQLite to PostgreSQL",
		Long: `Copy everything hookline keeps from one database to another: apps, event
types, endpoints with their secrets and headers, messages, deliveries with
their state, attempts, settings such as the admin token's hash, and the
inbound half: sources (their receive URLs keep working), received requests
and command runs with their state, and API tokens (as hashes, so they keep
working). Either side may be a SQLite file or a postgres:// URL; the
destination is migrated first. Idempotency keys, portal login codes and
cluster heartbeats, which live for minutes, are not copied.

Stop hookline first. A SQLite source cannot be copied while a server uses it
(copy refuses); for a PostgreSQL source, stop every node, or what they
change during the copy may be missed.

The destination must be empty: copy before the first "hookline serve" on it.
A copy that was cut off can be run again with --resume; rows already copied
are kept as they are.`,
		Example: `  hookline db copy --from hookline.db --to 'postgres://hookline@db.internal:5432/hookline?sslmode=require'`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return errors.New("give both --from and --to, each a SQLite file or a postgres:// URL")
			}
			if from == to {
				return errors.New("--from and --to are the same database")
			}
			if batch < 1 || batch > 100000 {
				return fmt.Errorf("--batch %d: use 1 to 100000", batch)
			}
			return copyDB(cmd.Context(), from, to, batch, resume, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "database to copy from: a SQLite file or a postgres:// URL")
	cmd.Flags().StringVar(&to, "to", "", "database to copy to, empty: a SQLite file (created if missing) or a postgres:// URL")
	cmd.Flags().IntVar(&batch, "batch", 1000, "records written per transaction")
	cmd.Flags().BoolVar(&resume, "resume", false, "finish a copy that was cut off: copy what the destination lacks")
	return cmd
}

// copyDB copies every record of the database from into the database to.
func copyDB(ctx context.Context, from, to string, batch int, resume bool, out io.Writer) error {
	log := slog.New(slog.DiscardHandler)
	src, err := openStore(ctx, from, log)
	if err != nil {
		return fmt.Errorf("open --from: %w", err)
	}
	defer src.Close()
	dst, err := openStore(ctx, to, log)
	if err != nil {
		return fmt.Errorf("open --to: %w", err)
	}
	defer dst.Close()
	dumper, ok1 := src.(store.Copier)
	loader, ok2 := dst.(store.Copier)
	if !ok1 || !ok2 {
		return errors.New("copy: this store cannot be copied")
	}
	if !resume {
		apps, _, err := dst.AppList(ctx, store.Page{Limit: 1})
		if err != nil {
			return fmt.Errorf("check --to is empty: %w", err)
		}
		_, serr := dst.SettingGet(ctx, tokenHashSetting)
		var sources []hookline.Source
		if in, ok := dst.(store.InboundStore); ok {
			if sources, _, err = in.SourceList(ctx, store.Page{Limit: 1}); err != nil {
				return fmt.Errorf("check --to is empty: %w", err)
			}
		}
		if len(apps) > 0 || serr == nil || len(sources) > 0 {
			return fmt.Errorf("--to %s already holds an installation; copy into an empty database, or pass --resume to finish a copy that was cut off", describeDB(to))
		}
	}
	counts := map[string]int{}
	recs := make([]store.Record, 0, batch)
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		if err := loader.Load(ctx, recs); err != nil {
			return err
		}
		clear(recs)
		recs = recs[:0]
		return nil
	}
	err = dumper.Dump(ctx, func(r store.Record) error {
		counts[r.Kind()]++
		recs = append(recs, r)
		if len(recs) == batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("copy: %w (run again with --resume to finish)", err)
	}
	fmt.Fprintf(out, "copied %d apps, %d event types, %d endpoints, %d messages, %d deliveries, %d attempts, %d settings, "+
		"%d sources, %d received requests, %d command runs and %d API tokens from %s to %s\n",
		counts["app"], counts["event type"], counts["endpoint"], counts["message"], counts["delivery"], counts["attempt"], counts["setting"],
		counts["source"], counts["received"], counts["run"], counts["token"], describeDB(from), describeDB(to))
	return nil
}
