package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookline/hookline/internal/store"
)

var _ store.Sizer = (*Store)(nil)

// DiskSize returns the size of the tables of the store's schema, with
// their indexes and TOAST.
func (s *Store) DiskSize(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint
		FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
		WHERE ns.nspname = current_schema() AND c.relkind = 'r'`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("database size: %w", err)
	}
	return n, nil
}

// Settle vacuums the store's tables, gathers the planner's statistics
// and writes the pages this dirtied, as autovacuum and the checkpointer do
// over the minutes after a bulk load: then the figures
// measured next are those of the tables as use leaves them, not of
// autovacuum working through the load behind them. It names the tables,
// so that a database holding other schemas is not vacuumed whole.
func (s *Store) Settle(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, `SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = current_schema()`)
	if err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	if len(tables) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `VACUUM (ANALYZE) `+strings.Join(tables, ", ")); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	// The vacuum dirties every page it sets as visible; the checkpointer
	// would write them out over the next minutes, under the measurements.
	// A role without the right to checkpoint leaves it to the checkpointer.
	if _, err := s.pool.Exec(ctx, `CHECKPOINT`); err != nil {
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	return nil
}
