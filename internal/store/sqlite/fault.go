package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"syscall"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/store"
	"github.com/hookline/hookline/internal/store/sqlstore"
)

var _ store.Checker = (*Store)(nil)

// fault turns a refusal for want of space into an error of kind
// hookline.ErrStorageFull: SQLite's SQLITE_FULL (a full disk, or a
// database at its max_page_count), or a full disk or quota met by the
// flush of the write-ahead log.
func fault(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL ||
		errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return sqlstore.Fault(hookline.ErrStorageFull, err)
	}
	return err
}

// wrote classifies the error of a write and records the write's outcome
// for WriteFault.
func (s *Store) wrote(err error) error { return s.writes.Record(fault(err)) }

// exec runs one statement on the writer, outside a transaction, and
// returns once what it wrote is on disk.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := s.w.ExecContext(ctx, query, args...)
	if err == nil {
		s.committed()
		err = s.wal.sync()
	}
	return res, s.wrote(err)
}

// Ping reads the database on a connection of its own, which waits neither
// for the writer (readers never do, in WAL mode) nor for the readers.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	if err := s.ping.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		return fmt.Errorf("ping sqlite: %w", fault(err))
	}
	return nil
}

// WriteFault returns the last write refused for want of space, unless a
// write has succeeded since.
func (s *Store) WriteFault() (time.Time, error) { return s.writes.Fault() }
